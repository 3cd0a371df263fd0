"""Offscreen cameras: RGB, metric depth and object segmentation, with pinhole intrinsics.

Conventions are OpenCV/ROS ``CameraInfo`` ones so the images can be published unchanged: pixel
(u, v) with u to the right and v down, pixel centres at integer coordinates, optical frame with
x right, y down, z forward. Rendering needs a GL context (``MUJOCO_GL=egl`` or ``osmesa`` set
before ``import mujoco``); never fork a process after one exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from ..config.simulator import CameraConfig
from ..geometry import CameraModel

NO_OBJECT = 0
ROBOT_LABEL = -1
# MuJoCo cameras look along -z with y up; the optical frame looks along +z with y down.
_MUJOCO_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])
_GEOM_TYPE = int(mujoco.mjtObj.mjOBJ_GEOM)  # a plain int: comparing arrays to the enum is slow


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics (pixels) of an undistorted image, as in ``sensor_msgs/CameraInfo``."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_fovy(cls, fovy_deg: float, width: int, height: int) -> CameraIntrinsics:
        """MuJoCo renders a symmetric frustum with square pixels from the vertical fov."""
        focal = 0.5 * height / np.tan(np.radians(fovy_deg) / 2.0)
        return cls(focal, focal, (width - 1) / 2.0, (height - 1) / 2.0, width, height)

    @classmethod
    def of_camera(
        cls, model: mujoco.MjModel, camera_id: int, width: int, height: int
    ) -> CameraIntrinsics:
        """What MuJoCo renders for a camera: from its sensor's focal length and principal point
        when it has a sensor size, else from its vertical fov."""
        sensor = model.cam_sensorsize[camera_id]
        if not sensor.all():
            return cls.from_fovy(float(model.cam_fovy[camera_id]), width, height)
        fx, fy, px, py = (float(v) for v in model.cam_intrinsic[camera_id])
        sx, sy = width / float(sensor[0]), height / float(sensor[1])  # pixels per length unit
        # MuJoCo's principal point is the frustum's offset from the image centre, negated.
        cx, cy = (width - 1) / 2.0 - px * sx, (height - 1) / 2.0 - py * sy
        return cls(fx * sx, fy * sy, cx, cy, width, height)

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def crop_sensor(cam: CameraConfig) -> dict[str, list[float]]:
    """MuJoCo camera attributes that render exactly ``cam.crop_window`` of the full
    ``cam.width`` x ``cam.height`` image (one length unit per pixel)."""
    full = CameraIntrinsics.from_fovy(cam.fovy_deg, cam.width, cam.height)
    x, y, w, h = cam.crop_window
    return {
        "sensor_size": [w, h],
        "resolution": [w, h],
        "focal_pixel": [full.fx, full.fy],
        "principal_pixel": [(w - 1) / 2.0 - (full.cx - x), (h - 1) / 2.0 - (full.cy - y)],
    }


@dataclass(frozen=True)
class CameraFrame:
    """One rendered view.

    Attributes:
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32, metres along the optical axis (z-depth, as a Kinect reports).
        segmentation: (H, W) int32: k >= 1 for the k-th scene object (``BaxterWorld.objects()``
            order, 1-based), ``ROBOT_LABEL`` (-1) for the robot, ``NO_OBJECT`` (0) otherwise.
        intrinsics: pinhole parameters of these images.
        position: optical centre in the base frame.
        rotation: 3x3 optical-frame-to-base rotation (columns: x right, y down, z forward).
        time: simulation time of the render (s).
    """

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray
    intrinsics: CameraIntrinsics
    position: np.ndarray
    rotation: np.ndarray
    time: float

    @property
    def model(self) -> CameraModel:
        """The pinhole model and pose, as the robot side builds it from ``CameraInfo``."""
        k = self.intrinsics
        return CameraModel(k.fx, k.fy, k.cx, k.cy, k.width, k.height, self.position, self.rotation)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Base-frame points (N, 3) or (3,) to pixels (u, v); NaN for points behind the camera."""
        return self.model.project(points)

    def pixel_ray(self, u: float, v: float) -> np.ndarray:
        """Unit direction (base frame) of the ray through pixel (u, v)."""
        return self.model.ray(u, v)

    def pixel_to_plane(self, u: float, v: float, plane_z: float) -> np.ndarray:
        """Base-frame point where the ray through (u, v) meets the horizontal plane ``plane_z``.

        This is how a grasp pixel becomes a planar grasp (x, y) on the table top.
        """
        return self.model.pixel_to_plane(u, v, plane_z)

    def pixel_to_point(self, u: int, v: int) -> np.ndarray:
        """Base-frame 3-D point seen at integer pixel (u, v), from the depth image."""
        k = self.intrinsics
        z = float(self.depth[int(v), int(u)])
        cam = np.array([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z])
        return self.position + self.rotation @ cam


class CameraRenderer:
    """Renders one MuJoCo camera at a fixed resolution (one GL renderer, reused).

    Args:
        model: compiled model.
        camera: camera name.
        width, height: image size in pixels.
        body_labels: per-body segmentation label (object number, ``ROBOT_LABEL`` or 0).
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        camera: str,
        width: int,
        height: int,
        body_labels: np.ndarray,
    ):
        self._model = model
        self._camera_id = model.camera(camera).id
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        self._intrinsics = CameraIntrinsics.of_camera(model, self._camera_id, width, height)
        self._shadows = bool(model.vis.quality.shadowsize > 0)
        geom_labels = body_labels[model.geom_bodyid]
        # Lookup on the flat "geom id + 1" so background (-1) maps to index 0.
        self._lookup = np.concatenate([[NO_OBJECT], geom_labels]).astype(np.int32)

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """Pinhole parameters of this camera's images."""
        return self._intrinsics

    def render(self, data: mujoco.MjData) -> CameraFrame:
        """RGB, depth and segmentation of the current state (``data`` must be forward-computed)."""
        r = self._renderer
        r.update_scene(data, camera=self._camera_id)
        r.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self._shadows
        rgb = r.render().copy()
        r.enable_depth_rendering()
        r.update_scene(data, camera=self._camera_id)
        r.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        depth = r.render().astype(np.float32)
        r.disable_depth_rendering()
        r.enable_segmentation_rendering()
        r.update_scene(data, camera=self._camera_id)
        r.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        seg = r.render()
        r.disable_segmentation_rendering()
        ids = np.where(seg[:, :, 1] == _GEOM_TYPE, seg[:, :, 0], -1)
        segmentation = self._lookup[ids + 1]
        position, rotation = self.pose(data)
        return CameraFrame(
            rgb, depth, segmentation, self._intrinsics, position, rotation, float(data.time)
        )

    def pose(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Optical centre and optical-to-base rotation of the camera now."""
        return optical_pose(data, self._camera_id)

    def close(self) -> None:
        """Free the GL resources."""
        self._renderer.close()


def optical_pose(data: mujoco.MjData, camera_id: int) -> tuple[np.ndarray, np.ndarray]:
    """A camera's optical centre and optical-to-base rotation now; no rendering, no GL."""
    position = data.cam_xpos[camera_id].copy()
    rotation = data.cam_xmat[camera_id].reshape(3, 3) @ _MUJOCO_TO_OPTICAL
    return position, rotation
