"""The oracle: a grasp chooser that may use the simulator's ground truth, the ceiling of any other.

It copies a world's scene (every object where it lies now) into a world of its own and tries
candidate grasps there with the trial that collects the data, one fresh copy per try, until one
lifts an object; else it returns the best it found (the firmest grip). What a learned chooser
reaches is then read as a fraction of what was achievable among the same candidates.

The copy keeps poses, not velocities or contact forces: objects at rest are re-placed exactly and
settle within the trial's first steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from supersize_grasp.config import Config
from supersize_grasp.config.arms import ArmsConfig
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.patches import table_grasp

from .graspability import without_graspable_filter
from .trial import GraspResult, park, run_grasp_trial

Candidate = tuple[str, float, float, float]
"""An arm and a planar grasp: (side, x, y, theta)."""


@dataclass(frozen=True)
class OracleChoice:
    """What the oracle found: ``index`` into the candidates (-1 if none was tried), whether that
    grasp lifted an object in the copy, how many it tried and the wall seconds it took."""

    index: int
    lifted: bool
    tried: int
    seconds: float
    result: GraspResult | None = None


class GraspOracle:
    """Tries grasps on copies of a scene, in a world of its own (no camera: no GL context)."""

    def __init__(self, config: Config, seed: int = 0) -> None:
        from supersize_grasp.simulator.world import BaxterWorld

        config = without_graspable_filter(config)  # the copy holds whatever the scene holds
        trial = config.trial.model_copy(update={"put_down": False})  # the copy is thrown away
        self.config = config.model_copy(update={"trial": trial})
        self.world = BaxterWorld(self.config.simulator, seed=seed)

    def close(self) -> None:
        self.world.close()

    def __enter__(self) -> GraspOracle:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def attempt(self, scene: Sequence, candidate: Candidate) -> GraspResult:
        """One try of ``candidate`` on a fresh copy of ``scene`` (``BaxterWorld.scene_now()``)."""
        side, x, y, theta = candidate
        self.world.place_objects(scene, settle=False)
        for arm in self.config.arms.active():
            park(self.world, self.config, arm)
        return run_grasp_trial(self.world, self.config, side, x, y, theta)

    def choose(
        self,
        scene: Sequence,
        candidates: Sequence[Candidate],
        budget: int,
        rng: np.random.Generator,
    ) -> OracleChoice:
        """Try up to ``budget`` of ``candidates`` in random order; the first that lifts an
        object, else the one that gripped firmest."""
        if budget < 1:
            raise ValueError(f"budget must be >= 1, got {budget}")
        started = time.perf_counter()
        best, best_result, best_force = -1, None, -1.0
        order = rng.permutation(len(candidates))[:budget]
        for tried, i in enumerate(order, start=1):
            result = self.attempt(scene, candidates[int(i)])
            if result.success and result.lifted:
                return OracleChoice(int(i), True, tried, time.perf_counter() - started, result)
            force = result.force if result.gripping else 0.0
            if force > best_force:
                best, best_result, best_force = int(i), result, force
        return OracleChoice(best, False, len(order), time.perf_counter() - started, best_result)


def arm_for(arms: ArmsConfig, x: float, y: float) -> str:
    """The active arm whose workspace holds (x, y), else the one whose workspace is nearest."""

    def distance(side: str) -> float:
        w = getattr(arms, side).workspace
        return math.hypot(max(w.x_min - x, 0.0, x - w.x_max), max(w.y_min - y, 0.0, y - w.y_max))

    return min(arms.active(), key=distance)


def score_candidates(
    oracle: GraspOracle,
    scene: Sequence,
    camera: CameraModel,
    pixels: Sequence[tuple[float, float]],
    num_bins: int,
    budget: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, OracleChoice]:
    """The oracle's answer to a scoring request for ``pixels`` x ``num_bins`` angle bins: it
    tries ``budget`` of those grasps, drawn at random, and scores the one it chose 1 (it lifted
    an object) or 0.5 (the firmest grip of the tries, none lifting); everything else 0."""
    if not len(pixels):
        raise ValueError("no candidate pixels")
    config = oracle.config
    picks = rng.permutation(len(pixels) * num_bins)[:budget]
    candidates = []
    for pick in picks:
        i, k = divmod(int(pick), num_bins)
        x, y, theta = table_grasp(camera, *pixels[i], k, num_bins, config.trial.table_z)
        candidates.append((arm_for(config.arms, x, y), x, y, theta))
    choice = oracle.choose(scene, candidates, budget, rng)
    scores = np.zeros((len(pixels), num_bins), np.float32)
    if choice.index >= 0:
        scores.flat[int(picks[choice.index])] = 1.0 if choice.lifted else 0.5
    return scores, choice
