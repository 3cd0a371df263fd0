"""The simulated Baxter as a ROS 2 node: the Baxter SDK's topics and services over ``BaxterWorld``.

A behaviour tree cannot tell it from the real robot behind ros1_bridge: same names, same
``baxter_core_msgs`` types, same units. Simulation time is published on ``/clock`` (at the
trees' tick rate, ``simulator.ros.clock_rate``); the physics runs in its own thread as fast as
it can (or at ``simulator.ros.real_time_factor``), but no further ahead of the behaviour trees
than ``simulator.ros.lockstep_lead`` (``Lockstep``). States go out at the robot's rates in
simulated time, at most ``simulator.ros.max_state_rate_wall`` a wall second each, and at once
when a flag a client waits for changes (see ``Pace``).

Node name: ``sim_baxter``; its joint and gripper commands and the trees' ticks arrive on
``sim_baxter_control``, which the physics thread reads once a control period, as the robot's
control loop (and waits on while a tree holds it back: no executor callback for them).
Publishers: ``/clock``; ``/robot/state`` (AssemblyState); ``/robot/joint_states``;
    ``/robot/limb/<side>/endpoint_state``; ``/robot/end_effector/<side>_gripper/state`` and
    ``.../properties``; the head camera as ``/kinect2/hd/image_color_rect`` (rgb8),
    ``.../image_depth_rect`` (16UC1, mm, like iai_kinect2), ``.../camera_info`` (the 1920 x 1080
    image's, with the rendered crop as its roi) and ``.../camera_pose`` (optical frame in
    ``base``); ``/cameras/<side>_hand_camera/image``.
Subscribers: ``/robot/set_super_enable`` (Bool), ``/robot/set_super_reset`` and
    ``/robot/set_super_stop`` (Empty), ``/robot/limb/<side>/joint_command``,
    ``/robot/end_effector/<side>_gripper/command``, ``~/estop_button`` (Bool: the red button),
    ``trial.tick_topic`` (``/trial_tree/tick``, Header: the trees it keeps in step with, see
    ``Lockstep``).
Services: ``/ExternalTools/<side>/PositionKinematicsNode/IKService`` (SolvePositionIK),
    ``~/reset_scene`` (Trigger: a new clutter of objects), ``learning.oracle_service``
    (``/sim_baxter/oracle``, ScoreGrasps: the oracle policy's ground-truth choice).
With ``simulator.ros.stand_in: real`` it looks like the real robot behind ros1_bridge instead:
stamps on the wall clock, real-time pace, and none of what only a simulator offers (``/clock``,
the lockstep, ``~/reset_scene``, the oracle, the camera pose) nor the IK service (the SDK's does
not cross ros1_bridge: the real graphs' ``baxter_ik`` node answers): the real profile runs against
it unchanged (``StandIn``).
In a robot's namespace (a fleet's ``/baxter_0``) every one of these names is under it; the
runner remaps ``/clock`` there too (:mod:`supersize_grasp.fleet`).

Parameters: ``config_file`` and every field of the ``simulator``, ``robot``, ``camera``, ``arms``,
    ``trial``, ``learning`` and ``calibration`` sections (``simulator.calibration_marker`` mounts
    ``calibration.board`` on the ``calibration.side`` gripper; ``simulator.seed``,
    ``simulator.ros.real_time_factor``, ...).
"""

from __future__ import annotations

import contextlib
import json
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import rclpy
from baxter_core_msgs.msg import (
    AssemblyState,
    EndEffectorCommand,
    EndEffectorProperties,
    EndEffectorState,
    EndpointState,
    JointCommand,
)
from baxter_core_msgs.srv import SolvePositionIK
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Empty, Header
from std_srvs.srv import Trigger
from supersize_grasp_interfaces.srv import ScoreGrasps

from supersize_grasp.fleet import namespaced
from supersize_grasp.ik_service import IKAnswer, IKTarget, ik_response, ik_targets, solve_target
from supersize_grasp.msgs import (
    camera_info,
    camera_model,
    candidate_pixels,
    check_inside,
    depth_to_image,
    endpoint_state,
    pose_message,
    rgb_to_image,
)
from supersize_grasp.nodes.parameters import load_node_config
from supersize_grasp.nodes.spin import run_node
from supersize_grasp.qos import LATCHED, TICKS
from supersize_grasp.simulator.camera import CameraIntrinsics
from supersize_grasp.simulator.contacts import trial_object
from supersize_grasp.simulator.errors import CommandRejectedError
from supersize_grasp.simulator.pacing import Job, Lockstep, Pace
from supersize_grasp.simulator.world import BaxterWorld

SIDES = ("left", "right")
GRIPPER_HARDWARE_ID = 65538  # Baxter's electric gripper reports this id
CAMERA_FRAME = "kinect2_rgb_optical_frame"
_COMMANDS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# s (wall) at most between two looks of the physics thread at the lockstep while it waits for a
# tree: a tree silent for simulator.ros.lockstep_timeout stops holding it back
LOCKSTEP_WAIT = 0.05


class StandIn:
    """What differs when the simulator stands in for the real robot: whose clock stamps."""

    def __init__(self, ros) -> None:
        self.real = ros.stand_in == "real"
        self.real_time_factor = 1.0 if self.real else ros.real_time_factor
        self.camera_offset = ros.camera_clock_offset

    def robot(self, sim_now: float) -> Time:
        """A robot state's stamp: the real robot's computer stamps with its wall clock."""
        return stamp(time.time() if self.real else sim_now)

    def camera(self, sim_now: float) -> Time:
        """A head-camera frame's stamp, on the camera computer's clock (``camera_offset``)."""
        return stamp((time.time() if self.real else sim_now) + self.camera_offset)


def stamp(seconds: float) -> Time:
    whole = math.floor(seconds)
    return Time(sec=int(whole), nanosec=min(round((seconds - whole) * 1e9), 999_999_999))


class SimulatedBaxter(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("sim_baxter", **kwargs)
        config = load_node_config(
            self, ["simulator", "robot", "camera", "arms", "trial", "learning", "calibration"]
        )
        self.config = config
        self.ros = config.simulator.ros
        self.stand_in = StandIn(self.ros)
        marker = None
        if config.simulator.calibration_marker:
            from supersize_grasp.calibration.board import Board

            marker = Board(config.calibration.board).marker(config.calibration.side)
        self.world = BaxterWorld(config.simulator, marker=marker)
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._running = True
        self.failed = False
        self._estop_button = False
        self._last_errors: dict[str, str] = {}
        self._gripper_command = {s: EndEffectorCommand() for s in SIDES}
        self._oracle = None
        self.lockstep = Lockstep(self.ros.lockstep_lead, self.ros.lockstep_timeout)
        self.world.reset_scene(split=self.ros.split)
        self.world.enable(self.ros.start_enabled)
        self._make_interface()
        self._physics = threading.Thread(target=self._run_physics, name="physics", daemon=True)
        self._physics.start()
        self.get_logger().info(
            f"simulated Baxter ready: {len(self.world.objects())} objects, seed "
            f"{self.world.seed}, robot {'enabled' if self.world.enabled else 'disabled'}"
        )

    # ---- ROS interface ----------------------------------------------------------------------
    def _make_interface(self) -> None:
        robot, camera = self.config.robot, self.config.camera
        self.clock_pub = None if self.stand_in.real else self.create_publisher(Clock, "/clock", 10)
        self.state_pub = self.create_publisher(AssemblyState, robot.state_topic, 10)
        self.joint_pub = self.create_publisher(JointState, robot.joint_states_topic, 10)
        self.endpoint_pubs = {
            s: self.create_publisher(EndpointState, robot.topic(robot.endpoint_state_topic, s), 10)
            for s in SIDES
        }
        self.gripper_pubs = {
            s: self.create_publisher(
                EndEffectorState, robot.topic(robot.gripper_state_topic, s), 10
            )
            for s in SIDES
        }
        # The robot's control loop reads its command topics once a control period: the physics
        # thread takes them from a node no executor spins, so a command acts at the next period
        # instead of waiting for an executor thread and the GIL (milliseconds, i.e. tens of
        # simulated milliseconds when faster than real time).
        self._control = Node(
            f"{self.get_name()}_control",
            namespace=self.get_namespace(),
            context=self.context,
            use_global_arguments=False,  # the process's `__node:=` remap is this node's
            start_parameter_services=False,
        )
        # Wakes the physics thread while it waits for a tree's tick: work was queued for it.
        self._wake = self._control.create_guard_condition(lambda: None)
        self._wait_set = None  # the physics thread's, made there
        for side in SIDES:
            properties_topic = robot.topic(robot.gripper_state_topic, side).rsplit("/", 1)[0]
            pub = self.create_publisher(
                EndEffectorProperties, f"{properties_topic}/properties", LATCHED
            )
            pub.publish(self._gripper_properties())
            self._control.create_subscription(
                JointCommand,
                robot.topic(robot.joint_command_topic, side),
                lambda msg, side=side: self._on_joint_command(side, msg),
                _COMMANDS,
            )
            self._control.create_subscription(
                EndEffectorCommand,
                robot.topic(robot.gripper_command_topic, side),
                lambda msg, side=side: self._on_gripper_command(side, msg),
                _COMMANDS,
            )
            if not self.stand_in.real:  # the real robot's IK does not cross ros1_bridge
                self.create_service(  # waits for the physics thread: its own group (see main)
                    SolvePositionIK,
                    robot.topic(robot.ik_service, side),
                    lambda req, resp, side=side: self._on_ik(side, req, resp),
                    callback_group=MutuallyExclusiveCallbackGroup(),
                )
        self.create_subscription(Bool, robot.enable_topic, self._on_enable, _COMMANDS)
        ns = self.get_namespace()
        reset, stop = (
            namespaced("/robot/set_super_reset", ns),
            namespaced("/robot/set_super_stop", ns),
        )
        self.create_subscription(Empty, reset, self._on_reset, _COMMANDS)
        self.create_subscription(Empty, stop, self._on_stop, _COMMANDS)
        self.create_subscription(Bool, "~/estop_button", self._on_estop_button, _COMMANDS)
        if not self.stand_in.real:
            self._make_simulator_interface()
        sensor = qos_profile_sensor_data
        self.image_pub = self.create_publisher(Image, camera.image_topic, sensor)
        self.depth_pub = self.create_publisher(Image, camera.depth_topic, sensor)
        self.info_pub = self.create_publisher(CameraInfo, camera.info_topic, sensor)
        self.camera_pose_pub = None
        if not self.stand_in.real:
            self.camera_pose_pub = self.create_publisher(PoseStamped, camera.pose_topic, LATCHED)
        self.hand_pubs = {
            s: self.create_publisher(
                Image, namespaced(f"/cameras/{s}_hand_camera/image", ns), sensor
            )
            for s in SIDES
        }

    def _make_simulator_interface(self) -> None:
        """What only a simulator offers: a new clutter, the lockstep and the oracle."""
        self.create_service(
            Trigger,
            "~/reset_scene",
            self._on_reset_scene,
            callback_group=MutuallyExclusiveCallbackGroup(),
        )
        if self.ros.lockstep:  # taken by the physics thread, with the commands
            self._control.create_subscription(
                Header, self.config.trial.tick_topic, self._on_tree_tick, TICKS
            )
        # The oracle's tries take seconds: its own group, so IK and commands go on meanwhile.
        self.create_service(
            ScoreGrasps,
            self.config.learning.oracle_service,
            self._on_oracle,
            callback_group=MutuallyExclusiveCallbackGroup(),
        )

    def _gripper_properties(self) -> EndEffectorProperties:
        return EndEffectorProperties(
            id=GRIPPER_HARDWARE_ID,
            ui_type=EndEffectorProperties.ELECTRIC_GRIPPER,
            manufacturer="supersize_grasp",
            product="Simulated Electric Parallel Gripper",
            has_calibration=True,
            controls_grip=True,
            senses_grip=True,
            controls_force=True,
            senses_force=True,
            controls_position=True,
            senses_position=True,
        )

    # ---- commands (executor thread) ---------------------------------------------------------
    def _submit(self, fn: Callable[[BaxterWorld], Any]) -> Job:
        """Queue ``fn(world)`` for the start of the next control period (as the robot's loop)."""
        job = Job(fn)
        self._jobs.put(job)
        self._wake.trigger()
        return job

    def _command(self, what: str, fn: Callable[[BaxterWorld], Any]) -> None:
        """A topic command: applied in order, refused commands are logged, never raised."""

        def guarded(world: BaxterWorld) -> None:
            try:
                fn(world)
            except (CommandRejectedError, ValueError, TypeError) as e:
                self._refuse(what, e)

        self._submit(guarded)

    def _refuse(self, what: str, error: Exception) -> None:
        """The real robot logs a refused command and goes on; so do we."""
        self._last_errors[what] = str(error)
        self.get_logger().warning(f"{what}: {error}", throttle_duration_sec=1.0)

    def _on_joint_command(self, side: str, msg: JointCommand) -> None:
        if msg.mode not in (JointCommand.POSITION_MODE, JointCommand.RAW_POSITION_MODE):
            self._refuse(f"{side} joint_command", ValueError(f"mode {msg.mode} not supported"))
            return
        names, positions = list(msg.names), list(msg.command)
        self._command(
            f"{side} joint_command",
            lambda world: world.arm(side).command_joint_positions(names, positions),
        )

    def _on_gripper_command(self, side: str, msg: EndEffectorCommand) -> None:
        what = f"{side} gripper {msg.command!r}"
        if msg.id != GRIPPER_HARDWARE_ID:
            self._refuse(
                what, ValueError(f"id {msg.id} is not this gripper ({GRIPPER_HARDWARE_ID})")
            )
            return
        try:
            args = json.loads(msg.args) if msg.args.strip() else {}
        except json.JSONDecodeError as e:
            self._refuse(what, ValueError(f"args are not JSON: {e}"))
            return
        if not isinstance(args, dict):
            self._refuse(what, ValueError(f"args must be a JSON object, got {msg.args!r}"))
            return

        def execute(world: BaxterWorld) -> None:
            world.gripper(side).execute(msg.command, args)
            self._gripper_command[side] = msg

        self._command(f"{side} gripper", execute)

    def _on_enable(self, msg: Bool) -> None:
        self._command("set_super_enable", lambda world: world.enable(msg.data))

    def _on_stop(self, _msg: Empty) -> None:
        self._command("set_super_stop", BaxterWorld.estop)

    def _on_reset(self, _msg: Empty) -> None:
        if self._estop_button:
            self._refuse(
                "set_super_reset", CommandRejectedError("the E-stop button is still pressed")
            )
            return
        self._command("set_super_reset", BaxterWorld.reset_estop)

    def _on_estop_button(self, msg: Bool) -> None:
        self._estop_button = msg.data
        if msg.data:
            self._command("E-stop button", BaxterWorld.estop)

    def _on_ik(self, side: str, request, response):
        """All poses of a request are solved in one job of the physics loop: one wait for its
        next period, not one per pose (a loaded machine made a trial's plan wait seconds)."""
        targets, problems = ik_targets(request, self.config.robot.base_frame)
        for problem in problems:
            self._refuse(f"{side} IK", ValueError(problem))

        def solve_all(world: BaxterWorld) -> list[IKAnswer]:
            def solve(t: IKTarget) -> tuple[bool, dict[str, float]]:
                return world.arm(side).solve_ik(t.position, t.orientation, t.seed)

            return [solve_target(solve, target) for target in targets]

        answers = self._submit(solve_all).wait()
        for answer in answers:
            if answer.error:
                self._refuse(f"{side} IK", ValueError(answer.error))
        return ik_response(response, targets, answers)

    def _on_oracle(self, request, response):
        """The oracle policy (ground truth, simulation only): tries the request's candidates on
        copies of the scene as it lies now, in a world of its own, and scores the grasp it
        chose by the share of its tries, as chosen and jittered, that lifted an object
        (``bulk/oracle.py``)."""
        from supersize_grasp.bulk.oracle import GraspOracle, score_candidates

        started = time.monotonic()  # building its world counts toward the limit
        try:
            camera = camera_model(request.camera_info, request.camera_pose)
            u, v = candidate_pixels(request)
            check_inside(u, v, camera)
            scene = self._submit(lambda world: world.scene_now()).wait()
            if self._oracle is None:  # a world of its own: built once, at the first choice
                self._oracle = GraspOracle(self.config, seed=self.world.seed)
            rng, bins = np.random.default_rng(request.seed), self.config.trial.num_angle_bins
            scores, choice = score_candidates(
                self._oracle,
                scene,
                camera,
                list(zip(u, v, strict=True)),
                bins,
                self.ros.oracle_budget,
                rng,
                self.ros.oracle_checks,
                (self.ros.oracle_jitter[0], math.radians(self.ros.oracle_jitter[1])),
                self.config.oracle_seconds - (time.monotonic() - started),
            )
        except ValueError as e:
            response.success, response.message = False, str(e)
            self.get_logger().warning(f"oracle refused a request: {e}")
            return response
        response.success, response.model_id = True, "oracle"
        response.message = (
            f"{f'lifted {choice.robustness:.0%} of its tries' if choice.lifted else 'no lift'} "
            f"after {choice.tried} candidates in {choice.seconds:.1f} s"
        )
        response.num_angle_bins = bins
        response.candidate_u, response.candidate_v = u.tolist(), v.tolist()
        response.scores = scores.ravel().tolist()
        return response

    def _on_tree_tick(self, msg: Header) -> None:
        t = msg.stamp.sec + msg.stamp.nanosec * 1e-9
        self.lockstep.tick(msg.frame_id, t, time.monotonic())

    def _on_reset_scene(self, _request, response):
        def reset(world: BaxterWorld) -> int:
            world.reset_scene(split=self.ros.split)
            return len(world.objects())

        n = self._submit(reset).wait(timeout=120.0)
        response.success, response.message = True, f"{n} objects dropped"
        return response

    # ---- physics and publishing (physics thread) --------------------------------------------
    def _run_physics(self) -> None:
        ros = self.ros
        cap = ros.max_state_rate_wall
        clock = Pace(ros.clock_rate or 1.0 / self.config.trial.tick_period, cap)
        joints = Pace(ros.state_rate, cap)
        grippers = {side: Pace(ros.state_rate, cap) for side in SIDES}
        robot_state = Pace(ros.robot_state_rate, cap)
        camera, refill = Pace(ros.camera_rate, ros.max_camera_rate_wall), Pace(1.0)
        wall_start, sim_start = time.monotonic(), self.world.time
        pace = self.stand_in.real_time_factor
        clock_sent = -math.inf
        viewer = None
        try:
            while self._running and rclpy.ok(context=self.context):
                self._take_commands()
                while not self._jobs.empty():
                    self._jobs.get_nowait().run(self.world)
                limit = self.lockstep.limit(time.monotonic())
                if limit is not None and self.world.time >= limit:
                    if clock_sent < self.world.time:  # the tree ticks when it sees the time
                        clock_sent = self.world.time
                        self.clock_pub.publish(Clock(clock=stamp(clock_sent)))
                    self._await_control(LOCKSTEP_WAIT)
                    continue
                self.world.step(self.world.control_period)
                now, wall = self.world.time, time.monotonic()
                if self.clock_pub and clock.due(now, wall):
                    clock_sent = now
                    self.clock_pub.publish(Clock(clock=stamp(now)))
                if joints.due(now, wall):
                    self._publish_joint_states(now)
                for side in SIDES:
                    flags = self._gripper_flags(side)
                    if grippers[side].due(now, wall, flags):
                        self._publish_gripper_state(side, now, flags)
                flags = self._robot_state_flags()
                if robot_state.due(now, wall, flags):
                    self._publish_robot_state(flags)
                if self._camera_watched() and camera.due(now, wall):  # due from a capture's start
                    self._publish_cameras(now)
                refill_due = ros.auto_refill and refill.due(now, wall)
                if refill_due and self.world.refill_if_needed(split=ros.split):
                    self.get_logger().info("table refilled with a new clutter")
                if ros.viewer:
                    viewer = self._sync_viewer(viewer)
                if pace > 0:
                    ahead = (now - sim_start) / pace - (wall - wall_start)
                    if ahead > 0:
                        time.sleep(ahead)
        except Exception as e:  # the node must exit, not hang without physics
            if not self._running or not rclpy.ok(context=self.context):
                return  # shutting down: publishers went away under us
            self.failed = True
            self.get_logger().fatal(f"physics stopped: {type(e).__name__}: {e}")
            rclpy.try_shutdown(context=self.context)
        finally:
            if viewer is not None:
                viewer.close()
            self.world.close()  # GL contexts belong to the thread that made them

    def _await_control(self, timeout: float) -> None:
        """Sleep until a command or a tree's tick arrives, work is queued (``_submit``) or
        ``timeout`` s pass, whichever is first: the physics thread waits for the trees without
        polling, and no executor callback is spent on their ticks (one a tick per tree, each of
        which cost the executor thread a rebuild of its wait set over all of this node's
        entities)."""
        subscriptions = list(self._control.subscriptions)
        if self._wait_set is None:
            self._wait_set = _rclpy.WaitSet(len(subscriptions), 1, 0, 0, 0, 0, self.context.handle)
        wait_set = self._wait_set
        with contextlib.ExitStack() as handles:
            wait_set.clear_entities()
            for subscription in subscriptions:
                handles.enter_context(subscription.handle)
                wait_set.add_subscription(subscription.handle)
            handles.enter_context(self._wake.handle)
            wait_set.add_guard_condition(self._wake.handle)
            wait_set.wait(round(timeout * 1e9))

    def _take_commands(self) -> None:
        """Every joint and gripper command that arrived, in order, queued for this period, and
        the trees' ticks (``Lockstep``).

        Taken the way rclpy's own ``wait_for_message`` takes a message (``handle.take_message``),
        not with an executor's ``spin_once(timeout_sec=0)``: measured here, that costs 158 us a
        call with nothing to take against 6.5 us for taking from all four subscriptions, and the
        physics loop asks once every control period.
        """
        for subscription in self._control.subscriptions:
            while True:
                with subscription.handle:
                    taken = subscription.handle.take_message(
                        subscription.msg_type, subscription.raw
                    )
                if taken is None:
                    break
                subscription.callback(taken[0])

    def _sync_viewer(self, viewer):
        import mujoco.viewer

        if viewer is None or viewer.m is not self.world.model:
            if viewer is not None:
                viewer.close()
            viewer = mujoco.viewer.launch_passive(self.world.model, self.world.data)
        viewer.sync()
        return viewer

    def _publish_joint_states(self, now: float) -> None:
        """Joint and endpoint states; a topic nobody listens to costs nothing (its message is
        not even built), so a bare simulator spends its time on physics."""
        t = self.stand_in.robot(now)
        world = self.world
        if self.joint_pub.get_subscription_count():
            joints = JointState(
                name=list(world.joint_names),
                position=world.joint_positions().tolist(),
                velocity=world.joint_velocities().tolist(),
                effort=world.joint_efforts().tolist(),
            )
            joints.header.stamp = t
            self.joint_pub.publish(joints)
        for side in SIDES:
            if not self.endpoint_pubs[side].get_subscription_count():
                continue
            arm = world.arm(side)
            pose = arm.endpoint_pose()
            msg = EndpointState()
            msg.header.stamp, msg.header.frame_id = t, self.config.robot.base_frame
            endpoint_state(
                msg, pose.position, pose.orientation, arm.endpoint_twist(), arm.endpoint_wrench()
            )
            self.endpoint_pubs[side].publish(msg)

    def _gripper_flags(self, side: str) -> tuple:
        g = self.world.gripper(side)
        return (
            self.world.is_commandable(),
            g.calibrated,
            g.ready,
            g.moving,
            g.gripping,
            g.missed,
            g.error,
            self._gripper_command[side].sequence,
        )

    def _publish_gripper_state(self, side: str, now: float, flags: tuple) -> None:
        if not self.gripper_pubs[side].get_subscription_count():
            return
        enabled, calibrated, ready, moving, gripping, missed, error, _ = flags
        g = self.world.gripper(side)
        command = self._gripper_command[side]
        # Ground truth for the trial's record, from a grip until the fingers open again.
        state = {"trial_object": trial_object(self.world, side) if g.closing else ""}
        if self._last_errors.get(f"{side} gripper"):
            state["last_error"] = self._last_errors[f"{side} gripper"]
        msg = EndEffectorState(
            timestamp=self.stand_in.robot(now),
            id=GRIPPER_HARDWARE_ID,
            enabled=int(enabled),
            calibrated=int(calibrated),
            ready=int(ready),
            moving=int(moving),
            gripping=int(gripping),
            missed=int(missed),
            error=int(error),
            reverse=EndEffectorState.STATE_FALSE,
            position=float(g.position),
            force=float(g.force),
            state=json.dumps(state),
            command=command.args,
            command_sender=command.sender,
            command_sequence=command.sequence,
        )
        self.gripper_pubs[side].publish(msg)

    def _robot_state_flags(self) -> tuple:
        world = self.world
        return (world.is_commandable(), world.enabled, world.stopped, self._estop_button)

    def _publish_robot_state(self, flags: tuple) -> None:
        ready, enabled, stopped, button = flags
        msg = AssemblyState(ready=ready, enabled=enabled, stopped=stopped)
        if stopped:
            msg.estop_button = (
                AssemblyState.ESTOP_BUTTON_PRESSED
                if button
                else AssemblyState.ESTOP_BUTTON_RELEASED
            )
            msg.estop_source = AssemblyState.ESTOP_SOURCE_USER
        self.state_pub.publish(msg)

    def _camera_watched(self) -> bool:
        # Only images cost a render; a recorder listening to camera_info alone must not
        # make the camera run (it gets camera_info with the frames someone asked for).
        pubs = [self.image_pub, self.depth_pub]
        if self.ros.hand_cameras:
            pubs += list(self.hand_pubs.values())
        return any(p.get_subscription_count() > 0 for p in pubs)

    def _camera_info(self, crop: CameraIntrinsics) -> CameraInfo:
        """The full HD image's size and intrinsics with the rendered crop as its ``roi``."""
        cam = self.world.config.camera
        x, y, width, height = cam.crop_window
        full = CameraIntrinsics(crop.fx, crop.fy, crop.cx + x, crop.cy + y, cam.width, cam.height)
        cropped = (width, height) != (cam.width, cam.height)
        return camera_info(full, roi=(x, y, width, height) if cropped else None)

    def _publish_cameras(self, now: float) -> None:
        t = self.stand_in.camera(now)  # the exposure's time, before the render
        frame = self.world.render_head_camera()
        rgb, depth = rgb_to_image(frame.rgb), depth_to_image(frame.depth)
        info = self._camera_info(frame.intrinsics)
        for msg in (rgb, depth, info):
            msg.header.stamp, msg.header.frame_id = t, CAMERA_FRAME
        if self.camera_pose_pub is not None:
            pose = PoseStamped(pose=pose_message(frame.position, frame.rotation))
            pose.header.stamp, pose.header.frame_id = t, self.config.robot.base_frame
            self.camera_pose_pub.publish(pose)
        self.image_pub.publish(rgb)
        self.depth_pub.publish(depth)
        self.info_pub.publish(info)
        if self.ros.hand_cameras:
            for side in SIDES:
                hand = self.world.render_hand_camera(side)
                msg = rgb_to_image(hand.rgb)
                msg.header.stamp, msg.header.frame_id = t, f"{side}_hand_camera"
                self.hand_pubs[side].publish(msg)

    def destroy_node(self) -> None:
        self._running = False
        if hasattr(self, "_wake"):
            self._wake.trigger()
        if hasattr(self, "_physics") and self._physics.is_alive():
            self._physics.join(timeout=5.0)
        if getattr(self, "_oracle", None) is not None:
            self._oracle.close()
        if hasattr(self, "_control"):
            self._control.destroy_node()
        super().destroy_node()


def main(args=None) -> None:
    # A thread for each service that waits on the physics thread (the oracle's tries, IK of
    # either arm, a new clutter: each its own callback group), so none holds up the others or
    # the commands and state subscriptions, and one for everything else.
    node = run_node(SimulatedBaxter, args, lambda: MultiThreadedExecutor(num_threads=5))
    if node is not None and node.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
