"""Grasp patches (the paper, section IV-A): a square around the grasp pixel, 1.5x the gripper's
opening as projected at the grasp's depth, and the grasp angle as seen in the image.

Angles here are *image* angles: phi = atan2(dv, du) in [0, pi) of the fingers' closing axis in
pixel coordinates (u right, v down). Rotating a patch then shifts phi exactly, which makes the
paper's rotation augmentation correct for any camera pose; a table angle theta becomes an image
angle through the camera (``image_angle``) and back (``table_angle``).

Patches are cut in two steps. ``cut_context`` samples, once per trial, an unrotated square of side
``sqrt(2)`` x the patch around the grasp pixel; ``crop_patch`` then rotates (by whole angle bins),
mirrors and resizes it to the network input: any rotation of the patch stays inside the context.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from supersize_grasp.geometry import CameraModel

SQRT2 = math.sqrt(2.0)
_AXIS_HALF_LENGTH = 0.03  # m along the closing axis used to project it


def image_angle(camera: CameraModel, position, theta: float) -> float:
    """Image angle of the closing axis of a top-down grasp at ``position``, table angle theta."""
    p = np.asarray(position, dtype=float)
    d = _AXIS_HALF_LENGTH * np.array([math.cos(theta), math.sin(theta), 0.0])
    a, b = camera.project(np.stack([p - d, p + d]))
    return math.atan2(b[1] - a[1], b[0] - a[0]) % math.pi


def table_angle(camera: CameraModel, position, phi: float) -> float:
    """Inverse of ``image_angle``: the table angle theta in [0, pi) seen as image angle phi."""
    p = np.asarray(position, dtype=float)
    u, v = camera.project(p[None])[0]
    du, dv = 10.0 * math.cos(phi), 10.0 * math.sin(phi)
    a = camera.pixel_to_plane(u - du, v - dv, p[2])
    b = camera.pixel_to_plane(u + du, v + dv, p[2])
    return math.atan2(b[1] - a[1], b[0] - a[0]) % math.pi


def image_angle_bin(phi: float | np.ndarray, num_bins: int):
    """Bin of an image angle phi of the closing axis (training labels; not the stored table
    ``angle_bin``): bin k covers [k pi / n, (k + 1) pi / n)."""
    return (
        np.floor((np.asarray(phi) % math.pi) / (math.pi / num_bins)).astype(np.int64)
    ) % num_bins


def bin_centre(k: int | np.ndarray, num_bins: int):
    return (np.asarray(k) + 0.5) * math.pi / num_bins


def table_grasp(
    camera: CameraModel, u: float, v: float, k: int, num_bins: int, table_z: float
) -> tuple[float, float, float]:
    """The planar grasp (x, y, theta) that pixel (u, v) and angle bin ``k`` stand for: where the
    pixel's ray meets the table plane, at the table angle seen as the bin's centre."""
    x, y, _ = camera.pixel_to_plane(u, v, table_z)
    theta = table_angle(camera, (x, y, table_z), float(bin_centre(k, num_bins)))
    return float(x), float(y), theta


def height_above_table(
    camera: CameraModel, depth: np.ndarray, table_z: float, origin: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """(H, W) float32 metres above the table plane of each pixel of a depth image registered to
    the colour image (metres along the optical axis, as the Kinect's ``image_depth_rect``);
    0 (the table) where depth has no reading (0 or NaN). The same as ``camera.points(depth)``'s
    z minus ``table_z``, without building the points. ``origin``: the image pixel (u, v) of
    ``depth[0, 0]`` when ``depth`` is a crop."""
    depth = np.asarray(depth, dtype=np.float32)
    r = camera.rotation[2]  # the base frame's z of the optical frame's axes
    u = np.arange(depth.shape[1], dtype=np.float32) + np.float32(origin[0] - camera.cx)
    v = np.arange(depth.shape[0], dtype=np.float32) + np.float32(origin[1] - camera.cy)
    u *= np.float32(r[0] / camera.fx)
    v *= np.float32(r[1] / camera.fy)
    with np.errstate(invalid="ignore"):
        height = (u[None, :] + v[:, None] + np.float32(r[2])) * depth
        height += np.float32(camera.position[2] - table_z)
        height[~(depth > 0)] = 0.0
    return height


def patch_side_px(camera: CameraModel, position, opening: float, scale: float) -> float:
    """Patch side (px): ``scale`` x the gripper ``opening`` (m) projected at the grasp depth."""
    z = float((np.asarray(position, dtype=float) - camera.position) @ camera.rotation[:, 2])
    if z <= 0.0:
        raise ValueError(f"grasp point {tuple(position)} is behind the camera")
    return scale * opening * camera.fx / z


def _context_matrix(u: float, v: float, side_px: float, context_px: int) -> np.ndarray:
    s = context_px / (side_px * SQRT2)
    c = (context_px - 1) / 2.0
    return np.array([[s, 0.0, c - s * u], [0.0, s, c - s * v]])


def cut_context(
    image: np.ndarray, u: float, v: float, side_px: float, context_px: int, border_value=None
) -> np.ndarray:
    """The unrotated context square around pixel (u, v), resampled to ``context_px``.

    Outside the image the border is replicated, or filled with ``border_value`` when given.
    """
    matrix = _context_matrix(u, v, side_px, context_px)
    border = cv2.BORDER_REPLICATE if border_value is None else cv2.BORDER_CONSTANT
    return cv2.warpAffine(
        image,
        matrix,
        (context_px, context_px),
        flags=cv2.INTER_LINEAR,
        borderMode=border,
        borderValue=0 if border_value is None else border_value,
    )


def crop_matrix(context_px: int, out_px: int, rotation: float, flip: bool) -> np.ndarray:
    """Affine map context -> patch: mirror (u -> -u) if ``flip``, then rotate every image angle
    by ``rotation`` (rad), scaling the central ``context_px / sqrt 2`` square to ``out_px``."""
    s = out_px / (context_px / SQRT2)
    c, sn = math.cos(rotation), math.sin(rotation)
    a = s * np.array([[c, -sn], [sn, c]]) @ np.diag([-1.0 if flip else 1.0, 1.0])
    c_in = np.full(2, (context_px - 1) / 2.0)
    c_out = np.full(2, (out_px - 1) / 2.0)
    return np.column_stack([a, c_out - a @ c_in])


def crop_patch(
    context: np.ndarray, out_px: int, rotation_bins: int = 0, num_bins: int = 18, flip: bool = False
) -> np.ndarray:
    """The network's patch from a context: its angle bins move by ``rotation_bins`` (after the
    mirror, which maps bin k to ``num_bins - 1 - k``); see ``shift_bin``."""
    matrix = crop_matrix(context.shape[0], out_px, rotation_bins * math.pi / num_bins, flip)
    return cv2.warpAffine(
        context, matrix, (out_px, out_px), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def shift_bin(k, rotation_bins: int, num_bins: int, flip: bool = False):
    """The bin a grasp in bin ``k`` lands in after ``crop_patch(..., rotation_bins, flip)``."""
    k = np.asarray(k)
    if flip:
        k = num_bins - 1 - k
    return (k + rotation_bins) % num_bins
