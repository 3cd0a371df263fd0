"""How the simulated Baxter's ROS node runs the world: pace, publishing rates, start state."""

from typing import Literal

from pydantic import Field

from .base import StrictModel


class SimNodeConfig(StrictModel):
    real_time_factor: float = Field(
        0.0, ge=0.0, description="sim s per wall s to keep to; 0: as fast as the physics runs"
    )
    state_rate: float = Field(
        100.0, gt=0.0, description="Hz (sim time): joint, endpoint and gripper states, as Baxter"
    )
    robot_state_rate: float = Field(20.0, gt=0.0, description="Hz (sim time): /robot/state")
    max_state_rate_wall: float = Field(
        300.0,
        ge=0.0,
        description=(
            "Hz (wall): cap on /clock and the state topics when faster than real time, so "
            "Python clients are not handed more than they can read; 0: no cap"
        ),
    )
    camera_rate: float = Field(
        10.0, gt=0.0, description="Hz (sim time) of head-camera frames, rendered only if watched"
    )
    max_camera_rate_wall: float = Field(
        4.0,
        ge=0.0,
        description="Hz (wall): cap on head-camera frames when faster than real time (a frame is "
        "~3.8 MB over DDS and ~0.15 s of the physics thread: uncapped, a capture floods both); "
        "0: no cap",
    )
    hand_cameras: bool = Field(False, description="also render and publish the hand cameras")
    start_enabled: bool = Field(False, description="the real robot starts disabled")
    auto_refill: bool = Field(
        True,
        description="refill the table when it is empty, objects fell off or an arm's grips keep "
        "coming up empty (the human)",
    )
    oracle_budget: int = Field(
        20,
        ge=1,
        description="grasps the oracle tries per choice, each the whole trial on a copy of the "
        "scene (the first that lifts an object is chosen)",
    )
    split: Literal["train", "novel"] = Field("train", description="object split on the table")
    viewer: bool = Field(False, description="open MuJoCo's interactive viewer (needs a display)")
