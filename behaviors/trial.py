"""The self-supervised grasp trial (the paper, section III) as py_trees behaviours and subtrees.

One trial: park the arm out of view, capture the head image, find regions of interest (MOG),
choose a grasp (x, y, theta), move 25 cm above it, descend, grip, lift 20 cm, label from the
gripper, log, put the object back at a random spot, and start again. ``trial_subtree`` builds it
for one arm with a pluggable grasp chooser; ``collection_tree`` runs both arms at once.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import py_trees
from baxter_core_msgs.msg import EndEffectorCommand, EndEffectorState
from geometry_msgs.msg import PoseStamped
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_srvs.srv import Trigger
from supersize_grasp_interfaces.msg import TrialRecord

from supersize_grasp.config import Config
from supersize_grasp.config.arms import ARM_JOINTS
from supersize_grasp.dataset.store import Trial
from supersize_grasp.models.scores import GraspScores
from supersize_grasp.qos import LATCHED

from .regions import Region, RegionFinder
from .robot import (
    READ,
    WRITE,
    CalibrateGripper,
    Deadline,
    GripperCommand,
    MoveJoints,
    RobotBehaviour,
    SolveIK,
    Status,
    gripper_key,
)
from .scene import Scene, scene_from_messages
from .trial_plan import (
    Motion,
    camera_record,
    is_success,
    label_message,
    plan_trial,
    put_down_spot,
    sample_random_grasp,
    trial_motions,
    trial_record,
)

PATHS = ("above", "down", "up")  # every plan: move above, go down, come back up


@dataclass
class Grasp:
    """A chosen planar grasp: pixel, table point, angle, and where it came from."""

    u: float
    v: float
    x: float
    y: float
    theta: float
    roi: Region
    score: float = float("nan")
    attempts: int = 1  # samples drawn for this trial, IK failures included
    scores: GraspScores | None = field(default=None, repr=False)  # learned choosers: the heat map


@dataclass
class TrialState:
    """What one arm's current trial has gathered so far (written by several behaviours)."""

    started: float
    phase_started: float
    timings: dict[str, float] = field(default_factory=dict)
    ik_failures: int = 0
    outcome: str = ""
    success: bool = False
    force: float = 0.0
    gripper_position: float = 0.0
    object_id: str = ""
    message: str = ""


def key(side: str, name: str) -> str:
    return f"/{side}/{name}"


class TrialBehaviour(RobotBehaviour):
    """A step of one arm's trial: it knows the configuration and times itself into the trial."""

    def __init__(self, name, side, config: Config, read=(), write=()) -> None:
        super().__init__(name, config.robot, read=read, write=write, side=side)
        self.config = config


class StartTrial(RobotBehaviour):
    """A fresh trial state, and no grasp: the last trial's must never be logged with this one."""

    def __init__(self, side: str, config: Config) -> None:
        super().__init__(
            "Start trial", config.robot, write=[key(side, "trial"), key(side, "grasp")]
        )
        self.side = side

    def update(self) -> Status:
        now = self.now()
        self.bb.set(key(self.side, "trial"), TrialState(started=now, phase_started=now), True)
        self.bb.set(key(self.side, "grasp"), None, True)
        return Status.SUCCESS


class CaptureScene(TrialBehaviour):
    """Listens to the head camera only while capturing, for one fresh, consistent frame.

    A frame counts when colour, depth and camera info share a stamp taken after the capture
    began (the arm has parked by then). Streams are subscribed in ``initialise`` and dropped in
    ``terminate``: a simulated camera renders only while someone listens.
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
            if len(stamps) == 1 and stamp >= self._started:
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
    """MOG background subtraction in this arm's half of the table; FAILURE when it is empty."""

    def __init__(self, side: str, config: Config) -> None:
        super().__init__(
            "Find regions", side, config, read=[key(side, "scene")], write=[key(side, "regions")]
        )
        self.finder = RegionFinder(config.trial.roi, config.trial.table_z)
        self.workspace = getattr(config.arms, side).workspace

    def update(self) -> Status:
        scene: Scene = self.read(key(self.side, "scene"))
        regions, _ = self.finder.find(scene.rgb, scene.depth, scene.camera, self.workspace)
        self.bb.set(key(self.side, "regions"), regions, overwrite=True)
        if not regions:
            self.feedback_message = "no object in this arm's half of the table"
            return Status.FAILURE
        self.feedback_message = f"{len(regions)} regions"
        return Status.SUCCESS


class ChooseRandomGrasp(TrialBehaviour):
    """The paper's random trial: random region, pixel uniform in it, theta uniform in [0, pi)."""

    def __init__(self, side: str, config: Config, seed: int) -> None:
        super().__init__(
            "Choose random grasp",
            side,
            config,
            read=[key(side, "scene"), key(side, "regions"), key(side, "grasp")],
            write=[key(side, "grasp")],
        )
        self.rng = np.random.default_rng(seed)

    def update(self) -> Status:
        scene: Scene = self.read(key(self.side, "scene"))
        regions: list[Region] = self.read(key(self.side, "regions"))
        trial: TrialState = self.read(key(self.side, "trial"))
        g = sample_random_grasp(self.rng, regions, scene.camera, self.config.trial)
        grasp = Grasp(g.u, g.v, g.x, g.y, g.theta, g.region, attempts=trial.ik_failures + 1)
        self.bb.set(key(self.side, "grasp"), grasp, overwrite=True)
        self.feedback_message = f"({g.x:.3f}, {g.y:.3f}) m, {math.degrees(g.theta):.0f} deg"
        return Status.SUCCESS


class PlanGrasp(SolveIK):
    """IK for the whole trial's plan (``plan_trial``): above, the descent and the lift."""

    def __init__(self, side: str, config: Config) -> None:
        self.config, self.side = config, side
        super().__init__(
            "Plan grasp",
            side,
            config.robot,
            self._poses,
            key(side, "plan"),
            PATHS,
            timeout=config.trial.motion_timeout,
        )
        self.bb.register_key(key(side, "grasp"), access=READ)

    def _poses(self):
        g: Grasp = self.bb.get(key(self.side, "grasp"))
        return plan_trial(self.config.trial, g.x, g.y, g.theta).paths()

    def update(self) -> Status:
        status = super().update()
        if status == Status.FAILURE:
            self.bb.get(key(self.side, "trial")).ik_failures += 1
        return status


class LabelTrial(TrialBehaviour):
    """After the lift, waits ``trial.label_settle`` and labels the trial from the gripper's
    state by the one rule (:func:`~.trial_plan.is_success`). Only a state that arrived after the
    settling time counts: a label is measured, never read from a silent gripper; FAILURE (the
    trial is logged as aborted) when none comes within ``trial.motion_timeout``.
    """

    def __init__(self, side: str, config: Config) -> None:
        super().__init__("Label from gripper", side, config, read=[gripper_key(side)])
        self.settle = config.trial.label_settle

    def initialise(self) -> None:
        super().initialise()
        self.settling_state = self.read(gripper_key(self.side))

    def update(self) -> Status:
        waited = self.now() - self._started
        state: EndEffectorState | None = self.read(gripper_key(self.side))
        if waited < self.settle:
            self.settling_state = state
            self.feedback_message = "letting a slipping object fall"
            return Status.RUNNING
        if state is None or state is self.settling_state:
            if waited > self.settle + self.config.trial.motion_timeout:
                self.feedback_message = "no gripper state after the lift: not labelled"
                return Status.FAILURE
            self.feedback_message = "waiting for a gripper state after settling"
            return Status.RUNNING
        trial: TrialState = self.read(key(self.side, "trial"))
        trial.success = is_success(
            state.gripping == 1, state.force, state.position, self.config.robot.label
        )
        trial.outcome = "success" if trial.success else "failure"
        trial.force, trial.gripper_position = float(state.force), float(state.position)
        trial.object_id = _trial_object(state)
        self.feedback_message = trial.message = label_message(
            trial.outcome, state.force, state.position
        )
        return Status.SUCCESS


def _trial_object(state: EndEffectorState) -> str:
    """The simulator names the trial's object in the state's JSON (held, else the one below the
    gripper: ``simulator.contacts.trial_object``); a real gripper does not."""
    try:
        info = json.loads(state.state or "{}")
    except ValueError:
        return ""
    return str(info.get("trial_object") or "") if isinstance(info, dict) else ""


class TrialLog:
    """Where finished trials go: the crash-safe store (on a writer thread) and ``/trials``.

    Counts the labelled trials of this run against ``quota`` (0: no limit).
    """

    def __init__(self, store, session_id: str, stage: int, quota: int, publish=None) -> None:
        self.store, self.session_id, self.stage, self.quota = store, session_id, stage, quota
        self.publish = publish
        self.labelled = self.successes = self.unlabelled = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trial-writer")

    def done(self) -> bool:
        return self.quota > 0 and self.labelled >= self.quota

    def submit(self, record_fn: Callable[[], int]) -> Future:
        return self._writer.submit(record_fn)

    def count(self, outcome: str) -> None:
        if outcome in ("success", "failure"):
            self.labelled += 1
            self.successes += outcome == "success"
        else:
            self.unlabelled += 1

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    def __str__(self) -> str:
        rate = self.successes / self.labelled if self.labelled else 0.0
        return f"{self.labelled}/{self.quota or 'inf'} trials, {rate:.1%} success"


class GripperHistory(py_trees.behaviour.Behaviour):
    """Keeps the last ``seconds`` of one gripper's (time, position, force), one sample per tick.

    Ticked in the topics-to-blackboard branch after the gripper state's ``ToBlackboard``.
    """

    def __init__(self, side: str, config: Config, seconds: float = 60.0) -> None:
        super().__init__(f"Gripper history {side}")
        self.side = side
        ticks = seconds / config.trial.tick_period
        self.samples: deque[tuple[float, float, float]] = deque(maxlen=int(ticks) + 1)
        self.bb = self.attach_blackboard_client(self.name)
        self.bb.register_key(gripper_key(side), access=READ)
        self.bb.register_key(key(side, "gripper_history"), access=WRITE)
        self.bb.set(key(side, "gripper_history"), self.samples, overwrite=True)

    def update(self) -> Status:
        state = (
            self.bb.get(gripper_key(self.side)) if self.bb.exists(gripper_key(self.side)) else None
        )
        if state is None:
            self.feedback_message = "no gripper state"
            return Status.RUNNING
        t = state.timestamp.sec + state.timestamp.nanosec * 1e-9
        if self.samples and t < self.samples[-1][0]:  # a restarted robot's clock starts again
            self.samples.clear()
        if not self.samples or self.samples[-1][0] < t:
            self.samples.append((t, float(state.position), float(state.force)))
        self.feedback_message = "recording"
        return Status.SUCCESS


class LogTrial(TrialBehaviour):
    """Writes the trial (and its scene capture) to the store, then publishes it on ``/trials``.

    The write runs on the log's writer thread; RUNNING until it is committed. Only trials that
    reached a label (or ran out of reachable samples, ``ik_failed``) are logged, once each.
    """

    def __init__(
        self,
        side: str,
        config: Config,
        log: TrialLog,
        chooser: str,
        seed: int,
        outcome: str | None = None,
        name: str = "Log trial",
    ) -> None:
        super().__init__(
            name,
            side,
            config,
            read=[key(side, "scene"), key(side, "grasp"), key(side, "gripper_history")],
        )
        self.log, self.chooser, self.seed, self.outcome = log, chooser, seed, outcome
        self.future: Future | None = None

    def initialise(self) -> None:
        super().initialise()
        self.future = None

    def update(self) -> Status:
        trial: TrialState = self.read(key(self.side, "trial"))
        if self.future is None and self.read(key(self.side, "grasp")) is None:
            self.feedback_message = "no grasp was chosen: no trial to log"
            return Status.FAILURE
        if self.future is None:
            if self.outcome is not None:
                trial.outcome = self.outcome
                last_step = next(reversed(trial.timings), "start")
                trial.message = {
                    "ik_failed": f"no reachable grasp in {trial.ik_failures} samples",
                    "aborted": f"aborted after '{last_step}'",
                }.get(self.outcome, self.outcome)
            self.future = self.log.submit(self._writer(trial))
        if not self.future.done():
            self.feedback_message = "writing"
            return Status.RUNNING
        error = self.future.exception()
        if error is not None:
            self.feedback_message = f"could not store the trial: {error}"
            self.node.get_logger().error(self.feedback_message)
            return Status.FAILURE
        trial_id = self.future.result()
        self.log.count(trial.outcome)
        if self.log.publish is not None:
            self.log.publish(self._message(trial_id, trial))
        self.feedback_message = f"trial {trial_id}: {trial.outcome} ({self.log})"
        return Status.SUCCESS

    def _writer(self, trial: TrialState) -> Callable[[], int]:
        """Everything copied now, in the tick; the returned function runs on the writer thread."""
        scene: Scene = self.read(key(self.side, "scene"))
        grasp: Grasp = self.read(key(self.side, "grasp"))
        log, stamp = self.log, self.now()
        samples = self.read(key(self.side, "gripper_history")) or []
        # No upper bound: a gripper state may be stamped ahead of the /clock this node has seen
        # (GripperHistory itself starts again when a restarted robot's clock goes back).
        history = [s for s in samples if s[0] >= trial.started]
        intrinsics, pose = camera_record(scene.camera)
        self.record = record = dict(
            session_id=log.session_id,
            **trial_record(
                self.config,
                stage=log.stage,
                arm=self.side,
                chooser=self.chooser,
                outcome=trial.outcome,
                roi=grasp.roi,
                pixel=(grasp.u, grasp.v),
                grasp=(grasp.x, grasp.y, grasp.theta),
                force=trial.force,
                gripper_position=trial.gripper_position,
                gripper_history=history,
                timings={
                    **trial.timings,
                    "total": stamp - trial.started,
                    "ik_failures": trial.ik_failures,
                },
                seed=self.seed,
                object_id=trial.object_id,
                message=trial.message,
                score=grasp.score,
            ),
        )

        def write() -> int:
            scene_id = log.store.add_scene(
                log.session_id, scene.rgb, scene.depth, intrinsics, pose, stamp=scene.stamp
            )
            return log.store.add_trial(Trial(scene_id=scene_id, **record))

        return write

    def _message(self, trial_id: int, trial: TrialState) -> TrialRecord:
        """The stored record, as a message for ``/trials`` (and the session recording)."""
        r = self.record
        msg = TrialRecord(
            trial_id=trial_id,
            session_id=r["session_id"],
            stage=r["stage"],
            arm=r["arm"],
            chooser=r["chooser"],
            success=trial.success,
            force=r["force"],
            gripper_position=r["gripper_position"],
            object_id=r["object_id"],
            seed=r["seed"],
            duration=r["timings"]["total"],
            message=r["message"],
        )
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.header.frame_id = self.config.robot.base_frame
        msg.outcome = {
            "success": msg.OUTCOME_SUCCESS,
            "failure": msg.OUTCOME_FAILURE,
            "ik_failed": msg.OUTCOME_IK_FAILED,
        }.get(r["outcome"], msg.OUTCOME_ABORTED)
        msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height = r["roi"]
        msg.grasp.u, msg.grasp.v = r["grasp_pixel"]
        msg.grasp.angle, msg.grasp.angle_bin, msg.grasp.score = (
            r["angle"],
            r["angle_bin"],
            r["score"],
        )
        msg.grasp.position.header.frame_id = self.config.robot.base_frame
        p = msg.grasp.position.point
        p.x, p.y, p.z = r["grasp_position"]
        msg.grasp_pose.position = p
        o = msg.grasp_pose.orientation
        o.x, o.y, o.z, o.w = r["grasp_orientation"]
        return msg


class PlanPutDown(SolveIK):
    """IK to put a held object back at a random spot of this arm's half of the table."""

    def __init__(self, side: str, config: Config, seed: int) -> None:
        self.config, self.side = config, side
        self.rng = np.random.default_rng(seed + 1)
        super().__init__(
            "Plan put-down",
            side,
            config.robot,
            self._poses,
            key(side, "put_down"),
            PATHS,
            timeout=config.trial.motion_timeout,
        )

    def _poses(self):
        spot = put_down_spot(self.rng, getattr(self.config.arms, self.side).workspace)
        return plan_trial(self.config.trial, *spot).put_down_paths()


class RepeatUntil(py_trees.decorators.Decorator):
    """Runs its child again and again; SUCCESS once ``until()`` holds when a run has finished.

    Checked only between runs, so a trial in progress is never cut short.
    """

    def __init__(self, name: str, child: py_trees.behaviour.Behaviour, until: Callable[[], bool]):
        super().__init__(name=name, child=child)
        self.until = until
        self.runs = 0

    def update(self) -> Status:
        if self.decorated.status in (Status.SUCCESS, Status.FAILURE):
            self.runs += 1
            if self.until():
                self.feedback_message = f"done after {self.runs} runs"
                return Status.SUCCESS
        self.feedback_message = f"run {self.runs + 1}"
        return Status.RUNNING


class RequestRefill(RobotBehaviour):
    """This arm's half of the table is empty: call the refill service, or wait for a person.

    With ``trial.refill_service`` set (the simulator's ``/sim_baxter/reset_scene``) it asks for a
    new clutter; otherwise it reports RUNNING for ``trial.refill_wait`` s. Ends with FAILURE either
    way: only a fresh capture can tell whether objects are back.
    """

    def __init__(self, side: str, config: Config) -> None:
        super().__init__("Refill the table", config.robot)
        self.service = config.trial.refill_service
        self.wait = config.trial.refill_wait
        self.client = None

    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        if self.service:
            self.client = self.node.create_client(Trigger, self.service)

    def initialise(self) -> None:
        super().initialise()
        self.future = None

    def update(self) -> Status:
        if self.client is None:
            if self.now() - self._started < self.wait:
                self.feedback_message = "table empty: please put objects back on the table"
                return Status.RUNNING
            self.feedback_message = "looking again"
            return Status.FAILURE
        if self.future is None:
            if not self.client.service_is_ready():
                self.feedback_message = f"waiting for {self.service}"
                return Status.RUNNING
            self.future = self.client.call_async(Trigger.Request())
        if not self.future.done():
            self.feedback_message = "refilling"
            return Status.RUNNING
        self.feedback_message = f"refilled: {self.future.result().message}"
        return Status.FAILURE


def _park_joints(side: str, config: Config) -> dict[str, float]:
    arm = getattr(config.arms, side)
    return dict(zip((f"{side}_{j}" for j in ARM_JOINTS), arm.park_joints, strict=True))


def _refill_and_look(side: str, config: Config) -> py_trees.behaviour.Behaviour:
    """Ask for objects, then park (a refill may move the arm), capture and find regions again."""
    park = _park_joints(side, config)
    t = config.trial
    return py_trees.composites.Sequence(
        "Refill and look again",
        memory=True,
        children=[
            py_trees.decorators.FailureIsSuccess("Refilled", RequestRefill(side, config)),
            MoveJoints(
                "Park again", side, config.robot, lambda: park, t.joint_tolerance, t.motion_timeout
            ),
            CaptureScene(side, config),
            FindRegions(side, config),
        ],
    )


def _motion(side: str, config: Config, path: str, motion: Motion, name: str = "") -> MoveJoints:
    """A move along a planned path (``/<side>/plan/down``, ...) as the trial defines it."""
    return MoveJoints(
        name or motion.name,
        side,
        config.robot,
        key(side, path),
        motion.tolerance,
        config.trial.motion_timeout,
        stop_when_blocked=motion.stop_when_blocked,
    )


def _gripper(side: str, config: Config, command: str, name: str) -> GripperCommand:
    return GripperCommand(
        side, config.robot, command, timeout=config.trial.motion_timeout, name=name
    )


def trial_subtree(
    side: str,
    config: Config,
    log: TrialLog,
    chooser: Callable[[str, Config], py_trees.behaviour.Behaviour] | None = None,
    chooser_name: str = "random",
    seed: int = 0,
    when_held: Callable[[str, Config], py_trees.behaviour.Behaviour] | None = None,
    when_empty: Callable[[str, Config], py_trees.behaviour.Behaviour] | None = None,
) -> py_trees.behaviour.Behaviour:
    """One arm's grasp trial, ready to compose into larger tasks.

    Args:
        side: ``left`` or ``right``.
        config: the configuration (trial, arms, robot, camera sections are used).
        log: where finished trials go.
        chooser: builds the behaviour that writes ``/<side>/grasp`` from ``/<side>/scene`` and
            ``/<side>/regions``; default: the paper's random grasp.
        chooser_name: recorded with each trial.
        seed: seeds this arm's random choices.
        when_held: builds what to do with a lifted object (default: put it back down at a random
            spot when ``trial.put_down``); clutter removal drops it in a bin instead.
        when_empty: builds what to do when this arm's half of the table is empty; its FAILURE
            ends the run without a trial (clutter removal: the half is clear). Default: ask for
            a refill and look again, so that a run of the subtree is always one trial.

    Returns:
        A behaviour that runs one trial and always ends in SUCCESS: failures are recovered
        (gripper opened, arm raised) and, when a grasp was executed, logged as not labelled.
    """
    c = EndEffectorCommand
    t = config.trial
    moves = trial_motions(t)
    park = _park_joints(side, config)
    choose = chooser(side, config) if chooser else ChooseRandomGrasp(side, config, seed)
    grasp_chosen = py_trees.composites.Selector(
        "Grasp chosen",
        memory=True,
        children=[
            py_trees.decorators.Retry(
                "Reachable sample",
                py_trees.composites.Sequence(
                    "Choose and plan", memory=True, children=[choose, PlanGrasp(side, config)]
                ),
                num_failures=t.max_ik_retries + 1,
            ),
            py_trees.decorators.SuccessIsFailure(
                "Unreachable",
                LogTrial(
                    side,
                    config,
                    log,
                    chooser_name,
                    seed,
                    outcome="ik_failed",
                    name="Log unreachable",
                ),
            ),
        ],
    )
    put_down = py_trees.composites.Sequence(
        "Put down",
        memory=True,
        children=[
            PlanPutDown(side, config, seed),
            _motion(side, config, "put_down/above", moves["above"], "Above put-down spot"),
            _motion(side, config, "put_down/down", moves["down"], "Lower"),
            _gripper(side, config, c.CMD_RELEASE, "Release"),
            _motion(side, config, "put_down/up", moves["up"], "Raise"),
        ],
    )
    if when_held is not None:
        put_down = when_held(side, config)
    after_label = py_trees.composites.Selector(
        "Put down or let go",
        memory=True,
        children=[
            py_trees.decorators.FailureIsSuccess(
                "Put down if held",
                py_trees.composites.Sequence(
                    "If held and put_down",
                    memory=True,
                    children=[
                        _Condition(
                            "Held?",
                            side,
                            config,
                            lambda trial: trial.success and (t.put_down or when_held is not None),
                        ),
                        put_down,
                    ],
                ),
            ),
        ],
    )
    trial = py_trees.composites.Sequence(
        f"Trial {side}",
        memory=True,
        children=[
            StartTrial(side, config),
            CalibrateGripper(side, config.robot),
            MoveJoints(
                "Park out of view",
                side,
                config.robot,
                lambda: park,
                t.joint_tolerance,
                t.motion_timeout,
            ),
            CaptureScene(side, config),
            py_trees.composites.Selector(
                "Objects on table",
                memory=True,
                children=[
                    FindRegions(side, config),
                    when_empty(side, config) if when_empty else _refill_and_look(side, config),
                ],
            ),
            grasp_chosen,
            _gripper(side, config, c.CMD_RELEASE, "Open gripper"),
            _motion(side, config, "plan/above", moves["above"]),
            _Mark("Executing", side, config),
            _motion(side, config, "plan/down", moves["down"]),
            _gripper(side, config, c.CMD_GRIP, "Grip"),
            _motion(side, config, "plan/up", moves["up"]),
            LabelTrial(side, config),
            LogTrial(side, config, log, chooser_name, seed),
            after_label,
            _gripper(side, config, c.CMD_RELEASE, "Let go"),
        ],
    )
    recovery = py_trees.composites.Sequence(
        "Recover",
        memory=True,
        children=[
            py_trees.decorators.FailureIsSuccess(
                "Log if executed",
                py_trees.composites.Sequence(
                    "If executing",
                    memory=True,
                    children=[
                        _Condition(
                            "Grasp executing?",
                            side,
                            config,
                            lambda trial: trial.outcome == "executing",
                        ),
                        LogTrial(
                            side,
                            config,
                            log,
                            chooser_name,
                            seed,
                            outcome="aborted",
                            name="Log aborted",
                        ),
                    ],
                ),
            ),
            py_trees.decorators.FailureIsSuccess(
                "Open", _gripper(side, config, c.CMD_RELEASE, "Open after failure")
            ),
        ],
    )
    return py_trees.composites.Selector(
        f"Trial or recover {side}", memory=True, children=[trial, recovery]
    )


class _Condition(TrialBehaviour):
    def __init__(self, name: str, side: str, config: Config, test: Callable[[TrialState], bool]):
        super().__init__(name, side, config)
        self.test = test

    def update(self) -> Status:
        return Status.SUCCESS if self.test(self.read(key(self.side, "trial"))) else Status.FAILURE


class _Mark(TrialBehaviour):
    """Marks the trial as executing: from here on a failure is logged as an aborted trial."""

    def update(self) -> Status:
        self.read(key(self.side, "trial")).outcome = "executing"
        return Status.SUCCESS
