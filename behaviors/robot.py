"""Behaviours that drive a Baxter through the SDK's ROS 2 interface (real or simulated alike).

Each sends in ``initialise`` and only polls in ``update``: ROS calls are asynchronous and long
motions report RUNNING with what they wait for as the feedback message. Robot state comes from the
blackboard, written by the ``ToBlackboard`` subscribers at the root of the tree:
``/robot/state``, ``/robot/joints`` and ``/robot/<side>/gripper``.
"""

from __future__ import annotations

import json
import math
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import py_trees
from baxter_core_msgs.msg import AssemblyState, EndEffectorCommand, JointCommand
from baxter_core_msgs.srv import SolvePositionIK
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.publisher import Publisher
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool

from supersize_grasp.config.arms import joint_velocity_limits
from supersize_grasp.config.robot import RobotConfig

from .motion import PathFollower, SpeedLimit
from .ros.exceptions import NotReadyError

Status = py_trees.common.Status
READ, WRITE = py_trees.common.Access.READ, py_trees.common.Access.WRITE
STATE_KEY = "/robot/state"
JOINTS_KEY = "/robot/joints"
SILENT_KEY = "/robot/silent"  # what ``RobotLink`` found silent, e.g. "no /robot/state for 2.1 s"


def gripper_key(side: str) -> str:
    return f"/robot/{side}/gripper"


_PUBLISHERS: weakref.WeakKeyDictionary[Node, dict[tuple, Publisher]] = weakref.WeakKeyDictionary()


def shared_publisher(node: Node, msg_type: type, topic: str, depth: int = 10) -> Publisher:
    """The node's one publisher of ``topic``, however many behaviours command it.

    A tree holds a dozen motions and gripper commands per arm; a publisher each made ~30 DDS
    writers on four topics, each matched by every subscriber and each adding QoS event
    handlers that the executor walks on every spin.
    """
    publishers = _PUBLISHERS.setdefault(node, {})
    key = (msg_type, topic, depth)
    if key not in publishers:
        publishers[key] = node.create_publisher(msg_type, topic, depth)
    return publishers[key]


def robot_ready(state: AssemblyState | None) -> bool:
    return state is not None and state.enabled and not state.stopped


class Deadline:
    """Passed once ``seconds`` went by on the robot clock and on the wall clock both.

    For waits on other processes (a service's answer, a camera frame): their messages cross DDS
    in wall time, which a simulator running faster than real time, or a loaded machine, makes
    long against the robot's clock. Motions keep to the robot clock alone.
    """

    def __init__(self, robot_now: float, seconds: float) -> None:
        self.robot, self.wall = robot_now + seconds, time.monotonic() + seconds

    def passed(self, robot_now: float) -> bool:
        return robot_now > self.robot and time.monotonic() > self.wall


class RobotBehaviour(py_trees.behaviour.Behaviour):
    """Holds the node after ``setup``; keys are registered on one blackboard client.

    With ``side``, the time it took is added to that arm's current trial timings
    (``/<side>/trial``) when it finishes, under the behaviour's name.
    """

    def __init__(self, name: str, robot: RobotConfig, read=(), write=(), side=None) -> None:
        super().__init__(name)
        self.robot = robot
        self.side = side
        self.node: Node | None = None
        self.bb = self.attach_blackboard_client(name)
        self._trial_key = f"/{side}/trial" if side else None
        for key in {*read, *([self._trial_key] if side else [])}:
            self.bb.register_key(key, access=READ)
        for key in write:
            self.bb.register_key(key, access=WRITE)
        self._started = 0.0

    def setup(self, **kwargs) -> None:
        self.node = kwargs.get("node")
        if self.node is None:
            raise NotReadyError(f"{self.name}: setup needs node=")

    def initialise(self) -> None:
        self._started = self.now()

    def terminate(self, new_status: Status) -> None:
        if self._trial_key and new_status in (Status.SUCCESS, Status.FAILURE):
            trial = self.read(self._trial_key)
            if trial is not None:
                spent = self.now() - self._started
                trial.timings[self.name] = trial.timings.get(self.name, 0.0) + spent

    def now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def read(self, key: str, default: Any = None) -> Any:
        try:
            return self.bb.get(key)
        except KeyError:
            return default


class RobotLink(RobotBehaviour):
    """Clears robot states that stopped arriving, so that nothing acts or labels on them.

    A dead simulator or ``ros1_bridge`` looks like silence: the last states stay on the
    blackboard. A state that has not changed for ``robot.state_timeout`` wall seconds (the robot
    clock stops too in simulation) is set to ``None``: the robot is then not ready, the tasks'
    guard stops the running trials, and ``EnableRobot`` waits for the robot to come back. Ticked
    after the ``ToBlackboard`` behaviours; always SUCCESS, what it found goes to ``/robot/silent``.
    """

    def __init__(self, robot: RobotConfig, keys: Mapping[str, str], name="Robot link") -> None:
        """``keys``: blackboard key -> the topic it comes from (named in reports)."""
        super().__init__(name, robot, read=list(keys), write=[*keys, SILENT_KEY])
        self.keys = dict(keys)
        self.bb.set(SILENT_KEY, "", overwrite=True)
        self._last: dict[str, tuple[Any, float]] = {}
        self._watched = -math.inf
        self._lost = ""

    def update(self) -> Status:
        now = time.monotonic()
        if now - self._watched > self.robot.state_timeout / 2:  # the tree itself stood still
            self._last = {k: (msg, now) for k, (msg, _) in self._last.items()}
        self._watched = now
        silent, longest = [], 0.0
        for key, topic in self.keys.items():
            msg = self.read(key)
            if msg is None:
                continue
            seen, since = self._last.get(key, (None, now))
            if msg is not seen:
                self._last[key] = (msg, now)
            elif now - since > self.robot.state_timeout:
                self.bb.set(key, None, overwrite=True)
                silent.append(topic)
                longest = max(longest, now - since)
        lost = f"no {', '.join(silent)} for {longest:.1f} s: connection lost?" if silent else ""
        if lost and not self._lost:
            self.node.get_logger().error(f"{lost} The robot is not ready until they come back")
        elif self._lost and not lost:
            self.node.get_logger().info("robot states arrive again")
        self._lost = lost
        self.bb.set(SILENT_KEY, lost, overwrite=True)
        self.feedback_message = lost or "robot states fresh"
        return Status.SUCCESS


class EnableRobot(RobotBehaviour):
    """Enables the motors (``/robot/set_super_enable``); waits, never overrides, an E-stop."""

    def __init__(self, robot: RobotConfig, name: str = "Enable robot") -> None:
        super().__init__(name, robot, read=[STATE_KEY, SILENT_KEY])

    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        self.publisher = shared_publisher(self.node, Bool, self.robot.enable_topic)

    def update(self) -> Status:
        state = self.read(STATE_KEY)
        if state is None:
            silent, waiting = self.read(SILENT_KEY), f"waiting for {self.robot.state_topic}"
            self.feedback_message = f"{silent}; {waiting}" if silent else waiting
            return Status.RUNNING
        if state.stopped:
            self.feedback_message = "E-stop engaged: release it and reset the robot"
            return Status.RUNNING
        if state.enabled:
            self.feedback_message = "enabled"
            return Status.SUCCESS
        self.publisher.publish(Bool(data=True))
        self.feedback_message = "enabling"
        return Status.RUNNING


class GripperCommand(RobotBehaviour):
    """Sends one ``EndEffectorCommand`` and waits until the gripper has handled it and stopped.

    The command counts as handled when the state echoes its sequence number (Baxter does so).
    """

    _sequence = 0

    def __init__(
        self,
        side: str,
        robot: RobotConfig,
        command: str,
        args: dict | None = None,
        timeout: float = 10.0,
        name: str | None = None,
    ) -> None:
        super().__init__(name or f"Gripper {command}", robot, read=[gripper_key(side)], side=side)
        self.command, self.args, self.timeout = command, args or {}, timeout

    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        topic = self.robot.topic(self.robot.gripper_command_topic, self.side)
        self.publisher = shared_publisher(self.node, EndEffectorCommand, topic)

    def initialise(self) -> None:
        super().initialise()
        GripperCommand._sequence += 1
        self.sequence = GripperCommand._sequence
        self.sent = False
        self.deadline = self.now() + self.timeout

    def update(self) -> Status:
        state = self.read(gripper_key(self.side))
        if state is None:
            self.feedback_message = "waiting for the gripper state"
            return Status.RUNNING
        if not self.sent:
            self.publisher.publish(
                EndEffectorCommand(
                    id=state.id,
                    command=self.command,
                    args=json.dumps(self.args),
                    sender="supersize_grasp",
                    sequence=self.sequence,
                )
            )
            self.sent = True
        if state.command_sequence == self.sequence and not state.moving:
            self.feedback_message = (
                f"done (position {state.position:.0f}%, force {state.force:.0f}%)"
            )
            return Status.SUCCESS
        if self.now() > self.deadline:
            self.feedback_message = f"timed out after {self.timeout:.0f} s"
            return Status.FAILURE
        self.feedback_message = f"{self.command}: position {state.position:.0f}%"
        return Status.RUNNING


class CalibrateGripper(GripperCommand):
    """Calibrates the gripper once; SUCCESS at once when it already is."""

    def __init__(self, side: str, robot: RobotConfig) -> None:
        super().__init__(
            side, robot, EndEffectorCommand.CMD_CALIBRATE, timeout=20.0, name="Calibrate gripper"
        )

    def update(self) -> Status:
        state = self.read(gripper_key(self.side))
        if state is not None and state.calibrated == 1 and not self.sent:
            self.feedback_message = "calibrated"
            return Status.SUCCESS
        return super().update()


class MoveJoints(RobotBehaviour):
    """Position-mode motion through joint-space waypoints, re-sent every tick like baxter_interface.

    Every joint command of the tree goes out here, so here the speed ratio
    (``robot.safety.speed_ratio``) is enforced: the commanded positions move towards each
    waypoint at no more than that fraction of the joints' velocity limits (``SpeedLimit``).

    Args:
        side: arm.
        robot: SDK names.
        waypoints: a blackboard key holding a list of ``{joint: angle}`` dicts (or one dict), or a
            callable returning them when the motion starts.
        tolerance: rad within which the last waypoint counts as reached; earlier ones use 2x.
        timeout: s (robot clock) for the whole motion; FAILURE after it.
        stop_when_blocked: SUCCESS when the arm has stood still for ``blocked_time`` s short of
            the goal (a descent stopped by the object it is about to grasp).
    """

    def __init__(
        self,
        name: str,
        side: str,
        robot: RobotConfig,
        waypoints: str | Callable[[], Sequence[dict[str, float]]],
        tolerance: float = 0.01,
        timeout: float = 10.0,
        stop_when_blocked: bool = False,
        blocked_time: float = 0.3,
    ) -> None:
        keys = [waypoints] if isinstance(waypoints, str) else []
        self.stop_when_blocked, self.blocked_time = stop_when_blocked, blocked_time
        super().__init__(name, robot, read=[JOINTS_KEY, *keys], side=side)
        self.waypoints, self.tolerance, self.timeout = (
            waypoints,
            tolerance,
            timeout,
        )

    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        topic = self.robot.topic(self.robot.joint_command_topic, self.side)
        self.publisher = shared_publisher(self.node, JointCommand, topic)

    def initialise(self) -> None:
        super().initialise()
        path = self.read(self.waypoints) if isinstance(self.waypoints, str) else self.waypoints()
        path = [path] if isinstance(path, dict) else list(path or [])
        self.follower = PathFollower(
            path, self.tolerance, self.stop_when_blocked, self.blocked_time
        )
        self.limit = SpeedLimit(self.robot.safety.speed_ratio, joint_velocity_limits())
        unknown = sorted({n for p in path for n in p} - set(self.limit.limits))
        self.problem = "no waypoints" if not path else ""
        if unknown:
            self.problem = f"not commanded: no velocity limit for {unknown}"
        self.deadline = self.now() + self.timeout

    def update(self) -> Status:
        path = self.follower.path
        if self.problem:
            self.feedback_message = self.problem
            return Status.FAILURE
        joints = self.read(JOINTS_KEY)
        if joints is None:
            self.feedback_message = "waiting for joint states"
            return Status.RUNNING
        # Stood-still time is measured on the states' own stamps: states that stop arriving (a
        # loaded machine) must not read as an arm that stopped moving.
        stamp = joints.header.stamp.sec + joints.header.stamp.nanosec * 1e-9
        positions = dict(zip(joints.name, joints.position, strict=True))
        step = self.follower.step(
            stamp or self.now(), positions, dict(zip(joints.name, joints.velocity, strict=False))
        )
        if step.outcome == "arrived":
            self.feedback_message = "arrived"
            return Status.SUCCESS
        if step.outcome == "blocked":
            self.feedback_message = (
                f"blocked {math.degrees(step.error):.1f} deg short: stopped there"
            )
            return Status.SUCCESS
        if self.now() > self.deadline:
            where = f"waypoint {step.index + 1}/{len(path)}"
            self.feedback_message = f"timed out after {self.timeout:.0f} s at {where}"
            return Status.FAILURE
        command = self.limit.command(self.now(), step.target, positions)
        self.publisher.publish(
            JointCommand(
                mode=JointCommand.POSITION_MODE,
                names=list(command),
                command=list(command.values()),
            )
        )
        self.feedback_message = (
            f"waypoint {step.index + 1}/{len(path)}, error {math.degrees(step.error):.1f} deg"
        )
        return Status.RUNNING

    def terminate(self, new_status: Status) -> None:
        super().terminate(new_status)
        if new_status == Status.INVALID and self.node is not None and self.status == Status.RUNNING:
            joints = self.read(JOINTS_KEY)
            if joints is not None:  # hold where we are instead of finishing an abandoned motion
                names = [n for n in joints.name if n.startswith(f"{self.side}_")]
                names = [n for n in names if "gripper" not in n]
                here = dict(zip(joints.name, joints.position, strict=True))
                self.publisher.publish(
                    JointCommand(
                        mode=JointCommand.POSITION_MODE,
                        names=names,
                        command=[here[n] for n in names],
                    )
                )


Pose = tuple[Sequence[float], Sequence[float]]  # position xyz, quaternion xyzw


class SolveIK(RobotBehaviour):
    """Joint solutions for named paths of endpoint poses, from the SDK's IK service.

    One request per path (the service takes arrays of poses), seeded with the last solution of
    the previous path so that consecutive paths stay on one arm configuration; requests are
    chained across ticks, never blocking. SUCCESS writes each path's ``[{joint: angle}, ...]``
    to ``<output_key>/<path>`` (what ``MoveJoints`` reads); FAILURE when any pose is unreachable.

    Every endpoint target of the tree is planned here, so here the safety workspace
    (``robot.safety.workspace``) is enforced: a plan with a pose outside the box is refused,
    logged as an error naming what was planned (:meth:`describe`) and the box, and never sent
    to the IK service, so nothing of it can be executed.

    Args:
        poses: callable returning ``{path name: [pose, ...]}`` when the behaviour starts (it
            usually reads the chosen grasp from the blackboard); paths are solved in order.
        paths: the path names ``poses`` returns, known up front to register their keys.
    """

    def __init__(
        self,
        name: str,
        side: str,
        robot: RobotConfig,
        poses: Callable[[], Mapping[str, Sequence[Pose]]],
        output_key: str,
        paths: Sequence[str],
        timeout: float = 10.0,
    ) -> None:
        self.keys = {path: f"{output_key}/{path}" for path in paths}
        super().__init__(name, robot, write=list(self.keys.values()), side=side)
        self.poses, self.timeout = poses, timeout
        self.client = None

    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        service = self.robot.topic(self.robot.ik_service, self.side)
        self.client = self.node.create_client(SolvePositionIK, service)

    def initialise(self) -> None:
        super().initialise()
        self.paths = list(self.poses().items())
        names = [name for name, _ in self.paths]
        if names != list(self.keys):
            raise ValueError(f"{self.name}: poses for paths {names}, expected {list(self.keys)}")
        self.plan: dict[str, list[dict[str, float]]] = {}
        self.future = None
        self.deadline = Deadline(self.now(), self.timeout)
        self.refused = self._outside_workspace()
        if self.refused:
            self.node.get_logger().error(self.refused)

    def describe(self) -> str:
        """What is planned, for a refusal's message (subclasses name their grasp or spot)."""
        return "the plan"

    def _outside_workspace(self) -> str:
        box = self.robot.safety.workspace
        for name, path in self.paths:
            for position, _ in path:
                if not box.contains(position):
                    x, y, z = (float(v) for v in position)
                    return (
                        f"{self.name}: {self.describe()} refused: its {name} pose "
                        f"({x:.3f}, {y:.3f}, {z:.3f}) m is outside the safety workspace {box} m "
                        "(robot.safety.workspace); not executed"
                    )
        return ""

    def _request(self) -> None:
        _, path = self.paths[len(self.plan)]
        request = SolvePositionIK.Request()
        for position, quaternion in path:
            pose = PoseStamped()
            pose.header.frame_id = self.robot.base_frame
            p, o = pose.pose.position, pose.pose.orientation
            p.x, p.y, p.z = (float(v) for v in position)
            o.x, o.y, o.z, o.w = (float(v) for v in quaternion)
            request.pose_stamp.append(pose)
        if self.plan:
            seed = list(self.plan.values())[-1][-1]
            request.seed_angles = [JointState(name=list(seed), position=list(seed.values()))]
            request.seed_mode = SolvePositionIK.Request.SEED_USER
        self.future = self.client.call_async(request)

    def update(self) -> Status:
        if self.refused:
            self.feedback_message = self.refused
            return Status.FAILURE
        if not self.client.service_is_ready():
            self.feedback_message = "waiting for the IK service"
            return Status.FAILURE if self.deadline.passed(self.now()) else Status.RUNNING
        return self._poll()

    def _poll(self) -> Status:
        if self.future is None:
            self._request()
        name, path = self.paths[len(self.plan)]
        if not self.future.done():
            if self.deadline.passed(self.now()):
                self.feedback_message = "IK service timed out"
                return Status.FAILURE
            self.feedback_message = f"solving {name} ({len(path)} poses)"
            return Status.RUNNING
        response = self.future.result()
        self.future = None
        if len(response.is_valid) != len(path) or not all(response.is_valid):
            self.feedback_message = f"{name}: unreachable"
            return Status.FAILURE
        self.plan[name] = [dict(zip(j.name, j.position, strict=True)) for j in response.joints]
        if len(self.plan) == len(self.paths):
            for path, solutions in self.plan.items():
                self.bb.set(self.keys[path], solutions, overwrite=True)
            self.feedback_message = f"{sum(len(p) for p in self.plan.values())} poses solved"
            return Status.SUCCESS
        self._request()
        return Status.RUNNING

    def terminate(self, new_status: Status) -> None:
        super().terminate(new_status)
        if self.future is not None and not self.future.done():
            self.client.remove_pending_request(self.future)
        self.future = None
