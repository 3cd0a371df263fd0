"""Perception for a trial: one fresh head-camera capture, and the regions of interest (MOG)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from geometry_msgs.msg import PoseStamped
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from supersize_grasp.config import Config
from supersize_grasp.qos import LATCHED

from .regions import Region, RegionFinder
from .robot import (
    Deadline,
    Status,
)
from .scene import Scene, scene_from_messages
from .trial_state import TrialBehaviour, key

PATHS = ("above", "down", "up")  # every plan: move above, go down, come back up


class CaptureScene(TrialBehaviour):
    """Listens to the head camera only while capturing, for one fresh, consistent frame.

    A frame counts when colour, depth and camera info share a stamp taken after the capture
    began (the arm has parked by then), on the camera's clock, which may be up to
    ``camera.max_clock_skew`` behind the robot clock (a real Kinect has its own computer).
    Streams are subscribed in ``initialise`` and dropped in ``terminate``: a simulated camera
    renders only while someone listens.
    """

    def __init__(self, side: str, config: Config) -> None:
        super().__init__("Capture scene", side, config, write=[key(side, "scene")])
        self.subscriptions = []

    def initialise(self) -> None:
        super().initialise()
        self.latest: dict[str, object] = {}
        self.lock = threading.Lock()
        camera = self.config.camera
        streams = {
            "rgb": (Image, camera.image_topic, qos_profile_sensor_data),
            "depth": (Image, camera.depth_topic, qos_profile_sensor_data),
            "info": (CameraInfo, camera.info_topic, qos_profile_sensor_data),
            "pose": (PoseStamped, camera.pose_topic, LATCHED),
        }
        self.subscriptions = [
            self.node.create_subscription(msg_type, topic, self._store(name), qos)
            for name, (msg_type, topic, qos) in streams.items()
        ]
        self.deadline = Deadline(self._started, camera.capture_timeout)  # frames cross DDS
        self.bad_frame = ""

    def _store(self, name: str):
        def callback(msg) -> None:
            with self.lock:
                self.latest[name] = msg

        return callback

    def update(self) -> Status:
        with self.lock:
            msgs = dict(self.latest)
        frames = [msgs.get(k) for k in ("rgb", "depth", "info")]
        if all(m is not None for m in frames) and "pose" in msgs:
            stamps = {m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in frames}
            stamp = min(stamps)
            if len(stamps) == 1 and stamp >= self._started - self.config.camera.max_clock_skew:
                try:
                    scene = scene_from_messages(*frames, msgs["pose"].pose, stamp)
                except ValueError as e:  # dropped: only a good frame may become a trial
                    self.bad_frame = f"bad camera frame: {e}"
                    self.node.get_logger().warning(self.bad_frame, throttle_duration_sec=5.0)
                else:
                    self.bb.set(key(self.side, "scene"), scene, overwrite=True)
                    self.feedback_message = (
                        f"{scene.camera.width}x{scene.camera.height} at t={stamp:.2f}"
                    )
                    return Status.SUCCESS
        if self.deadline.passed(self.now()):
            self.feedback_message = f"no camera frame within {self.config.camera.capture_timeout} s"
            self.feedback_message += f" ({self.bad_frame})" if self.bad_frame else ""
            return Status.FAILURE
        self.feedback_message = self.bad_frame or "waiting for a fresh frame"
        return Status.RUNNING

    def terminate(self, new_status: Status) -> None:
        super().terminate(new_status)
        for subscription in self.subscriptions:
            self.node.destroy_subscription(subscription)
        self.subscriptions = []


class FindRegions(TrialBehaviour):
    """MOG background subtraction in this arm's half of the table; FAILURE when it is empty.

    ``leave(region)``: regions the task leaves alone (clutter removal: objects it failed
    to pick too often); a half holding only those counts as empty.
    """

    def __init__(
        self,
        side: str,
        config: Config,
        leave: Callable[[Region], bool] | None = None,
    ) -> None:
        super().__init__(
            "Find regions", side, config, read=[key(side, "scene")], write=[key(side, "regions")]
        )
        self.finder = RegionFinder(config.trial.roi, config.trial.table_z)
        self.workspace = getattr(config.arms, side).workspace
        self.leave = leave

    def update(self) -> Status:
        scene: Scene = self.read(key(self.side, "scene"))
        found, _ = self.finder.find(scene.rgb, scene.depth, scene.camera, self.workspace)
        regions = [r for r in found if not (self.leave and self.leave(r))]
        self.bb.set(key(self.side, "regions"), regions, overwrite=True)
        left = f" ({len(found) - len(regions)} left alone)" if len(regions) < len(found) else ""
        if not regions:
            self.feedback_message = f"no object in this arm's half of the table{left}"
            return Status.FAILURE
        self.feedback_message = f"{len(regions)} regions{left}"
        return Status.SUCCESS
