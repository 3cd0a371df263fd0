"""``supersize-grasp check --robot``: what the preflight samples and what it accepts."""

from pydantic import Field

from .base import StrictModel


class PreflightConfig(StrictModel):
    window: float = Field(
        5.0, gt=0.0, description="wall s of sampling every topic (rates, stamps, states)"
    )
    max_clock_skew: float = Field(
        0.5,
        ge=0.0,
        description="s the robot's stamps (joint, endpoint, gripper states) may be off this "
        "computer's clock (the camera's bound is camera.max_clock_skew)",
    )
    table_tolerance: float = Field(
        0.02,
        gt=0.0,
        description="m the table height seen in depth may differ from trial.table_z",
    )
