"""Real ROS 2 round trips of every custom type between two processes, and parameter overlays."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import rclpy
from rclpy.node import Node

from supersize_grasp.config import ConfigError
from supersize_grasp.nodes.interface_check import MESSAGE_TYPES
from supersize_grasp.nodes.parameters import load_node_config

pytestmark = pytest.mark.ros


def test_two_processes_round_trip_every_custom_interface():
    result = subprocess.run(
        [Path(sys.prefix, "bin", "supersize-grasp"), "check", "--timeout", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = 3 + len(MESSAGE_TYPES)
    assert f"{expected} passed, 0 failed" in result.stdout
    for name in ("SolvePositionIK", "ScoreGrasps", "CollectTrials", "TrialRecord", "TreeSnapshot"):
        assert name in result.stdout


def _node_config(tmp_path, args, sections=("trial", "learning")):
    context = rclpy.Context()
    rclpy.init(args=["--ros-args", *args], context=context)
    try:
        node = Node("config_probe", context=context)
        try:
            return load_node_config(node, sections)
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def test_ros_parameters_overlay_the_yaml_file(tmp_path):
    overlay_file = tmp_path / "lab.yaml"
    overlay_file.write_text("trial:\n  lift_height: 0.15\n  approach_height: 0.3\n")
    config = _node_config(
        tmp_path, ["-p", f"config_file:={overlay_file}", "-p", "trial.lift_height:=0.1"]
    )
    assert config.trial.lift_height == 0.1  # parameter beats file
    assert config.trial.approach_height == 0.3  # file beats default
    assert config.learning.pretrained_weights is None


def test_bad_ros_parameter_is_a_config_error_naming_it(tmp_path):
    try:
        _node_config(tmp_path, ["-p", "trial.num_angle_bins:=0"])
    except ConfigError as e:
        assert "<ROS parameters>: trial.num_angle_bins" in str(e)
    else:
        raise AssertionError("a zero bin count was accepted")
