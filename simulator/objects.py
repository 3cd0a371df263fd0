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
:attr:`ObjectLibrary.skipped`; nothing raises unless no object at all is usable. The geometry
readers are in :mod:`.meshes`, the folder scan and its cache in :mod:`.object_scan`. Sizes,
masses, colours and the split are recomputed from the config on every load, so config changes
never need a rescan.
"""

from __future__ import annotations

import colorsys
import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import mujoco
import numpy as np

from supersize_grasp.config.objects import (
    BUILTIN_PRIMITIVES,
    GRIPPER_MAX_OPENING,
    ObjectSetConfig,
)

from .meshes import (
    GEOM_TYPES,
    IDENTITY_QUAT,
    BadObjectError,
    ObjectPiece,
    mesh_groups,
    primitive_corners,
    primitive_volume,
    quat_to_mat,
)
from .object_scan import ObjectSetError, Scan, scan_folder

__all__ = [
    "ObjectLibrary",
    "ObjectModel",
    "ObjectPiece",
    "ObjectSetError",
    "Split",
]

logger = logging.getLogger(__name__)

Split = Literal["train", "novel"]

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Scanning (config independent, cached)
# ---------------------------------------------------------------------------------------------


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
    _add_body(spec, probe, "probe", (0.0, 0.0, 0.0), IDENTITY_QUAT)
    try:
        spec.compile()
    except Exception as e:  # MuJoCo reports every model error as ValueError/RuntimeError
        raise BadObjectError(f"{name}: MuJoCo compile failed: {e}") from e


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
        piece = ObjectPiece(kind=kind, size=size, volume=primitive_volume(kind, size))
        corners = primitive_corners(kind, size)
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
        raise BadObjectError(
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
            verts, faces = mesh_groups(piece.source)[piece.group]
            # Bake mesh scale, piece pose, centring and object scale into the vertices, so the
            # geom sits at the body origin and MuJoCo places it from the mesh's own centroid.
            world = (verts * np.asarray(piece.mesh_scale)) @ quat_to_mat(piece.quat).T
            world = (world + np.asarray(piece.pos) - center) * obj.scale
            mesh = spec.add_mesh(name=part)
            mesh.uservert = world.ravel().tolist()
            mesh.userface = faces.ravel().tolist()
            mesh.inertia = mujoco.mjtMeshInertia.mjMESH_INERTIA_CONVEX
            geom.type = GEOM_TYPES["mesh"]
            geom.meshname = part
        else:
            geom.type = GEOM_TYPES[piece.kind]
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
            scan = Scan(_primitive_entries(cfg.primitive_count, cfg.seed), {}, 0.0)
            prefix, source = "primitives", BUILTIN_PRIMITIVES
        else:
            folder = cfg.resolved_folder()
            cache_dir = cfg.resolved_cache_dir() if cfg.use_cache else None
            scan = scan_folder(folder, cfg.format, cache_dir, _test_compile)
            prefix, source = folder.name, str(folder)
        explicit = cfg.explicit_novel_names() if cfg.split_rule == "explicit" else frozenset()
        objects: list[ObjectModel] = []
        skipped = dict(scan.skipped)
        for name, info in scan.entries.items():
            split = _split_of(name, f"{prefix}/{name}", cfg, explicit)
            try:
                objects.append(_build_model(name, prefix, info, split, cfg))
            except BadObjectError as e:
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
        quat: Sequence[float] = IDENTITY_QUAT,
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
