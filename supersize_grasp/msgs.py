"""numpy <-> ROS message conversions, once, for every node and behaviour.

Readers check what they are given (sizes against the data, encodings, intrinsics, poses) and
raise ``ValueError`` naming the field: a camera driver or a client may send anything. Writers
make what the Kinect's driver and the SDK publish (rgb8, 16UC1 millimetres, full-image intrinsics
with a crop as ``roi``).
"""

from __future__ import annotations

import math

import numpy as np
from baxter_core_msgs.msg import EndpointState
from geometry_msgs.msg import Pose
from sensor_msgs.msg import CameraInfo, Image

from supersize_grasp.geometry import CameraModel, matrix_to_quaternion, quaternion_to_matrix

COLOUR_ENCODINGS = ("rgb8", "bgr8")
DEPTH_ENCODINGS = {"16UC1": (2, 0.001), "mono16": (2, 0.001), "32FC1": (4, 1.0)}


def _rows(msg: Image, name: str, pixel_bytes: int) -> np.ndarray:
    """The image's bytes as (height, step) rows, once its sizes agree with its data."""
    if msg.width == 0 or msg.height == 0:
        raise ValueError(f"{name}: empty image ({msg.width}x{msg.height})")
    if msg.step < msg.width * pixel_bytes:
        raise ValueError(
            f"{name}.step {msg.step} is less than width {msg.width} x {pixel_bytes} bytes"
        )
    if len(msg.data) != msg.step * msg.height:
        raise ValueError(
            f"{name}.data holds {len(msg.data)} bytes, not step {msg.step} x height {msg.height}"
        )
    return np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)


def image_to_rgb(msg: Image, name: str = "image") -> np.ndarray:
    if msg.encoding not in COLOUR_ENCODINGS:
        raise ValueError(f"{name}.encoding {msg.encoding!r} is not rgb8 or bgr8")
    rows = _rows(msg, name, 3)
    rgb = rows[:, : msg.width * 3].reshape(msg.height, msg.width, 3)
    return rgb[..., ::-1].copy() if msg.encoding == "bgr8" else rgb


def image_to_depth(msg: Image, name: str = "depth") -> np.ndarray:
    """Metres as float32 from 16UC1 (mm, Kinect) or 32FC1 (m, REP 118); 0 where not finite."""
    if msg.encoding not in DEPTH_ENCODINGS:
        raise ValueError(f"{name}.encoding {msg.encoding!r} is not 16UC1 or 32FC1")
    size, scale = DEPTH_ENCODINGS[msg.encoding]
    dtype = np.dtype(f"{'>' if msg.is_bigendian else '<'}{'u2' if size == 2 else 'f4'}")
    rows = _rows(msg, name, size)
    values = rows[:, : msg.width * size].copy().view(dtype).reshape(msg.height, msg.width)
    depth = values.astype(np.float32) * scale
    depth[~np.isfinite(depth)] = 0.0
    return depth


def check_camera_info(info: CameraInfo, name: str = "camera_info") -> None:
    if info.width == 0 or info.height == 0:
        raise ValueError(f"{name}: empty image size ({info.width}x{info.height})")
    k = np.asarray(info.k, dtype=np.float64)
    if not np.isfinite(k).all():
        raise ValueError(f"{name}.k is not finite: {k.tolist()}")
    if k[0] <= 0 or k[4] <= 0:
        raise ValueError(f"{name}.k: focal lengths fx {k[0]}, fy {k[4]} must be positive")
    roi = info.roi
    if (roi.width or roi.height) and (
        roi.x_offset + roi.width > info.width or roi.y_offset + roi.height > info.height
    ):
        raise ValueError(
            f"{name}.roi ({roi.x_offset}, {roi.y_offset}, {roi.width}x{roi.height}) does not "
            f"fit in the {info.width}x{info.height} image"
        )


def candidate_pixels(request) -> tuple[np.ndarray, np.ndarray]:
    """A ``ScoreGrasps`` request's candidate pixels (none is allowed); ``ValueError`` naming
    what is wrong."""
    u = np.asarray(request.candidate_u, dtype=np.float64)
    v = np.asarray(request.candidate_v, dtype=np.float64)
    if u.size != v.size:
        raise ValueError(f"{u.size} candidate_u but {v.size} candidate_v")
    if not (np.isfinite(u).all() and np.isfinite(v).all()):
        raise ValueError("candidate_u/candidate_v hold values that are not finite")
    return u, v


def check_inside(u: np.ndarray, v: np.ndarray, camera: CameraModel) -> None:
    """Candidate pixels must lie in the image the camera model describes."""
    inside = (u >= 0) & (u <= camera.width - 1) & (v >= 0) & (v <= camera.height - 1)
    if not inside.all():
        raise ValueError(f"{int((~inside).sum())} candidate pixels lie outside the image")


def check_pose(pose, name: str = "pose") -> None:
    """A finite position and a unit quaternion (within 1e-3)."""
    p, q = pose.position, pose.orientation
    values = (p.x, p.y, p.z, q.x, q.y, q.z, q.w)
    if not all(math.isfinite(c) for c in values):
        raise ValueError(f"{name} is not finite: {values}")
    if not math.isclose(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w, 1.0, abs_tol=1e-3):
        raise ValueError(f"{name}.orientation is not a unit quaternion")


def camera_model(info: CameraInfo, pose, name: str = "camera") -> CameraModel:
    """From ``CameraInfo`` and the optical frame's ``geometry_msgs/Pose`` in the base frame.

    The model is that of the image the info comes with: ``roi`` (a crop given in full-image
    pixels) and binning apply to the full image's intrinsics, as in ROS's image_geometry.
    """
    check_camera_info(info, f"{name}_info")
    check_pose(pose, f"{name}_pose")
    k, roi = info.k, info.roi
    bx, by = max(info.binning_x, 1), max(info.binning_y, 1)
    x, y, width, height = 0, 0, info.width, info.height
    if roi.width and roi.height:
        x, y, width, height = roi.x_offset, roi.y_offset, roi.width, roi.height
    q = pose.orientation
    return CameraModel(
        fx=k[0] / bx,
        fy=k[4] / by,
        cx=(k[2] - x) / bx,
        cy=(k[5] - y) / by,
        width=width // bx,
        height=height // by,
        position=np.array([pose.position.x, pose.position.y, pose.position.z]),
        rotation=quaternion_to_matrix(q.x, q.y, q.z, q.w),
    )


def rgb_to_image(rgb: np.ndarray) -> Image:
    """An rgb8 ``Image`` of an (H, W, 3) uint8 array."""
    height, width = rgb.shape[:2]
    image = Image(height=height, width=width, encoding="rgb8", step=width * 3)
    image.data = np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()
    return image


def depth_to_image(metres: np.ndarray) -> Image:
    """A 16UC1 ``Image`` in millimetres, as the Kinect's driver sends depth; 0 where unknown."""
    height, width = metres.shape[:2]
    millimetres = np.nan_to_num(metres * 1000.0, nan=0.0, posinf=0.0)
    image = Image(height=height, width=width, encoding="16UC1", step=width * 2)
    image.data = np.clip(np.round(millimetres), 0, 65535).astype("<u2").tobytes()
    return image


def pose_message(position, rotation: np.ndarray) -> Pose:
    """A ``geometry_msgs/Pose`` of a position and a 3x3 rotation matrix."""
    pose = Pose()
    p, o = pose.position, pose.orientation
    p.x, p.y, p.z = (float(c) for c in position)
    o.x, o.y, o.z, o.w = matrix_to_quaternion(rotation)
    return pose


def camera_info(intrinsics, roi: tuple[int, int, int, int] | None = None) -> CameraInfo:
    """The ``CameraInfo`` of an undistorted pinhole image (a ``CameraModel`` or intrinsics).

    With ``roi`` (x, y, width, height in these pixels) the image sent is that crop of it, as
    :func:`camera_model` reads it back.
    """
    fx, fy, cx, cy = (float(intrinsics.fx), float(intrinsics.fy), intrinsics.cx, intrinsics.cy)
    info = CameraInfo(
        width=int(intrinsics.width), height=int(intrinsics.height), distortion_model="plumb_bob"
    )
    info.d = [0.0] * 5
    info.k = [fx, 0.0, float(cx), 0.0, fy, float(cy), 0.0, 0.0, 1.0]
    info.r = np.eye(3).reshape(-1).tolist()
    info.p = [fx, 0.0, float(cx), 0.0, 0.0, fy, float(cy), 0.0, 0.0, 0.0, 1.0, 0.0]
    if roi is not None:
        info.roi.x_offset, info.roi.y_offset, info.roi.width, info.roi.height = roi
    return info


def endpoint_state(msg: EndpointState, position, orientation, twist, wrench) -> EndpointState:
    """``msg`` filled with an arm's endpoint pose (xyz, quaternion xyzw), twist and wrench."""
    p, o = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = (float(v) for v in position)
    o.x, o.y, o.z, o.w = (float(v) for v in orientation)
    (linear, angular), (force, torque) = twist, wrench
    tw, wr = msg.twist, msg.wrench
    tw.linear.x, tw.linear.y, tw.linear.z = (float(v) for v in linear)
    tw.angular.x, tw.angular.y, tw.angular.z = (float(v) for v in angular)
    wr.force.x, wr.force.y, wr.force.z = (float(v) for v in force)
    wr.torque.x, wr.torque.y, wr.torque.z = (float(v) for v in torque)
    return msg
