"""ROS parameters overlay the YAML configuration, in the spirit of ``--ros-args -p``.

A node declares ``config_file`` (a YAML overlay of the defaults) and one read-only parameter per
field of the sections it uses, named by the dotted path (``trial.lift_height``). Values given on the
command line or in a ``--params-file`` win over the YAML; the result is validated like any file.
A node in a robot's namespace (a fleet's ``/baxter_0``) finds the configuration's absolute names
under it and names its sessions after the robot (:mod:`supersize_grasp.fleet`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from supersize_grasp.config import Config, flatten, load_config, overlay
from supersize_grasp.fleet import namespaced_names


def load_node_config(node: Node, sections: Sequence[str]) -> Config:
    """The node's configuration: defaults < ``config_file`` < ROS parameters of ``sections``;
    in a robot's namespace, its names moved under it and ``robot.name`` the robot's."""
    config_file = node.declare_parameter(
        "config_file",
        "",
        ParameterDescriptor(description="YAML overlaying the defaults", read_only=True),
    ).value
    config = load_config([config_file] if config_file else [])
    unknown = set(sections) - set(Config.model_fields)
    if unknown:
        raise ValueError(f"unknown configuration sections: {sorted(unknown)}")
    overrides = {}
    for key, value in flatten(config).items():
        if key.split(".", 1)[0] not in sections:
            continue
        dynamic = value is None or value == []
        descriptor = ParameterDescriptor(read_only=True, dynamic_typing=dynamic)
        declared = node.declare_parameter(key, value, descriptor).value
        if declared != value and not (value is None and declared is None):
            overrides[key] = list(declared) if isinstance(declared, tuple | list) else declared
    config = overlay(config, overrides, "<ROS parameters>") if overrides else config
    namespace = node.get_namespace()
    if namespace == "/":
        return config
    robot = {"robot.name": namespace.strip("/")}
    return overlay(config, {**namespaced_names(flatten(config), namespace), **robot}, namespace)
