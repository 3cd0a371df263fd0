"""What one arm's trial keeps on the blackboard (its keys, the chosen grasp, the trial so far)
and the base class of the trial's steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from supersize_grasp.config import Config
from supersize_grasp.models.scores import GraspScores

from .regions import Region
from .robot import (
    RobotBehaviour,
)

PATHS = ("above", "down", "up")  # every plan: move above, go down, come back up


@dataclass
class Grasp:
    """A chosen planar grasp: pixel, table point, angle, and where it came from."""

    u: float
    v: float
    x: float
    y: float
    theta: float
    roi: Region
    score: float = float("nan")
    attempts: int = 1  # samples drawn for this trial, IK failures included
    scores: GraspScores | None = field(default=None, repr=False)  # learned choosers: the heat map


@dataclass
class TrialState:
    """What one arm's current trial has gathered so far (written by several behaviours)."""

    started: float
    phase_started: float
    timings: dict[str, float] = field(default_factory=dict)
    ik_failures: int = 0
    outcome: str = ""
    success: bool = False
    force: float = 0.0
    gripper_position: float = 0.0
    object_id: str = ""
    message: str = ""


def key(side: str, name: str) -> str:
    return f"/{side}/{name}"


class TrialBehaviour(RobotBehaviour):
    """A step of one arm's trial: it knows the configuration and times itself into the trial."""

    def __init__(self, name, side, config: Config, read=(), write=()) -> None:
        super().__init__(name, config.robot, read=read, write=write, side=side)
        self.config = config
