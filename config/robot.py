"""How the tree reaches the robot: the Baxter SDK's names, for the simulator and the real arm.

Only these values differ between the simulated Baxter and the real one behind ros1_bridge.
"""

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, model_validator

from .base import StrictModel

Side = Literal["left", "right"]


class GripperLabelConfig(StrictModel):
    """When a lifted grasp counts as a success (the paper: the gripper's force sensor)."""

    min_force: float = Field(
        5.0, ge=0.0, le=100.0, description="force, % of max, held after lifting"
    )
    min_position: float = Field(
        2.0,
        ge=0.0,
        le=100.0,
        description="opening, % of max, above which the fingers hold something",
    )


class WorkspaceBox(StrictModel):
    """A box in the base frame (m) that every endpoint target of the tree must lie in."""

    x: tuple[float, float] = Field((0.2, 1.1), description="m: x_min, x_max (forwards)")
    y: tuple[float, float] = Field((-1.0, 1.0), description="m: y_min, y_max (to the left)")
    z: tuple[float, float] = Field((-0.25, 0.6), description="m: z_min, z_max (upwards)")

    @model_validator(mode="after")
    def _ordered(self):
        for axis in ("x", "y", "z"):
            low, high = getattr(self, axis)
            if low >= high:
                raise ValueError(f"{axis} needs min < max, got [{low}, {high}]")
        return self

    def contains(self, position: Sequence[float]) -> bool:
        return all(
            low <= float(v) <= high
            for v, (low, high) in zip(position, (self.x, self.y, self.z), strict=True)
        )

    def __str__(self) -> str:
        return " ".join(
            f"{axis} [{low:.3f}, {high:.3f}]"
            for axis, (low, high) in zip("xyz", (self.x, self.y, self.z), strict=True)
        )


class SafetyConfig(StrictModel):
    """Limits the tree enforces before it commands anything: a real robot gets conservative
    ones (``config/real_baxter.yaml``); the simulator's defaults never bind a collection."""

    workspace: WorkspaceBox = Field(
        WorkspaceBox(),
        description="where the gripper may be sent: a grasp, put-down or drop with a pose "
        "outside is refused and logged, never planned or executed",
    )
    speed_ratio: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="fraction of each joint's velocity limit (URDF: 1.5 rad/s shoulder and "
        "elbow, 4.0 wrist) at which the commanded joint positions may move, as the SDK's "
        "set_speed_ratio; 1.0: the robot's own limit, commands go to each waypoint at once",
    )


class RobotConfig(StrictModel):
    """Topic and service names of the Baxter SDK; `{side}` is replaced by left or right."""

    name: str = "baxter"
    use_sim_time: bool = Field(True, description="follow /clock (the simulator publishes it)")
    state_topic: str = "/robot/state"
    enable_topic: str = "/robot/set_super_enable"
    joint_states_topic: str = "/robot/joint_states"
    joint_command_topic: str = "/robot/limb/{side}/joint_command"
    endpoint_state_topic: str = "/robot/limb/{side}/endpoint_state"
    gripper_command_topic: str = "/robot/end_effector/{side}_gripper/command"
    gripper_state_topic: str = "/robot/end_effector/{side}_gripper/state"
    ik_service: str = "/ExternalTools/{side}/PositionKinematicsNode/IKService"
    base_frame: str = "base"
    state_timeout: float = Field(
        5.0,
        gt=0.0,
        description="wall s without a new robot, joint or gripper state after which that state "
        "counts as lost (a dead simulator or ros1_bridge): the running trials stop unlogged",
    )
    ik_tolerance_position: float = Field(
        0.001,
        gt=0.0,
        description="m: how close the baxter_ik node's solutions (a real robot's IK service) "
        "put the endpoint to its target; the simulator's own: simulator.arm.ik_tolerance_*",
    )
    ik_tolerance_angle: float = Field(
        0.0087, gt=0.0, description="rad (0.5 deg): and how close they turn it to its orientation"
    )
    label: GripperLabelConfig = GripperLabelConfig()
    safety: SafetyConfig = SafetyConfig()

    def topic(self, template: str, side: Side) -> str:
        """A per-arm name, e.g. ``robot.topic(robot.ik_service, "left")``."""
        return template.format(side=side)
