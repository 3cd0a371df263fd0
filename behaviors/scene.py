"""The head-camera capture used by a trial: colour, metric depth and the camera model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

from supersize_grasp.geometry import CameraModel, quaternion_to_matrix


@dataclass(frozen=True)
class Scene:
    """One capture; ``stamp`` is the robot-clock time of the images (s)."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32, metres, 0 where unknown
    camera: CameraModel
    stamp: float

    def __repr__(self) -> str:
        h, w = self.depth.shape
        return f"Scene({w}x{h} at t={self.stamp:.3f})"


def image_to_rgb(msg: Image) -> np.ndarray:
    data = np.frombuffer(msg.data, np.uint8)
    if msg.encoding == "rgb8":
        return data.reshape(msg.height, msg.step)[:, : msg.width * 3].reshape(
            msg.height, msg.width, 3
        )
    if msg.encoding == "bgr8":
        bgr = data.reshape(msg.height, msg.step)[:, : msg.width * 3].reshape(
            msg.height, msg.width, 3
        )
        return bgr[..., ::-1].copy()
    raise ValueError(f"colour image encoding {msg.encoding!r} is not rgb8 or bgr8")


def image_to_depth(msg: Image) -> np.ndarray:
    """Metres as float32 from 16UC1 (mm, Kinect) or 32FC1 (m, REP 118)."""
    if msg.encoding in ("16UC1", "mono16"):
        dtype, scale = np.dtype("<u2" if not msg.is_bigendian else ">u2"), 0.001
    elif msg.encoding == "32FC1":
        dtype, scale = np.dtype("<f4" if not msg.is_bigendian else ">f4"), 1.0
    else:
        raise ValueError(f"depth encoding {msg.encoding!r} is not 16UC1 or 32FC1")
    rows = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
    values = rows[:, : msg.width * dtype.itemsize].copy().view(dtype).reshape(msg.height, msg.width)
    depth = values.astype(np.float32) * scale
    depth[~np.isfinite(depth)] = 0.0
    return depth


def camera_model(info: CameraInfo, pose) -> CameraModel:
    """From ``CameraInfo`` and the optical frame's ``geometry_msgs/Pose`` in the base frame."""
    k = info.k
    q = pose.orientation
    return CameraModel(
        fx=k[0],
        fy=k[4],
        cx=k[2],
        cy=k[5],
        width=info.width,
        height=info.height,
        position=np.array([pose.position.x, pose.position.y, pose.position.z]),
        rotation=quaternion_to_matrix(q.x, q.y, q.z, q.w),
    )
