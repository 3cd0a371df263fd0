"""Scanning an object folder into config-independent facts, once, with a cache.

A folder scan (parse + one MuJoCo test compile per object) took 11-16 s for random_urdfs on the 2
shared cores here, so it is cached as a JSON index keyed on the folder and the size and mtime of
its files (a cached load took 0.37-0.56 s). Broken objects are skipped with a reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supersize_grasp.config.objects import FORMAT_SUFFIXES

from .meshes import (
    IDENTITY_QUAT,
    BadObjectError,
    ObjectPiece,
    mesh_groups,
    mesh_volume,
    piece_points,
    primitive_volume,
    read_mjcf,
    rpy_to_quat,
)

logger = logging.getLogger(__name__)

SCAN_VERSION = 1
"""Bump when the scan output changes so stale cache files are ignored."""


class ObjectSetError(ValueError):
    """An object set cannot be used (no usable object, unknown id); the message names the folder."""


def _mesh_pieces(
    path: Path, mesh_scale: Sequence[float], pos: Sequence[float], quat: Sequence[float]
) -> list[ObjectPiece]:
    groups = mesh_groups(str(path))
    scale_det = abs(float(np.prod(mesh_scale)))
    pieces = []
    for name, (verts, faces) in groups.items():
        pieces.append(
            ObjectPiece(
                kind="mesh",
                source=str(path),
                group=name,
                mesh_scale=tuple(float(s) for s in mesh_scale),  # type: ignore[arg-type]
                pos=tuple(float(x) for x in pos),  # type: ignore[arg-type]
                quat=tuple(float(x) for x in quat),  # type: ignore[arg-type]
                volume=mesh_volume(verts, faces) * scale_det,
            )
        )
    return pieces


def _floats(text: str | None, default: Sequence[float]) -> list[float]:
    return [float(x) for x in text.split()] if text else list(default)


def _resolve_urdf_mesh(urdf: Path, filename: str) -> Path:
    """URDF mesh filenames: relative to the URDF, ``file://`` or ``package://pkg/...``."""
    if filename.startswith("file://"):
        return Path(filename[len("file://") :])
    if filename.startswith("package://"):
        rest = Path(filename[len("package://") :])
        tail = Path(*rest.parts[1:]) if len(rest.parts) > 1 else rest
        for base in (urdf.parent, *urdf.parents):
            if (base / tail).is_file():
                return base / tail
        return urdf.parent / tail
    return urdf.parent / filename


def _scan_urdf(path: Path) -> dict[str, Any]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise BadObjectError(f"{path}: bad XML: {e}") from e
    links = [
        link
        for link in root.iter("link")
        if link.find("collision") is not None or link.find("visual") is not None
    ]
    if len(links) != 1:
        raise BadObjectError(f"{path}: {len(links)} links with geometry; only rigid one-link URDFs")
    link = links[0]
    elements = link.findall("collision") or link.findall("visual")
    pieces: list[ObjectPiece] = []
    files = [str(path)]
    for el in elements:
        origin = el.find("origin")
        pos = _floats(origin.get("xyz") if origin is not None else None, (0, 0, 0))
        quat = rpy_to_quat(_floats(origin.get("rpy") if origin is not None else None, (0, 0, 0)))
        geometry = el.find("geometry")
        shape = geometry[0] if geometry is not None and len(geometry) else None
        if shape is None:
            continue
        if shape.tag == "mesh":
            mesh_path = _resolve_urdf_mesh(path, shape.get("filename", ""))
            if not mesh_path.is_file():
                raise BadObjectError(f"{path}: mesh {mesh_path} not found")
            scale = _floats(shape.get("scale"), (1, 1, 1))
            pieces += _mesh_pieces(mesh_path, scale, pos, quat)
            files.append(str(mesh_path))
        elif shape.tag in ("box", "cylinder", "sphere"):
            if shape.tag == "box":
                size = tuple(0.5 * s for s in _floats(shape.get("size"), ()))
            elif shape.tag == "cylinder":
                size = (float(shape.get("radius", 0)), 0.5 * float(shape.get("length", 0)))
            else:
                size = (float(shape.get("radius", 0)),)
            pieces.append(
                ObjectPiece(
                    kind=shape.tag,  # type: ignore[arg-type]
                    size=size,
                    pos=tuple(pos),  # type: ignore[arg-type]
                    quat=quat,
                    volume=primitive_volume(shape.tag, size),
                )
            )
        else:
            raise BadObjectError(f"{path}: unsupported URDF geometry <{shape.tag}>")
    mass_el = link.find("inertial/mass")
    mass = float(mass_el.get("value")) if mass_el is not None and mass_el.get("value") else None
    color = link.find("visual/material/color")
    rgba = _floats(color.get("rgba"), ()) if color is not None else None
    return {"files": files, "pieces": pieces, "mass": mass, "rgba": rgba}


def _scan_one(path: Path, fmt: str) -> dict[str, Any]:
    """Read one object file into config-independent facts; raises BadObjectError when unusable."""
    if fmt == "urdf":
        info = _scan_urdf(path)
    elif fmt == "mjcf":
        pieces, _ = read_mjcf(str(path), path.stat().st_mtime_ns)
        info = {"files": [str(path)], "pieces": pieces, "mass": None, "rgba": None}
    else:
        pieces = _mesh_pieces(path, (1, 1, 1), (0, 0, 0), IDENTITY_QUAT)
        info = {"files": [str(path)], "pieces": pieces, "mass": None, "rgba": None}
    return _check_pieces(path.name, info)


def _check_pieces(label: str, info: dict[str, Any]) -> dict[str, Any]:
    """Drop zero-volume pieces, reject non-finite geometry, add the source bounding box."""
    kept = []
    points = []
    for piece in info["pieces"]:
        pts = piece_points(piece)
        if not np.isfinite(pts).all():
            raise BadObjectError(f"{label}: non-finite vertices in piece {piece.group!r}")
        if piece.kind == "mesh" and (len(pts) < 4 or not piece.volume > 0.0):
            logger.debug("%s: degenerate piece %r dropped", label, piece.group)
            continue
        kept.append(piece)
        points.append(pts)
    if not kept:
        raise BadObjectError(f"{label}: no solid piece")
    allpts = np.concatenate(points)
    info["pieces"] = kept
    info["bbox"] = [allpts.min(0).tolist(), allpts.max(0).tolist()]
    return info


def _object_name(folder: Path, path: Path) -> str:
    """'042' for random_urdfs/042/042.urdf, 'sub/mug' for folder/sub/mug.obj."""
    rel = path.relative_to(folder).with_suffix("")
    if len(rel.parts) > 1 and rel.parts[-2] == rel.parts[-1]:
        rel = rel.parent
    return rel.as_posix()


def _candidates(folder: Path, fmt: str) -> tuple[str, list[Path]]:
    """Object files one or two levels deep, and the format they are read as."""
    files = sorted(p for pattern in ("*", "*/*") for p in folder.glob(pattern) if p.is_file())
    formats = ("urdf", "mjcf", "obj") if fmt == "auto" else (fmt,)
    for f in formats:
        chosen = [p for p in files if p.suffix.lower() in FORMAT_SUFFIXES[f]]
        if chosen:
            return f, chosen
    return formats[-1], []


def _folder_signature(folder: Path, files: Sequence[Path]) -> str:
    """Hash of every relevant file's path, size and mtime: a changed folder is scanned again."""
    h = hashlib.sha256(f"{SCAN_VERSION}|{folder.resolve()}".encode())
    suffixes = {s for v in FORMAT_SUFFIXES.values() for s in v}
    for pattern in ("*", "*/*"):
        for p in sorted(folder.glob(pattern)):
            if p.suffix.lower() in suffixes:
                st = p.stat()
                h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    for p in files:
        h.update(str(p).encode())
    return h.hexdigest()[:20]


def _piece_to_json(p: ObjectPiece) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "source": p.source,
        "group": p.group,
        "mesh_scale": list(p.mesh_scale),
        "size": list(p.size),
        "pos": list(p.pos),
        "quat": list(p.quat),
        "volume": p.volume,
    }


def _piece_from_json(d: dict[str, Any]) -> ObjectPiece:
    return ObjectPiece(
        kind=d["kind"],
        source=d["source"],
        group=d["group"],
        mesh_scale=tuple(d["mesh_scale"]),
        size=tuple(d["size"]),
        pos=tuple(d["pos"]),
        quat=tuple(d["quat"]),
        volume=d["volume"],
    )


@dataclass
class Scan:
    """Config-independent facts about a folder: usable entries and skipped names with reasons."""

    entries: dict[str, dict[str, Any]]
    skipped: dict[str, str]
    seconds: float
    from_cache: bool = False


def scan_folder(
    folder: Path, fmt: str, cache_dir: Path | None, check: Callable[[str, dict[str, Any]], None]
) -> Scan:
    """Scan (or load the cached scan of) a folder; ``check`` (a MuJoCo test compile) may reject
    an object by raising :class:`BadObjectError`."""
    fmt_used, files = _candidates(folder, fmt)
    if not files:
        raise ObjectSetError(f"object folder {folder} holds no {fmt} object files")
    cache_file = None
    if cache_dir is not None:
        sig = _folder_signature(folder, files)
        cache_file = cache_dir / f"{folder.name}-{fmt_used}-{sig}.json"
        if cache_file.is_file():
            try:
                raw = json.loads(cache_file.read_text())
                entries = {
                    k: {**v, "pieces": [_piece_from_json(p) for p in v["pieces"]]}
                    for k, v in raw["entries"].items()
                }
                return Scan(entries, raw["skipped"], raw["seconds"], from_cache=True)
            except (OSError, ValueError, KeyError, TypeError) as e:
                logger.warning("ignoring unreadable object cache %s: %s", cache_file, e)

    start = time.perf_counter()
    entries: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for path in files:
        name = _object_name(folder, path)
        try:
            info = _scan_one(path, fmt_used)
            info["format"] = fmt_used
            check(name, info)
            entries[name] = info
        except Exception as e:  # one bad file must never stop the scan: skip it with a reason
            skipped[name] = str(e) if isinstance(e, BadObjectError) else f"{path}: {e!r}"
    seconds = time.perf_counter() - start
    scan = Scan(entries, skipped, seconds)
    if cache_file is not None:
        _write_cache(cache_file, scan)
    return scan


def _write_cache(cache_file: Path, scan: Scan) -> None:
    """Atomically write the scan index; a read-only cache dir only costs a rescan next time."""
    payload = {
        "version": SCAN_VERSION,
        "seconds": scan.seconds,
        "skipped": scan.skipped,
        "entries": {
            k: {**v, "pieces": [_piece_to_json(p) for p in v["pieces"]]}
            for k, v in scan.entries.items()
        },
    }
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh)
        os.replace(tmp, cache_file)
    except OSError as e:
        logger.warning("could not write object cache %s: %s", cache_file, e)
