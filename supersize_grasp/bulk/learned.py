"""The learned policies without ROS, for collecting a stage's trials in bulk.

The tree's ``ChooseLearnedGrasp`` sends the scene and ``learning.num_patch_samples`` candidate
pixels to the scoring node and picks with ``behaviors/grasp_policy.py``; this does the same with
the scoring node's ``GraspScorer`` in the worker process (fast path, one torch thread), so a
stage of the paper's size (5,000 trials and more) is collected at the Python API's pace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from supersize_grasp.behaviors.grasp_policy import rerank, sample_pick
from supersize_grasp.behaviors.regions import Region
from supersize_grasp.behaviors.trial_plan import RandomGrasp, sample_candidates
from supersize_grasp.config import Config
from supersize_grasp.simulator.camera import CameraFrame

POLICIES = ("sample", "greedy")


@dataclass(frozen=True)
class LearnedGrasp(RandomGrasp):
    """A grasp the network chose (its pixel snapped to the scorer's grid), and its score."""

    score: float = math.nan


class LearnedChooser:
    """Picks a trial's grasp with a trained grasp network, as the tree's learned chooser does."""

    def __init__(self, config: Config, model: str | Path, policy: str) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown bulk grasp policy {policy!r}; one of {POLICIES}")
        from supersize_grasp.models.scoring import GraspScorer

        self.config = config
        self.policy = policy
        self.scorer = GraspScorer.load(model, inputs=config.learning.inputs)

    def choose(
        self, rng: np.random.Generator, frame: CameraFrame, regions: list[Region]
    ) -> LearnedGrasp:
        from supersize_grasp.models.patches import table_grasp

        learning, trial = self.config.learning, self.config.trial
        camera = frame.model
        pixels, candidate_regions = sample_candidates(rng, regions, learning, trial)
        u, v = np.asarray(pixels, dtype=np.float64).T
        scored = self._score(frame, u, v)
        if self.policy == "sample":
            i, k = sample_pick(rng, scored.scores)
        else:
            height, width = frame.rgb.shape[:2]
            second = rerank(rng, scored.scores, scored.u, scored.v, learning, (width, height))
            i, k = second.pick(self._score(frame, second.u, second.v).scores)
        su, sv = float(scored.u[i]), float(scored.v[i])
        x, y, theta = table_grasp(camera, su, sv, k, self.scorer.num_bins, trial.table_z)
        return LearnedGrasp(candidate_regions[i], su, sv, x, y, theta, float(scored.scores[i, k]))

    def _score(self, frame: CameraFrame, u, v):
        return self.scorer.score(
            frame.rgb, frame.model, self.config.trial.table_z, u, v, depth=frame.depth
        )
