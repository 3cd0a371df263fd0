"""Configuration of the object set dropped on the table (see simulator/assets/OBJECTS.md).

Everything that changes which objects exist, how large and heavy they are and which are held out
as novel lives here, so that another folder of meshes is a YAML change, not a code change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from supersize_grasp.config.base import StrictModel

__all__ = [
    "BUILTIN_PRIMITIVES",
    "GRIPPER_MAX_OPENING",
    "ObjectSetConfig",
    "TestObjectsConfig",
    "default_cache_dir",
    "pybullet_random_urdfs",
]

BUILTIN_PRIMITIVES = "builtin:primitives"
"""Value of ``folder`` that selects the seeded boxes / cylinders / capsules set (no files)."""

GRIPPER_MAX_OPENING = 0.075
"""Baxter's stock parallel gripper opens 75 mm (paper, Section 3); wider objects cannot be taken."""

# File suffixes that each format reads; "auto" picks the first format present (in this order).
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "urdf": (".urdf",),
    "mjcf": (".xml",),
    "obj": (".obj", ".stl"),
}


def pybullet_random_urdfs() -> Path:
    """Locate ``pybullet_data/random_urdfs`` (the default set) without importing pybullet itself."""
    try:
        import pybullet_data
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ValueError(
            "object folder not set and pybullet_data is not installed: "
            "`pip install pybullet==3.2.7` (it ships random_urdfs/) or set objects.folder"
        ) from e
    return Path(pybullet_data.getDataPath()) / "random_urdfs"


def default_cache_dir() -> Path:
    """Where scan indexes go: ``$XDG_CACHE_HOME/supersize_grasp/objects`` (or ~/.cache/...)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "supersize_grasp" / "objects"


def _has_candidates(folder: Path, fmt: str) -> bool:
    """True when the folder (or one sub-folder level) holds a file the format can read."""
    suffixes = (
        tuple(s for v in FORMAT_SUFFIXES.values() for s in v)
        if fmt == "auto"
        else FORMAT_SUFFIXES[fmt]
    )
    for pattern in ("*", "*/*"):
        for path in folder.glob(pattern):
            if path.suffix.lower() in suffixes and path.is_file():
                return True
    return False


class ObjectSetConfig(StrictModel):
    """Which objects exist, how they are split, scaled, weighed and made to touch.

    Scaling rule (``scaling="grasp_width"``, the default): each object's bounding box in its own
    mesh frame is sorted into thickness <= width <= length. ``width`` is the span a top-down
    parallel gripper must close across when the object rests on its largest face, so the object is
    scaled uniformly until ``width`` equals a target drawn per object (deterministically from
    ``seed`` and the object id) uniformly from ``grasp_width_range``. The default range reaches
    past the 7.5 cm gripper opening, so about a fifth of the objects stay too wide to grasp across
    their narrow side, as some of the paper's objects were. If the scaled ``length`` would exceed
    ``max_extent`` the object is shrunk until it does not (so ``width`` can end below the range for
    very elongated objects). ``scaling="source"`` keeps the file's own scale (URDF ``scale``
    attribute, metres for OBJ/STL/MJCF) times ``source_scale``.
    """

    folder: str | None = Field(
        default=None,
        description="Object folder; None = pybullet_data/random_urdfs; 'builtin:primitives' = "
        "seeded boxes/cylinders/capsules.",
    )
    format: Literal["auto", "urdf", "obj", "mjcf"] = "auto"
    cache_dir: Path | None = Field(
        default=None, description="Scan index cache; None = default_cache_dir()."
    )
    use_cache: bool = True
    seed: int = Field(default=0, description="Seeds sizes, masses, frictions, colours, primitives.")

    # Train / novel split. Novel objects are never used for training.
    split_rule: Literal["ends_with_0", "explicit", "hash", "all_novel"] = Field(
        default="ends_with_0",
        description="ends_with_0: pybullet's convention, names ending in '0' are novel; "
        "explicit: novel_ids / novel_ids_file; hash: a stable hash picks novel_fraction; "
        "all_novel: every object is novel (a test-set folder).",
    )
    novel_ids: tuple[str, ...] = Field(
        default=(), description="Object names (e.g. '042', or full ids 'random_urdfs/042')."
    )
    novel_ids_file: Path | None = Field(
        default=None, description="Text file, one novel object name per line, '#' comments."
    )
    novel_fraction: float = Field(default=0.1, gt=0.0, lt=1.0)

    # Size.
    scaling: Literal["grasp_width", "source"] = "grasp_width"
    grasp_width_range: tuple[float, float] = (0.02, 0.09)
    max_extent: float = Field(default=0.2, gt=0.0, description="Longest side after scaling, m.")
    source_scale: float = Field(default=1.0, gt=0.0)
    min_flatness: float = Field(
        default=0.15,
        ge=0.0,
        lt=1.0,
        description="Skip objects whose thickness/width ratio is below this (flat sheets: "
        "random_urdfs 295, 297, 602, 824 are 0.05-0.11, the next is 0.25).",
    )

    # Graspability: which objects this gripper can hold at all.
    graspable_only: bool = Field(
        default=True,
        description="scenes draw only objects measured graspable: alone on the table, one of "
        "graspability_angles centre grasps of the trial lifts it (supersize-grasp graspability)",
    )
    graspability_angles: int = Field(
        default=6, ge=1, le=36, description="centre grasps over [0, pi) tried per object"
    )

    # Mass: density * convex volume, clipped to mass_range ('source' uses the URDF mass).
    mass_rule: Literal["density", "source"] = "density"
    density: float = Field(
        default=1000.0, gt=0.0, description="kg/m^3 of the convex pieces (solid plastic/wood)."
    )
    mass_range: tuple[float, float] = (0.01, 0.5)

    # Contact.
    sliding_friction_range: tuple[float, float] = (0.7, 1.0)
    torsional_friction: float = Field(default=0.005, ge=0.0)
    rolling_friction: float = Field(default=0.0001, ge=0.0)
    condim: Literal[3, 4, 6] = 4
    solref: tuple[float, float] = (0.01, 1.0)
    solimp: tuple[float, float, float, float, float] = (0.95, 0.99, 0.001, 0.5, 2.0)

    # Look.
    colors: Literal["palette", "source"] = Field(
        default="palette",
        description="palette: a deterministic saturated colour per object (contrast against a "
        "white table); source: the file's colour unless it is too pale.",
    )

    # Built-in primitives.
    primitive_count: int = Field(default=200, ge=1)

    @field_validator("grasp_width_range", "mass_range", "sliding_friction_range")
    @classmethod
    def _ordered_positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 < v[0] <= v[1]:
            raise ValueError(f"need 0 < low <= high, got {v}")
        return v

    @field_validator("solref")
    @classmethod
    def _positive_solref(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] <= 0.0 or v[1] <= 0.0:
            raise ValueError(f"solref (timeconst, dampratio) must be positive, got {v}")
        return v

    @field_validator("folder")
    @classmethod
    def _expand_folder(cls, v: str | None) -> str | None:
        if v is None or v.startswith("builtin:"):
            if v is not None and v != BUILTIN_PRIMITIVES:
                raise ValueError(f"unknown built-in object set {v!r}; known: {BUILTIN_PRIMITIVES}")
            return v
        return str(Path(os.path.expandvars(v)).expanduser())

    @model_validator(mode="after")
    def _check_sources(self) -> ObjectSetConfig:
        if self.scaling == "grasp_width" and self.grasp_width_range[1] > self.max_extent:
            raise ValueError(
                f"grasp_width_range {self.grasp_width_range} exceeds max_extent {self.max_extent}"
            )
        if self.split_rule == "explicit" and not (self.novel_ids or self.novel_ids_file):
            raise ValueError("split_rule 'explicit' needs novel_ids or novel_ids_file")
        if self.novel_ids_file is not None and not self.novel_ids_file.is_file():
            raise ValueError(f"novel_ids_file {self.novel_ids_file} does not exist")
        if self.folder in (BUILTIN_PRIMITIVES, None):
            # pybullet's set is looked for when a world loads it: a machine that only trains
            # (a GPU server, say) needs no pybullet to read a configuration.
            return self
        folder = self.resolved_folder()
        if not folder.is_dir():
            raise ValueError(f"object folder {folder} does not exist or is not a directory")
        if not _has_candidates(folder, self.format):
            wanted = FORMAT_SUFFIXES if self.format == "auto" else FORMAT_SUFFIXES[self.format]
            raise ValueError(
                f"object folder {folder} holds no {self.format} object files "
                f"(looked for {wanted} one folder level deep)"
            )
        return self

    def resolved_folder(self) -> Path:
        """The folder to scan (pybullet's random_urdfs when ``folder`` is None)."""
        if self.folder == BUILTIN_PRIMITIVES:
            raise ValueError("the built-in primitives set has no folder")
        return Path(self.folder) if self.folder is not None else pybullet_random_urdfs()

    def resolved_cache_dir(self) -> Path:
        """The cache directory for scan indexes."""
        return self.cache_dir if self.cache_dir is not None else default_cache_dir()

    def explicit_novel_names(self) -> frozenset[str]:
        """Novel names from ``novel_ids`` and ``novel_ids_file`` (for ``split_rule='explicit'``)."""
        names = set(self.novel_ids)
        if self.novel_ids_file is not None:
            for line in self.novel_ids_file.read_text().splitlines():
                name = line.split("#", 1)[0].strip()
                if name:
                    names.add(name)
        return frozenset(names)


class TestObjectsConfig(StrictModel):
    """A folder whose objects are all the test set: objects never trained on, e.g. a held-out
    set the project has never seen. When set, every scene of the ``novel`` split (robot-test,
    clear-table, ``sim-collect --split novel``) draws from it, and a file in it that cannot be
    used stops the run with its name; the ``train`` split stays that of ``objects``."""

    folder: str | None = Field(
        default=None,
        description="URDF/MJCF/OBJ/STL folder; None: the novel split of objects.folder",
    )
    real_size: bool = Field(
        default=False,
        description="keep the files' own sizes in metres (scanned objects) instead of rescaling "
        "each into objects.grasp_width_range",
    )

    def objects_config(self, objects: ObjectSetConfig) -> ObjectSetConfig:
        """``objects`` (contact, mass, colour rules) for this folder, every object novel."""
        if self.folder is None:
            raise ValueError("no test object folder is set")
        fields = objects.model_dump()
        fields.update(
            folder=self.folder,
            split_rule="all_novel",
            novel_ids=(),
            novel_ids_file=None,
            scaling="source" if self.real_size else objects.scaling,
        )
        return ObjectSetConfig(**fields)
