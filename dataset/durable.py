"""Files that survive a crash: a final name never holds a partial file.

The trial store's images and database and the training checkpoints are all written this way:
under a temporary name beside the final one, fsynced, renamed into place, and the directory
fsynced, so that after ``kill -9`` or a power cut a name holds the whole file or nothing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``: ``.<name>.<random>.tmp``, what a writer's clean-up removes."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(folder: Path) -> None:
    """Makes a rename in ``folder`` durable."""
    fsync_file(folder)


def write_durably(path: Path, data: bytes | memoryview) -> None:
    """Temporary name, fsync, rename, fsync the directory.

    A failed write removes its temporary file (on a full disk it holds the space others need),
    and an ``OSError`` names ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:
            e.filename = str(path)
        raise
    fsync_directory(path.parent)


def sha256_file(path: Path) -> str:
    """The file's sha256, read in blocks (scene images, shipped weights)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
