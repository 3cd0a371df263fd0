"""The calibration file: the camera's pose in the base, with the evidence it came from.

Written once by ``calibrate-camera`` (to a temporary name, then renamed: a crash never leaves
half a file), read by the ``camera_pose`` node. A reader checks everything it uses and names the
file and the field when something is wrong.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from supersize_grasp.geometry import matrix_to_quaternion

from .solver import Solution

FORMAT = "supersize_grasp camera calibration 1"


class CalibrationFileError(ValueError):
    """A calibration file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class CameraPose:
    """The optical frame's pose in ``frame_id`` (position m, quaternion x, y, z, w)."""

    frame_id: str
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]


def _pose(transform: np.ndarray) -> dict[str, list[float]]:
    return {
        "position": [round(float(v), 6) for v in transform[:3, 3]],
        "orientation": [round(float(v), 8) for v in matrix_to_quaternion(transform[:3, :3])],
    }


def save(
    path: Path,
    solution: Solution,
    *,
    frame_id: str,
    child_frame_id: str,
    side: str,
    date: str,
    views: Sequence[Mapping[str, Any]],
    skipped: Sequence[Mapping[str, Any]],
    board: Mapping[str, Any],
) -> None:
    """Writes the file atomically; ``views`` and ``skipped`` describe each candidate pose."""
    residuals = [
        {
            **view,
            "reprojection_px": round(r.reprojection_px, 4),
            "position_mm": round(r.position_mm, 3),
            "rotation_deg": round(r.rotation_deg, 4),
            "corners": r.corners,
        }
        for view, r in zip(views, solution.residuals, strict=True)
    ]
    data = {
        "format": FORMAT,
        "date": date,
        "frame_id": frame_id,
        "child_frame_id": child_frame_id,
        "camera_in_base": _pose(solution.camera_in_base),
        "board_in_gripper": {"side": side, **_pose(solution.board_in_gripper)},
        "board": dict(board),
        "reprojection_rms_px": round(solution.reprojection_rms_px, 4),
        "views": residuals,
        "skipped": list(skipped),
    }
    _write(path, data, "supersize-grasp calibrate-camera")


def save_known_pose(
    path: Path, position, rotation: np.ndarray, *, frame_id: str, writer: str, date: str
) -> None:
    """A file with a pose known without calibrating (the simulator's true camera, for the real
    profile run against it): the camera_pose node reads it like a calibration's."""
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = rotation, position
    _write(
        path,
        {"format": FORMAT, "date": date, "frame_id": frame_id, "camera_in_base": _pose(pose)},
        writer,
    )


def _write(path: Path, data: Mapping[str, Any], writer: str) -> None:
    """Atomically: a temporary name, fsynced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w") as f:
        f.write(f"# {FORMAT}: written by {writer}; the camera_pose node\n")
        f.write("# publishes camera_in_base (the optical frame in frame_id) from it.\n")
        yaml.safe_dump(dict(data), f, sort_keys=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def load_camera_pose(path: str | Path) -> CameraPose:
    """The camera pose of a calibration file; ``CalibrationFileError`` naming the problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise CalibrationFileError(
            f"{path}: no such calibration file (run supersize-grasp calibrate-camera, or set "
            "calibration.file)"
        ) from None
    except OSError as e:
        raise CalibrationFileError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise CalibrationFileError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CalibrationFileError(f"{path}: not a calibration file (no 'format: {FORMAT}')")
    frame = data.get("frame_id")
    if not isinstance(frame, str) or not frame:
        raise CalibrationFileError(f"{path}: frame_id must be a frame name, got {frame!r}")
    pose = data.get("camera_in_base")
    if not isinstance(pose, dict):
        raise CalibrationFileError(f"{path}: camera_in_base is missing")
    position = _numbers(path, "camera_in_base.position", pose.get("position"), 3)
    orientation = _numbers(path, "camera_in_base.orientation", pose.get("orientation"), 4)
    if not math.isclose(sum(q * q for q in orientation), 1.0, abs_tol=1e-3):
        raise CalibrationFileError(
            f"{path}: camera_in_base.orientation {orientation} is not a unit quaternion "
            "(x, y, z, w)"
        )
    return CameraPose(frame, tuple(position), tuple(orientation))


def _numbers(path: Path, field: str, value: Any, count: int) -> list[float]:
    if (
        not isinstance(value, list)
        or len(value) != count
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not all(math.isfinite(v) for v in value)
    ):
        raise CalibrationFileError(f"{path}: {field} must be {count} finite numbers, got {value!r}")
    return [float(v) for v in value]
