"""The trial store's SQLite file: its tables (one trials column list), reading and writing a
trial as a row, creating and opening the file, and the errors a store raises.

:mod:`.store` keeps records in it; nothing else touches SQL.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .durable import fsync_directory, fsync_file, temporary_name
from .records import Trial

FORMAT = "supersize_grasp.trial_store"
SCHEMA_VERSION = 1
DB_NAME = "trials.sqlite"

_SCHEMA_TEMPLATE = """
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
{trials_table}
CREATE INDEX trials_by_stage ON trials(stage, arm);
CREATE INDEX trials_by_scene ON trials(scene_id);
"""
# The trials table, one entry per Trial field in the table's order: field, columns, SQL type. A
# tuple field spreads over several columns; a mapping or a tuple of tuples is kept as JSON text.
TRIAL_TABLE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("trial_id", ("trial_id",), "INTEGER PRIMARY KEY AUTOINCREMENT"),
    ("session_id", ("session_id",), "TEXT NOT NULL REFERENCES sessions(session_id)"),
    ("scene_id", ("scene_id",), "TEXT NOT NULL REFERENCES scenes(scene_id)"),
    ("stage", ("stage",), "INTEGER NOT NULL"),
    ("arm", ("arm",), "TEXT NOT NULL"),
    ("chooser", ("chooser",), "TEXT NOT NULL"),
    ("outcome", ("outcome",), "TEXT NOT NULL"),
    ("roi", ("roi_x", "roi_y", "roi_w", "roi_h"), "INTEGER NOT NULL"),
    ("grasp_pixel", ("u", "v"), "REAL NOT NULL"),
    ("angle", ("angle",), "REAL NOT NULL"),
    ("angle_bin", ("angle_bin",), "INTEGER NOT NULL"),
    ("grasp_position", ("gx", "gy", "gz"), "REAL NOT NULL"),
    ("grasp_orientation", ("gqx", "gqy", "gqz", "gqw"), "REAL NOT NULL"),
    ("force", ("force",), "REAL NOT NULL"),
    ("gripper_position", ("gripper_position",), "REAL NOT NULL"),
    ("gripper_history", ("gripper_history",), "TEXT NOT NULL"),
    ("timings", ("timings",), "TEXT NOT NULL"),
    ("seed", ("seed",), "INTEGER NOT NULL"),
    ("object_id", ("object_id",), "TEXT NOT NULL"),
    ("message", ("message",), "TEXT NOT NULL"),
    ("score", ("score",), "REAL"),  # NULL: not scored (NaN in a Trial)
    ("stamp", ("stamp",), "REAL NOT NULL"),
)
_JSON_FIELDS = ("gripper_history", "timings")
TRIAL_COLUMNS = ", ".join(c for _, columns, _ in TRIAL_TABLE for c in columns)
_SCHEMA = _SCHEMA_TEMPLATE.format(
    trials_table="CREATE TABLE trials (\n"
    + ",\n".join(f"    {c} {sql}" for _, columns, sql in TRIAL_TABLE for c in columns)
    + "\n);"
)
# One transaction (DDL is transactional in SQLite): a crash leaves no half schema.
_INIT = (
    f"BEGIN IMMEDIATE;{_SCHEMA}"
    f"INSERT INTO meta VALUES ('format', '{FORMAT}');"
    f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;"
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


def connect(db: Path, readonly: bool) -> sqlite3.Connection:
    uri = db.resolve().as_uri() + ("?mode=ro" if readonly else "")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
    except sqlite3.DatabaseError as e:
        raise open_error(db.parent, e) from None
    return conn


def create_database(db: Path) -> None:
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


def check_or_init_schema(conn: sqlite3.Connection, root: Path, create: bool) -> None:
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
        raise open_error(root, e) from None
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


def open_error(root: Path, error: sqlite3.DatabaseError) -> StoreError:
    if "not a database" in str(error):
        return NotAStoreError(f"{root}: {DB_NAME} is not an SQLite database")
    return StoreDamagedError(f"{root}: cannot read {DB_NAME}: {error}")


def trial_row(t: Trial) -> tuple:
    """The row of a checked trial, without its ``trial_id``, in ``TRIAL_COLUMNS`` order."""
    row: list[Any] = []
    for name, columns, _ in TRIAL_TABLE[1:]:
        value = getattr(t, name)
        if name in _JSON_FIELDS:
            row.append(json.dumps(value))
        elif len(columns) > 1:
            row.extend(value)
        else:
            row.append(None if isinstance(value, float) and math.isnan(value) else value)
    return tuple(row)


def trial_from_row(row: Sequence[Any]) -> Trial:
    values: dict[str, Any] = {}
    i = 0
    for name, columns, _ in TRIAL_TABLE:
        n = len(columns)
        value = tuple(row[i : i + n]) if n > 1 else row[i]
        i += n
        if name == "gripper_history":
            value = tuple(tuple(sample) for sample in json.loads(value))
        elif name == "timings":
            value = json.loads(value)
        elif name == "score" and value is None:
            value = math.nan
        values[name] = value
    return Trial(**values)
