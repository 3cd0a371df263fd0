"""The node graphs, described once: launch files and ``supersize-grasp`` both start them from here.

A ``launch/*.launch.py`` file turns a graph into launch_ros ``Node`` actions (for users with ROS 2
launch); :mod:`supersize_grasp.launcher` starts the same specs as processes where ``launch`` is not
installed. Neither keeps its own list of nodes, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import config as config_package
from .fleet import robot_namespace

PACKAGE = "supersize_grasp"
LEARNED = ("sample", "greedy")
"""Policies that need the grasp scorer (``random`` and the simulator's ``oracle`` do not)."""

# Executable name (console script, `ros2 run supersize_grasp <name>`) -> module with main().
EXECUTABLES: dict[str, str] = {
    "baxter_ik": "supersize_grasp.nodes.baxter_ik",
    "camera_pose": "supersize_grasp.nodes.camera_pose",
    "dataset_writer": "supersize_grasp.nodes.dataset_writer",
    "grasp_scorer": "supersize_grasp.nodes.grasp_scorer",
    "interface_echo": "supersize_grasp.nodes.interface_check",
    "recorder": "supersize_grasp.nodes.recorder",
    "sim_baxter": "supersize_grasp.nodes.sim_baxter",
    "trial_tree": "supersize_grasp.nodes.trial_tree",
}

DDS_PROFILE = Path(config_package.__file__).resolve().parent / "fastdds.xml"


def profiles_variable(env: Mapping[str, str] = os.environ, prefix: str = sys.prefix) -> str:
    """The variable that names a Fast DDS profile file for the ROS 2 at hand.

    Fast DDS 3 (Kilted) reads ``FASTDDS_DEFAULT_PROFILES_FILE`` and warns at every node's start
    when the old name is set; Fast DDS 2 (Jazzy, Humble) reads only
    ``FASTRTPS_DEFAULT_PROFILES_FILE``. Which one is installed shows in the first ROS prefix (this
    venv's wheels, else the sourced distribution's) that has a ``share/fastdds`` or
    ``share/fastrtps`` folder.
    """
    for folder in [prefix, *env.get("AMENT_PREFIX_PATH", "").split(os.pathsep)]:
        if folder and Path(folder, "share", "fastdds").is_dir():
            return "FASTDDS_DEFAULT_PROFILES_FILE"
        if folder and Path(folder, "share", "fastrtps").is_dir():
            return "FASTRTPS_DEFAULT_PROFILES_FILE"
    return "FASTDDS_DEFAULT_PROFILES_FILE"


# Environment of every node, unless the user's environment sets the variable: Fast DDS transports
# that carry a head-camera frame whole (config/fastdds.xml says why).
ENVIRONMENT: dict[str, str] = {profiles_variable(): str(DDS_PROFILE)}

# Boolean launch arguments that a NodeSpec.condition may name: default, description.
ARGUMENTS: dict[str, tuple[bool, str]] = {
    "simulated": (True, "start the simulated Baxter (false: the real robot via ros1_bridge)"),
}
ROBOT_ARGUMENT = "robot"
"""The string launch argument naming a fleet's robot: its graph runs in ``/<robot>``."""


CLOCK_REMAP = {"/clock": "clock"}
"""rclpy's time source hears ``/clock``; relative to a node's namespace, its robot's clock (the
same ``/clock`` in the root namespace)."""


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph: what to run, its name and its ROS parameters."""

    name: str
    executable: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    required: bool = True  # the whole graph shuts down when a required node exits
    condition: str | None = None  # a boolean launch argument that must be true to start it
    unless: str | None = None  # a boolean launch argument that must be false to start it
    package: str = PACKAGE
    namespace: str = ""  # a fleet robot's ("/baxter_0"); "": the root, the SDK's own names

    def __post_init__(self) -> None:
        if self.executable not in EXECUTABLES:
            raise ValueError(
                f"unknown executable {self.executable!r}; known: {sorted(EXECUTABLES)}"
            )
        for argument in (self.condition, self.unless):
            if argument is not None and argument not in ARGUMENTS:
                raise ValueError(f"unknown launch argument {argument!r}")

    def starts(self, arguments: Mapping[str, bool]) -> bool:
        """Whether the node runs for these launch arguments' values."""
        if self.condition is not None and not arguments[self.condition]:
            return False
        return self.unless is None or not arguments[self.unless]

    @property
    def module(self) -> str:
        return EXECUTABLES[self.executable]


def camera_pose(parameters: Mapping[str, Any]) -> NodeSpec:
    """The calibrated camera pose (``calibration.file``) on a real robot; the simulated Baxter
    publishes its camera's true pose itself."""
    return NodeSpec("camera_pose", "camera_pose", parameters, unless="simulated")


def baxter_ik(parameters: Mapping[str, Any]) -> NodeSpec:
    """The SDK's IK service on the ROS 2 side for a real robot (ros1_bridge cannot bridge it);
    the simulated Baxter serves it itself."""
    return NodeSpec("baxter_ik", "baxter_ik", parameters, unless="simulated")


def sim_graph(**parameters: Any) -> list[NodeSpec]:
    """The simulated Baxter alone: any ROS 2 client can drive it."""
    return [NodeSpec("sim_baxter", "sim_baxter", parameters)]


def collect_graph(
    num_trials: int = 0,
    stage: int = 0,
    session: str = "",
    policy: str = "random",
    checkpoint: str = "",
    robot: str = "",
    **parameters: Any,
) -> list[NodeSpec]:
    """Autonomous collection: the simulated Baxter (unless ``simulated`` is false), the trial
    tree, which ends the run when its quota of labelled trials is done, and the recorder of the
    session's raw topics (MCAP, named like the store's session when ``session`` is given).
    A learned ``policy`` (``sample``, ``greedy``) adds the grasp scorer with ``checkpoint``;
    ``oracle`` asks the simulated Baxter.
    The tree's first tick waits for the recorder's subscriptions: the recording starts with it.
    A ``robot`` of a fleet runs it in its namespace, its tree spooling each trial to the
    dataset writer (:mod:`supersize_grasp.fleet`)."""
    tree = {**parameters, "num_trials": num_trials, "stage": stage, "session": session}
    recorder = NodeSpec("recorder", "recorder", {**parameters, "session": session}, required=False)
    specs = [
        NodeSpec("sim_baxter", "sim_baxter", parameters, condition="simulated"),
        camera_pose(parameters),
        baxter_ik(parameters),
        NodeSpec("trial_tree", "trial_tree", {**tree, "policy": policy, "recorder": recorder.name}),
        recorder,
    ]
    if policy in LEARNED:
        specs.insert(3, _scorer(checkpoint))
    return in_namespace(specs, robot)


def writer_graph(**parameters: Any) -> list[NodeSpec]:
    """The dataset writer: every fleet robot's trials into the one store (``storage.data_dir``)."""
    return [NodeSpec("dataset_writer", "dataset_writer", parameters)]


def in_namespace(specs: list[NodeSpec], robot: str) -> list[NodeSpec]:
    """``specs`` in ``robot``'s namespace; unchanged for "" (a single robot)."""
    namespace = robot_namespace(robot)
    if namespace == "/":
        return specs
    return [replace(s, namespace=namespace) for s in specs]


def clear_table_graph(
    policy: str = "greedy", checkpoint: str = "", session: str = "", **parameters: Any
) -> list[NodeSpec]:
    """Clutter removal: the simulated Baxter, the grasp scorer (``checkpoint``, or
    ``learning.checkpoint`` of the configuration) and the tree with ``task: clear_table``."""
    tree = {**parameters, "task": "clear_table", "policy": policy, "session": session}
    specs = [
        NodeSpec("sim_baxter", "sim_baxter", parameters, condition="simulated"),
        camera_pose(parameters),
        baxter_ik(parameters),
        NodeSpec("trial_tree", "trial_tree", tree),
    ]
    if policy in LEARNED:
        specs.insert(3, _scorer(checkpoint))
    return specs


def _scorer(checkpoint: str) -> NodeSpec:
    return NodeSpec(
        "grasp_scorer", "grasp_scorer", {"checkpoint": checkpoint} if checkpoint else {}
    )


GRAPHS: dict[str, Callable[..., list[NodeSpec]]] = {
    "sim": sim_graph,
    "collect": collect_graph,
    "clear_table": clear_table_graph,
    "writer": writer_graph,
}


def launch_description(graph: str, **parameters: Any):
    """A ``launch.LaunchDescription`` of a graph; every node gets the ``config_file`` argument,
    and the ``robot`` argument's namespace (none by default) with ``/clock`` remapped into it."""
    from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable, Shutdown
    from launch.conditions import IfCondition, UnlessCondition
    from launch.substitutions import EnvironmentVariable, LaunchConfiguration
    from launch_ros.actions import Node

    from launch import LaunchDescription

    specs = GRAPHS[graph](**parameters)
    actions: list[Any] = [
        DeclareLaunchArgument("config_file", default_value="", description="YAML overlay"),
        DeclareLaunchArgument(
            ROBOT_ARGUMENT,
            default_value="",
            description="a fleet robot's name: its graph in the namespace /<robot> (default: none)",
        ),
    ]
    for name, value in ENVIRONMENT.items():
        actions.append(SetEnvironmentVariable(name, EnvironmentVariable(name, default_value=value)))
    for name in sorted({a for s in specs for a in (s.condition, s.unless) if a}):
        default, description = ARGUMENTS[name]
        actions.append(
            DeclareLaunchArgument(name, default_value=str(default).lower(), description=description)
        )
    for spec in specs:
        condition = spec.condition and IfCondition(LaunchConfiguration(spec.condition))
        if spec.unless:
            condition = UnlessCondition(LaunchConfiguration(spec.unless))
        actions.append(
            Node(
                package=spec.package,
                executable=spec.executable,
                name=spec.name,
                output="screen",
                parameters=[{**spec.parameters, "config_file": LaunchConfiguration("config_file")}],
                on_exit=Shutdown() if spec.required else None,
                condition=condition or None,
                namespace=LaunchConfiguration(ROBOT_ARGUMENT),
                remappings=list(CLOCK_REMAP.items()),
            )
        )
    return LaunchDescription(actions)


if __name__ == "__main__":  # scripts/env.sh: the same environment for an interactive shell
    for name, value in ENVIRONMENT.items():
        print(f"export {name}=${{{name}:-{value}}}")
