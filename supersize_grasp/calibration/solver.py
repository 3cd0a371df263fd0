"""Eye-to-hand calibration: the camera in the robot base and the board in the gripper.

For each view i the gripper's pose in the base ``B_i`` (the SDK's endpoint state) and the
board's pose in the camera ``C_i`` (``cv2.solvePnP`` on its ChArUco corners) close a loop through
the two unknowns, the camera in the base ``X`` and the board in the gripper ``Y``:

    B_i Y = X C_i        (both are the board in the base; "AX = ZB" in the literature)

OpenCV solves this as ``cv2.calibrateRobotWorldHandEye``, but opencv-python 5.0.0.93 (our pin)
does not bind it to Python (opencv/opencv#29565, fixed by #29584 after that release), and an
OpenCV 4 pin would move every other use of cv2 back a major version. So it is solved here, the
way OpenCV's ``CALIB_ROBOT_WORLD_HAND_EYE_SHAH`` does: both rotations at once from the null
space of the stacked Kronecker equations, then both translations by linear least squares. That
closed form weighs every view's PnP pose alike, however poorly that pose is known (a board seen
at a slant has a poor depth), so it only starts a refinement that minimises what was measured:
the corners' reprojection error over every view, through ``X``, ``B_i`` and ``Y``
(scipy's ``least_squares``, with a Huber loss against a stray corner).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import least_squares

from .board import Detection, transform


class CalibrationError(ValueError):
    """The views cannot give a calibration; the message says why and what to change."""


@dataclass(frozen=True)
class View:
    """One capture: the gripper's pose in the base and the board's corners in the image."""

    gripper: np.ndarray  # 4x4 T_base_gripper
    detection: Detection


@dataclass(frozen=True)
class ViewResidual:
    """How well one view agrees with the solution."""

    reprojection_px: float  # RMS over its corners, through X and Y
    position_mm: float  # |B Y - X C| translation, C its own PnP pose
    rotation_deg: float  # angle of (B Y)^-1 X C
    corners: int


@dataclass(frozen=True)
class Solution:
    camera_in_base: np.ndarray  # X = T_base_camera (optical frame)
    board_in_gripper: np.ndarray  # Y = T_gripper_board
    residuals: list[ViewResidual]

    @property
    def reprojection_rms_px(self) -> float:
        squares = [r.reprojection_px**2 * r.corners for r in self.residuals]
        return math.sqrt(sum(squares) / sum(r.corners for r in self.residuals))


def rotation_angle(rotation: np.ndarray) -> float:
    """The angle (rad) of a rotation matrix."""
    return math.acos(max(-1.0, min(1.0, (np.trace(rotation) - 1.0) / 2.0)))


def pose_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(metres, radians) between two 4x4 poses."""
    return float(np.linalg.norm(a[:3, 3] - b[:3, 3])), rotation_angle(a[:3, :3].T @ b[:3, :3])


def board_in_camera(
    detection: Detection, camera_matrix: np.ndarray, distortion: np.ndarray
) -> tuple[np.ndarray, float]:
    """``C`` = T_camera_board of one view (iterative PnP) and its own RMS reprojection (px)."""
    ok, rvec, tvec = cv2.solvePnP(
        detection.object_points, detection.image_points, camera_matrix, distortion
    )
    if not ok:
        raise CalibrationError("solvePnP found no board pose")
    projected, _ = cv2.projectPoints(detection.object_points, rvec, tvec, camera_matrix, distortion)
    error = projected.reshape(-1, 2) - detection.image_points
    return _pose(rvec, tvec), float(np.sqrt((error**2).sum(axis=1).mean()))


def closed_form(
    grippers: Sequence[np.ndarray], boards: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) with ``B_i Y = X C_i`` in the least-squares sense (Shah 2013).

    Rotations: ``R_B R_Y = R_X R_C`` is linear in vec(R_Y), vec(R_X); the right singular vector
    of the smallest singular value of the stacked system holds both, up to one scale, fixed by
    det(R_X) = 1; each is then projected onto SO(3). Translations: ``R_B t_Y - t_X =
    R_X t_C - t_B``, stacked and solved by least squares.
    """
    if len(grippers) != len(boards) or len(grippers) < 3:
        raise CalibrationError(f"need at least 3 views, got {len(grippers)}")
    rows = []
    eye = np.eye(3)
    for b, c in zip(grippers, boards, strict=True):
        # column-major vec(A M B) = (B^T kron A) vec(M)
        rows.append(np.hstack([np.kron(eye, b[:3, :3]), -np.kron(c[:3, :3].T, eye)]))
    _, _, vt = np.linalg.svd(np.vstack(rows))
    v = vt[-1]
    ry, rx = v[:9].reshape(3, 3, order="F"), v[9:].reshape(3, 3, order="F")
    scale = np.cbrt(np.linalg.det(rx))
    if abs(scale) < 1e-12:
        raise CalibrationError("the rotations are degenerate (all views turned alike?)")
    rx, ry = _nearest_rotation(rx / scale), _nearest_rotation(ry / scale)
    a = np.vstack([np.hstack([b[:3, :3], -eye]) for b in grippers])
    rhs = np.concatenate([rx @ c[:3, 3] - b[:3, 3] for b, c in zip(grippers, boards, strict=True)])
    t, *_ = np.linalg.lstsq(a, rhs, rcond=None)
    return transform(rx, t[3:]), transform(ry, t[:3])


def refine(
    views: Sequence[View],
    camera_matrix: np.ndarray,
    distortion: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) minimising every corner's reprojection through ``X^-1 B_i Y``."""

    def unpack(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _pose(p[0:3], p[3:6]), _pose(p[6:9], p[9:12])

    def residuals(p: np.ndarray) -> np.ndarray:
        x, y = unpack(p)
        x_inv = np.linalg.inv(x)
        out = []
        for view in views:
            board = x_inv @ view.gripper @ y
            rvec, _ = cv2.Rodrigues(board[:3, :3])
            projected, _ = cv2.projectPoints(
                view.detection.object_points, rvec, board[:3, 3], camera_matrix, distortion
            )
            out.append((projected.reshape(-1, 2) - view.detection.image_points).ravel())
        return np.concatenate(out)

    start = np.concatenate([*_rvec_tvec(x0), *_rvec_tvec(y0)])
    result = least_squares(residuals, start, loss="huber", f_scale=1.0, x_scale="jac")
    return unpack(result.x)


def solve(views: Sequence[View], camera_matrix: np.ndarray, distortion: np.ndarray) -> Solution:
    """The calibration of ``views``, with each view's residuals."""
    boards = [board_in_camera(v.detection, camera_matrix, distortion)[0] for v in views]
    x0, y0 = closed_form([v.gripper for v in views], boards)
    x, y = refine(views, camera_matrix, distortion, x0, y0)
    residuals = []
    x_inv = np.linalg.inv(x)
    for view, c in zip(views, boards, strict=True):
        predicted = x_inv @ view.gripper @ y
        rvec, _ = cv2.Rodrigues(predicted[:3, :3])
        projected, _ = cv2.projectPoints(
            view.detection.object_points, rvec, predicted[:3, 3], camera_matrix, distortion
        )
        error = projected.reshape(-1, 2) - view.detection.image_points
        metres, radians = pose_difference(view.gripper @ y, x @ c)
        residuals.append(
            ViewResidual(
                float(np.sqrt((error**2).sum(axis=1).mean())),
                metres * 1000.0,
                math.degrees(radians),
                len(view.detection.ids),
            )
        )
    return Solution(x, y, residuals)


def require_usable(
    views: Sequence[View], candidates: int, min_views: int, min_spread_deg: float
) -> float:
    """The views' rotation spread (deg) when they can give a calibration; else
    ``CalibrationError`` saying what to change."""
    if len(views) < min_views:
        raise CalibrationError(
            f"only {len(views)} usable views of {candidates} candidates (calibration.min_poses: "
            f"{min_views}); see the reasons above: move calibration.region into the camera's "
            "view or raise calibration.max_candidates"
        )
    spread = math.degrees(rotation_spread([v.gripper for v in views]))
    if spread < min_spread_deg:
        raise CalibrationError(
            f"the views' gripper rotations differ by at most {spread:.1f} deg "
            f"(calibration.min_rotation_spread_deg: {min_spread_deg}): raise "
            "calibration.region.max_tilt_deg / max_spin_deg"
        )
    return spread


def rotation_spread(grippers: Sequence[np.ndarray]) -> float:
    """The largest angle (rad) between two of the gripper orientations."""
    return max(
        (
            rotation_angle(a[:3, :3].T @ b[:3, :3])
            for i, a in enumerate(grippers)
            for b in grippers[i + 1 :]
        ),
        default=0.0,
    )


def _pose(rvec, tvec) -> np.ndarray:
    rotation, _ = cv2.Rodrigues(np.asarray(rvec, dtype=float).reshape(3, 1))
    return transform(rotation, tvec)


def _rvec_tvec(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rvec, _ = cv2.Rodrigues(pose[:3, :3])
    return rvec.reshape(3), pose[:3, 3].copy()


def _nearest_rotation(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    return u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
