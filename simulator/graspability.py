"""Which objects this gripper can hold at all: the measured table, and the libraries it filters.

The paper's objects were chosen for Baxter's gripper; ours come from folders of any shape and
size, so each object's graspability is measured once in the simulator
(``supersize_grasp/bulk/graspability.py``: the object alone on the table, up to N centre grasps
of the trial over the angles; graspable if one lifts it) and kept here. With
``objects.graspable_only`` scenes draw only graspable objects.

An entry is keyed by a fingerprint of what decides the outcome in the simulator: the object's
pieces, scale, mass and contact, and the world's physics, table, arm control and gripper, and the
number of angles. Any change there measures the object again; colour, split and scene seeds do
not. The trial's heights and labelling rule come from the configuration of the run that measured
(recorded in each entry), not from the key: the world that filters does not know them.

Entries are read from ``<objects cache_dir>/graspability.json`` (written by measurements), then
from ``simulator/assets/graspability.json`` (shipped, for the default object set).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from supersize_grasp.config.simulator import SimulatorConfig

from .objects import ObjectLibrary, ObjectModel, ObjectSetError

__all__ = ["Graspability", "GraspabilityTable", "fingerprints", "graspable_library"]

VERSION = 1
SHIPPED = Path(__file__).parent / "assets" / "graspability.json"
CACHE_NAME = "graspability.json"


@dataclass(frozen=True)
class Graspability:
    """One object's measurement: ``lifted_at`` is the first angle (1-based) of ``angles`` whose
    centre grasp lifted it alone, 0 if none did; ``trial`` the heights it was measured with."""

    object_id: str
    lifted_at: int
    angles: int
    trial: str = ""

    @property
    def graspable(self) -> bool:
        return self.lifted_at > 0


def fingerprints(objects: Iterable[ObjectModel], config: SimulatorConfig) -> dict[str, str]:
    """Each object's key (by id): what decides whether it can be lifted in this world, hashed.
    The world's part is dumped once for all objects; a setting added since the table was
    measured counts only away from its old behaviour (no-slip off), so the keys stay."""
    physics = config.physics.model_dump(mode="json")
    if not physics["noslip_iterations"]:
        del physics["noslip_iterations"]
    world = json.dumps(
        [
            physics,
            config.table.model_dump(mode="json"),
            config.arm.model_dump(mode="json"),
            config.gripper.model_dump(mode="json"),
        ],
        sort_keys=True,
    )
    angles = config.objects.graspability_angles
    keys = {}
    for obj in objects:
        facts = [
            VERSION,
            obj.object_id,
            # a piece's file by name only: the same set installed elsewhere keeps its entries
            repr([replace(p, source=p.source and Path(p.source).name) for p in obj.pieces]),
            obj.center,
            obj.scale,
            obj.mass,
            obj.friction,
            obj.condim,
            obj.solref,
            obj.solimp,
            world,
            angles,
        ]
        text = json.dumps(facts, default=repr)
        keys[obj.object_id] = hashlib.sha1(text.encode()).hexdigest()[:24]
    return keys


class GraspabilityTable:
    """Measured entries by key: the cache file's over the shipped ones."""

    def __init__(self, cache_dir: Path, shipped: Path | None = SHIPPED) -> None:
        self.path = Path(cache_dir) / CACHE_NAME
        self._shipped = self._read(shipped) if shipped is not None and shipped.is_file() else {}
        self._measured = self._read(self.path) if self.path.is_file() else {}

    @staticmethod
    def _read(path: Path) -> dict[str, Graspability]:
        try:
            raw = json.loads(path.read_text())
            if raw.get("version") != VERSION:
                return {}
            return {key: Graspability(**entry) for key, entry in raw["objects"].items()}
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ObjectSetError(
                f"graspability table {path} is unreadable ({e}): delete it to measure again"
            ) from e

    def get(self, key: str) -> Graspability | None:
        return self._measured.get(key) or self._shipped.get(key)

    @contextlib.contextmanager
    def locked(self) -> Iterator[GraspabilityTable]:
        """Hold the cache file's lock (one measurement at a time across processes), re-read
        within it, so entries another process wrote meanwhile are not measured again."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.path.is_file():
                self._measured = self._read(self.path)
            yield self

    def add(self, entries: Mapping[str, Graspability]) -> None:
        """Merge ``entries`` into the cache file (written whole, then renamed: never torn);
        call it within :meth:`locked`, so no other process's entries are lost."""
        self._measured.update(entries)
        data = {
            "version": VERSION,
            "objects": {k: asdict(v) for k, v in sorted(self._measured.items())},
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".graspability-")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=0)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def graspable_library(
    library: ObjectLibrary, table: GraspabilityTable, config: SimulatorConfig
) -> ObjectLibrary:
    """``library`` without the objects measured not graspable.

    Raises:
        ObjectSetError: an object was never measured (naming how many, and the command that
            measures them), or none is graspable.
    """
    found = {i: table.get(k) for i, k in fingerprints(library, config).items()}
    missing = sorted(i for i, entry in found.items() if entry is None)
    if missing:
        raise ObjectSetError(
            f"{library.source}: graspability of {len(missing)} objects not measured (e.g. "
            f"{missing[0]}): run `supersize-grasp graspability` with this "
            "configuration, or set simulator.objects.graspable_only: false"
        )
    held = {i for i, entry in found.items() if entry.graspable}
    angles = config.objects.graspability_angles
    return library.only(held, f"not graspable: none of {angles} centre grasps lifts it alone")
