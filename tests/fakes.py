"""Stand-ins the tests share: a camera driver that publishes whatever it is given, the messages
of a broken one, a stored scene and trial, an untrained checkpoint, and the OBJ text of a cube.
"""

import dataclasses
import math

import numpy as np
import torch
from geometry_msgs.msg import Pose, PoseStamped
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from supersize_grasp.dataset.records import Trial
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.checkpoint import Checkpoint, save_checkpoint
from supersize_grasp.models.network import GraspNet
from supersize_grasp.qos import LATCHED

W, H = 64, 48


def colour(encoding="rgb8", width=W, height=H, step=None, data=None) -> Image:
    step = width * 3 if step is None else step
    data = bytes(step * height) if data is None else data
    return Image(width=width, height=height, encoding=encoding, step=step, data=data)


def depth(encoding="16UC1", width=W, height=H) -> Image:
    return Image(
        width=width,
        height=height,
        encoding=encoding,
        step=width * 2,
        data=bytes(width * height * 2),
    )


def info(width=W, height=H, fx=50.0) -> CameraInfo:
    return CameraInfo(width=width, height=height, k=[fx, 0.0, 32.0, 0.0, 50.0, 24.0, 0.0, 0.0, 1.0])


def pose(x=0.2, qw=1.0) -> Pose:
    p = Pose()
    p.position.x, p.position.z, p.orientation.w = x, 0.9, qw
    return p


class Camera:
    """A broken camera driver: publishes whatever frame it is given on the Kinect topics."""

    def __init__(self, node: Node, config) -> None:
        c = config.camera
        self.node = node
        self.rgb = node.create_publisher(Image, c.image_topic, qos_profile_sensor_data)
        self.depth = node.create_publisher(Image, c.depth_topic, qos_profile_sensor_data)
        self.info = node.create_publisher(CameraInfo, c.info_topic, qos_profile_sensor_data)
        self.pose = node.create_publisher(PoseStamped, c.pose_topic, LATCHED)

    def send(
        self,
        rgb: Image,
        depth_image: Image,
        camera_info: CameraInfo,
        camera_pose: Pose,
        stamp=None,
        info_stamp=None,
    ) -> None:
        """One frame, its parts stamped ``stamp`` (default: now; the info ``info_stamp``)."""
        stamp = self.node.get_clock().now().to_msg() if stamp is None else stamp
        rgb.header.stamp = depth_image.header.stamp = stamp
        camera_info.header.stamp = stamp if info_stamp is None else info_stamp
        self.pose.publish(PoseStamped(pose=camera_pose))
        self.rgb.publish(rgb)
        self.depth.publish(depth_image)
        self.info.publish(camera_info)

    def send_stamped(self, stamp, info_stamp=None) -> None:
        """A good frame with the given stamps."""
        self.send(colour(), depth(), info(), pose(), stamp, info_stamp)


TILT = math.radians(55)  # the head camera looks down at the table
ROTATION = np.array(
    [[0, -math.sin(TILT), math.cos(TILT)], [-1, 0, 0], [0, -math.cos(TILT), -math.sin(TILT)]]
)
CAMERA = CameraModel(355.0, 355.0, 319.5, 179.5, 640, 360, np.array([0.2, 0.0, 0.95]), ROTATION)


def checkpoint(path, config) -> str:
    torch.manual_seed(0)
    learning = config.learning.model_dump(mode="json")
    save_checkpoint(path, Checkpoint("cpu", 18, GraspNet("cpu").state_dict(), learning, "t", "-"))
    return str(path)


def cube_obj(
    size: float | tuple[float, float, float],
    offset: tuple[float, float, float] = (0, 0, 0),
    first: int = 1,
) -> str:
    """An OBJ box: a cube of side ``size``, or of (x, y, z) sides; faces wound outwards (a
    renderer culls the others' backs)."""
    sx, sy, sz = (size, size, size) if isinstance(size, int | float) else size
    corners = [(x, y, z) for x in (0, sx) for y in (0, sy) for z in (0, sz)]
    lines = [f"v {x + offset[0]} {y + offset[1]} {z + offset[2]}" for x, y, z in corners]
    quads = [(2, 4, 3, 1), (7, 8, 6, 5), (5, 6, 2, 1), (4, 8, 7, 3), (3, 7, 5, 1), (6, 8, 4, 2)]
    lines += ["f " + " ".join(str(i + first - 1) for i in q) for q in quads]
    return "\n".join(lines) + "\n"


# A stored scene and trial (W x H pixels).
INTRINSICS = {"fx": 60.0, "fy": 61.0, "cx": 32.0, "cy": 24.0, "width": W, "height": H}
POSE = ((0.1, 0.2, 1.5), (1.0, 0.0, 0.0, 0.0))


def images(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 2.0, (H, W)).astype(np.float32)
    depth[0, 0] = np.nan  # no reading: must survive the round trip
    return rgb, depth


def trial(session_id: str, scene_id: str, **changes) -> Trial:
    base = Trial(
        session_id=session_id,
        scene_id=scene_id,
        stage=0,
        arm="left",
        chooser="random",
        outcome="failure",
        roi=(4, 5, 20, 16),
        grasp_pixel=(10.5, 12.25),
        angle=1.2,
        angle_bin=6,
        grasp_position=(0.6, 0.1, -0.05),
        grasp_orientation=(0.0, 1.0, 0.0, 0.0),
        force=0.0,
        gripper_position=0.0,
        gripper_history=((0.0, 100.0, 0.0), (0.5, 40.0, 12.0)),
        timings={"approach": 3.5, "grasp": 1.25},
        seed=11,
        object_id="mug",
        message="",
        score=math.nan,
        stamp=1700000000.5,
    )
    return dataclasses.replace(base, **changes)


def same(a: Trial, b: Trial) -> bool:
    """Equal apart from ids, with NaN score equal to NaN."""
    fields = {f.name for f in dataclasses.fields(Trial)} - {"trial_id", "score"}
    nan_both = math.isnan(a.score) and math.isnan(b.score)
    return all(getattr(a, f) == getattr(b, f) for f in fields) and (nan_both or a.score == b.score)
