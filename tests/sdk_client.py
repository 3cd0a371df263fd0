"""A minimal Baxter SDK client for tests: only the SDK's ROS 2 topics and services, no simulator
internals. It plays the role of ``baxter_interface`` (RobotEnable, Limb, Gripper, IK service).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import rclpy
from baxter_core_msgs.msg import (
    AssemblyState,
    EndEffectorCommand,
    EndEffectorState,
    EndpointState,
    JointCommand,
)
from baxter_core_msgs.srv import SolvePositionIK
from geometry_msgs.msg import PoseStamped
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Empty

from supersize_grasp.geometry import quaternion_to_matrix
from supersize_grasp.qos import LATCHED


class SdkClient:
    def __init__(self, name: str = "sdk_client") -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.lock = threading.Lock()
        self.latest: dict[str, object] = {}
        n = self.node
        self._sub(AssemblyState, "/robot/state", "state")
        self._sub(JointState, "/robot/joint_states", "joints")
        for side in ("left", "right"):
            self._sub(EndpointState, f"/robot/limb/{side}/endpoint_state", f"endpoint_{side}")
            self._sub(
                EndEffectorState, f"/robot/end_effector/{side}_gripper/state", f"gripper_{side}"
            )
        self.enable_pub = n.create_publisher(Bool, "/robot/set_super_enable", 10)
        self.reset_pub = n.create_publisher(Empty, "/robot/set_super_reset", 10)
        self.stop_pub = n.create_publisher(Empty, "/robot/set_super_stop", 10)
        self.joint_pubs = {
            s: n.create_publisher(JointCommand, f"/robot/limb/{s}/joint_command", 10)
            for s in ("left", "right")
        }
        self.gripper_pubs = {
            s: n.create_publisher(
                EndEffectorCommand, f"/robot/end_effector/{s}_gripper/command", 10
            )
            for s in ("left", "right")
        }
        self.ik = {
            s: n.create_client(
                SolvePositionIK, f"/ExternalTools/{s}/PositionKinematicsNode/IKService"
            )
            for s in ("left", "right")
        }
        self.executor = MultiThreadedExecutor(context=self.context)
        self.executor.add_node(n)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _sub(self, msg_type, topic: str, key: str, qos=10) -> None:
        def store(msg):
            with self.lock:
                self.latest[key] = msg

        self.node.create_subscription(msg_type, topic, store, qos)

    def get(self, key: str):
        with self.lock:
            return self.latest.get(key)

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except (AttributeError, TypeError):  # message not received yet
                pass
            time.sleep(0.01)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")

    # ---- RobotEnable --------------------------------------------------------------------
    def enable(self, timeout: float = 30.0) -> None:
        self.wait_for(lambda: self.get("state") is not None, timeout, "/robot/state")

        def enabled():
            self.enable_pub.publish(Bool(data=True))
            return self.get("state").enabled

        self.wait_for(enabled, timeout, "the robot to enable")

    # ---- Gripper ------------------------------------------------------------------------
    def gripper_command(self, side: str, command: str, args: dict | None = None) -> None:
        state = self.get(f"gripper_{side}")
        msg = EndEffectorCommand(
            id=state.id, command=command, args=json.dumps(args or {}), sender="test"
        )
        self.gripper_pubs[side].publish(msg)

    def calibrate(self, side: str, timeout: float = 30.0) -> None:
        self.wait_for(lambda: self.get(f"gripper_{side}") is not None, timeout, "gripper state")
        self.gripper_command(side, EndEffectorCommand.CMD_CALIBRATE)
        self.wait_for(lambda: self.get(f"gripper_{side}").calibrated == 1, timeout, "calibration")
        self.wait_for(
            lambda: not self.get(f"gripper_{side}").moving, timeout, "the gripper to open"
        )

    # ---- IK + Limb ----------------------------------------------------------------------
    def solve_ik(
        self, side: str, position: Sequence[float], quat_xyzw: Sequence[float], timeout=30.0
    ) -> tuple[bool, dict[str, float]]:
        client = self.ik[side]
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError("IK service not available")
        pose = PoseStamped()
        pose.header.frame_id = "base"
        p, o = pose.pose.position, pose.pose.orientation
        p.x, p.y, p.z = (float(v) for v in position)
        o.x, o.y, o.z, o.w = (float(v) for v in quat_xyzw)
        future = client.call_async(SolvePositionIK.Request(pose_stamp=[pose]))
        self.wait_for(future.done, timeout, "the IK answer")
        response = future.result()
        joints = response.joints[0]
        return response.is_valid[0], dict(zip(joints.name, joints.position, strict=True))

    def move_to(self, side: str, joints: dict[str, float], timeout=30.0, tol=0.01) -> None:
        command = JointCommand(
            mode=JointCommand.POSITION_MODE, names=list(joints), command=list(joints.values())
        )

        def arrived():
            self.joint_pubs[side].publish(command)
            state = self.get("joints")
            current = dict(zip(state.name, state.position, strict=True))
            return all(abs(current[n] - v) < tol for n, v in joints.items())

        self.wait_for(arrived, timeout, f"the {side} arm to reach {joints}")

    def endpoint(self, side: str) -> np.ndarray:
        p = self.get(f"endpoint_{side}").pose.position
        return np.array([p.x, p.y, p.z])

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


class CameraClient:
    """Subscribes to the Kinect-style head camera of an ``SdkClient``'s node."""

    def __init__(self, sdk: SdkClient, prefix: str = "/kinect2/hd") -> None:
        self.sdk = sdk
        sdk._sub(Image, f"{prefix}/image_color_rect", "rgb", qos_profile_sensor_data)
        sdk._sub(Image, f"{prefix}/image_depth_rect", "depth", qos_profile_sensor_data)
        sdk._sub(CameraInfo, f"{prefix}/camera_info", "info", qos_profile_sensor_data)
        sdk._sub(PoseStamped, f"{prefix}/camera_pose", "camera_pose", LATCHED)

    def frame(self, timeout: float = 30.0, after: float | None = None):
        """(rgb HxWx3, depth HxW metres, K 3x3, camera position, rotation 3x3) of one capture."""
        sdk = self.sdk

        def fresh():
            msgs = [sdk.get(k) for k in ("rgb", "depth", "info", "camera_pose")]
            if any(m is None for m in msgs):
                return False
            stamps = {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in msgs[:3]}
            t = min(stamps) * 1e-9
            return len(stamps) == 1 and (after is None or t > after)

        sdk.wait_for(fresh, timeout, "a camera frame")
        rgb_msg, depth_msg, info = (sdk.get(k) for k in ("rgb", "depth", "info"))
        pose = sdk.get("camera_pose").pose
        rgb = np.frombuffer(rgb_msg.data, np.uint8).reshape(rgb_msg.height, rgb_msg.width, 3)
        assert depth_msg.encoding == "16UC1"
        depth = (
            np.frombuffer(depth_msg.data, "<u2").reshape(depth_msg.height, depth_msg.width) / 1000.0
        )
        q = pose.orientation
        rotation = quaternion_to_matrix(q.x, q.y, q.z, q.w)
        position = np.array([pose.position.x, pose.position.y, pose.position.z])
        return rgb, depth, np.array(info.k).reshape(3, 3), position, rotation
