"""How the tree reaches the robot: the Baxter SDK's names, for the simulator and the real arm.

Only these values differ between the simulated Baxter and the real one behind ros1_bridge.
"""

from typing import Literal

from pydantic import Field

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

    def topic(self, template: str, side: Side) -> str:
        """A per-arm name, e.g. ``robot.topic(robot.ik_service, "left")``."""
        return template.format(side=side)
