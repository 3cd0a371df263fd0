"""Object sets for the table: scan a folder once; scale, split, colour; add objects to an MjSpec.

Why this exists: the world (simulator/) rebuilds its MjSpec whenever it resets a scene, so objects
must be cheap to (re)insert as free bodies, identical run to run, and split once and for all into
*train* and *novel* objects (the paper evaluates on 15 objects never seen in training).

Sources (``ObjectSetConfig.folder``):

* ``None``: ``pybullet_data/random_urdfs`` (1,000 procedurally generated objects, zlib licence,
  installed from PyPI with ``pybullet==3.2.7``, not vendored). Each URDF names one OBJ whose ``o``
  groups are convex pieces; each piece becomes one MuJoCo mesh geom (MuJoCo collides with the
  convex hull of a mesh, so merging the pieces would fill the object's concavities).
* any folder of URDF files, MJCF files (the first body of each file's worldbody, rigidified at its
  reference pose) or plain OBJ/STL files (one object per file, one piece per OBJ group).
* ``builtin:primitives``: boxes, cylinders and capsules generated from ``seed``.

Split rule (default ``ends_with_0``, pybullet's own Kuka-grasping convention): an object whose name
(folder or file stem) ends in ``0`` is *novel*, every other object is *train*. Measured on
random_urdfs with the default config: 995 usable objects, 895 train and 100 novel; skipped: 168
(NaN vertices) and 295, 297, 602, 824 (flat sheets, thickness/width 0.05-0.11).

Broken objects (unparsable files, non-finite vertices, no solid piece, MuJoCo compile errors, flat
sheets) are skipped with one logged warning (count and reasons) and listed in
:attr:`ObjectLibrary.skipped`; nothing raises unless no object at all is usable. A folder scan
(parse + one MuJoCo test compile per object) took 11-16 s for random_urdfs on the 2 shared cores
here, so it is cached as a JSON index keyed on the folder and the size and mtime of its files
(a cached load took 0.37-0.56 s). Sizes, masses, colours and the split are recomputed from the
config on every load, so config changes never need a rescan.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import logging
import math
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import mujoco
import numpy as np

from supersize_grasp.config.objects import (
    BUILTIN_PRIMITIVES,
    FORMAT_SUFFIXES,
    GRIPPER_MAX_OPENING,
    ObjectSetConfig,
)

__all__ = [
    "ObjectLibrary",
    "ObjectModel",
    "ObjectPiece",
    "ObjectSetError",
    "Split",
]

logger = logging.getLogger(__name__)

Split = Literal["train", "novel"]
PieceKind = Literal["mesh", "box", "cylinder", "capsule", "sphere"]

SCAN_VERSION = 1
"""Bump when the scan output changes so stale cache files are ignored."""

_IDENTITY_QUAT = (1.0, 0.0, 0.0, 0.0)
_GEOM_TYPES = {
    "mesh": mujoco.mjtGeom.mjGEOM_MESH,
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
}
_KIND_OF_GEOM = {int(v): k for k, v in _GEOM_TYPES.items()}


class ObjectSetError(ValueError):
    """An object set cannot be used (no usable object, unknown id); the message names the folder."""


class _BadObjectError(Exception):
    """One object is unusable; it is skipped with this message as the reason."""


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectPiece:
    """One convex collision piece, in the source file's metres (before the object's scaling).

    Mesh pieces keep only where their vertices come from (``source`` file and ``group``), so a
    library of 1,000 objects stays small; the vertices are read on first use and cached.
    """

    kind: PieceKind
    source: str | None = None
    group: str = ""
    mesh_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    size: tuple[float, ...] = ()
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat: tuple[float, float, float, float] = _IDENTITY_QUAT
    volume: float = 0.0


@dataclass(frozen=True)
class ObjectModel:
    """One usable object: where it comes from and how it is sized, weighed, coloured and split.

    ``extents`` are the full bounding-box sides (x, y, z) in metres after scaling, in the body
    frame whose origin is the bounding-box centre (so a body at height ``extents[2] / 2`` above
    the table, unrotated, touches it). ``scale`` multiplies the source metres (URDF mesh scale
    already applied).
    """

    object_id: str
    name: str
    split: Split
    format: str
    source_files: tuple[str, ...]
    pieces: tuple[ObjectPiece, ...]
    center: tuple[float, float, float]
    scale: float
    mass: float
    extents: tuple[float, float, float]
    rgba: tuple[float, float, float, float]
    friction: tuple[float, float, float]
    condim: int
    solref: tuple[float, float]
    solimp: tuple[float, float, float, float, float]

    @property
    def grasp_width(self) -> float:
        """Middle bounding-box side: the span to close across when resting on its largest face."""
        return sorted(self.extents)[1]

    @property
    def graspable(self) -> bool:
        """Whether the 7.5 cm gripper can open around the object's narrow horizontal side."""
        return self.grasp_width <= GRIPPER_MAX_OPENING

    @property
    def volume(self) -> float:
        """Sum of the convex pieces' volumes after scaling, m^3."""
        return sum(p.volume for p in self.pieces) * self.scale**3


# ---------------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------------


def _rpy_to_quat(rpy: Sequence[float]) -> tuple[float, float, float, float]:
    """URDF roll-pitch-yaw (fixed axes X, Y, Z) to a MuJoCo (w, x, y, z) quaternion."""
    quat = np.zeros(4)
    mujoco.mju_euler2Quat(quat, np.asarray(rpy, dtype=float), "XYZ")
    return tuple(float(q) for q in quat)  # type: ignore[return-value]


def _quat_to_mat(quat: Sequence[float]) -> np.ndarray:
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, np.asarray(quat, dtype=float))
    return mat.reshape(3, 3)


def _mesh_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed triangle mesh (exact for the convex pieces we load)."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)


def _primitive_volume(kind: str, size: Sequence[float]) -> float:
    if kind == "box":
        return 8.0 * size[0] * size[1] * size[2]
    if kind == "cylinder":
        return math.pi * size[0] ** 2 * 2.0 * size[1]
    if kind == "capsule":
        return math.pi * size[0] ** 2 * 2.0 * size[1] + 4.0 / 3.0 * math.pi * size[0] ** 3
    if kind == "sphere":
        return 4.0 / 3.0 * math.pi * size[0] ** 3
    raise _BadObjectError(f"unsupported primitive {kind}")


def _primitive_corners(kind: str, size: Sequence[float]) -> np.ndarray:
    """Corners of the primitive's own bounding box (MuJoCo size conventions)."""
    if kind == "box":
        half = np.asarray(size[:3])
    elif kind == "cylinder":
        half = np.array([size[0], size[0], size[1]])
    elif kind == "capsule":
        half = np.array([size[0], size[0], size[1] + size[0]])
    else:
        half = np.full(3, size[0])
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
    return signs * half


def _compact(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep only the vertices a group's faces use, re-indexed from 0."""
    used, inverse = np.unique(faces, return_inverse=True)
    return verts[used], inverse.reshape(-1, 3).astype(np.int32)


@lru_cache(maxsize=512)
def _read_obj(path: str, mtime_ns: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Parse an OBJ into {group name: (vertices, triangles)}; ``o``/``g`` lines start groups.

    ``mtime_ns`` is part of the cache key so an edited file is read again.
    """
    del mtime_ns
    vlines: list[str] = []
    groups: dict[str, list[tuple[int, int, int]]] = {}
    current = ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            tag = line[:2]
            if tag == "v ":
                vlines.append(line)
            elif tag == "f ":
                idx = []
                for tok in line.split()[1:]:
                    i = int(tok.split("/", 1)[0])
                    idx.append(i - 1 if i > 0 else len(vlines) + i)
                tris = groups.setdefault(current, [])
                for k in range(1, len(idx) - 1):
                    tris.append((idx[0], idx[k], idx[k + 1]))
            elif tag in ("o ", "g "):
                current = line[2:].strip()
    if not vlines:
        raise _BadObjectError(f"{path}: no vertices")
    verts = np.array([ln.split()[1:4] for ln in vlines], dtype=float)
    out = {}
    for name, tris in groups.items():
        if tris:
            f = np.asarray(tris, dtype=np.int64)
            if f.min() < 0 or f.max() >= len(verts):
                raise _BadObjectError(f"{path}: face index out of range in group {name!r}")
            out[name] = _compact(verts, f)
    if not out:
        raise _BadObjectError(f"{path}: no faces")
    return out


@lru_cache(maxsize=512)
def _read_stl(path: str, mtime_ns: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Parse a binary or ASCII STL into one group ``""``."""
    del mtime_ns
    data = Path(path).read_bytes()
    if len(data) >= 84:
        (count,) = np.frombuffer(data[80:84], dtype="<u4")
        if len(data) == 84 + 50 * int(count):
            rec = np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
            tri = np.frombuffer(data[84:], dtype=rec, count=int(count))["v"].astype(float)
            verts = tri.reshape(-1, 3)
            return {"": _dedupe(verts)}
    text = data.decode("ascii", errors="replace")
    coords = [ln.split()[1:4] for ln in text.splitlines() if ln.strip().startswith("vertex")]
    if not coords or len(coords) % 3:
        raise _BadObjectError(f"{path}: not a readable STL")
    return {"": _dedupe(np.array(coords, dtype=float))}


def _dedupe(tri_verts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    verts, inverse = np.unique(tri_verts, axis=0, return_inverse=True)
    return verts, inverse.reshape(-1, 3).astype(np.int32)


@lru_cache(maxsize=128)
def _read_mjcf(path: str, mtime_ns: int) -> tuple[list[ObjectPiece], dict[str, Any]]:
    """Compile an MJCF file and return the solid geoms of its first body as pieces.

    The body's subtree is rigidified at the reference pose: every geom is expressed in the first
    body's frame. Mesh vertices are taken from the compiled model (in their geom's frame).
    """
    del mtime_ns
    try:
        model = mujoco.MjModel.from_xml_path(path)
    except Exception as e:  # MuJoCo raises ValueError for XML and mesh errors
        raise _BadObjectError(f"{path}: MuJoCo cannot load it: {e}") from e
    if model.nbody < 2:
        raise _BadObjectError(f"{path}: worldbody holds no body")
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    root = 1
    in_tree = {root}
    for b in range(2, model.nbody):
        if int(model.body_parentid[b]) in in_tree:
            in_tree.add(b)
    geoms = [g for g in range(model.ngeom) if int(model.geom_bodyid[g]) in in_tree]
    solid = [g for g in geoms if model.geom_contype[g] or model.geom_conaffinity[g]]
    root_pos, root_mat = data.xpos[root].copy(), data.xmat[root].reshape(3, 3).copy()
    pieces: list[ObjectPiece] = []
    meshes: dict[str, Any] = {}
    for g in solid or geoms:
        kind = _KIND_OF_GEOM.get(int(model.geom_type[g]))
        if kind is None:
            logger.warning("%s: geom %d of unsupported type skipped", path, g)
            continue
        rel_mat = root_mat.T @ data.geom_xmat[g].reshape(3, 3)
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, rel_mat.ravel())
        pos = root_mat.T @ (data.geom_xpos[g] - root_pos)
        group = f"geom{g}"
        if kind == "mesh":
            m = int(model.geom_dataid[g])
            va, vn = model.mesh_vertadr[m], model.mesh_vertnum[m]
            fa, fn = model.mesh_faceadr[m], model.mesh_facenum[m]
            verts = model.mesh_vert[va : va + vn].astype(float)
            faces = model.mesh_face[fa : fa + fn].astype(np.int32)
            meshes[group] = (verts, faces)
            volume = _mesh_volume(verts, faces)
            size: tuple[float, ...] = ()
        else:
            n = {"box": 3, "cylinder": 2, "capsule": 2, "sphere": 1}[kind]
            size = tuple(float(s) for s in model.geom_size[g][:n])
            volume = _primitive_volume(kind, size)
        pieces.append(
            ObjectPiece(
                kind=kind,
                source=path if kind == "mesh" else None,
                group=group,
                size=size,
                pos=tuple(float(x) for x in pos),  # type: ignore[arg-type]
                quat=tuple(float(x) for x in quat),  # type: ignore[arg-type]
                volume=volume,
            )
        )
    return pieces, meshes


def _mesh_groups(source: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Vertices and triangles of every group in a mesh source (OBJ, STL or MJCF), cached."""
    mtime = os.stat(source).st_mtime_ns
    suffix = Path(source).suffix.lower()
    if suffix == ".obj":
        return _read_obj(source, mtime)
    if suffix == ".stl":
        return _read_stl(source, mtime)
    if suffix == ".xml":
        return _read_mjcf(source, mtime)[1]
    raise _BadObjectError(f"{source}: unsupported mesh format {suffix}")


def _piece_points(piece: ObjectPiece) -> np.ndarray:
    """Points of a piece in the object's source frame (vertices, or primitive box corners)."""
    if piece.kind == "mesh":
        assert piece.source is not None
        local = _mesh_groups(piece.source)[piece.group][0] * np.asarray(piece.mesh_scale)
    else:
        local = _primitive_corners(piece.kind, piece.size)
    return local @ _quat_to_mat(piece.quat).T + np.asarray(piece.pos)


# ---------------------------------------------------------------------------------------------
# Scanning (config independent, cached)
# ---------------------------------------------------------------------------------------------


def _mesh_pieces(
    path: Path, mesh_scale: Sequence[float], pos: Sequence[float], quat: Sequence[float]
) -> list[ObjectPiece]:
    groups = _mesh_groups(str(path))
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
                volume=_mesh_volume(verts, faces) * scale_det,
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
        raise _BadObjectError(f"{path}: bad XML: {e}") from e
    links = [
        link
        for link in root.iter("link")
        if link.find("collision") is not None or link.find("visual") is not None
    ]
    if len(links) != 1:
        raise _BadObjectError(
            f"{path}: {len(links)} links with geometry; only rigid one-link URDFs"
        )
    link = links[0]
    elements = link.findall("collision") or link.findall("visual")
    pieces: list[ObjectPiece] = []
    files = [str(path)]
    for el in elements:
        origin = el.find("origin")
        pos = _floats(origin.get("xyz") if origin is not None else None, (0, 0, 0))
        quat = _rpy_to_quat(_floats(origin.get("rpy") if origin is not None else None, (0, 0, 0)))
        geometry = el.find("geometry")
        shape = geometry[0] if geometry is not None and len(geometry) else None
        if shape is None:
            continue
        if shape.tag == "mesh":
            mesh_path = _resolve_urdf_mesh(path, shape.get("filename", ""))
            if not mesh_path.is_file():
                raise _BadObjectError(f"{path}: mesh {mesh_path} not found")
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
                    volume=_primitive_volume(shape.tag, size),
                )
            )
        else:
            raise _BadObjectError(f"{path}: unsupported URDF geometry <{shape.tag}>")
    mass_el = link.find("inertial/mass")
    mass = float(mass_el.get("value")) if mass_el is not None and mass_el.get("value") else None
    color = link.find("visual/material/color")
    rgba = _floats(color.get("rgba"), ()) if color is not None else None
    return {"files": files, "pieces": pieces, "mass": mass, "rgba": rgba}


def _scan_one(path: Path, fmt: str) -> dict[str, Any]:
    """Read one object file into config-independent facts; raises _BadObjectError when unusable."""
    if fmt == "urdf":
        info = _scan_urdf(path)
    elif fmt == "mjcf":
        pieces, _ = _read_mjcf(str(path), path.stat().st_mtime_ns)
        info = {"files": [str(path)], "pieces": pieces, "mass": None, "rgba": None}
    else:
        pieces = _mesh_pieces(path, (1, 1, 1), (0, 0, 0), _IDENTITY_QUAT)
        info = {"files": [str(path)], "pieces": pieces, "mass": None, "rgba": None}
    return _check_pieces(path.name, info)


def _check_pieces(label: str, info: dict[str, Any]) -> dict[str, Any]:
    """Drop zero-volume pieces, reject non-finite geometry, add the source bounding box."""
    kept = []
    points = []
    for piece in info["pieces"]:
        pts = _piece_points(piece)
        if not np.isfinite(pts).all():
            raise _BadObjectError(f"{label}: non-finite vertices in piece {piece.group!r}")
        if piece.kind == "mesh" and (len(pts) < 4 or not piece.volume > 0.0):
            logger.debug("%s: degenerate piece %r dropped", label, piece.group)
            continue
        kept.append(piece)
        points.append(pts)
    if not kept:
        raise _BadObjectError(f"{label}: no solid piece")
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
class _Scan:
    """Config-independent facts about a folder: usable entries and skipped names with reasons."""

    entries: dict[str, dict[str, Any]]
    skipped: dict[str, str]
    seconds: float
    from_cache: bool = False


def _scan_folder(folder: Path, fmt: str, cache_dir: Path | None) -> _Scan:
    """Scan (or load the cached scan of) a folder; every object is test-compiled in MuJoCo."""
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
                return _Scan(entries, raw["skipped"], raw["seconds"], from_cache=True)
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
            _test_compile(name, info)
            entries[name] = info
        except Exception as e:  # one bad file must never stop the scan: skip it with a reason
            skipped[name] = str(e) if isinstance(e, _BadObjectError) else f"{path}: {e!r}"
    seconds = time.perf_counter() - start
    scan = _Scan(entries, skipped, seconds)
    if cache_file is not None:
        _write_cache(cache_file, scan)
    return scan


def _write_cache(cache_file: Path, scan: _Scan) -> None:
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


def _test_compile(name: str, info: dict[str, Any]) -> None:
    """Compile the object alone at source scale; MuJoCo errors (e.g. qhull) mark it unusable."""
    lo, hi = np.asarray(info["bbox"][0]), np.asarray(info["bbox"][1])
    probe = ObjectModel(
        object_id=name,
        name=name,
        split="train",
        format=info["format"],
        source_files=tuple(info["files"]),
        pieces=tuple(info["pieces"]),
        center=tuple(float(x) for x in (lo + hi) / 2),  # type: ignore[arg-type]
        scale=1.0,
        mass=0.1,
        extents=tuple(float(x) for x in hi - lo),  # type: ignore[arg-type]
        rgba=(0.5, 0.5, 0.5, 1.0),
        friction=(1.0, 0.005, 0.0001),
        condim=3,
        solref=(0.02, 1.0),
        solimp=(0.9, 0.95, 0.001, 0.5, 2.0),
    )
    spec = mujoco.MjSpec()
    _add_body(spec, probe, "probe", (0.0, 0.0, 0.0), _IDENTITY_QUAT)
    try:
        spec.compile()
    except Exception as e:  # MuJoCo reports every model error as ValueError/RuntimeError
        raise _BadObjectError(f"{name}: MuJoCo compile failed: {e}") from e


# ---------------------------------------------------------------------------------------------
# Built-in primitives
# ---------------------------------------------------------------------------------------------


def _primitive_entries(count: int, seed: int) -> dict[str, dict[str, Any]]:
    """Seeded boxes, cylinders and capsules in the 2-10 cm range (rescaled by the config rule)."""
    rng = np.random.default_rng(seed)
    entries = {}
    for i in range(count):
        kind = ("box", "cylinder", "capsule")[int(rng.integers(3))]
        width = float(rng.uniform(0.02, 0.09))
        if kind == "box":
            size: tuple[float, ...] = (
                width / 2,
                width / 2 * float(rng.uniform(1.0, 2.5)),
                width / 2 * float(rng.uniform(0.3, 1.5)),
            )
        else:
            size = (width / 2, width / 2 * float(rng.uniform(0.4, 2.0)))
        piece = ObjectPiece(kind=kind, size=size, volume=_primitive_volume(kind, size))
        corners = _primitive_corners(kind, size)
        entries[f"{i:03d}"] = {
            "files": [],
            "pieces": [piece],
            "mass": None,
            "rgba": None,
            "format": "primitive",
            "bbox": [corners.min(0).tolist(), corners.max(0).tolist()],
        }
    return entries


# ---------------------------------------------------------------------------------------------
# Per-object choices from the config (cheap, deterministic)
# ---------------------------------------------------------------------------------------------


def _unit(seed: int, object_id: str, tag: str) -> float:
    """A stable number in [0, 1) per (seed, object, purpose): independent of load order."""
    digest = hashlib.sha256(f"{seed}|{object_id}|{tag}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _split_of(name: str, object_id: str, cfg: ObjectSetConfig, explicit: frozenset[str]) -> Split:
    if cfg.split_rule == "all_novel":
        return "novel"
    if cfg.split_rule == "ends_with_0":
        return "novel" if name.rsplit("/", 1)[-1].endswith("0") else "train"
    if cfg.split_rule == "explicit":
        return "novel" if name in explicit or object_id in explicit else "train"
    # hash: independent of the seed, so the held-out set never moves when sizes are re-drawn
    return "novel" if _unit(0, name, "split") < cfg.novel_fraction else "train"


def _palette_rgba(seed: int, object_id: str) -> tuple[float, float, float, float]:
    """A saturated, mid-bright colour per object: varied, never close to the white table."""
    h = _unit(seed, object_id, "hue")
    s = 0.55 + 0.4 * _unit(seed, object_id, "sat")
    v = 0.45 + 0.4 * _unit(seed, object_id, "val")
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (round(r, 4), round(g, 4), round(b, 4), 1.0)


def _build_model(
    name: str, prefix: str, info: dict[str, Any], split: Split, cfg: ObjectSetConfig
) -> ObjectModel:
    object_id = f"{prefix}/{name}"
    lo, hi = np.asarray(info["bbox"][0]), np.asarray(info["bbox"][1])
    raw = hi - lo
    sorted_raw = np.sort(raw)
    if sorted_raw[1] <= 0 or sorted_raw[0] / sorted_raw[1] < cfg.min_flatness:
        raise _BadObjectError(
            f"flat sheet: thickness/width {sorted_raw[0] / max(sorted_raw[1], 1e-12):.3f}"
            f" < min_flatness {cfg.min_flatness}"
        )
    if cfg.scaling == "grasp_width":
        lo_w, hi_w = cfg.grasp_width_range
        target = lo_w + (hi_w - lo_w) * _unit(cfg.seed, object_id, "width")
        scale = target / float(sorted_raw[1])
        if sorted_raw[2] * scale > cfg.max_extent:
            scale = cfg.max_extent / float(sorted_raw[2])
    else:
        scale = cfg.source_scale
    pieces = tuple(info["pieces"])
    volume = sum(p.volume for p in pieces) * scale**3
    if cfg.mass_rule == "source" and info.get("mass"):
        mass = float(info["mass"])
    else:
        mass = cfg.density * volume
    mass = float(np.clip(mass, *cfg.mass_range))
    rgba = _palette_rgba(cfg.seed, object_id)
    src = info.get("rgba")
    if cfg.colors == "source" and src and len(src) >= 3:
        pale = max(src[:3]) - min(src[:3]) < 0.15 and min(src[:3]) > 0.6
        if not pale:
            rgba = (float(src[0]), float(src[1]), float(src[2]), 1.0)
    f_lo, f_hi = cfg.sliding_friction_range
    sliding = f_lo + (f_hi - f_lo) * _unit(cfg.seed, object_id, "friction")
    return ObjectModel(
        object_id=object_id,
        name=name,
        split=split,
        format=info["format"],
        source_files=tuple(info["files"]),
        pieces=pieces,
        center=tuple(float(x) for x in (lo + hi) / 2),  # type: ignore[arg-type]
        scale=float(scale),
        mass=mass,
        extents=tuple(float(x) for x in raw * scale),  # type: ignore[arg-type]
        rgba=rgba,
        friction=(round(sliding, 4), cfg.torsional_friction, cfg.rolling_friction),
        condim=cfg.condim,
        solref=cfg.solref,
        solimp=cfg.solimp,
    )


# ---------------------------------------------------------------------------------------------
# MjSpec insertion
# ---------------------------------------------------------------------------------------------


def _add_body(
    spec: mujoco.MjSpec,
    obj: ObjectModel,
    body_name: str,
    pos: Sequence[float],
    quat: Sequence[float],
    *,
    rgba: Sequence[float] | None = None,
) -> mujoco.MjsBody:
    if spec.body(body_name) is not None:
        raise ValueError(f"the spec already has a body named {body_name!r}")
    body = spec.worldbody.add_body(name=body_name, pos=list(pos), quat=list(quat))
    body.add_freejoint(name=f"{body_name}/free")
    center = np.asarray(obj.center)
    total_volume = sum(p.volume for p in obj.pieces)
    color = list(rgba) if rgba is not None else list(obj.rgba)
    for i, piece in enumerate(obj.pieces):
        part = f"{body_name}/piece{i}"
        geom = body.add_geom(name=part)
        if piece.kind == "mesh":
            if spec.mesh(part) is not None:
                raise ValueError(f"the spec already has a mesh named {part!r}; remove it first")
            assert piece.source is not None
            verts, faces = _mesh_groups(piece.source)[piece.group]
            # Bake mesh scale, piece pose, centring and object scale into the vertices, so the
            # geom sits at the body origin and MuJoCo places it from the mesh's own centroid.
            world = (verts * np.asarray(piece.mesh_scale)) @ _quat_to_mat(piece.quat).T
            world = (world + np.asarray(piece.pos) - center) * obj.scale
            mesh = spec.add_mesh(name=part)
            mesh.uservert = world.ravel().tolist()
            mesh.userface = faces.ravel().tolist()
            mesh.inertia = mujoco.mjtMeshInertia.mjMESH_INERTIA_CONVEX
            geom.type = _GEOM_TYPES["mesh"]
            geom.meshname = part
        else:
            geom.type = _GEOM_TYPES[piece.kind]
            size = [s * obj.scale for s in piece.size] + [0.0] * (3 - len(piece.size))
            geom.size = size
            geom.pos = ((np.asarray(piece.pos) - center) * obj.scale).tolist()
            geom.quat = list(piece.quat)
        share = piece.volume / total_volume if total_volume > 0 else 1.0 / len(obj.pieces)
        geom.mass = obj.mass * share
        geom.friction = list(obj.friction)
        geom.condim = obj.condim
        geom.solref = list(obj.solref)
        geom.solimp = list(obj.solimp)
        geom.rgba = color
    return body


# ---------------------------------------------------------------------------------------------
# Library
# ---------------------------------------------------------------------------------------------


class ObjectLibrary:
    """The usable objects of one configured set, split into train and novel.

    Args:
        objects: the usable objects (ids unique).
        skipped: object name -> reason, for objects left out.
        source: the folder (or built-in set name) they came from, for messages.
        scan_seconds: time the folder scan took (the original scan when loaded from cache).
        from_cache: whether the scan came from the cache index.
        excluded: object id -> reason, for usable objects a rule left out (see :meth:`only`).
    """

    def __init__(
        self,
        objects: Sequence[ObjectModel],
        skipped: dict[str, str] | None = None,
        source: str = "",
        scan_seconds: float = 0.0,
        from_cache: bool = False,
        excluded: dict[str, str] | None = None,
    ) -> None:
        self._objects = {o.object_id: o for o in sorted(objects, key=lambda o: o.object_id)}
        if len(self._objects) != len(objects):
            raise ValueError("duplicate object ids")
        self.skipped: dict[str, str] = dict(skipped or {})
        self.excluded: dict[str, str] = dict(excluded or {})
        self.source = source
        self.scan_seconds = scan_seconds
        self.from_cache = from_cache

    @classmethod
    def from_config(cls, cfg: ObjectSetConfig | None = None, strict: bool = False) -> ObjectLibrary:
        """Scan (or load from cache) the configured set and apply split, scale, mass and colour.

        Raises:
            ObjectSetError: the folder holds no usable object; with ``strict`` (a test set, whose
                figures must count every object), any object that cannot be used, by name.
        """
        cfg = cfg if cfg is not None else ObjectSetConfig()
        if cfg.folder == BUILTIN_PRIMITIVES:
            scan = _Scan(_primitive_entries(cfg.primitive_count, cfg.seed), {}, 0.0)
            prefix, source = "primitives", BUILTIN_PRIMITIVES
        else:
            folder = cfg.resolved_folder()
            cache_dir = cfg.resolved_cache_dir() if cfg.use_cache else None
            scan = _scan_folder(folder, cfg.format, cache_dir)
            prefix, source = folder.name, str(folder)
        explicit = cfg.explicit_novel_names() if cfg.split_rule == "explicit" else frozenset()
        objects: list[ObjectModel] = []
        skipped = dict(scan.skipped)
        for name, info in scan.entries.items():
            split = _split_of(name, f"{prefix}/{name}", cfg, explicit)
            try:
                objects.append(_build_model(name, prefix, info, split, cfg))
            except _BadObjectError as e:
                skipped[name] = str(e)
        if explicit:
            known = {o.name for o in objects} | {o.object_id for o in objects} | set(skipped)
            missing = sorted(explicit - known)
            if missing:
                logger.warning("novel ids not in %s: %s", source, ", ".join(missing[:10]))
        if skipped and strict:
            raise ObjectSetError(
                f"object folder {source}: cannot use "
                + "; ".join(f"{name} ({skipped[name]})" for name in sorted(skipped))
            )
        if skipped:
            logger.warning(
                "%s: %d objects skipped: %s",
                source,
                len(skipped),
                "; ".join(f"{name} ({skipped[name]})" for name in sorted(skipped)),
            )
        if not objects:
            raise ObjectSetError(f"object folder {source} holds no usable object")
        lib = cls(objects, skipped, source, scan.seconds, scan.from_cache)
        logger.info(
            "%s: %d objects (%d train, %d novel), %d skipped, scan %.2f s%s",
            source,
            len(lib),
            len(lib.objects("train")),
            len(lib.objects("novel")),
            len(skipped),
            scan.seconds,
            " (cached)" if scan.from_cache else "",
        )
        for split_name in ("train", "novel"):
            if not lib.objects(split_name):  # type: ignore[arg-type]
                logger.warning("%s: the %s split is empty", source, split_name)
        return lib

    def only(self, object_ids: set[str], reason: str) -> ObjectLibrary:
        """This library with only ``object_ids``; the others are :attr:`excluded` for ``reason``.

        Raises:
            ObjectSetError: no object is left.
        """
        kept = [o for o in self if o.object_id in object_ids]
        excluded = {
            **self.excluded,
            **{o.object_id: reason for o in self if o.object_id not in object_ids},
        }
        if not kept:
            raise ObjectSetError(f"object folder {self.source}: no object left ({reason})")
        lib = ObjectLibrary(
            kept, self.skipped, self.source, self.scan_seconds, self.from_cache, excluded
        )
        logger.info(
            "%s: %d of %d objects kept (%d train, %d novel); %d %s",
            self.source,
            len(lib),
            len(self),
            len(lib.objects("train")),
            len(lib.objects("novel")),
            len(self) - len(lib),
            reason,
        )
        return lib

    def __len__(self) -> int:
        return len(self._objects)

    def __iter__(self) -> Iterator[ObjectModel]:
        return iter(self._objects.values())

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._objects

    def objects(self, split: Split | Literal["all"] = "all") -> tuple[ObjectModel, ...]:
        """Objects of one split (sorted by id), or all of them."""
        if split not in ("train", "novel", "all"):
            raise ValueError(f"split must be 'train', 'novel' or 'all', got {split!r}")
        if split == "all":
            return tuple(self._objects.values())
        return tuple(o for o in self._objects.values() if o.split == split)

    def get(self, object_id: str) -> ObjectModel:
        """The object with this id (e.g. ``random_urdfs/042``)."""
        try:
            return self._objects[object_id]
        except KeyError:
            reason = self.skipped.get(object_id.rsplit("/", 1)[-1])
            extra = f" (skipped: {reason})" if reason else ""
            raise KeyError(f"no object {object_id!r} in {self.source}{extra}") from None

    def sample(
        self, rng: np.random.Generator, count: int, split: Split = "train"
    ) -> list[ObjectModel]:
        """``count`` distinct objects of a split (all of them if the split is smaller)."""
        pool = self.objects(split)
        picks = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
        return [pool[int(i)] for i in picks]

    def add_to_spec(
        self,
        spec: mujoco.MjSpec,
        obj: ObjectModel,
        body_name: str,
        pos: Sequence[float],
        quat: Sequence[float] = _IDENTITY_QUAT,
        *,
        rgba: Sequence[float] | None = None,
    ) -> mujoco.MjsBody:
        """Add ``obj`` as a free body of the world: one geom per convex piece.

        Mesh assets are named ``<body_name>/piece<i>`` so several objects (or copies) coexist;
        the object's mass is spread over the pieces by volume; contact parameters (condim,
        friction, solref, solimp) come from the object. Call :meth:`remove_from_spec` before
        reusing a body name in the same spec.

        Args:
            spec: the world's spec; recompile it afterwards.
            obj: an object of this library.
            body_name: unique body name.
            pos: body origin (the object's bounding-box centre) in the world, m.
            quat: body orientation (w, x, y, z).
            rgba: colour override; default the object's own colour.

        Returns:
            The new body.
        """
        return _add_body(spec, obj, body_name, pos, quat, rgba=rgba)

    @staticmethod
    def remove_from_spec(spec: mujoco.MjSpec, body_name: str) -> None:
        """Delete a body added by :meth:`add_to_spec` and its mesh assets from the spec."""
        body = spec.body(body_name)
        if body is None:
            raise KeyError(f"the spec has no body named {body_name!r}")
        mesh_names = [g.meshname for g in body.geoms if g.meshname]
        spec.delete(body)
        for name in mesh_names:
            mesh = spec.mesh(name)
            if mesh is not None:
                spec.delete(mesh)
