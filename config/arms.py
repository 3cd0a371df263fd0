"""Which arms collect, where each may grasp, and where each waits out of the camera's view."""

from pydantic import Field, model_validator

from .base import StrictModel
from .robot import Side

ARM_JOINTS = ("s0", "s1", "e0", "e1", "w0", "w1", "w2")
ARM_VELOCITY_LIMITS = (1.5, 1.5, 1.5, 1.5, 4.0, 4.0, 4.0)  # rad/s, Rethink's URDF


def joint_velocity_limits() -> dict[str, float]:
    """Both arms' joint velocity limits by SDK name (``left_s0``: 1.5 rad/s, ...)."""
    return {
        f"{side}_{joint}": limit
        for side in ("left", "right")
        for joint, limit in zip(ARM_JOINTS, ARM_VELOCITY_LIMITS, strict=True)
    }


class Workspace(StrictModel):
    """A rectangle on the table in the robot base frame (m); each arm keeps to its own half."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float

    @model_validator(mode="after")
    def _ordered(self):
        if self.x_min >= self.x_max or self.y_min >= self.y_max:
            raise ValueError("needs x_min < x_max and y_min < y_max")
        return self


class ArmConfig(StrictModel):
    enabled: bool = True
    workspace: Workspace
    park_joints: tuple[float, float, float, float, float, float, float] = Field(
        description="s0 s1 e0 e1 w0 w1 w2 (rad): out of the head camera's view"
    )


class ArmsConfig(StrictModel):
    left: ArmConfig = ArmConfig(
        workspace=Workspace(x_min=0.40, x_max=0.78, y_min=0.0, y_max=0.35),
        park_joints=(0.9, -0.6, -0.4, 1.6, 0.3, 0.6, 0.0),
    )
    right: ArmConfig = ArmConfig(
        workspace=Workspace(x_min=0.40, x_max=0.78, y_min=-0.35, y_max=0.0),
        park_joints=(-0.9, -0.6, 0.4, 1.6, -0.3, 0.6, 0.0),
    )

    min_separation: float = Field(
        0.15,
        ge=0.0,
        description="m: while one arm's grasp is under way, the other does not start a grasp "
        "nearer than this to it, but waits (the grippers would meet over the middle of the "
        "table); 0: no waiting",
    )

    def active(self) -> list[Side]:
        return [side for side in ("left", "right") if getattr(self, side).enabled]

    @model_validator(mode="after")
    def _at_least_one(self):
        if not self.active():
            raise ValueError("at least one arm must be enabled")
        return self
