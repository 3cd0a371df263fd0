"""The oracle: a grasp chooser that may use the simulator's ground truth, the ceiling of any other.

It copies a world's scene (every object where it lies now) into a world of its own and tries
candidate grasps there with the trial that collects the data, one fresh copy per try, until one
lifts an object; else it returns the best it found (the firmest grip). What a learned chooser
reaches is then read as a fraction of what was achievable among the same candidates.

A grasp that lifts in the copy may be one that lifts only there: executed through the tree the
arm ends a few millimetres elsewhere (measured: 3 to 6 mm at the grip), and the first lifting
grasp of 20 random ones lifted in 71 % of tries jittered by 6 mm and 5 degrees. So each grasp that
lifts is tried again ``checks`` times, jittered by up to ``jitter`` (m, rad), and the oracle
keeps the one that lifted most often: the ceiling of a chooser on a robot that is not exact.

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
    grasp lifted an object in the copy, how many candidates it tried, the wall seconds it took,
    the chosen grasp's result and ``robustness``, the share of its tries (as chosen and
    jittered) that lifted (0 when none lifted)."""

    index: int
    lifted: bool
    tried: int
    seconds: float
    result: GraspResult | None = None
    robustness: float = 0.0


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
        checks: int = 0,
        jitter: tuple[float, float] = (0.0, 0.0),
        seconds: float = math.inf,
    ) -> OracleChoice:
        """Try up to ``budget`` of ``candidates`` in random order; each that lifts an object is
        tried ``checks`` times more, jittered by up to ``jitter`` (m in x and y, rad in theta).
        The first that lifted every time, else the one that lifted most often, else the one
        that gripped firmest. No new candidate is tried after ``seconds`` (wall clock): a
        chooser that waits gets the best found by then."""
        if budget < 1:
            raise ValueError(f"budget must be >= 1, got {budget}")
        if checks < 0:
            raise ValueError(f"checks must be >= 0, got {checks}")
        started = time.perf_counter()
        best, best_key, best_result = -1, (-1.0, -1.0), None
        order = rng.permutation(len(candidates))[:budget]
        tried = 0
        for i in order:
            if tried and time.perf_counter() - started > seconds:
                break
            tried += 1
            result = self.attempt(scene, candidates[int(i)])
            robustness = 0.0
            if result.success and result.lifted:
                lifts = 1 + sum(
                    self._lifts(scene, jittered(candidates[int(i)], jitter, rng))
                    for _ in range(checks)
                )
                robustness = lifts / (1 + checks)
                if robustness == 1.0:
                    return OracleChoice(
                        int(i), True, tried, time.perf_counter() - started, result, 1.0
                    )
            key = (robustness, result.force if result.gripping else 0.0)
            if key > best_key:
                best, best_key, best_result = int(i), key, result
        return OracleChoice(
            best,
            best_key[0] > 0.0,
            tried,
            time.perf_counter() - started,
            best_result,
            max(best_key[0], 0.0),
        )

    def _lifts(self, scene: Sequence, candidate: Candidate) -> bool:
        result = self.attempt(scene, candidate)
        return bool(result.success and result.lifted)


def jittered(
    candidate: Candidate, jitter: tuple[float, float], rng: np.random.Generator
) -> Candidate:
    """``candidate`` moved by up to ``jitter[0]`` m in x and in y and turned by up to
    ``jitter[1]`` rad, uniformly."""
    side, x, y, theta = candidate
    dx, dy = rng.uniform(-jitter[0], jitter[0], 2)
    return side, x + float(dx), y + float(dy), theta + float(rng.uniform(-jitter[1], jitter[1]))


def arm_for(arms: ArmsConfig, x: float, y: float) -> str:
    """The active arm whose workspace holds (x, y), else the one whose workspace is nearest."""

    def distance(side: str) -> float:
        w = getattr(arms, side).workspace
        return math.hypot(max(w.x_min - x, 0.0, x - w.x_max), max(w.y_min - y, 0.0, y - w.y_max))

    return min(arms.active(), key=distance)


NO_LIFT = 0.01
"""The score of the firmest grip when no grasp lifted: above every untried one."""


def score_candidates(
    oracle: GraspOracle,
    scene: Sequence,
    camera: CameraModel,
    pixels: Sequence[tuple[float, float]],
    num_bins: int,
    budget: int,
    rng: np.random.Generator,
    checks: int = 0,
    jitter: tuple[float, float] = (0.0, 0.0),
    seconds: float = math.inf,
) -> tuple[np.ndarray, OracleChoice]:
    """The oracle's answer to a scoring request for ``pixels`` x ``num_bins`` angle bins: it
    tries ``budget`` of those grasps, drawn at random, for at most about ``seconds``
    (:meth:`GraspOracle.choose`), and scores the one it chose by its robustness (1: it lifted
    every time), or ``NO_LIFT`` (the firmest grip of the tries, none lifting); everything else
    0."""
    if not len(pixels):
        raise ValueError("no candidate pixels")
    config = oracle.config
    picks = rng.permutation(len(pixels) * num_bins)[:budget]
    candidates = []
    for pick in picks:
        i, k = divmod(int(pick), num_bins)
        x, y, theta = table_grasp(camera, *pixels[i], k, num_bins, config.trial.table_z)
        candidates.append((arm_for(config.arms, x, y), x, y, theta))
    choice = oracle.choose(scene, candidates, budget, rng, checks, jitter, seconds)
    scores = np.zeros((len(pixels), num_bins), np.float32)
    if choice.index >= 0:
        scores.flat[int(picks[choice.index])] = choice.robustness if choice.lifted else NO_LIFT
    return scores, choice
