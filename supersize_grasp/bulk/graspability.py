"""Measure which objects this gripper can hold at all, with the trial that collects the data.

Each object alone on the table (the left arm's half), settled; the trial
(:func:`~supersize_grasp.bulk.trial.run_grasp_trial`) through its centre at
``objects.graspability_angles`` angles over [0, pi), stopping at the first that lifts it. The
results go to the table of ``simulator/graspability.py``, a batch at a time, so a stopped
measurement keeps what it measured and the next one goes on from there.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
from collections.abc import Callable, Iterator

from supersize_grasp.config import Config
from supersize_grasp.simulator.graspability import Graspability, GraspabilityTable, fingerprints
from supersize_grasp.simulator.objects import ObjectModel

from .trial import park, run_grasp_trial

SPOT = (0.6, 0.2)
"""Where each object is put down: the left arm's half of the table, well within reach."""
BATCH = 16


def without_graspable_filter(config: Config) -> Config:
    """``config`` whose worlds hold every object (the measurement decides which are kept)."""
    sim = config.simulator
    objects = sim.objects.model_copy(update={"graspable_only": False})
    return config.model_copy(update={"simulator": sim.model_copy(update={"objects": objects})})


def lifted_at(world, config: Config, obj: ObjectModel) -> int:
    """The first angle (1-based) whose centre grasp lifts ``obj`` alone; 0 if none does."""
    top = config.simulator.table.top_z
    angles = config.simulator.objects.graspability_angles
    for k in range(angles):
        world.place_objects([(obj, (*SPOT, top + obj.extents[2] / 2 + 0.002), (0, 0, 0, 1))])
        park(world, config, "left")
        x, y = (float(v) for v in world.objects()[0].pose.position[:2])
        result = run_grasp_trial(world, config, "left", x, y, k * math.pi / angles)
        if result.success and result.lifted:
            return k + 1
    return 0


def _trial_note(config: Config) -> str:
    t = config.trial
    return f"above {t.approach_height} m, lift {t.lift_height} m, label {config.robot.label}"


_worker: dict[str, object] = {}
"""A worker process's world and config, set once: every batch it measures reuses the world."""


def _start_worker(config: Config) -> None:
    """Build the worker's world; the parent already reported the objects its library skips."""
    from supersize_grasp.simulator import objects
    from supersize_grasp.simulator.world import BaxterWorld

    logging.getLogger(objects.__name__).setLevel(logging.ERROR)
    _worker.update(world=BaxterWorld(config.simulator), config=config)


def _measure_batch(objects: list[ObjectModel]) -> list[tuple[str, int]]:
    world, config = _worker["world"], _worker["config"]
    return [(o.object_id, lifted_at(world, config, o)) for o in objects]


def measure(
    config: Config, objects: list[ObjectModel], workers: int = 1
) -> Iterator[tuple[ObjectModel, int]]:
    """``(object, lifted_at)`` for each object, in batches spread over ``workers`` processes
    (each with one world of its own)."""
    if not objects:
        return
    config = without_graspable_filter(config)
    by_id = {o.object_id: o for o in objects}
    batches = [objects[i : i + BATCH] for i in range(0, len(objects), BATCH)]
    with mp.get_context("spawn").Pool(workers, _start_worker, (config,)) as pool:
        for results in pool.imap(_measure_batch, batches):
            for object_id, k in results:
                yield by_id[object_id], k


def ensure_measured(
    config: Config,
    workers: int = 1,
    on_object: Callable[[ObjectModel, int, int, int], None] | None = None,
) -> tuple[int, int]:
    """Measure the objects of the configured sets (the object set and the test folder) that
    the table lacks; ``on_object(object, lifted_at, done, total)`` after each. Returns
    (measured now, already known)."""
    from supersize_grasp.simulator.world import object_libraries

    sim = config.simulator
    libraries = [lib for lib in object_libraries(sim, graspable_only=False) if lib is not None]
    everything = {o.object_id: o for lib in libraries for o in lib}
    keys = fingerprints(everything.values(), sim)
    table = GraspabilityTable(sim.objects.resolved_cache_dir())
    with table.locked():
        missing = [everything[i] for i, key in keys.items() if table.get(key) is None]
        angles, note = sim.objects.graspability_angles, _trial_note(config)
        batch: dict[str, Graspability] = {}
        for done, (obj, k) in enumerate(measure(config, missing, workers), start=1):
            batch[keys[obj.object_id]] = Graspability(obj.object_id, k, angles, note)
            if on_object is not None:
                on_object(obj, k, done, len(missing))
            if len(batch) >= BATCH:
                table.add(batch)
                batch = {}
        if batch:
            table.add(batch)
    return len(missing), len(everything) - len(missing)
