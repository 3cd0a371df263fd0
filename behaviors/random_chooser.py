"""The paper's random grasp chooser (a pixel on a region's foreground, a random angle)."""

from __future__ import annotations

import math

import numpy as np

from supersize_grasp.config import Config

from .regions import Region
from .robot import (
    Status,
)
from .scene import Scene
from .trial_plan import (
    sample_random_grasp,
)
from .trial_state import Grasp, TrialBehaviour, TrialState, key

PATHS = ("above", "down", "up")  # every plan: move above, go down, come back up


class ChooseRandomGrasp(TrialBehaviour):
    """The paper's random trial: random region, pixel uniform in it, theta uniform in [0, pi)."""

    def __init__(self, side: str, config: Config, seed: int) -> None:
        super().__init__(
            "Choose random grasp",
            side,
            config,
            read=[key(side, "scene"), key(side, "regions"), key(side, "grasp")],
            write=[key(side, "grasp")],
        )
        self.rng = np.random.default_rng(seed)

    def update(self) -> Status:
        scene: Scene = self.read(key(self.side, "scene"))
        regions: list[Region] = self.read(key(self.side, "regions"))
        trial: TrialState = self.read(key(self.side, "trial"))
        g = sample_random_grasp(self.rng, regions, scene.camera, self.config.trial)
        grasp = Grasp(g.u, g.v, g.x, g.y, g.theta, g.region, attempts=trial.ik_failures + 1)
        self.bb.set(key(self.side, "grasp"), grasp, overwrite=True)
        self.feedback_message = f"({g.x:.3f}, {g.y:.3f}) m, {math.degrees(g.theta):.0f} deg"
        return Status.SUCCESS
