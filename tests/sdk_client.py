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
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Empty

from supersize_grasp.msgs import camera_model
from supersize_grasp.nodes.baxter_ik import BaxterIK
from supersize_grasp.qos import LATCHED, LATEST


class Listener:
    """A node in a context of its own, spun on a thread; waits on what its callbacks store."""

    def __init__(self, name: str) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified with each message and answer
        self.latest: dict[str, object] = {}
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _sub(self, msg_type, topic: str, key: str, qos=LATEST, keep=None) -> None:
        """The latest message under ``key``; ``keep(msg)`` also runs under the lock."""

        def store(msg):
            with self.changed:
                self.latest[key] = msg
                if keep is not None:
                    keep(msg)
                self.changed.notify_all()

        self.node.create_subscription(msg_type, topic, store, qos)

    def get(self, key: str):
        with self.lock:
            return self.latest.get(key)

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        what: str,
        every: Callable[[], None] | None = None,
        period: float = 0.1,
    ) -> None:
        """Until ``predicate()`` holds, checked at each message (no polling delay); ``every()``
        runs first and then each ``period`` s of waiting (a command the robot wants repeated)."""
        deadline = time.monotonic() + timeout
        next_every = time.monotonic()
        with self.changed:
            while True:
                now = time.monotonic()
                if every is not None and now >= next_every:
                    every()
                    next_every = now + period
                try:
                    if predicate():
                        return
                except (AttributeError, TypeError):  # message not received yet
                    pass
                if now >= deadline:
                    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
                wake = min(deadline, next_every) if every is not None else deadline
                self.changed.wait(max(wake - now, 0.0))

    def close(self) -> None:
        self.executor.shutdown()
        self._thread.join(timeout=10.0)  # its spin must not outlive the context
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


class SdkClient(Listener):
    def __init__(self, name: str = "sdk_client", endpoints: bool = True) -> None:
        """``endpoints``: also follow the limbs' endpoint states (a client that only moves joints
        and reads the gripper, like the trial tree, leaves them out)."""
        super().__init__(name)
        self._sequence = 0
        n = self.node
        self._sub(AssemblyState, "/robot/state", "state")
        self._sub(JointState, "/robot/joint_states", "joints")
        for side in ("left", "right"):
            if endpoints:
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

    def wait_future(self, future, timeout: float, what: str):
        def done(_future):
            with self.changed:
                self.changed.notify_all()

        future.add_done_callback(done)
        self.wait_for(future.done, timeout, what)
        return future.result()

    # ---- RobotEnable --------------------------------------------------------------------
    def enable(self, timeout: float = 30.0) -> None:
        self.wait_for(lambda: self.get("state") is not None, timeout, "/robot/state")

        self.wait_for(
            lambda: self.get("state").enabled,
            timeout,
            "the robot to enable",
            every=lambda: self.enable_pub.publish(Bool(data=True)),
        )

    # ---- Gripper ------------------------------------------------------------------------
    def gripper_command(self, side: str, command: str, args: dict | None = None) -> int:
        """Sends the command; returns its sequence number, which the state echoes once the
        gripper has taken it (as Baxter's)."""
        state = self.get(f"gripper_{side}")
        self._sequence += 1
        msg = EndEffectorCommand(
            id=state.id,
            command=command,
            args=json.dumps(args or {}),
            sender="test",
            sequence=self._sequence,
        )
        self.gripper_pubs[side].publish(msg)
        return self._sequence

    def run_gripper(self, side: str, command: str, timeout: float = 30.0) -> EndEffectorState:
        """The command, then ``wait_gripper`` for it (as the tree's ``GripperCommand``)."""
        return self.wait_gripper(side, self.gripper_command(side, command), timeout)

    def wait_gripper(self, side: str, sequence: int, timeout: float = 30.0) -> EndEffectorState:
        """Until the gripper has taken command ``sequence`` and stopped; returns that state."""

        def done():
            state = self.get(f"gripper_{side}")
            return state.command_sequence == sequence and not state.moving

        self.wait_for(done, timeout, f"the {side} gripper to finish command {sequence}")
        return self.get(f"gripper_{side}")

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
        return self.solve_ik_path(side, [position], quat_xyzw, timeout)[0]

    def solve_ik_path(
        self,
        side: str,
        positions: Sequence[Sequence[float]],
        quat_xyzw: Sequence[float],
        timeout=30.0,
    ) -> list[tuple[bool, dict[str, float]]]:
        """One request for several poses (the service takes a list), as the tree plans a path."""
        client = self.ik[side]
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError("IK service not available")
        poses = []
        for position in positions:
            pose = PoseStamped()
            pose.header.frame_id = "base"
            p, o = pose.pose.position, pose.pose.orientation
            p.x, p.y, p.z = (float(v) for v in position)
            o.x, o.y, o.z, o.w = (float(v) for v in quat_xyzw)
            poses.append(pose)
        future = client.call_async(SolvePositionIK.Request(pose_stamp=poses))
        response = self.wait_future(future, timeout, "the IK answer")
        return [
            (valid, dict(zip(joints.name, joints.position, strict=True)))
            for valid, joints in zip(response.is_valid, response.joints, strict=True)
        ]

    def move_to(
        self,
        side: str,
        joints: dict[str, float],
        timeout=30.0,
        tol=0.01,
        stall: float | None = None,
    ) -> None:
        """Command the joints (repeated, as baxter_interface does) until within ``tol`` rad; with
        ``stall`` (rad/s), also stop once every joint has been slower than that for 0.2 s
        of robot time (blocked, e.g. fingers resting on an object)."""
        command = JointCommand(
            mode=JointCommand.POSITION_MODE, names=list(joints), command=list(joints.values())
        )
        since = self.sim_time()

        def arrived():
            state = self.get("joints")
            current = dict(zip(state.name, state.position, strict=True))
            if all(abs(current[n] - v) < tol for n, v in joints.items()):
                return True
            if stall is None or self.sim_time() - since <= 0.2:
                return False
            speeds = dict(zip(state.name, state.velocity, strict=True))
            return all(abs(speeds[n]) < stall for n in joints)

        self.wait_for(
            arrived,
            timeout,
            f"the {side} arm to reach {joints}",
            every=lambda: self.joint_pubs[side].publish(command),
        )

    def sim_time(self) -> float:
        """The robot's clock: the stamp of the latest joint states (0 before the first)."""
        state = self.get("joints")
        return 0.0 if state is None else state.header.stamp.sec + state.header.stamp.nanosec * 1e-9

    def wait_sim(self, seconds: float, timeout: float = 30.0) -> None:
        """Let ``seconds`` of robot time pass."""
        end = self.sim_time() + seconds
        self.wait_for(lambda: self.sim_time() >= end, timeout, f"{seconds} s of robot time")

    def endpoint(self, side: str, timeout: float = 10.0) -> np.ndarray:
        """The endpoint position from a state no older than the latest joint states (the two
        topics arrive one after the other, so the last endpoint state may be a period behind)."""
        now = self.sim_time()

        def fresh():
            stamp = self.get(f"endpoint_{side}").header.stamp
            return stamp.sec + stamp.nanosec * 1e-9 >= now - 1e-6

        self.wait_for(fresh, timeout, f"the {side} endpoint state")
        p = self.get(f"endpoint_{side}").pose.position
        return np.array([p.x, p.y, p.z])


class CameraListener(Listener):
    """The Kinect-style head camera's streams, every frame's stamp kept per stream. Made for one
    capture and closed, as the trial tree's capture: a simulated camera renders only while
    watched, and every frame that arrives costs this process a few ms."""

    def __init__(self, prefix: str = "/kinect2/hd") -> None:
        super().__init__("camera_listener")
        streams = {"rgb": "image_color_rect", "depth": "image_depth_rect", "info": "camera_info"}
        self.stamps: dict[str, set[tuple[int, int]]] = {k: set() for k in streams}
        for key, topic in streams.items():
            msg_type = CameraInfo if key == "info" else Image
            keep = self.stamps[key].add
            self._sub(
                msg_type,
                f"{prefix}/{topic}",
                key,
                qos_profile_sensor_data,
                lambda m, keep=keep: keep((m.header.stamp.sec, m.header.stamp.nanosec)),
            )
        self._sub(PoseStamped, f"{prefix}/camera_pose", "camera_pose", LATCHED)

    def frame(self, timeout: float = 30.0, after: float | None = None):
        """(rgb HxWx3, depth HxW metres, K 3x3, camera position, rotation 3x3) of one capture."""

        def fresh():
            msgs = [self.get(k) for k in ("rgb", "depth", "info", "camera_pose")]
            if any(m is None for m in msgs):
                return False
            stamps = {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in msgs[:3]}
            t = min(stamps) * 1e-9
            return len(stamps) == 1 and (after is None or t > after)

        self.wait_for(fresh, timeout, "a camera frame")
        with self.lock:
            rgb_msg, depth_msg, info = (self.latest[k] for k in ("rgb", "depth", "info"))
            camera = camera_model(info, self.latest["camera_pose"].pose)  # the crop's (info.roi)
        rgb = np.frombuffer(rgb_msg.data, np.uint8).reshape(rgb_msg.height, rgb_msg.width, 3)
        assert depth_msg.encoding == "16UC1"
        depth = (
            np.frombuffer(depth_msg.data, "<u2").reshape(depth_msg.height, depth_msg.width) / 1000.0
        )
        assert depth.shape == rgb.shape[:2] == (camera.height, camera.width)
        k = np.array([[camera.fx, 0, camera.cx], [0, camera.fy, camera.cy], [0, 0, 1]])
        return rgb, depth, k, camera.position, camera.rotation


def capture(timeout: float = 30.0, after: float | None = None):
    """One frame of the head camera (``CameraListener.frame``), subscribed only meanwhile."""
    listener = CameraListener()
    try:
        return listener.frame(timeout, after)
    finally:
        listener.close()


class IKNode:
    """The ``baxter_ik`` node in this process, spun on a thread of its own."""

    def __init__(self, **parameters) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        overrides = [Parameter(k, value=v) for k, v in parameters.items()]
        self.node = BaxterIK(context=self.context, parameter_overrides=overrides)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.executor.shutdown()
        self.thread.join(timeout=10.0)
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
