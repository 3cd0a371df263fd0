"""Planar-grasp geometry: pixels to table points, top-down gripper poses, angle bins.

A grasp is (x, y) on the table plus theta in [0, pi) (the gripper is symmetric), as in the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraModel:
    """A pinhole camera and its optical frame's pose in the robot base frame (x right, y down)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    position: np.ndarray  # optical centre in the base frame
    rotation: np.ndarray  # 3x3 optical-to-base rotation

    def ray(self, u: float, v: float) -> np.ndarray:
        direction = self.rotation @ np.array(
            [(u - self.cx) / self.fx, (v - self.cy) / self.fy, 1.0]
        )
        return direction / np.linalg.norm(direction)

    def pixel_to_plane(self, u: float, v: float, plane_z: float) -> np.ndarray:
        """Where the ray through pixel (u, v) meets the horizontal plane z = ``plane_z``."""
        ray = self.ray(u, v)
        if abs(ray[2]) < 1e-9:
            raise ValueError(f"pixel ({u:.1f}, {v:.1f}) looks parallel to the table")
        t = (plane_z - self.position[2]) / ray[2]
        if t <= 0:
            raise ValueError(f"the table is behind the camera at pixel ({u:.1f}, {v:.1f})")
        return self.position + t * ray

    def project(self, points: np.ndarray) -> np.ndarray:
        """Base-frame points (N, 3) to pixels (N, 2); NaN for points behind the camera."""
        cam = (np.atleast_2d(np.asarray(points, dtype=float)) - self.position) @ self.rotation
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = np.column_stack(
                [
                    self.fx * cam[:, 0] / cam[:, 2] + self.cx,
                    self.fy * cam[:, 1] / cam[:, 2] + self.cy,
                ]
            )
        uv[cam[:, 2] <= 0] = np.nan
        return uv

    def points(self, depth: np.ndarray) -> np.ndarray:
        """(H, W, 3) base-frame points of a metric depth image (NaN where depth is 0)."""
        v, u = np.mgrid[0 : depth.shape[0], 0 : depth.shape[1]]
        d = np.where(depth > 0, depth, np.nan)
        cam = np.stack([(u - self.cx) / self.fx * d, (v - self.cy) / self.fy * d, d], axis=-1)
        return cam @ self.rotation.T + self.position

    def heights(self, depth: np.ndarray) -> np.ndarray:
        """(H, W) base-frame z of a metric depth image's points (NaN where depth is 0): the
        third column of :meth:`points`, the same sums, without the (H, W, 3) arrays."""
        d = np.where(depth > 0, depth, np.nan)
        u = np.arange(depth.shape[1], dtype=float)
        v = np.arange(depth.shape[0], dtype=float)[:, None]
        r = self.rotation[2]
        x = (u - self.cx) / self.fx * d
        y = (v - self.cy) / self.fy * d
        return x * r[0] + y * r[1] + d * r[2] + self.position[2]

    def gripper_width_px(self, width_m: float, distance_m: float) -> float:
        """Pixels spanned by ``width_m`` seen at ``distance_m`` (the paper's patch scale)."""
        return width_m * 0.5 * (self.fx + self.fy) / distance_m


def quaternion_to_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def top_down_quaternion(theta: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a gripper pointing down whose fingers close along table angle ``theta``.

    Gripper frame: z (approach) = -z of the base, y (finger axis) = (cos theta, sin theta, 0).
    """
    y_axis = np.array([math.cos(theta), math.sin(theta), 0.0])
    z_axis = np.array([0.0, 0.0, -1.0])
    x_axis = np.cross(y_axis, z_axis)
    return matrix_to_quaternion(np.column_stack([x_axis, y_axis, z_axis]))


def matrix_to_quaternion(m: np.ndarray) -> tuple[float, float, float, float]:
    """Rotation matrix to unit quaternion (x, y, z, w), stable for every angle."""
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * math.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0, 0.0, 0.0, (m[k, j] - m[j, k]) / s]
        q[i] = s / 4
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
    norm = math.sqrt(sum(c * c for c in q))
    return (q[0] / norm, q[1] / norm, q[2] / norm, q[3] / norm)


def table_angle_bin(theta: float, num_bins: int) -> int:
    """Bin of a grasp's table angle theta (the stored ``angle_bin``; training uses the image
    angle's, ``models.patches.image_angle_bin``): bin k covers [k pi / n, (k + 1) pi / n)."""
    return int((theta % math.pi) / (math.pi / num_bins)) % num_bins
