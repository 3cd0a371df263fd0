"""The eye-to-hand solver on synthetic views, the calibration file, the simulated board."""

import math
import re

import cv2
import numpy as np
import pytest
import yaml

from supersize_grasp.calibration import result
from supersize_grasp.calibration.board import Board, Detection, rpy_matrix, transform
from supersize_grasp.calibration.solver import (
    CalibrationError,
    View,
    closed_form,
    pose_difference,
    require_usable,
    solve,
)
from supersize_grasp.config import load_config
from supersize_grasp.config.calibration import BoardConfig
from supersize_grasp.simulator.scene import build_model

K = np.array([[1065.0, 0.0, 614.0], [0.0, 1065.0, 307.0], [0.0, 0.0, 1.0]])
NO_DISTORTION = np.zeros(5)
# A head camera 0.95 m up looking down at the table, and a board 15 cm beside the fingers.
CAMERA = transform(rpy_matrix(-math.radians(140), 0.0, -math.pi / 2), (0.2, 0.0, 0.95))
MOUNT = Board(BoardConfig()).in_gripper()


def synthetic_views(n, noise_px, rng):
    """Views of the default board from gripper poses that show it to ``CAMERA``, corners
    projected with Gaussian pixel noise."""
    board = Board(BoardConfig())
    corners = np.asarray(board.board.getChessboardCorners(), dtype=float)
    views = []
    while len(views) < n:
        tilt = rpy_matrix(*rng.uniform(-0.5, 0.5, size=3))
        facing = CAMERA[:3, :3] @ tilt  # board z (into it) along the camera's view, leaned
        centre = rng.uniform((0.5, -0.05, -0.02), (0.72, 0.3, 0.2))
        board_in_base = transform(facing, centre - facing @ np.array([0.1, 0.08, 0.0]))
        gripper = board_in_base @ np.linalg.inv(MOUNT)
        in_camera = np.linalg.inv(CAMERA) @ board_in_base
        rvec, _ = cv2.Rodrigues(in_camera[:3, :3])
        pixels, _ = cv2.projectPoints(corners, rvec, in_camera[:3, 3], K, NO_DISTORTION)
        pixels = pixels.reshape(-1, 2) + rng.normal(0.0, noise_px, size=(len(corners), 2))
        ids = np.arange(len(corners))
        views.append(View(gripper, Detection(ids, corners, pixels)))
    return views


def test_the_closed_form_is_exact_on_exact_poses():
    rng = np.random.default_rng(1)
    grippers, boards = [], []
    x = transform(rpy_matrix(*rng.uniform(-3, 3, 3)), rng.uniform(-1, 1, 3))
    y = transform(rpy_matrix(*rng.uniform(-3, 3, 3)), rng.uniform(-0.2, 0.2, 3))
    for _ in range(5):
        b = transform(rpy_matrix(*rng.uniform(-3, 3, 3)), rng.uniform(-1, 1, 3))
        grippers.append(b)
        boards.append(np.linalg.inv(x) @ b @ y)
    x_found, y_found = closed_form(grippers, boards)
    np.testing.assert_allclose(x_found, x, atol=1e-9)
    np.testing.assert_allclose(y_found, y, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_corners_give_the_camera_within_a_millimetre(seed):
    """0.3 px of corner noise, as a real detection has, over 14 views of 12 corners."""
    views = synthetic_views(14, 0.3, np.random.default_rng(seed))
    solution = solve(views, K, NO_DISTORTION)
    metres, radians = pose_difference(solution.camera_in_base, CAMERA)
    assert metres < 0.001 and math.degrees(radians) < 0.05
    metres, radians = pose_difference(solution.board_in_gripper, MOUNT)
    assert metres < 0.001 and math.degrees(radians) < 0.1
    assert 0.35 < solution.reprojection_rms_px < 0.5  # the noise (0.3 px x sqrt 2), no more
    assert len(solution.residuals) == 14
    assert all(r.corners == 12 and r.reprojection_px < 1.0 for r in solution.residuals)


def test_too_few_views_or_too_little_turn_is_refused_saying_why():
    views = synthetic_views(5, 0.3, np.random.default_rng(0))
    with pytest.raises(CalibrationError, match=r"only 5 usable views of 20 .*min_poses: 8"):
        require_usable(views, 20, 8, 15.0)
    same = [View(views[0].gripper, v.detection) for v in views]
    with pytest.raises(CalibrationError, match=r"differ by at most 0.0 deg"):
        require_usable(same, 5, 3, 15.0)
    assert require_usable(views, 5, 5, 15.0) > 15.0
    with pytest.raises(CalibrationError, match="at least 3 views"):
        closed_form([v.gripper for v in views[:2]], [np.eye(4)] * 2)


def test_the_file_round_trips_and_a_bad_one_is_refused_naming_it(tmp_path):
    views = synthetic_views(8, 0.3, np.random.default_rng(3))
    solution = solve(views, K, NO_DISTORTION)
    path = tmp_path / "calibration" / "head_camera.yaml"
    result.save(
        path,
        solution,
        frame_id="base",
        child_frame_id="kinect2_rgb_optical_frame",
        side="left",
        date="2026-11-29T00:00:00+00:00",
        views=[{"candidate": k} for k in range(8)],
        skipped=[{"candidate": 9, "reason": "no IK solution"}],
        board=BoardConfig().model_dump(mode="json"),
    )
    pose = result.load_camera_pose(path)
    assert pose.frame_id == "base"
    np.testing.assert_allclose(pose.position, solution.camera_in_base[:3, 3], atol=1e-6)
    written = yaml.safe_load(path.read_text())
    assert [v["candidate"] for v in written["views"]] == list(range(8))
    assert all("reprojection_px" in v and "position_mm" in v for v in written["views"])

    missing = tmp_path / "nothing.yaml"
    with pytest.raises(result.CalibrationFileError, match=f"{re.escape(str(missing))}: no such"):
        result.load_camera_pose(missing)
    broken = tmp_path / "broken.yaml"
    for text, problem in [
        ("a: [", "not valid YAML"),
        ("just: text\n", "not a calibration file"),
        (path.read_text().replace("frame_id: base", "frame_id: ''"), "frame_id must be"),
    ]:
        broken.write_text(text)
        named = f"{re.escape(str(broken))}: {problem}"
        with pytest.raises(result.CalibrationFileError, match=named):
            result.load_camera_pose(broken)
    written["camera_in_base"]["orientation"] = [0.0, 0.0, 0.0, 2.0]
    broken.write_text(yaml.safe_dump(written))
    with pytest.raises(result.CalibrationFileError, match="not a unit quaternion"):
        result.load_camera_pose(broken)
    written["camera_in_base"]["position"] = [0.1, "x", 0.2]
    broken.write_text(yaml.safe_dump(written))
    with pytest.raises(result.CalibrationFileError, match="position must be 3 finite numbers"):
        result.load_camera_pose(broken)


def test_a_board_the_dictionary_cannot_hold_is_refused():
    with pytest.raises(ValueError, match="squares need 55 markers; DICT_4X4_50 has 50"):
        Board(BoardConfig(squares=(10, 11)))
    with pytest.raises(ValueError, match=r"'DICT_NOPE' is not a cv2\.aruco dictionary"):
        Board(BoardConfig(dictionary="DICT_NOPE"))


def test_the_simulated_board_is_visual_only_and_off_by_default():
    config = load_config(overrides={"simulator.objects.folder": "builtin:primitives"})
    plain = build_model(config.simulator)
    assert "calibration_board" not in [plain.geom(i).name for i in range(plain.ngeom)]
    board = Board(config.calibration.board)
    with_board = build_model(config.simulator, marker=board.marker("left"))
    geom = with_board.geom("calibration_board")
    assert with_board.body(geom.bodyid[0]).name == "left_gripper"
    assert geom.contype[0] == 0 and geom.conaffinity[0] == 0
    assert with_board.nbody == plain.nbody
    np.testing.assert_allclose(with_board.body_mass, plain.body_mass)
