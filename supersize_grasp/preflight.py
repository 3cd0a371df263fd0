"""Preflight: does the robot's side offer everything the collection graph needs, and is it sane?

``supersize-grasp check --robot`` lists each topic and service the tree uses with its type and
state (missing, rate, stale), then checks what the tree would otherwise find out trial by trial:
the robot E-stopped, a gripper in error, camera intrinsics or pose unusable, the table not where
``trial.table_z`` says, and each stamped source's clock against this computer's (a Kinect
computer 2 s behind delays every capture by 2 s; see ``camera.max_clock_skew``). One line per
problem, naming the topic, service or setting.

The clock skew of a source is the smallest ``received - stamp`` seen: the transport only ever
adds to it, so the smallest is the closest to the clocks' own difference. Under simulated time
(``robot.use_sim_time``) every stamp comes from ``/clock``: there is no skew to measure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from supersize_grasp.config import Config

IN, OUT, LATCHED_IN, SERVICE = "publisher", "subscriber", "latched", "server"
STAMPED_MIN_SAMPLES = 1


@dataclass(frozen=True)
class Need:
    """One topic or service of the graph; ``offered_by`` is what the robot's side must have:
    a publisher (``IN``, ``LATCHED_IN``), a subscriber (``OUT``: our commands) or a server."""

    name: str
    type: Any
    offered_by: str
    stamp: Callable[[Any], Any] | None = None  # the message's stamp, for a clock source
    skew_setting: str = ""  # the setting that bounds that source's skew

    @property
    def type_name(self) -> str:
        return type_name(self.type)


def type_name(cls) -> str:
    """``baxter_core_msgs/msg/AssemblyState``, as the ROS graph names it."""
    package, kind = cls.__module__.split(".")[:2]
    return f"{package}/{kind}/{cls.__name__}"


def needs(config: Config) -> list[Need]:
    """What the collection graph needs from the robot, the camera and their helpers."""
    from baxter_core_msgs.msg import (
        AssemblyState,
        EndEffectorCommand,
        EndEffectorState,
        EndpointState,
        JointCommand,
    )
    from baxter_core_msgs.srv import SolvePositionIK
    from geometry_msgs.msg import PoseStamped
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo, Image, JointState
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger

    robot, camera = config.robot, config.camera

    def header(msg):
        return msg.header.stamp

    def robot_stamped(name, msg_type, stamp=header):
        return Need(name, msg_type, IN, stamp, "preflight.max_clock_skew")

    def camera_stamped(name, msg_type):
        return Need(name, msg_type, IN, header, "camera.max_clock_skew")

    result = [Need("/clock", Clock, IN)] if robot.use_sim_time else []
    result += [
        Need(robot.state_topic, AssemblyState, IN),
        robot_stamped(robot.joint_states_topic, JointState),
        Need(robot.enable_topic, Bool, OUT),
    ]
    for side in config.arms.active():
        result += [
            robot_stamped(robot.topic(robot.endpoint_state_topic, side), EndpointState),
            robot_stamped(
                robot.topic(robot.gripper_state_topic, side),
                EndEffectorState,
                lambda msg: msg.timestamp,
            ),
            Need(robot.topic(robot.joint_command_topic, side), JointCommand, OUT),
            Need(robot.topic(robot.gripper_command_topic, side), EndEffectorCommand, OUT),
            Need(robot.topic(robot.ik_service, side), SolvePositionIK, SERVICE),
        ]
    result += [
        camera_stamped(camera.image_topic, Image),
        camera_stamped(camera.depth_topic, Image),
        camera_stamped(camera.info_topic, CameraInfo),
        Need(camera.pose_topic, PoseStamped, LATCHED_IN),
    ]
    if config.trial.refill_service:
        result.append(Need(config.trial.refill_service, Trigger, SERVICE))
    return result


@dataclass
class Stream:
    """What arrived on one topic: reception times (wall, monotonic), clock offsets, the last."""

    received: list[float] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)  # local clock - stamp, s
    last: Any = None

    def add(self, msg, monotonic: float, offset: float | None) -> None:
        self.received.append(monotonic)
        if offset is not None:
            self.offsets.append(offset)
        self.last = msg

    def rate(self) -> float | None:
        if len(self.received) < 2:
            return None
        return (len(self.received) - 1) / max(self.received[-1] - self.received[0], 1e-9)

    def skew(self) -> float | None:
        """Seconds the source's clock is behind ours (negative: ahead), transport excluded."""
        return min(self.offsets) if self.offsets else None


@dataclass(frozen=True)
class Row:
    """One need as found: ``problem`` is empty when it is fine."""

    need: Need
    state: str
    problem: str = ""


def seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def describe_skew(skew: float) -> str:
    return f"clock {abs(skew):.2f} s {'behind' if skew > 0 else 'ahead of'} this computer's"


def judge_stream(
    need: Need,
    found_types: Sequence[str],
    stream: Stream,
    now: float,
    window: float,
    bounds: dict[str, float] | None,
) -> Row:
    """A topic of ours as found: its peers' types (``found_types``, one per peer on the other
    side), what arrived by ``now`` (monotonic), the skew bounds by setting (None: one clock)."""
    state, problem = _peers(need, found_types)
    if not problem and need.offered_by != OUT:
        state, problem = _traffic(need, stream, now, window)
        if not problem and need.stamp is not None and stream.offsets:
            state, problem = _clock(need, stream, bounds, state)
    return Row(need, state, problem)


def _peers(need: Need, found_types: Sequence[str]) -> tuple[str, str]:
    peer = {IN: "publisher", LATCHED_IN: "publisher", OUT: "subscriber", SERVICE: "server"}
    peer = peer[need.offered_by]
    if not found_types:
        return "missing", f"{need.name}: no {peer} ({need.type_name})"
    wrong = sorted({t for t in found_types if t != need.type_name})
    if wrong:
        problem = f"{need.name}: a {peer} has type {', '.join(wrong)}, not {need.type_name}"
        return f"type {', '.join(wrong)}", problem
    return f"{len(found_types)} {peer}{'s' * (len(found_types) > 1)}", ""


def _traffic(need: Need, stream: Stream, now: float, window: float) -> tuple[str, str]:
    if stream.last is None:
        what = "no latched message" if need.offered_by == LATCHED_IN else "no message"
        return "silent", f"{need.name}: {what} within {window:g} s"
    if need.offered_by == LATCHED_IN:
        return "latched", ""
    quiet = now - stream.received[-1]
    if quiet > window:
        return "stale", f"{need.name}: nothing for {quiet:.1f} s (window {window:g} s)"
    rate = stream.rate()
    return (f"{rate:.1f} Hz" if rate is not None else "1 message"), ""


def _clock(
    need: Need, stream: Stream, bounds: dict[str, float] | None, state: str
) -> tuple[str, str]:
    if bounds is None:
        return f"{state}, simulated time", ""
    skew, bound = stream.skew(), bounds[need.skew_setting]
    state += f", clock {skew:+.3f} s"
    if seconds(need.stamp(stream.last)) == 0.0:
        return state, f"{need.name}: stamps are 0 (the source sets no time)"
    if abs(skew) > bound:
        return state, f"{need.name}: {describe_skew(skew)} ({need.skew_setting} {bound:g} s)"
    return state, ""


def judge_service(need: Need, found_types: Sequence[str], answer: str | None) -> Row:
    """A service as found: the servers' types, and ``answer``: what a call said ('' fine),
    None when it was not called."""
    state, problem = _peers(need, found_types)
    if not problem and answer is not None:
        state, problem = ("answers badly", f"{need.name}: {answer}") if answer else ("answers", "")
    return Row(need, state, problem)


def robot_state(state) -> tuple[str, str]:
    """(what it is, the problem or ''): E-stopped or in error is one; disabled is not, the tree
    enables the robot itself."""
    if state is None:
        return "unknown", ""  # its topic's row says why
    if state.stopped:
        button = {0: "released", 1: "pressed", 2: "unknown", 3: "unplugged"}.get(
            state.estop_button, str(state.estop_button)
        )
        source = {0: "none", 1: "user", 2: "unknown", 3: "fault", 4: "brake"}.get(
            state.estop_source, str(state.estop_source)
        )
        what = f"E-stopped (button {button}, source {source})"
        return what, f"robot: {what}: release the E-stop, then the tree resets it"
    if state.error:
        return "in error", "robot: /robot/state reports an error"
    return ("enabled" if state.enabled else "disabled (the tree enables it)"), ""


def gripper_state(side: str, state) -> tuple[str, str]:
    """(what it is, the problem or ''): an error is one; not calibrated is not, the tree
    calibrates it first."""
    if state is None:
        return "unknown", ""
    what = "calibrated" if state.calibrated == 1 else "not calibrated (the tree calibrates it)"
    what += f", position {state.position:.0f}%"
    if state.error == 1:
        return f"{what}, in error", f"{side} gripper: in error (EndEffectorState.error)"
    return what, ""


def table_height(depth: np.ndarray, camera, workspaces) -> float | None:
    """The table's height (base frame z) seen in depth: the median height of the points over
    the arms' workspaces, where the table shows around the objects. None when none is seen."""
    points = camera.points(depth)
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    over = np.zeros(depth.shape, dtype=bool)
    for w in workspaces:
        over |= (x >= w.x_min) & (x <= w.x_max) & (y >= w.y_min) & (y <= w.y_max)
    heights = z[over & np.isfinite(z)]
    return float(np.median(heights)) if heights.size >= 100 else None


def judge_camera(config: Config, rgb, depth, info, pose) -> list[tuple[str, str, str]]:
    """(check, finding, problem or '') for the intrinsics, the pose and the table height, each
    as far as the one before it allows."""
    checks = [_intrinsics(config, info)]
    if info is not None and not checks[-1][2]:
        checks.append(_pose(config, info, pose))
        if pose is not None and not checks[-1][2]:
            checks.append(_table(config, rgb, depth, info, pose))
    return checks


def _intrinsics(config: Config, info) -> tuple[str, str, str]:
    from supersize_grasp.msgs import check_camera_info

    if info is None:
        return "camera intrinsics", "unknown", ""  # the topic's row says why
    try:
        check_camera_info(info, config.camera.info_topic)
    except ValueError as e:
        return "camera intrinsics", "unusable", f"camera intrinsics: {e}"
    k = info.k
    found = f"{info.width}x{info.height}, fx {k[0]:.1f} fy {k[4]:.1f} cx {k[2]:.1f} cy {k[5]:.1f}"
    return "camera intrinsics", found, ""


def _pose(config: Config, info, pose) -> tuple[str, str, str]:
    from supersize_grasp.msgs import camera_model

    if pose is None:
        return "camera pose", "unknown", ""
    frame, base = pose.header.frame_id, config.robot.base_frame
    if frame not in ("", base):
        problem = f"camera pose: {config.camera.pose_topic} is in {frame!r}, not {base!r}"
        return "camera pose", f"in {frame!r}", problem
    try:
        camera_model(info, pose.pose, "camera")
    except ValueError as e:
        return "camera pose", "unusable", f"camera pose: {e}"
    p = pose.pose.position
    return "camera pose", f"at ({p.x:.3f}, {p.y:.3f}, {p.z:.3f}) m in {base!r}", ""


def _table(config: Config, rgb, depth, info, pose) -> tuple[str, str, str]:
    from supersize_grasp.behaviors.scene import scene_from_messages

    if rgb is None or depth is None:
        return "table height", "unknown", ""
    try:
        scene = scene_from_messages(rgb, depth, info, pose.pose, 0.0)
    except ValueError as e:
        return "table height", "no frame", f"camera frame: {e}"
    arms = config.arms
    workspaces = [getattr(arms, side).workspace for side in arms.active()]
    height = table_height(scene.depth, scene.camera, workspaces)
    if height is None:
        problem = "table height: the depth image shows nothing over the arms' workspaces"
        return "table height", "not seen", problem
    expected, tolerance = config.trial.table_z, config.preflight.table_tolerance
    finding = f"z {height:.3f} m in depth (trial.table_z {expected:.3f} m)"
    if abs(height - expected) <= tolerance:
        return "table height", finding, ""
    problem = (
        f"table height: depth shows the table at z {height:.3f} m, trial.table_z is "
        f"{expected:.3f} m ({abs(height - expected) * 100:.1f} cm off, "
        f"preflight.table_tolerance {tolerance:g} m): the camera pose or the table moved"
    )
    return "table height", finding, problem


class Probe:
    """A node that listens to every topic of ``needs`` and looks the rest up in the graph."""

    def __init__(self, config: Config, wanted: Sequence[Need]) -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.parameter import Parameter
        from rclpy.qos import qos_profile_sensor_data

        from supersize_grasp.qos import LATCHED
        from supersize_grasp.rclpy_compat import create_subscription_with_info

        self.config, self.needs = config, list(wanted)
        self.node = Node(
            "preflight",
            parameter_overrides=[Parameter("use_sim_time", value=config.robot.use_sim_time)],
        )
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.streams: dict[str, Stream] = {}
        for need in self.needs:
            if need.offered_by not in (IN, LATCHED_IN):
                continue
            self.streams[need.name] = Stream()
            qos = LATCHED if need.offered_by == LATCHED_IN else qos_profile_sensor_data
            create_subscription_with_info(self.node, need.type, need.name, self._store(need), qos)

    def _store(self, need: Need):
        stream = self.streams[need.name]

        def callback(msg, info) -> None:
            offset = None
            if need.stamp is not None:
                if self.config.robot.use_sim_time:
                    local = self.node.get_clock().now().nanoseconds * 1e-9
                else:
                    local = info.get("received_timestamp", time.time_ns()) * 1e-9
                offset = local - seconds(need.stamp(msg))
            stream.add(msg, time.monotonic(), offset)

        return callback

    def spin(self, seconds_: float) -> None:
        end = time.monotonic() + seconds_
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=min(0.05, max(0.0, end - time.monotonic())))

    def peers(self, need: Need) -> list[str]:
        """The types of what offers ``need`` on the robot's side (one per peer)."""
        if need.offered_by == SERVICE:
            types = dict(self.node.get_service_names_and_types())
            return list(types.get(need.name, []))
        if need.offered_by == OUT:
            infos = self.node.get_subscriptions_info_by_topic(need.name)
        else:
            infos = self.node.get_publishers_info_by_topic(need.name)
        return [i.topic_type for i in infos if i.node_name != self.node.get_name()]

    def all_offered(self) -> bool:
        return all(self.peers(need) for need in self.needs)

    def call_ik(self, need: Need, endpoint, timeout: float) -> str:
        """'' when the IK service solves the arm's current pose, else what went wrong."""
        from geometry_msgs.msg import PoseStamped

        client = self.node.create_client(need.type, need.name)
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                return f"not ready within {timeout:g} s"
            target = PoseStamped(pose=endpoint.pose)
            target.header.frame_id = self.config.robot.base_frame
            target.header.stamp = self.node.get_clock().now().to_msg()
            future = client.call_async(need.type.Request(pose_stamp=[target]))
            self.executor.spin_until_future_complete(future, timeout_sec=timeout)
            if not future.done():
                return f"no answer within {timeout:g} s"
            answer = future.result()
            if not answer.is_valid or not answer.is_valid[0]:
                return "no solution for the arm's current pose (from its endpoint_state)"
            return ""
        finally:
            self.node.destroy_client(client)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def real_only_nodes():
    """The nodes a real robot's graph adds to what the robot offers (e.g. ``camera_pose``):
    the check starts them, so that it sees what the collection run will."""
    from supersize_grasp.graph import collect_graph

    return [
        s
        for s in collect_graph()
        if s.starts({"simulated": False}) and not s.starts({"simulated": True})
    ]


def run(config: Config, timeout: float, out: Callable[[str], None] = print) -> int:
    """Checks the robot's side for the collection graph; prints a table and one line per
    problem; returns 1 when there is any, else 0."""
    from supersize_grasp.launcher import GraphProcess
    from supersize_grasp.rclpy_compat import initialized

    window = config.preflight.window
    helpers = [] if config.robot.use_sim_time else real_only_nodes()
    clock = "simulated time (/clock)" if config.robot.use_sim_time else "wall clock"
    out(
        f"preflight of the robot's side on {clock}: waiting up to {timeout:g} s for every "
        f"topic and service, then sampling {window:g} s"
        + (f"; started {', '.join(s.name for s in helpers)}" if helpers else "")
    )
    wanted = needs(config)
    graph = GraphProcess(helpers, config=config, arguments={"simulated": False})
    try:
        with initialized():
            probe = Probe(config, wanted)
            try:
                start = time.monotonic()
                while time.monotonic() - start < timeout and not probe.all_offered():
                    probe.spin(0.25)
                probe.spin(window)
                rows, checks = _judge(config, probe, timeout)
            finally:
                probe.close()
    finally:
        exited = [(s.name, graph.processes[s.name].poll()) for s in graph.specs]
        graph.shutdown()
    problems = [r.problem for r in rows if r.problem]
    problems += [
        f"the {name} node (started for the check) exited with {code}: see its message above"
        for name, code in exited
        if code is not None
    ]
    problems += [problem for _, _, problem in checks if problem]
    width = max(len(r.need.name) for r in rows)
    kind = max(len(r.need.type_name) for r in rows)
    for r in rows:
        name, type_ = f"{r.need.name:<{width}}", f"{r.need.type_name:<{kind}}"
        out(f"  {'FAIL' if r.problem else 'ok  '} {name}  {type_}  {r.state}")
    for what, finding, problem in checks:
        out(f"  {'FAIL' if problem else 'ok  '} {what}: {finding}")
    if problems:
        out(f"{len(problems)} problem{'s' * (len(problems) > 1)}:")
        for problem in problems:
            out(f"  {problem}")
        return 1
    out("no problems: the robot's side offers what the collection graph needs")
    return 0


def _judge(config: Config, probe: Probe, timeout: float):
    bounds = None
    if not config.robot.use_sim_time:
        bounds = {
            "preflight.max_clock_skew": config.preflight.max_clock_skew,
            "camera.max_clock_skew": config.camera.max_clock_skew,
        }
    robot, camera = config.robot, config.camera
    now, window = time.monotonic(), config.preflight.window
    rows = []
    for need in probe.needs:
        found = probe.peers(need)
        if need.offered_by != SERVICE:
            stream = probe.streams.get(need.name, Stream())
            rows.append(judge_stream(need, found, stream, now, window, bounds))
            continue
        answer = None
        side = next(
            (s for s in config.arms.active() if need.name == robot.topic(robot.ik_service, s)),
            None,
        )
        endpoint = (
            probe.streams[robot.topic(robot.endpoint_state_topic, side)].last if side else None
        )
        if found and endpoint is not None:
            answer = probe.call_ik(need, endpoint, timeout)
        rows.append(judge_service(need, found, answer))
    last = {name: stream.last for name, stream in probe.streams.items()}
    state, problem = robot_state(last[robot.state_topic])
    checks = [("robot", state, problem)]
    for side in config.arms.active():
        state, problem = gripper_state(side, last[robot.topic(robot.gripper_state_topic, side)])
        checks.append((f"{side} gripper", state, problem))
    checks += judge_camera(
        config,
        last[camera.image_topic],
        last[camera.depth_topic],
        last[camera.info_topic],
        last[camera.pose_topic],
    )
    return rows, checks
