"""Object geometry: mesh files (OBJ, STL), MJCF bodies and primitive shapes as convex pieces.

The readers are our own (a few dozen lines each) because they keep what the simulator needs and a
mesh library would not: an OBJ's ``o``/``g`` groups stay separate pieces (MuJoCo collides with
each mesh's convex hull, so merging them would fill an object's concavities), vertices are parsed
once per file and cached, and a bad file raises :class:`BadObjectError` naming it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import mujoco
import numpy as np

logger = logging.getLogger(__name__)

PieceKind = Literal["mesh", "box", "cylinder", "capsule", "sphere"]
IDENTITY_QUAT = (1.0, 0.0, 0.0, 0.0)
GEOM_TYPES = {
    "mesh": mujoco.mjtGeom.mjGEOM_MESH,
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
}
_KIND_OF_GEOM = {int(v): k for k, v in GEOM_TYPES.items()}


class BadObjectError(Exception):
    """One object is unusable; it is skipped with this message as the reason."""


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
    quat: tuple[float, float, float, float] = IDENTITY_QUAT
    volume: float = 0.0


def rpy_to_quat(rpy: Sequence[float]) -> tuple[float, float, float, float]:
    """URDF roll-pitch-yaw (fixed axes X, Y, Z) to a MuJoCo (w, x, y, z) quaternion."""
    quat = np.zeros(4)
    mujoco.mju_euler2Quat(quat, np.asarray(rpy, dtype=float), "XYZ")
    return tuple(float(q) for q in quat)  # type: ignore[return-value]


def quat_to_mat(quat: Sequence[float]) -> np.ndarray:
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, np.asarray(quat, dtype=float))
    return mat.reshape(3, 3)


def mesh_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed triangle mesh (exact for the convex pieces we load)."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)


def primitive_volume(kind: str, size: Sequence[float]) -> float:
    if kind == "box":
        return 8.0 * size[0] * size[1] * size[2]
    if kind == "cylinder":
        return math.pi * size[0] ** 2 * 2.0 * size[1]
    if kind == "capsule":
        return math.pi * size[0] ** 2 * 2.0 * size[1] + 4.0 / 3.0 * math.pi * size[0] ** 3
    if kind == "sphere":
        return 4.0 / 3.0 * math.pi * size[0] ** 3
    raise BadObjectError(f"unsupported primitive {kind}")


def primitive_corners(kind: str, size: Sequence[float]) -> np.ndarray:
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
        raise BadObjectError(f"{path}: no vertices")
    verts = np.array([ln.split()[1:4] for ln in vlines], dtype=float)
    out = {}
    for name, tris in groups.items():
        if tris:
            f = np.asarray(tris, dtype=np.int64)
            if f.min() < 0 or f.max() >= len(verts):
                raise BadObjectError(f"{path}: face index out of range in group {name!r}")
            out[name] = _compact(verts, f)
    if not out:
        raise BadObjectError(f"{path}: no faces")
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
        raise BadObjectError(f"{path}: not a readable STL")
    return {"": _dedupe(np.array(coords, dtype=float))}


def _dedupe(tri_verts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    verts, inverse = np.unique(tri_verts, axis=0, return_inverse=True)
    return verts, inverse.reshape(-1, 3).astype(np.int32)


@lru_cache(maxsize=128)
def read_mjcf(path: str, mtime_ns: int) -> tuple[list[ObjectPiece], dict[str, Any]]:
    """Compile an MJCF file and return the solid geoms of its first body as pieces.

    The body's subtree is rigidified at the reference pose: every geom is expressed in the first
    body's frame. Mesh vertices are taken from the compiled model (in their geom's frame).
    """
    del mtime_ns
    try:
        model = mujoco.MjModel.from_xml_path(path)
    except Exception as e:  # MuJoCo raises ValueError for XML and mesh errors
        raise BadObjectError(f"{path}: MuJoCo cannot load it: {e}") from e
    if model.nbody < 2:
        raise BadObjectError(f"{path}: worldbody holds no body")
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
            volume = mesh_volume(verts, faces)
            size: tuple[float, ...] = ()
        else:
            n = {"box": 3, "cylinder": 2, "capsule": 2, "sphere": 1}[kind]
            size = tuple(float(s) for s in model.geom_size[g][:n])
            volume = primitive_volume(kind, size)
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


def mesh_groups(source: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Vertices and triangles of every group in a mesh source (OBJ, STL or MJCF), cached."""
    mtime = os.stat(source).st_mtime_ns
    suffix = Path(source).suffix.lower()
    if suffix == ".obj":
        return _read_obj(source, mtime)
    if suffix == ".stl":
        return _read_stl(source, mtime)
    if suffix == ".xml":
        return read_mjcf(source, mtime)[1]
    raise BadObjectError(f"{source}: unsupported mesh format {suffix}")


def piece_points(piece: ObjectPiece) -> np.ndarray:
    """Points of a piece in the object's source frame (vertices, or primitive box corners)."""
    if piece.kind == "mesh":
        assert piece.source is not None
        local = mesh_groups(piece.source)[piece.group][0] * np.asarray(piece.mesh_scale)
    else:
        local = primitive_corners(piece.kind, piece.size)
    return local @ quat_to_mat(piece.quat).T + np.asarray(piece.pos)
