"""The calibration run on a Baxter, real or simulated alike, through the SDK's ROS 2 interface.

Only configured names are used: ``robot.*`` (state, enable, joint states, joint commands,
endpoint state, IK service) and ``camera.*`` (colour image, camera info). The robot is enabled,
the other arm goes to its park pose, and the board's arm visits the candidate poses one after
the other: IK, move, stand still for ``calibration.settle`` s, capture, detect; every pose that
fails says why in the report. Blocking calls, one after the other: a one-off procedure, not a
tree that must keep ticking; the node spins on a thread of its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import rclpy
from baxter_core_msgs.msg import AssemblyState, EndpointState, JointCommand
from baxter_core_msgs.srv import SolvePositionIK
from geometry_msgs.msg import PoseStamped
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool

from supersize_grasp.config import Config
from supersize_grasp.config.arms import ARM_JOINTS
from supersize_grasp.geometry import matrix_to_quaternion, quaternion_to_matrix
from supersize_grasp.msgs import camera_model, image_to_rgb, pose_message
from supersize_grasp.qos import LATCHED, LATEST

from .board import Board, Detection, transform
from .poses import candidates
from .solver import CalibrationError, View, board_in_camera

Log = Callable[[str], None]


class RobotTimeoutError(TimeoutError):
    """The robot or the camera did not answer in time; the message names what was awaited."""


@dataclass(frozen=True)
class Camera:
    """The intrinsics of the images the camera sends (``camera_info`` with its roi applied)."""

    matrix: np.ndarray
    distortion: np.ndarray
    frame_id: str


class CalibrationClient:
    """An rclpy node of its own (own context, spun on a thread) with the SDK's interface."""

    def __init__(self, config: Config, name: str = "calibrate_camera") -> None:
        self.config = config
        robot, camera = config.robot, config.camera
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)  # times come from the messages' stamps
        self.changed = threading.Condition()
        self.latest: dict[str, object] = {}
        self.frames: list[tuple[float, Image]] = []  # (wall arrival, image), the newest few
        self.infos: dict[tuple[int, int], CameraInfo] = {}
        n = self.node
        self._keep(AssemblyState, robot.state_topic, "state")
        self._keep(JointState, robot.joint_states_topic, "joints")
        for side in ("left", "right"):
            topic = robot.topic(robot.endpoint_state_topic, side)
            self._keep(EndpointState, topic, f"endpoint_{side}")
        self._keep(PoseStamped, camera.pose_topic, "camera_pose", LATCHED)
        n.create_subscription(Image, camera.image_topic, self._on_image, qos_profile_sensor_data)
        n.create_subscription(CameraInfo, camera.info_topic, self._on_info, qos_profile_sensor_data)
        self.enable_pub = n.create_publisher(Bool, robot.enable_topic, 10)
        self.joint_pubs = {
            s: n.create_publisher(JointCommand, robot.topic(robot.joint_command_topic, s), 10)
            for s in ("left", "right")
        }
        self.ik = {
            s: n.create_client(SolvePositionIK, robot.topic(robot.ik_service, s))
            for s in ("left", "right")
        }
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(n)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _keep(self, msg_type, topic: str, key: str, qos=LATEST) -> None:
        def store(msg):
            with self.changed:
                self.latest[key] = msg
                self.changed.notify_all()

        self.node.create_subscription(msg_type, topic, store, qos)

    def _on_image(self, msg: Image) -> None:
        with self.changed:
            self.frames = [*self.frames[-4:], (time.monotonic(), msg)]
            self.changed.notify_all()

    def _on_info(self, msg: CameraInfo) -> None:
        with self.changed:
            self.infos[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg
            self.infos = dict(sorted(self.infos.items())[-8:])
            self.changed.notify_all()

    def get(self, key: str):
        with self.changed:
            return self.latest.get(key)

    def wait_for(self, predicate: Callable[[], object], timeout: float, what: str, every=None):
        """``predicate()``'s first true value, checked at each message; ``every()`` each 0.1 s."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                if every is not None:
                    every()
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RobotTimeoutError(f"no {what} within {timeout:.0f} s")
                self.changed.wait(min(left, 0.1))

    def robot_time(self) -> float:
        """The stamp of the latest joint states (the robot's clock)."""
        stamp = self.get("joints").header.stamp
        return stamp.sec + stamp.nanosec * 1e-9

    # ---- robot --------------------------------------------------------------------------
    def enable(self, timeout: float) -> None:
        robot = self.config.robot
        state = self.wait_for(lambda: self.get("state"), timeout, robot.state_topic)
        if state.stopped:
            raise CalibrationError("the E-stop is engaged: release it and reset the robot")
        self.wait_for(
            lambda: self.get("state").enabled,
            timeout,
            "enabled robot",
            every=lambda: self.enable_pub.publish(Bool(data=True)),
        )
        self.wait_for(lambda: self.get("joints"), timeout, robot.joint_states_topic)

    def solve_ik(self, side: str, pose: np.ndarray, timeout: float) -> dict[str, float] | None:
        """Joint angles putting the endpoint at the 4x4 ``pose``; None when unreachable."""
        client = self.ik[side]
        service = self.config.robot.topic(self.config.robot.ik_service, side)
        if not client.wait_for_service(timeout_sec=timeout):
            raise RobotTimeoutError(f"no IK service {service} within {timeout:.0f} s")
        request = SolvePositionIK.Request()
        target = PoseStamped(pose=pose_message(pose[:3, 3], pose[:3, :3]))
        target.header.frame_id = self.config.robot.base_frame
        request.pose_stamp = [target]
        future = client.call_async(request)
        self.wait_for(future.done, timeout, f"answer from {service}")
        response = future.result()
        if not response.is_valid or not response.is_valid[0]:
            return None
        joints = response.joints[0]
        return dict(zip(joints.name, joints.position, strict=True))

    def move(self, side: str, joints: dict[str, float], tolerance: float, timeout: float) -> None:
        """Position-mode command, repeated as baxter_interface does, until every joint is within
        ``tolerance`` rad."""
        command = JointCommand(
            mode=JointCommand.POSITION_MODE, names=list(joints), command=list(joints.values())
        )

        def arrived():
            state = self.get("joints")
            here = dict(zip(state.name, state.position, strict=True))
            return all(abs(here[n] - v) < tolerance for n, v in joints.items())

        self.wait_for(
            arrived,
            timeout,
            f"{side} arm at its target",
            every=lambda: self.joint_pubs[side].publish(command),
        )

    def settle(self, seconds: float, timeout: float) -> None:
        """Until ``seconds`` of robot time have passed (the arm stops swinging)."""
        end = self.robot_time() + seconds
        self.wait_for(lambda: self.robot_time() >= end, timeout, f"{seconds} s of robot time")

    def endpoint(self, side: str, timeout: float) -> np.ndarray:
        """``T_base_gripper`` from an endpoint state no older than the latest joint states."""
        now = self.robot_time()

        def fresh():
            state = self.get(f"endpoint_{side}")
            return state if state and _seconds(state.header.stamp) >= now - 1e-6 else None

        state = self.wait_for(fresh, timeout, f"{side} endpoint state")
        p, q = state.pose.position, state.pose.orientation
        return transform(quaternion_to_matrix(q.x, q.y, q.z, q.w), (p.x, p.y, p.z))

    def capture(self, timeout: float) -> tuple[np.ndarray, CameraInfo]:
        """The second colour image to arrive from now (the first may have been taken while
        the arm still moved) and its camera info."""
        since = time.monotonic()

        def frame():
            new = [image for arrived, image in self.frames if arrived > since]
            if len(new) < 2:
                return None
            stamp = new[1].header.stamp
            info = self.infos.get((stamp.sec, stamp.nanosec))
            return (new[1], info) if info is not None else None

        image, info = self.wait_for(frame, timeout, f"image on {self.config.camera.image_topic}")
        return image_to_rgb(image, self.config.camera.image_topic), info

    def close(self) -> None:
        self.executor.shutdown()
        self._thread.join(timeout=10.0)
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def intrinsics(info: CameraInfo) -> Camera:
    """The pinhole model of the images ``info`` comes with (its roi and binning applied)."""
    from geometry_msgs.msg import Pose

    model = camera_model(info, Pose(), "camera")  # identity pose: only the intrinsics are used
    matrix = np.array([[model.fx, 0, model.cx], [0, model.fy, model.cy], [0, 0, 1]])
    distortion = np.asarray(info.d, dtype=float) if len(info.d) else np.zeros(5)
    return Camera(matrix, distortion, info.header.frame_id)


@dataclass(frozen=True)
class Collected:
    views: list[View]
    described: list[dict]  # per view: candidate number, gripper pose, its own PnP error
    skipped: list[dict]  # per skipped candidate: its number and why
    camera: Camera


def collect_views(sdk: CalibrationClient, config: Config, log: Log = print) -> Collected:
    """Visits candidate poses until ``calibration.poses`` views are taken (or the candidates
    run out); the other arm is parked first, the board's arm returns to park at the end."""
    c = config.calibration
    side, other = c.side, "right" if c.side == "left" else "left"
    board = Board(c.board)
    mount = np.linalg.inv(board.in_gripper())
    timeout = c.motion_timeout
    sdk.enable(timeout)
    park = getattr(config.arms, other).park_joints
    sdk.move(
        other, dict(zip((f"{other}_{j}" for j in ARM_JOINTS), park, strict=True)), 0.02, timeout
    )
    views: list[View] = []
    described: list[dict] = []
    skipped: list[dict] = []
    camera: Camera | None = None
    for number, board_pose in enumerate(candidates(c, board.size), start=1):
        if len(views) == c.poses:
            break
        target = board_pose @ mount
        joints = sdk.solve_ik(side, target, timeout)
        if joints is None:
            skipped.append({"candidate": number, "reason": "no IK solution"})
            continue
        try:
            sdk.move(side, joints, c.tolerance, timeout)
        except RobotTimeoutError as e:
            skipped.append({"candidate": number, "reason": f"did not arrive: {e}"})
            log(f"  candidate {number}: did not arrive ({e})")
            continue
        sdk.settle(c.settle, timeout)
        gripper = sdk.endpoint(side, timeout)
        rgb, info = sdk.capture(timeout)
        camera = camera or intrinsics(info)
        reason, detection, error = _judge(board, rgb, camera, c.min_corners, c.max_view_error_px)
        if reason:
            skipped.append({"candidate": number, "reason": reason})
            log(f"  candidate {number}: skipped, {reason}")
            continue
        views.append(View(gripper, detection))
        described.append(
            {
                "candidate": number,
                "gripper_in_base": {
                    "position": [round(float(v), 6) for v in gripper[:3, 3]],
                    "orientation": [
                        round(float(v), 8) for v in matrix_to_quaternion(gripper[:3, :3])
                    ],
                },
                "view_error_px": round(error, 4),
            }
        )
        log(
            f"  view {len(views)}/{c.poses} (candidate {number}): {len(detection.ids)} corners, "
            f"board pose reprojects to {error:.2f} px"
        )
    park = getattr(config.arms, side).park_joints
    sdk.move(side, dict(zip((f"{side}_{j}" for j in ARM_JOINTS), park, strict=True)), 0.02, timeout)
    if camera is None:
        raise CalibrationError("no image was captured: no candidate pose was reachable")
    return Collected(views, described, skipped, camera)


def _judge(
    board: Board, rgb: np.ndarray, camera: Camera, min_corners: int, max_error: float
) -> tuple[str, Detection | None, float]:
    """Why a capture cannot be a view ('' when it can), its detection and PnP error."""
    detection = board.detect(rgb)
    found = 0 if detection is None else len(detection.ids)
    if found < min_corners:
        return (
            f"{found} board corners seen (calibration.min_corners: {min_corners})",
            None,
            math.nan,
        )
    _, error = board_in_camera(detection, camera.matrix, camera.distortion)
    if error > max_error:
        return f"board pose reprojects to {error:.2f} px (max_view_error_px)", None, error
    return "", detection, error


def _park(config: Config, side: str) -> dict[str, float]:
    """The arm's park pose (``arms.<side>.park_joints``): out of the camera's view."""
    park = getattr(config.arms, side).park_joints
    return dict(zip((f"{side}_{j}" for j in ARM_JOINTS), park, strict=True))


def _seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9
