"""The trial store: every grasp trial and the scene it was chosen in, safe against ``kill -9``.

Layout of a store directory::

    trials.sqlite (+ -wal, -shm)   sessions, scenes and trials (SQLite, WAL journal)
    writer.lock                    flock held by the one writing process
    scenes/<session>/<scene>.rgb.png    RGB, 8-bit PNG (lossless)
    scenes/<session>/<scene>.depth.png  depth, 16-bit PNG of millimetres (0 = no reading)

Crash safety, in order of each write: an image goes to a hidden temporary name, is fsynced and
renamed into place (and the directory fsynced); only then does the transaction that references it
commit. A trial is acknowledged when ``add_trial`` returns, i.e. after its commit. SQLite runs in
WAL mode with ``synchronous=FULL``: each commit fsyncs the WAL, so an acknowledged trial survives
power loss too, not only a killed process (``NORMAL`` would keep the database consistent but could
lose the last commits on power loss; a trial costs ~30 s of robot time, a fsync ~1 ms). A crash
between rename and commit leaves an unreferenced image, and one during a write a temporary file:
the next writer deletes both when it opens the store. Images are written once per scene capture,
never per patch, so the patch size can change after collection.
(:mod:`.images` says how depth is kept.) Records and the values their fields may take are in
:mod:`.records`, the SQLite file's tables and rows in :mod:`.database`; this module keeps them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import math
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .database import (
    DB_NAME,
    FORMAT,
    SCHEMA_VERSION,
    TRIAL_COLUMNS,
    NotAStoreError,
    StoreBusyError,
    StoreDamagedError,
    StoreError,
    StoreFullError,
    StoreVersionError,
    check_or_init_schema,
    connect,
    create_database,
    trial_from_row,
    trial_row,
)
from .durable import (
    TMP_SUFFIX,
    fsync_directory,
    sha256_file,
    write_durably,
)
from .images import ImageError, decode_depth, decode_rgb, encode_depth, encode_rgb
from .records import (
    ARMS,
    LABELS,
    OUTCOMES,
    Session,
    StoredScene,
    Summary,
    Tally,
    Trial,
    check_intrinsics,
    check_pose,
    check_session,
    check_trial,
    new_session_id,
)

LOCK_NAME = "writer.lock"
SCENES_DIR = "scenes"
ORPHAN_GRACE_S = 60.0  # a younger unreferenced image may be a scene another process is committing
_PAGE = 1000  # trials per query when iterating


class TrialStore:
    """The trial dataset in a directory. One writer process at a time; readers any time."""

    def __init__(self, root: Path, conn: sqlite3.Connection, lock_fd: int | None) -> None:
        """Use :meth:`open`."""
        self.root = root
        self.readonly = lock_fd is None
        self._conn = conn
        self._lock_fd = lock_fd
        self._mutex = threading.RLock()  # one connection shared by the caller's threads
        self.disk_full: StoreFullError | None = None  # set by a failed write: a writer stops

    # ---------------------------------------------------------------- opening and closing

    @classmethod
    def open(cls, path: str | Path, create: bool = True, readonly: bool = False) -> TrialStore:
        """Open (or with ``create`` make) the store in directory ``path``.

        A writer takes ``writer.lock``, lets SQLite roll back any unfinished transaction and
        deletes temporary and unreferenced image files that a crash left behind.

        Raises:
            NotAStoreError: nothing usable at ``path`` (and not ``create``).
            StoreVersionError: an unknown schema version.
            StoreDamagedError: the database cannot even be read.
            StoreBusyError: another process is writing.
        """
        root = Path(path)
        create = create and not readonly
        if root.exists() and not root.is_dir():
            raise NotAStoreError(f"{root}: not a trial store (a file, expected a directory)")
        db = root / DB_NAME
        if not db.exists() and not create:
            raise NotAStoreError(f"{root}: not a trial store (no {DB_NAME})")
        lock_fd = None
        if not readonly:
            root.mkdir(parents=True, exist_ok=True)
            lock_fd = _lock(root)
        try:
            if not readonly and not db.exists():
                create_database(db)
            conn = connect(db, readonly)
            check_or_init_schema(conn, root, create)
            store = cls(root, conn, lock_fd)
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        if not readonly:
            store._remove_leftovers()
        return store

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- writing

    def begin_session(
        self,
        robot: str,
        config_yaml: str,
        seed: int,
        notes: str = "",
        session_id: str | None = None,
    ) -> str:
        """A new collection session; its id (``new_session_id()`` unless given) sorts by time.

        ``session_id`` names files: letters, digits, '-' and '_' only."""
        check_session(robot, config_yaml, seed, session_id)
        now = time.time()
        session_id = session_id or new_session_id(now)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (session_id, robot, config_yaml, int(seed), str(notes), now),
            )
        return session_id

    def end_session(self, session_id: str) -> None:
        """Mark a session finished; one that never ends was interrupted."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET ended = ? WHERE session_id = ?", (time.time(), session_id)
            )
            if cursor.rowcount != 1:
                raise ValueError(f"session_id: expected a known session (got {session_id!r})")

    def add_scene(
        self,
        session_id: str,
        rgb: np.ndarray,
        depth: np.ndarray,
        intrinsics: Mapping[str, float],
        camera_pose: tuple[Sequence[float], Sequence[float]],
        *,
        stamp: float,
    ) -> str:
        """Store one scene capture (images fsynced before the row commits); returns its id."""
        self._check_writable()
        if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3):
            raise ValueError(f"rgb: expected an HxWx3 uint8 array (got {_array_kind(rgb)})")
        if rgb.shape[2] != 3 or rgb.size == 0:
            raise ValueError(f"rgb: expected an HxWx3 uint8 array (got {_array_kind(rgb)})")
        if not (isinstance(depth, np.ndarray) and depth.dtype == np.float32):
            raise ValueError(
                f"depth: expected a float32 array of metres (got {_array_kind(depth)})"
            )
        if depth.shape != rgb.shape[:2]:
            raise ValueError(f"depth: expected shape {rgb.shape[:2]} like rgb (got {depth.shape})")
        intr = check_intrinsics(intrinsics, rgb.shape[1], rgb.shape[0])
        position, orientation = check_pose(camera_pose, "camera_pose")
        if not (isinstance(stamp, int | float | np.number) and math.isfinite(stamp)):
            raise ValueError(f"stamp: expected a finite time in s (got {stamp!r})")
        if self._scalar("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,)) is None:
            raise ValueError(f"session_id: unknown session {session_id!r}")

        scene_id = secrets.token_hex(8)
        folder = Path(SCENES_DIR, session_id)
        rgb_file = folder / f"{scene_id}.rgb.png"
        depth_file = folder / f"{scene_id}.depth.png"
        try:
            png, depth_png = encode_rgb(rgb), encode_depth(depth)
        except ImageError as e:
            raise StoreError(f"{self.root}: {e}") from None
        written: list[Path] = []
        try:
            rgb_sha = _write_image(self.root / rgb_file, png, written)
            depth_sha = _write_image(self.root / depth_file, depth_png, written)
        except OSError as e:
            for path in written:  # unreferenced now: free their space at once
                path.unlink(missing_ok=True)
            if e.errno in _FULL_ERRNOS:
                raise self._full(f"cannot write {e.filename}: {e.strerror}") from e
            raise
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO scenes VALUES ({', '.join('?' * 20)})",
                (
                    scene_id,
                    session_id,
                    float(stamp),
                    intr["width"],
                    intr["height"],
                    intr["fx"],
                    intr["fy"],
                    intr["cx"],
                    intr["cy"],
                    *position,
                    *orientation,
                    rgb_file.as_posix(),
                    rgb_sha,
                    depth_file.as_posix(),
                    depth_sha,
                ),
            )
        return scene_id

    def add_trial(self, record: Trial) -> int:
        """Validate and commit one trial; when this returns, the trial is durable."""
        self._check_writable()
        record = check_trial(record)
        with self._write() as conn:
            return self._insert_trial(conn, record)

    def _insert_trial(self, conn: sqlite3.Connection, record: Trial) -> int:
        """Insert a checked trial in the open transaction; its new ``trial_id``."""
        scene = conn.execute(
            "SELECT session_id, width, height FROM scenes WHERE scene_id = ?",
            (record.scene_id,),
        ).fetchone()
        if scene is None:
            raise ValueError(f"scene_id: unknown scene {record.scene_id!r}")
        if scene[0] != record.session_id:
            raise ValueError(
                f"session_id: scene {record.scene_id!r} belongs to session {scene[0]!r}, "
                f"not {record.session_id!r}"
            )
        _check_in_image(record, width=scene[1], height=scene[2])
        row = (None, *trial_row(record))  # the store assigns trial_id
        cursor = conn.execute(
            f"INSERT INTO trials ({TRIAL_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row
        )
        return int(cursor.lastrowid)

    # ---------------------------------------------------------------- importing

    def import_session(self, session: Session) -> bool:
        """Keep another store's session under its own id; False when it was here already (an
        end time it has gained since is taken over)."""
        check_session(session.robot, session.config_yaml, session.seed, session.session_id)
        with self._write() as conn:
            here = conn.execute(
                "SELECT ended FROM sessions WHERE session_id = ?", (session.session_id,)
            ).fetchone()
            if here is None:
                conn.execute(
                    "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        session.session_id, session.robot, session.config_yaml,
                        int(session.seed), session.notes, session.started, session.ended,
                    ),
                )  # fmt: skip
                return True
            if here[0] is None and session.ended is not None:
                conn.execute(
                    "UPDATE sessions SET ended = ? WHERE session_id = ?",
                    (session.ended, session.session_id),
                )
            return False

    def has_session(self, session_id: str) -> bool:
        found = self._scalar("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,))
        return found is not None

    def import_scene(self, source: TrialStore, scene_id: str) -> bool:
        """Keep ``source``'s scene under its own id, its image files linked (or copied) and
        their checksums verified before the row commits; False when it was here already."""
        self._check_writable()
        if self._scalar("SELECT 1 FROM scenes WHERE scene_id = ?", (scene_id,)) is not None:
            return False
        row = source.scene_row(scene_id)

        def link(name: str, sha: str, written: list[Path]) -> None:
            _link_or_copy(source.root / name, self.root / name, sha, written)

        return self._import_scene(row, link)

    def import_scene_data(self, row: Mapping[str, Any], files: Mapping[str, bytes]) -> bool:
        """Keep a scene received from another store: its ``scene_row`` and its image files'
        bytes by name, written durably and checked against the row's checksums before the row
        commits; False when it was here already."""
        self._check_writable()
        columns = [r[1] for r in self._query("PRAGMA table_info(scenes)")]
        if sorted(row) != sorted(columns):
            raise ValueError(f"scene: expected the columns {columns} (got {sorted(row)})")
        if self._scalar("SELECT 1 FROM scenes WHERE scene_id = ?", (row["scene_id"],)) is not None:
            return False

        def write(name: str, sha: str, written: list[Path]) -> None:
            if name not in files:
                raise ValueError(f"scene {row['scene_id']}: no bytes of {name}")
            if hashlib.sha256(files[name]).hexdigest() != sha:
                raise StoreDamagedError(f"{name}: checksum mismatch (scene not imported)")
            _write_image(_inside(self.root, name), files[name], written)

        return self._import_scene({c: row[c] for c in columns}, write)

    def _import_scene(self, row: dict[str, Any], place) -> bool:
        """The scene ``row`` once ``place(name, sha, written)`` has put each of its images."""
        written: list[Path] = []
        try:
            for name, sha in (
                (row["rgb_file"], row["rgb_sha256"]),
                (row["depth_file"], row["depth_sha256"]),
            ):
                place(name, sha, written)
        except BaseException as e:
            for path in written:  # unreferenced: free their space at once
                path.unlink(missing_ok=True)
            if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
                raise self._full(f"cannot write {e.filename}: {e.strerror}") from e
            raise
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO scenes ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()),
            )
        return True

    def import_trial(self, record: Trial, cursor: tuple[str, int] | None = None) -> bool:
        """Keep another store's trial (its scene imported first); False when a trial of the same
        session, scene, arm and end time is here already, so importing twice adds nothing.

        ``cursor`` (key, value) commits with the trial, known or not: a reader of it never
        sees a trial without its cursor or the other way round (see :meth:`cursor`)."""
        self._check_writable()
        record = check_trial(record)
        with self._write() as conn:
            known = conn.execute(
                "SELECT 1 FROM trials WHERE scene_id = ? AND session_id = ? AND arm = ? "
                "AND stamp = ?",
                (record.scene_id, record.session_id, record.arm, record.stamp),
            ).fetchone()
            if known is None:
                self._insert_trial(conn, record)
            if cursor is not None:
                key, value = cursor
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"cursor:{key}", str(value))
                )
            return known is None

    def cursor(self, key: str) -> int:
        """The last value committed with :meth:`import_trial` under ``key``; 0 if none."""
        value = self._scalar("SELECT value FROM meta WHERE key = ?", (f"cursor:{key}",))
        return 0 if value is None else int(value)

    # ---------------------------------------------------------------- reading

    def sessions(self, limit: int | None = None) -> list[Session]:
        """Oldest first; ``limit``: only that many (the first defines the store's object set)."""
        sql = "SELECT * FROM sessions ORDER BY started, session_id"
        rows = self._query(sql + " LIMIT ?", (limit,)) if limit is not None else self._query(sql)
        return [Session(*row) for row in rows]

    def trials(
        self,
        stage: int | Iterable[int] | None = None,
        arm: str | None = None,
        labelled_only: bool = True,
        object_ids: Iterable[str] | None = None,
        session_id: str | None = None,
        robot: str | None = None,
        after: int = 0,
    ) -> Iterator[Trial]:
        """Trials in id order, from the first id above ``after``; by default only those that
        are labels (success or failure). A trial's robot is its session's."""
        where, params = _filters(stage, arm, labelled_only, object_ids, session_id, robot)
        where = f"{where} AND trial_id > ?" if where else " WHERE trial_id > ?"
        sql = f"SELECT {TRIAL_COLUMNS} FROM trials{where} ORDER BY trial_id LIMIT {_PAGE}"
        last = after
        while rows := self._query(sql, (*params, last)):  # pages: memory stays flat at 50K trials
            for row in rows:
                yield trial_from_row(row)
            last = rows[-1][0]

    def count(
        self,
        stage: int | Iterable[int] | None = None,
        arm: str | None = None,
        labelled_only: bool = False,
        object_ids: Iterable[str] | None = None,
        session_id: str | None = None,
        robot: str | None = None,
    ) -> int:
        """Number of trials, all outcomes unless ``labelled_only``."""
        where, params = _filters(stage, arm, labelled_only, object_ids, session_id, robot)
        return int(self._scalar(f"SELECT COUNT(*) FROM trials{where}", params))

    def scene(self, scene_id: str, verify: bool = True) -> StoredScene:
        """A stored scene; with ``verify`` the image checksums are checked first."""
        row = self._query(
            "SELECT session_id, stamp, width, height, fx, fy, cx, cy, px, py, pz, qx, qy, qz, qw,"
            " rgb_file, rgb_sha256, depth_file, depth_sha256 FROM scenes WHERE scene_id = ?",
            (scene_id,),
        )
        if not row:
            raise KeyError(f"{self.root}: no scene {scene_id!r}")
        (session_id, stamp, width, height, fx, fy, cx, cy, *pose, rgb_file, rgb_sha) = row[0][:17]
        depth_file, depth_sha = row[0][17:]
        rgb_bytes = self._read_file(rgb_file, rgb_sha if verify else None)
        depth_bytes = self._read_file(depth_file, depth_sha if verify else None)
        try:
            rgb = decode_rgb(self.root / rgb_file, rgb_bytes)
            depth = decode_depth(self.root / depth_file, depth_bytes)
        except ImageError as e:
            raise StoreDamagedError(str(e)) from None
        intrinsics = {"fx": fx, "fy": fy, "cx": cx, "cy": cy, "width": width, "height": height}
        camera_pose = (tuple(pose[:3]), tuple(pose[3:]))
        return StoredScene(scene_id, session_id, rgb, depth, intrinsics, camera_pose, stamp)

    def scene_bytes(self) -> int:
        """Bytes on disk of the scene images: what grows with the trials."""
        total = 0
        for folder, _, files in os.walk(self.root / SCENES_DIR):
            total += sum(os.lstat(os.path.join(folder, name)).st_size for name in files)
        return total

    def scene_ids(self, session_id: str | None = None) -> list[str]:
        if session_id is None:
            rows = self._query("SELECT scene_id FROM scenes ORDER BY rowid")
        else:
            rows = self._query(
                "SELECT scene_id FROM scenes WHERE session_id = ? ORDER BY rowid", (session_id,)
            )
        return [r[0] for r in rows]

    def scene_row(self, scene_id: str) -> dict[str, Any]:
        """The scene's row, column by column, as :meth:`import_scene_data` takes it."""
        columns = [r[1] for r in self._query("PRAGMA table_info(scenes)")]
        rows = self._query("SELECT * FROM scenes WHERE scene_id = ?", (scene_id,))
        if not rows:
            raise KeyError(f"{self.root}: no scene {scene_id!r}")
        return dict(zip(columns, rows[0], strict=True))

    def scene_file(self, name: str, sha256: str) -> bytes:
        """The bytes of a scene's image file (``rgb_file``, ``depth_file``), checked."""
        return self._read_file(name, sha256)

    def summary(self) -> Summary:
        """Counts; success rates over labelled trials, overall and per arm/object/stage/session."""

        def tally(column: str) -> dict[Any, Tally]:
            rows = self._query(
                f"SELECT {column}, COUNT(*), SUM(outcome = 'success') FROM trials "
                f"WHERE outcome IN (?, ?) GROUP BY {column} ORDER BY {column}",
                LABELS,
            )
            return {key: Tally(n, int(s)) for key, n, s in rows}

        outcomes = dict(self._query("SELECT outcome, COUNT(*) FROM trials GROUP BY outcome"))
        labelled = sum(outcomes.get(o, 0) for o in LABELS)
        return Summary(
            trials=sum(outcomes.values()),
            outcomes={o: outcomes.get(o, 0) for o in OUTCOMES},
            overall=Tally(labelled, outcomes.get("success", 0)),
            per_arm=tally("arm"),
            per_object=tally("object_id"),
            per_stage=tally("stage"),
            per_session=tally("session_id"),
            sessions=int(self._scalar("SELECT COUNT(*) FROM sessions")),
            scenes=int(self._scalar("SELECT COUNT(*) FROM scenes")),
        )

    def fingerprint(self) -> str:
        """SHA-256 of the data's content (trials, scenes and image checksums, not file times).

        Equal fingerprints mean a model was trained on the same data; any added, changed or
        removed trial or image changes it.
        """
        digest = hashlib.sha256(f"{FORMAT}/{SCHEMA_VERSION}\n".encode())
        for sql in (
            "SELECT session_id, robot, config_yaml, seed, notes FROM sessions ORDER BY session_id",
            "SELECT * FROM scenes ORDER BY scene_id",
            f"SELECT {TRIAL_COLUMNS} FROM trials ORDER BY trial_id",
        ):
            digest.update(f"[{sql}]\n".encode())
            for row in self._query(sql):
                digest.update(repr(row).encode() + b"\n")
        return digest.hexdigest()

    def check_integrity(self) -> list[str]:
        """Everything wrong with the store, one line each; an empty list means it is sound.

        Checks SQLite's ``integrity_check``, foreign keys, each image's presence and checksum,
        and unreferenced files (those younger than ``ORPHAN_GRACE_S`` may be a concurrent
        writer's scene in flight and are not reported).
        """
        problems: list[str] = []
        try:
            rows = self._query("PRAGMA integrity_check")
            problems += [f"{self.root / DB_NAME}: {r[0]}" for r in rows if r[0] != "ok"]
            for table, rowid, parent, _ in self._query("PRAGMA foreign_key_check"):
                problems.append(f"{table} row {rowid}: references a missing {parent} row")
            files = self._query(
                "SELECT scene_id, rgb_file, rgb_sha256, depth_file, depth_sha256 FROM scenes"
            )
        except StoreDamagedError as e:
            return [*problems, str(e)]
        referenced = set()
        for scene_id, *pairs in files:
            for name, sha in (pairs[:2], pairs[2:]):
                referenced.add(name)
                try:
                    actual = sha256_file(self.root / name)
                except FileNotFoundError:
                    problems.append(f"{self.root / name}: missing (scene {scene_id})")
                    continue
                if actual != sha:
                    problems.append(f"{self.root / name}: checksum mismatch (scene {scene_id})")
        now = time.time()
        for path in self._scene_files():
            rel = path.relative_to(self.root).as_posix()
            if rel not in referenced and now - path.stat().st_mtime > ORPHAN_GRACE_S:
                problems.append(f"{path}: not referenced by any scene")
        return problems

    # ---------------------------------------------------------------- internals

    def _check_writable(self) -> None:
        if self.readonly:
            raise StoreError(f"{self.root}: opened read-only")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``BEGIN IMMEDIATE`` so a reader never upgrades mid-way.

        A failed statement or COMMIT rolls back (SQLite may already have done so on a full disk).
        """
        self._check_writable()
        with self._mutex:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.OperationalError) and _disk_full(e):
                    raise self._full(f"cannot write {self.root / DB_NAME}: {e}") from e
                raise

    def _full(self, what: str) -> StoreFullError:
        """The error for a full disk, remembered so that the writing process can stop."""
        self.disk_full = StoreFullError(
            f"{self.root}: disk full: {what}; every committed trial is kept: free space on "
            "this disk and run the same command again to continue"
        )
        return self.disk_full

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.root}: store is closed")
        return self._conn

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._mutex:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                raise StoreDamagedError(f"{self.root / DB_NAME}: {e}") from e

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._query(sql, params)
        return rows[0][0] if rows else None

    def _read_file(self, name: str, sha: str | None) -> bytes:
        path = self.root / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreDamagedError(f"{path}: missing") from None
        if sha is not None and hashlib.sha256(data).hexdigest() != sha:
            raise StoreDamagedError(f"{path}: checksum mismatch")
        return data

    def _scene_files(self) -> Iterator[Path]:
        scenes = self.root / SCENES_DIR
        if scenes.is_dir():
            yield from (p for p in sorted(scenes.rglob("*")) if p.is_file())

    def _remove_leftovers(self) -> None:
        """Delete what a killed writer left: temporary files and images no row references."""
        for tmp in self.root.glob(f".{DB_NAME}.*{TMP_SUFFIX}*"):  # a creation cut short
            tmp.unlink()
        files = list(self._scene_files())
        if not files:
            return
        try:
            quick = self._query("PRAGMA quick_check")
        except StoreDamagedError:
            return  # a damaged database cannot say which files are unreferenced
        if quick != [("ok",)]:
            return
        rows = self._query("SELECT rgb_file, depth_file FROM scenes")
        referenced = {name for row in rows for name in row}
        for path in files:
            if path.relative_to(self.root).as_posix() not in referenced:
                path.unlink()


def check_store(path: str | Path) -> list[str]:
    """``check_integrity`` of the store at ``path``, read-only; an unreadable database is a problem.

    Raises:
        NotAStoreError: there is no trial store at ``path``.
    """
    try:
        store = TrialStore.open(path, create=False, readonly=True)
    except (StoreDamagedError, StoreVersionError) as e:
        return [str(e)]
    with store:
        return store.check_integrity()


# -------------------------------------------------------------------- helpers


def _lock(root: Path) -> int:
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreBusyError(f"{root}: another process has the store open for writing") from None
    return fd


_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _disk_full(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _write_image(path: Path, data: bytes, written: list[Path]) -> str:
    """``path`` written durably and added to ``written``; its sha256."""
    write_durably(path, data)
    written.append(path)
    return hashlib.sha256(data).hexdigest()


def _link_or_copy(source: Path, target: Path, sha256: str, written: list[Path]) -> None:
    """``source`` at ``target`` (a hard link on the same file system, else a durable copy), added
    to ``written`` once its content is checked against ``sha256``."""
    if target.exists():
        if sha256_file(target) == sha256:
            return
        raise StoreDamagedError(f"{target}: exists with other content than {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        write_durably(target, source.read_bytes())
    written.append(target)
    fsync_directory(target.parent)
    if sha256_file(target) != sha256:
        raise StoreDamagedError(f"{source}: checksum mismatch (not imported)")


def _inside(root: Path, name: str) -> Path:
    """``root / name`` for a scene file name from another store: under ``scenes/``, no '..'."""
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts or parts[:1] != (SCENES_DIR,):
        raise ValueError(f"scene file: expected a name under {SCENES_DIR}/ (got {name!r})")
    return root / name


def _array_kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__


def _check_in_image(t: Trial, width: int, height: int) -> None:
    x, y, w, h = t.roi
    if x + w > width or y + h > height:
        raise ValueError(f"roi: expected inside the {width}x{height} scene (got {t.roi})")
    u, v = t.grasp_pixel
    if not (0 <= u < width and 0 <= v < height):
        raise ValueError(
            f"grasp_pixel: expected inside the {width}x{height} scene (got {t.grasp_pixel})"
        )


def _filters(
    stage: int | Iterable[int] | None,
    arm: str | None,
    labelled_only: bool,
    object_ids: Iterable[str] | None,
    session_id: str | None,
    robot: str | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def one_of(column: str, values: Iterable[Any]) -> None:
        values = list(values)
        clauses.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
        params.extend(values)

    if stage is not None:
        one_of("stage", [stage] if isinstance(stage, int | np.integer) else stage)
    if arm is not None:
        if arm not in ARMS:
            raise ValueError(f"arm: expected one of {ARMS} (got {arm!r})")
        one_of("arm", [arm])
    if labelled_only:
        one_of("outcome", LABELS)
    if object_ids is not None:
        one_of("object_id", [object_ids] if isinstance(object_ids, str) else object_ids)
    if session_id is not None:
        one_of("session_id", [session_id])
    if robot is not None:
        clauses.append("session_id IN (SELECT session_id FROM sessions WHERE robot = ?)")
        params.append(robot)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
