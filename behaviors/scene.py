"""The head-camera capture used by a trial: colour, metric depth and the camera model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

from supersize_grasp.geometry import CameraModel
from supersize_grasp.msgs import camera_model, image_to_depth, image_to_rgb


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


def scene_from_messages(
    rgb: Image, depth: Image, info: CameraInfo, pose, stamp: float, name: str = "camera"
) -> Scene:
    """One capture from the camera's messages; ``ValueError`` naming the field if any is bad."""
    camera = camera_model(info, pose, name)
    colour, metres = image_to_rgb(rgb, f"{name}_image"), image_to_depth(depth, f"{name}_depth")
    for label, array in (("image", colour), ("depth", metres)):
        if array.shape[:2] != (camera.height, camera.width):
            raise ValueError(
                f"{name}_{label} is {array.shape[1]}x{array.shape[0]} but {name}_info says "
                f"{camera.width}x{camera.height}"
            )
    return Scene(rgb=colour, depth=metres, camera=camera, stamp=stamp)
