"""``calibrate-camera`` against the simulated Baxter with the board on its gripper, and the
``camera_pose`` node that publishes the result on a real robot."""

import math
import os
import subprocess
import sys

import mujoco
import numpy as np
import pytest
import yaml
from geometry_msgs.msg import PoseStamped

from supersize_grasp.calibration.board import transform
from supersize_grasp.calibration.result import load_camera_pose
from supersize_grasp.calibration.solver import pose_difference
from supersize_grasp.config import load_config
from supersize_grasp.geometry import quaternion_to_matrix
from supersize_grasp.launcher import node_environment
from supersize_grasp.qos import LATCHED
from supersize_grasp.simulator.scene import HEAD_CAMERA, build_model
from tests.sdk_client import Listener

pytestmark = pytest.mark.ros

PRIMITIVES = "simulator:\n  objects:\n    folder: 'builtin:primitives'\n"


def true_camera_pose(config) -> np.ndarray:
    """The head camera's optical frame in the base, from the simulator's model at home."""
    model = build_model(config.simulator)
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    mujoco.mj_forward(model, data)
    camera = model.camera(HEAD_CAMERA).id
    rotation = data.cam_xmat[camera].reshape(3, 3) @ np.diag([1.0, -1.0, -1.0])
    return transform(rotation, data.cam_xpos[camera])


@pytest.mark.slow
def test_calibration_finds_the_simulated_camera_within_5_mm_and_half_a_degree(tmp_path):
    config_file = tmp_path / "primitives.yaml"
    config_file.write_text(PRIMITIVES)
    out = tmp_path / "head_camera.yaml"
    verb = [sys.executable, "-m", "supersize_grasp.cli", "calibrate-camera"]
    run = subprocess.run(
        [*verb, "--config", str(config_file), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=node_environment(os.environ),
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    print(run.stdout)  # the per-view residuals, for the log
    config = load_config([config_file])
    pose = load_camera_pose(out)
    found = transform(quaternion_to_matrix(*pose.orientation), pose.position)
    metres, radians = pose_difference(found, true_camera_pose(config))
    assert metres <= 0.005, f"camera {metres * 1000:.2f} mm off"
    assert math.degrees(radians) <= 0.5, f"camera {math.degrees(radians):.3f} deg off"
    written = yaml.safe_load(out.read_text())
    assert len(written["views"]) == config.calibration.poses
    for view in written["views"]:
        assert view["reprojection_px"] < 1.0
        assert {"position_mm", "rotation_deg", "corners", "gripper_in_base"} <= set(view)
    assert "difference to the simulator's true pose" in run.stdout


def run_node(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "supersize_grasp.nodes.camera_pose", "--ros-args", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=node_environment(os.environ),
    )


def test_the_node_publishes_the_file_latched(tmp_path):
    path = tmp_path / "head_camera.yaml"
    path.write_text(
        "format: supersize_grasp camera calibration 1\nframe_id: base\n"
        "camera_in_base:\n  position: [0.2, 0.01, 0.95]\n  orientation: [0.0, 0.0, 0.0, 1.0]\n"
    )
    node = run_node("-p", f"calibration.file:={path}")
    listener = Listener("camera_pose_listener")
    try:
        listener._sub(PoseStamped, "/kinect2/hd/camera_pose", "pose", LATCHED)
        listener.wait_for(lambda: listener.get("pose") is not None, 60, "the camera pose")
        msg = listener.get("pose")
        assert msg.header.frame_id == "base"
        p = msg.pose.position
        assert (p.x, p.y, p.z) == pytest.approx((0.2, 0.01, 0.95))
        assert node.poll() is None  # it stays up: late subscribers get the pose too
    finally:
        listener.close()
        node.terminate()
        node.wait(timeout=30)


@pytest.mark.parametrize(
    ("text", "problem"),
    [(None, "no such calibration file"), ("format: other\n", "not a calibration file")],
)
def test_the_node_refuses_a_missing_or_malformed_file_naming_it(tmp_path, text, problem):
    path = tmp_path / "head_camera.yaml"
    if text is not None:
        path.write_text(text)
    node = run_node("-p", f"calibration.file:={path}")
    _, stderr = node.communicate(timeout=60)
    assert node.returncode == 1
    assert f"camera_pose: {path}: {problem}" in stderr
    assert "Traceback" not in stderr
