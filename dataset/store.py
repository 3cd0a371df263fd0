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

Depth is kept as a 16-bit PNG of whole millimetres, as the Kinect v2 measures it: exact to the
millimetre, NaN (no reading) as 0, and ~5x smaller than float32 (a 640x360 table scene: ~0.2 MB
against 0.9 MB), so 50,000 trials fit on a laptop disk. Depth nearer than 1 mm or beyond 65.535 m
is stored as no reading. Stores written before held ``.depth.npy`` float32 metres; they are still
read (the file's suffix says which).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import math
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .durable import TMP_SUFFIX, fsync_directory, fsync_file, temporary_name, write_durably

FORMAT = "supersize_grasp.trial_store"
SCHEMA_VERSION = 1
DB_NAME = "trials.sqlite"
LOCK_NAME = "writer.lock"
SCENES_DIR = "scenes"
ARMS = ("left", "right")
OUTCOMES = ("success", "failure", "ik_failed", "aborted")
LABELS = ("success", "failure")  # the only outcomes that are training labels
ORPHAN_GRACE_S = 60.0  # a younger unreferenced image may be a scene another process is committing
_QUATERNION_TOLERANCE = 1e-3
_PAGE = 1000  # trials per query when iterating

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    robot TEXT NOT NULL,
    config_yaml TEXT NOT NULL,
    seed INTEGER NOT NULL,
    notes TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL
);
CREATE TABLE scenes (
    scene_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(session_id),
    stamp REAL NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL,
    fx REAL NOT NULL, fy REAL NOT NULL, cx REAL NOT NULL, cy REAL NOT NULL,
    px REAL NOT NULL, py REAL NOT NULL, pz REAL NOT NULL,
    qx REAL NOT NULL, qy REAL NOT NULL, qz REAL NOT NULL, qw REAL NOT NULL,
    rgb_file TEXT NOT NULL, rgb_sha256 TEXT NOT NULL,
    depth_file TEXT NOT NULL, depth_sha256 TEXT NOT NULL
);
CREATE TABLE trials (
    trial_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(session_id),
    scene_id TEXT NOT NULL REFERENCES scenes(scene_id),
    stage INTEGER NOT NULL,
    arm TEXT NOT NULL,
    chooser TEXT NOT NULL,
    outcome TEXT NOT NULL,
    roi_x INTEGER NOT NULL, roi_y INTEGER NOT NULL, roi_w INTEGER NOT NULL, roi_h INTEGER NOT NULL,
    u REAL NOT NULL, v REAL NOT NULL,
    angle REAL NOT NULL, angle_bin INTEGER NOT NULL,
    gx REAL NOT NULL, gy REAL NOT NULL, gz REAL NOT NULL,
    gqx REAL NOT NULL, gqy REAL NOT NULL, gqz REAL NOT NULL, gqw REAL NOT NULL,
    force REAL NOT NULL,
    gripper_position REAL NOT NULL,
    gripper_history TEXT NOT NULL,
    timings TEXT NOT NULL,
    seed INTEGER NOT NULL,
    object_id TEXT NOT NULL,
    message TEXT NOT NULL,
    score REAL,
    stamp REAL NOT NULL
);
CREATE INDEX trials_by_stage ON trials(stage, arm);
CREATE INDEX trials_by_scene ON trials(scene_id);
"""
# One transaction (DDL is transactional in SQLite): a crash leaves no half schema.
_INIT = (
    f"BEGIN IMMEDIATE;{_SCHEMA}"
    f"INSERT INTO meta VALUES ('format', '{FORMAT}');"
    f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;"
)
_TRIAL_COLUMNS = (
    "trial_id, session_id, scene_id, stage, arm, chooser, outcome, roi_x, roi_y, roi_w, roi_h, "
    "u, v, angle, angle_bin, gx, gy, gz, gqx, gqy, gqz, gqw, force, gripper_position, "
    "gripper_history, timings, seed, object_id, message, score, stamp"
)


class StoreError(Exception):
    """A store that cannot be used as asked; the message names its path."""


class NotAStoreError(StoreError):
    """The path holds no trial store (missing, another kind of file, another SQLite database)."""


class StoreVersionError(StoreError):
    """A store written by a schema version this code does not read."""


class StoreDamagedError(StoreError):
    """The database or an image file is corrupt; ``check_integrity`` lists what."""


class StoreBusyError(StoreError):
    """Another process holds the store open for writing."""


class StoreFullError(StoreError):
    """The disk (or quota) holding the store is full; what was committed before stays intact."""


@dataclass(frozen=True)
class Trial:
    """One grasp trial. Only ``success`` and ``failure`` outcomes are labels for learning."""

    session_id: str
    scene_id: str
    stage: int
    arm: str
    chooser: str
    outcome: str
    roi: tuple[int, int, int, int]  # x, y, w, h in scene pixels
    grasp_pixel: tuple[float, float]  # u (column), v (row)
    angle: float  # rad in [0, pi)
    angle_bin: int
    grasp_position: tuple[float, float, float]  # m, robot base frame
    grasp_orientation: tuple[float, float, float, float]  # quaternion x, y, z, w
    force: float  # % of max, after the lift
    gripper_position: float  # % open, after the lift
    gripper_history: tuple[tuple[float, float, float], ...] = ()  # (t, position, force)
    timings: Mapping[str, float] = field(default_factory=dict)  # phase -> seconds
    seed: int = 0
    object_id: str = ""  # simulator ground truth; "" on the real robot
    message: str = ""
    score: float = math.nan  # chooser's graspability; NaN when not scored
    stamp: float = 0.0  # s since the epoch, when the trial ended
    trial_id: int | None = None  # assigned by the store

    @property
    def labelled(self) -> bool:
        return self.outcome in LABELS

    @property
    def success(self) -> bool:
        return self.outcome == "success"


@dataclass(frozen=True)
class Session:
    session_id: str
    robot: str
    config_yaml: str
    seed: int
    notes: str
    started: float
    ended: float | None  # None: still running, or the process died


@dataclass(frozen=True)
class StoredScene:
    """A scene capture as stored: the images the grasp patches are cut from, and the camera."""

    scene_id: str
    session_id: str
    rgb: np.ndarray  # HxWx3 uint8, RGB order
    depth: np.ndarray  # HxW float32, metres
    intrinsics: dict[str, float]  # fx, fy, cx, cy, width, height
    camera_pose: tuple[tuple[float, float, float], tuple[float, float, float, float]]
    stamp: float


@dataclass(frozen=True)
class Tally:
    labelled: int
    successes: int

    @property
    def success_rate(self) -> float:
        return self.successes / self.labelled if self.labelled else math.nan


@dataclass(frozen=True)
class Summary:
    trials: int  # all outcomes
    outcomes: dict[str, int]
    overall: Tally  # over labelled trials
    per_arm: dict[str, Tally]
    per_object: dict[str, Tally]
    per_stage: dict[int, Tally]
    per_session: dict[str, Tally]
    sessions: int
    scenes: int


_SESSION_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def new_session_id(now: float | None = None) -> str:
    """Sortable by start time, unique: ``20261125T164025-906f7c``."""
    now = time.time() if now is None else now
    stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


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
                _create_database(db)
            conn = _connect(db, readonly)
            _check_or_init_schema(conn, root, create)
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
        """A new collection session; its id (``new_session_id()`` unless given) sorts by time."""
        _require(isinstance(robot, str) and robot, "robot", "a non-empty string")
        _require(isinstance(config_yaml, str), "config_yaml", "a string")
        _require(_is_int(seed) and 0 <= seed < 2**63, "seed", "an integer in [0, 2^63)")
        _require(
            session_id is None or _SESSION_ID.fullmatch(session_id) is not None,
            "session_id",
            "letters, digits, '-', '_' or 'T' (it names files)",
        )
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
            _require(cursor.rowcount == 1, "session_id", f"a known session (got {session_id!r})")

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
        _require(
            isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3,
            "rgb",
            "an HxWx3 uint8 array",
        )
        _require(rgb.shape[2] == 3 and rgb.size > 0, "rgb", "an HxWx3 uint8 array")
        _require(
            isinstance(depth, np.ndarray) and depth.dtype == np.float32,
            "depth",
            "a float32 array of metres",
        )
        _require(depth.shape == rgb.shape[:2], "depth", f"shape {rgb.shape[:2]} like rgb")
        intr = _intrinsics(intrinsics, rgb.shape[1], rgb.shape[0])
        position, orientation = _pose(camera_pose, "camera_pose")
        _require(_finite(stamp), "stamp", "a finite time in s")
        if self._scalar("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,)) is None:
            raise ValueError(f"session_id: unknown session {session_id!r}")

        scene_id = secrets.token_hex(8)
        folder = Path(SCENES_DIR, session_id)
        rgb_file = folder / f"{scene_id}.rgb.png"
        depth_file = folder / f"{scene_id}.depth.png"
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise StoreError(f"{self.root}: OpenCV could not encode the RGB image as PNG")
        depth_png = encode_depth(depth)
        written: list[Path] = []
        try:
            rgb_sha = _write_image(self.root / rgb_file, png.tobytes(), written)
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
        values = _trial_row(record)
        with self._write() as conn:
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
            cursor = conn.execute(
                f"INSERT INTO trials ({_TRIAL_COLUMNS}) VALUES ({', '.join('?' * 31)})",
                (None, *values),
            )
            return int(cursor.lastrowid)

    # ---------------------------------------------------------------- reading

    def sessions(self) -> list[Session]:
        rows = self._query("SELECT * FROM sessions ORDER BY started, session_id")
        return [Session(*row) for row in rows]

    def trials(
        self,
        stage: int | Iterable[int] | None = None,
        arm: str | None = None,
        labelled_only: bool = True,
        object_ids: Iterable[str] | None = None,
        session_id: str | None = None,
    ) -> Iterator[Trial]:
        """Trials in id order; by default only those that are labels (success or failure)."""
        where, params = _filters(stage, arm, labelled_only, object_ids, session_id)
        where = f"{where} AND trial_id > ?" if where else " WHERE trial_id > ?"
        sql = f"SELECT {_TRIAL_COLUMNS} FROM trials{where} ORDER BY trial_id LIMIT {_PAGE}"
        last = 0
        while rows := self._query(sql, (*params, last)):  # pages: memory stays flat at 50K trials
            for row in rows:
                yield _trial_from_row(row)
            last = rows[-1][0]

    def count(
        self,
        stage: int | Iterable[int] | None = None,
        arm: str | None = None,
        labelled_only: bool = False,
        object_ids: Iterable[str] | None = None,
        session_id: str | None = None,
    ) -> int:
        """Number of trials, all outcomes unless ``labelled_only``."""
        where, params = _filters(stage, arm, labelled_only, object_ids, session_id)
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
        bgr = cv2.imdecode(np.frombuffer(rgb_bytes, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise StoreDamagedError(f"{self.root / rgb_file}: not a readable PNG")
        depth = decode_depth(self.root / depth_file, depth_bytes)
        intrinsics = {"fx": fx, "fy": fy, "cx": cx, "cy": cy, "width": width, "height": height}
        camera_pose = (tuple(pose[:3]), tuple(pose[3:]))
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
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
            f"SELECT {_TRIAL_COLUMNS} FROM trials ORDER BY trial_id",
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
                    actual = _sha256(self.root / name)
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


def _connect(db: Path, readonly: bool) -> sqlite3.Connection:
    uri = db.resolve().as_uri() + ("?mode=ro" if readonly else "")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
    except sqlite3.DatabaseError as e:
        raise _open_error(db.parent, e) from None
    return conn


def _create_database(db: Path) -> None:
    """The schema is written under a temporary name and renamed into place, so a reader never
    finds ``trials.sqlite`` without its tables (a store being created looked like another
    program's database). Closing the only connection folds the WAL back into the file."""
    tmp = temporary_name(db)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_INIT)
        finally:
            conn.close()
        fsync_file(tmp)
        os.replace(tmp, db)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
    fsync_directory(db.parent)


def _check_or_init_schema(conn: sqlite3.Connection, root: Path, create: bool) -> None:
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and create:  # an empty database (a writer of an older version was killed)
            conn.executescript(_INIT)
            return
        if "meta" not in tables:
            raise NotAStoreError(f"{root}: {DB_NAME} is an SQLite database but not a trial store")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as e:
        conn.close()
        raise _open_error(root, e) from None
    except NotAStoreError:
        conn.close()
        raise
    if meta.get("format") != FORMAT:
        conn.close()
        raise NotAStoreError(
            f"{root}: {DB_NAME} is not a trial store (format {meta.get('format')!r})"
        )
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        conn.close()
        raise StoreVersionError(
            f"{root}: schema version {meta.get('schema_version')!r}; this code reads version "
            f"{SCHEMA_VERSION}"
        )


def _open_error(root: Path, error: sqlite3.DatabaseError) -> StoreError:
    if "not a database" in str(error):
        return NotAStoreError(f"{root}: {DB_NAME} is not an SQLite database")
    return StoreDamagedError(f"{root}: cannot read {DB_NAME}: {error}")


_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _disk_full(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def encode_depth(depth: np.ndarray) -> bytes:
    """Depth in metres (float32, NaN = no reading) as a 16-bit PNG of whole millimetres."""
    with np.errstate(invalid="ignore"):
        millimetres = np.round(depth.astype(np.float64) * 1000.0)
        valid = np.isfinite(millimetres) & (millimetres >= 1) & (millimetres <= 65535)
    ok, png = cv2.imencode(".png", np.where(valid, millimetres, 0).astype(np.uint16))
    if not ok:
        raise StoreError("OpenCV could not encode the depth image as a 16-bit PNG")
    return png.tobytes()


def decode_depth(path: Path, data: bytes) -> np.ndarray:
    """float32 metres (NaN = no reading) from a stored depth file, either format."""
    if path.suffix == ".npy":  # stores written before depth PNGs
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as e:
            raise StoreDamagedError(f"{path}: not a readable .npy: {e}") from e
    millimetres = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if millimetres is None or millimetres.dtype != np.uint16 or millimetres.ndim != 2:
        raise StoreDamagedError(f"{path}: not a readable 16-bit depth PNG")
    depth = millimetres.astype(np.float32) / np.float32(1000.0)
    depth[millimetres == 0] = np.nan
    return depth


def _write_image(path: Path, data: bytes, written: list[Path]) -> str:
    """``path`` written durably and added to ``written``; its sha256."""
    write_durably(path, data)
    written.append(path)
    return hashlib.sha256(data).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _require(ok: bool, name: str, expected: str) -> None:
    if not ok:
        raise ValueError(f"{name}: expected {expected}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.number)
        and not isinstance(value, bool)
        and (math.isfinite(value))
    )


def _floats(value: Any, n: int, name: str) -> tuple[float, ...]:
    ok = isinstance(value, Sequence | np.ndarray) and len(value) == n
    _require(ok and all(_finite(x) for x in value), name, f"{n} finite numbers")
    return tuple(float(x) for x in value)


def _pose(
    pose: Any, name: str
) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
    _require(isinstance(pose, Sequence) and len(pose) == 2, name, "(position xyz, quaternion xyzw)")
    position = _floats(pose[0], 3, f"{name} position")
    orientation = _quaternion(pose[1], f"{name} orientation")
    return position, orientation  # type: ignore[return-value]


def _quaternion(value: Any, name: str) -> tuple[float, ...]:
    q = _floats(value, 4, name)
    norm = math.sqrt(sum(x * x for x in q))
    _require(abs(norm - 1.0) < _QUATERNION_TOLERANCE, name, f"a unit quaternion (norm {norm:.4g})")
    return q


def _intrinsics(intrinsics: Any, width: int, height: int) -> dict[str, Any]:
    _require(isinstance(intrinsics, Mapping), "intrinsics", "a mapping fx, fy, cx, cy, w, h")
    out: dict[str, Any] = {}
    for key in ("fx", "fy", "cx", "cy", "width", "height"):
        value = intrinsics.get(key)
        _require(_finite(value), f"intrinsics.{key}", "a finite number")
        out[key] = float(value)
    _require(out["fx"] > 0 and out["fy"] > 0, "intrinsics.fx", "positive focal lengths")
    _require(
        (out["width"], out["height"]) == (width, height),
        "intrinsics.width",
        f"the image size {width}x{height}",
    )
    out["width"], out["height"] = width, height
    return out


def _trial_row(t: Trial) -> tuple:
    """The row of a trial, after checking every field (errors name the field)."""
    _require(isinstance(t, Trial), "record", "a Trial")
    _require(isinstance(t.session_id, str) and t.session_id, "session_id", "a session id")
    _require(isinstance(t.scene_id, str) and t.scene_id, "scene_id", "a scene id")
    _require(_is_int(t.stage) and t.stage >= 0, "stage", "an integer >= 0")
    _require(t.arm in ARMS, "arm", f"one of {ARMS} (got {t.arm!r})")
    _require(isinstance(t.chooser, str) and t.chooser, "chooser", "a non-empty string")
    _require(t.outcome in OUTCOMES, "outcome", f"one of {OUTCOMES} (got {t.outcome!r})")
    ok = isinstance(t.roi, Sequence) and len(t.roi) == 4 and all(_is_int(x) for x in t.roi)
    _require(
        ok and min(t.roi[:2]) >= 0 and min(t.roi[2:]) > 0, "roi", "integers x, y >= 0, w, h > 0"
    )
    u, v = _floats(t.grasp_pixel, 2, "grasp_pixel")
    _require(
        _finite(t.angle) and 0.0 <= t.angle < math.pi, "angle", f"rad in [0, pi) (got {t.angle})"
    )
    _require(_is_int(t.angle_bin) and t.angle_bin >= 0, "angle_bin", "an integer >= 0")
    position = _floats(t.grasp_position, 3, "grasp_position")
    orientation = _quaternion(t.grasp_orientation, "grasp_orientation")
    _require(_finite(t.force), "force", "a finite number (%)")
    _require(_finite(t.gripper_position), "gripper_position", "a finite number (%)")
    history = [_floats(s, 3, "gripper_history") for s in t.gripper_history]
    _require(isinstance(t.timings, Mapping), "timings", "a mapping phase -> seconds")
    timings = {}
    for phase, seconds in t.timings.items():
        _require(isinstance(phase, str) and _finite(seconds), "timings", "phase names -> seconds")
        timings[phase] = float(seconds)
    _require(_is_int(t.seed) and 0 <= t.seed < 2**63, "seed", "an integer in [0, 2^63)")
    _require(isinstance(t.object_id, str), "object_id", "a string")
    _require(isinstance(t.message, str), "message", "a string")
    score_ok = isinstance(t.score, int | float | np.number) and not math.isinf(t.score)
    _require(score_ok, "score", "a finite number or NaN")
    _require(_finite(t.stamp), "stamp", "a finite time in s")
    score = None if math.isnan(t.score) else float(t.score)
    return (
        t.session_id, t.scene_id, int(t.stage), t.arm, t.chooser, t.outcome,
        *(int(x) for x in t.roi), u, v, float(t.angle), int(t.angle_bin), *position, *orientation,
        float(t.force), float(t.gripper_position), json.dumps(history), json.dumps(timings),
        int(t.seed), t.object_id, t.message, score, float(t.stamp),
    )  # fmt: skip


def _check_in_image(t: Trial, width: int, height: int) -> None:
    x, y, w, h = t.roi
    _require(x + w <= width and y + h <= height, "roi", f"inside the {width}x{height} scene")
    u, v = t.grasp_pixel
    _require(
        0 <= u < width and 0 <= v < height, "grasp_pixel", f"inside the {width}x{height} scene"
    )


def _trial_from_row(row: tuple) -> Trial:
    (trial_id, session_id, scene_id, stage, arm, chooser, outcome, rx, ry, rw, rh, u, v, angle,
     angle_bin, gx, gy, gz, qx, qy, qz, qw, force, gripper_position, history, timings, seed,
     object_id, message, score, stamp) = row  # fmt: skip
    return Trial(
        session_id=session_id,
        scene_id=scene_id,
        stage=stage,
        arm=arm,
        chooser=chooser,
        outcome=outcome,
        roi=(rx, ry, rw, rh),
        grasp_pixel=(u, v),
        angle=angle,
        angle_bin=angle_bin,
        grasp_position=(gx, gy, gz),
        grasp_orientation=(qx, qy, qz, qw),
        force=force,
        gripper_position=gripper_position,
        gripper_history=tuple(tuple(s) for s in json.loads(history)),
        timings=json.loads(timings),
        seed=seed,
        object_id=object_id,
        message=message,
        score=math.nan if score is None else score,
        stamp=stamp,
        trial_id=trial_id,
    )


def _filters(
    stage: int | Iterable[int] | None,
    arm: str | None,
    labelled_only: bool,
    object_ids: Iterable[str] | None,
    session_id: str | None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def one_of(column: str, values: Iterable[Any]) -> None:
        values = list(values)
        clauses.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
        params.extend(values)

    if stage is not None:
        one_of("stage", [stage] if _is_int(stage) else stage)
    if arm is not None:
        _require(arm in ARMS, "arm", f"one of {ARMS} (got {arm!r})")
        one_of("arm", [arm])
    if labelled_only:
        one_of("outcome", LABELS)
    if object_ids is not None:
        one_of("object_id", [object_ids] if isinstance(object_ids, str) else object_ids)
    if session_id is not None:
        one_of("session_id", [session_id])
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
