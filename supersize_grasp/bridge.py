"""The ros1_bridge ``parameter_bridge`` topics for the real Baxter, made from the configuration.

The real Baxter speaks ROS 1 (Rethink SDK 1.2.0) and so does its Kinect v2 (iai_kinect2); the tree
and the recorder speak ROS 2. ros1_bridge's ``parameter_bridge`` bridges the topics listed in the
ROS 1 parameter ``topics`` (``rosparam load config/ros1_bridge/parameter_bridge.yaml``,
docs/ros1_bridge.md), and only the types it was compiled with. The list here is exactly what our
nodes use on a real robot, named by the configuration (``robot.*_topic`` with ``{side}`` for
each arm in use, ``camera.*_topic``):

- ROS 1 -> ROS 2: the assembly state and joint states, each arm's endpoint state (recorded) and
  gripper state, the Kinect's colour image, depth image and camera info;
- ROS 2 -> ROS 1: the enable command, each arm's joint command and gripper command.

Not bridged: ``camera.pose_topic`` (nothing publishes it on a real robot: the calibration node
publishes it on the ROS 2 side), the IK service (ros1_bridge does not pair ``SolvePositionIK``:
the SDK's ``isValid`` is our ``is_valid`` and ``determine_common_services`` ignores the mapping
rule, ros2/ros1_bridge#285; IK runs on the ROS 2 side), the grippers' ``properties`` (nothing of
ours reads them) and ``/clock`` (``config/real_baxter.yaml`` follows the wall clock).

Upstream ``parameter_bridge`` (src/parameter_bridge.cpp) reads ``topic``, ``type`` (the ROS 2
type), ``queue_size`` (default 100) and optional ``qos`` of each entry and bridges every listed
topic in both directions (``create_bidirectional_bridge``); it has no direction key, so the
direction is a comment in the file. ``services_1_to_2`` and ``services_2_to_1`` are left empty.

``supersize-grasp bridge --config config/real_baxter.yaml --output
config/ros1_bridge/parameter_bridge.yaml`` (or ``python -m supersize_grasp.bridge``) writes the
shipped file (in a folder of its own: every YAML file directly in config/ is a profile);
tests/test_bridge.py fails when the two drift apart.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from supersize_grasp.config import Config

SHIPPED = (
    Path(__file__).resolve().parent.parent / "config" / "ros1_bridge" / "parameter_bridge.yaml"
)
"""The generated file kept in the repository (from ``config/real_baxter.yaml``)."""
PROFILE = Path(__file__).resolve().parent.parent / "config" / "real_baxter.yaml"
"""The configuration the shipped file is generated from."""

Direction = Literal["1to2", "2to1"]

# Queue sizes (the ROS 1 subscriber/publisher queue and the ROS 2 publisher depth): a camera frame
# is only worth its newest copy; states and commands keep a few, as our own publishers do.
CAMERA_QUEUE = 1
STATE_QUEUE = 10
COMMAND_QUEUE = 10


@dataclass(frozen=True)
class BridgedTopic:
    """One entry of the ``topics`` parameter, with who publishes and who reads it (a comment)."""

    topic: str
    type: str  # the ROS 2 type, as parameter_bridge wants it: "pkg/msg/Name"
    direction: Direction
    queue_size: int
    why: str


def bridged_topics(config: Config) -> list[BridgedTopic]:
    """The topics our nodes use on a real Baxter, in the order of the file."""
    robot, camera = config.robot, config.camera
    sides = config.arms.active()
    # topic (with {side}: one per arm in use), ROS 2 type, direction, queue, who needs it
    table: list[tuple[str, str, Direction, int, str]] = [
        (robot.state_topic, "baxter_core_msgs/msg/AssemblyState", "1to2", STATE_QUEUE,
         "enabled / stopped: the tree waits for an enabled robot"),
        (robot.joint_states_topic, "sensor_msgs/msg/JointState", "1to2", STATE_QUEUE,
         "all joints: the tree's arm motions, the recorder"),
        (robot.endpoint_state_topic, "baxter_core_msgs/msg/EndpointState", "1to2", STATE_QUEUE,
         "{side} endpoint pose: the recorder"),
        (robot.gripper_state_topic, "baxter_core_msgs/msg/EndEffectorState", "1to2", STATE_QUEUE,
         "{side} gripper: the tree labels each grasp from it"),
        (camera.image_topic, "sensor_msgs/msg/Image", "1to2", CAMERA_QUEUE,
         "Kinect v2 colour image: the tree's capture"),
        (camera.depth_topic, "sensor_msgs/msg/Image", "1to2", CAMERA_QUEUE,
         "Kinect v2 depth image: the tree's capture"),
        (camera.info_topic, "sensor_msgs/msg/CameraInfo", "1to2", CAMERA_QUEUE,
         "Kinect v2 intrinsics: the tree's capture"),
        (robot.enable_topic, "std_msgs/msg/Bool", "2to1", COMMAND_QUEUE,
         "the tree enables the motors"),
        (robot.joint_command_topic, "baxter_core_msgs/msg/JointCommand", "2to1", COMMAND_QUEUE,
         "{side} arm: the tree's motion"),
        (robot.gripper_command_topic, "baxter_core_msgs/msg/EndEffectorCommand", "2to1",
         COMMAND_QUEUE, "{side} gripper: the tree's grip and release"),
    ]  # fmt: skip
    topics = []
    for topic, kind, direction, queue, why in table:
        for side in sides if "{side}" in topic else [None]:
            name = robot.topic(topic, side) if side else topic
            topics.append(BridgedTopic(name, kind, direction, queue, why.format(side=side)))
    return topics


def not_bridged(config: Config) -> list[tuple[str, str]]:
    """Names a reader might expect in the file, and why each is left out."""
    robot, camera = config.robot, config.camera
    sides = config.arms.active()
    ik = ", ".join(robot.topic(robot.ik_service, side) for side in sides)
    properties = ", ".join(
        robot.topic(robot.gripper_state_topic, side).rsplit("/", 1)[0] + "/properties"
        for side in sides
    )
    return [
        (
            camera.pose_topic,
            "nothing publishes it on a real robot: the calibration node publishes it on the "
            "ROS 2 side",
        ),
        (
            ik,
            "the IK services: ros1_bridge does not pair the service type "
            "baxter_core_msgs/SolvePositionIK (the SDK's isValid is our is_valid, and "
            "determine_common_services never applies response_fields_1_to_2: "
            "ros2/ros1_bridge#285); IK runs on the ROS 2 side",
        ),
        (properties, "nothing of ours reads the grippers' static properties"),
        ("/clock", "the real robot runs on the wall clock (robot.use_sim_time: false)"),
    ]


def command_line(configs: list[str], output: str | None) -> str:
    """The ``supersize-grasp bridge`` command that generates a file (named in its header)."""
    words = ["supersize-grasp", "bridge"] + [f"--config {c}" for c in configs]
    words.append(f"--output {output}" if output else "> FILE")
    return " ".join(words)


SHIPPED_COMMAND = command_line(
    ["config/real_baxter.yaml"], "config/ros1_bridge/parameter_bridge.yaml"
)


def parameter_bridge_yaml(config: Config, command: str = SHIPPED_COMMAND) -> str:
    """The ``rosparam load`` file for ``ros2 run ros1_bridge parameter_bridge``, with comments;
    ``command`` is the one that generated it, named in the header."""
    lines = [
        "# ros1_bridge parameter_bridge: the topics between the real Baxter (ROS 1, Rethink",
        "# SDK 1.2.0) with its Kinect v2 (iai_kinect2) and our ROS 2 nodes. How to run it",
        "# (docs/ros1_bridge.md): rosparam load config/ros1_bridge/parameter_bridge.yaml,",
        "# then ros2 run ros1_bridge parameter_bridge",
        "#",
        "# GENERATED from the configuration by",
        f"#   {command}",
        "# Do not edit: change the configuration and generate again (tests/test_bridge.py fails",
        "# when this file and the generation differ).",
        "#",
        "# parameter_bridge reads topic, type (the ROS 2 type), queue_size and qos of each",
        "# entry and bridges every listed topic in BOTH directions; it has no direction key.",
        "# The comment above each entry says which side publishes (1to2: ROS 1 -> ROS 2,",
        "# 2to1: ROS 2 -> ROS 1).",
        "#",
        "# Not bridged:",
    ]
    for name, why in not_bridged(config):
        lines += _wrap(f"- {name}: {why}", "#   ", first="# ")
    lines.append("topics:")
    for entry in bridged_topics(config):
        lines += [
            f"  # {entry.direction}: {entry.why}",
            f"  - topic: {entry.topic}",
            f"    type: {entry.type}",
            f"    queue_size: {entry.queue_size}",
        ]
    lines += [
        "# No services: IK stays on the ROS 2 side (see above).",
        "services_1_to_2: []",
        "services_2_to_1: []",
    ]
    return "\n".join(lines) + "\n"


def _wrap(text: str, indent: str, first: str, width: int = 100) -> list[str]:
    out, line = [], first
    for word in text.split():
        if len(line) + len(word) + 1 > width and line.strip("# "):
            out.append(line.rstrip())
            line = indent
        line += word + " "
    out.append(line.rstrip())
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m supersize_grasp.bridge [--config FILE]... [--output FILE]``."""
    from supersize_grasp.cli import main as cli_main

    return cli_main(["bridge", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
