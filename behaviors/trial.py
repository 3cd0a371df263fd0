"""The self-supervised grasp trial (the paper, section III) as py_trees behaviours and subtrees.

One trial: park the arm out of view, capture the head image, find regions of interest (MOG),
choose a grasp (x, y, theta), move 25 cm above it, descend, grip, lift 20 cm, label from the
gripper, log, put the object back at a random spot, and start again. ``trial_subtree`` builds it
for one arm with a pluggable grasp chooser; ``collection_tree`` runs both arms at once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import py_trees
from baxter_core_msgs.msg import EndEffectorCommand, EndEffectorState
from std_srvs.srv import Trigger

from supersize_grasp.config import Config
from supersize_grasp.config.arms import ARM_JOINTS

from .perception import CaptureScene, FindRegions
from .random_chooser import ChooseRandomGrasp
from .regions import Region
from .robot import (
    READ,
    CalibrateGripper,
    GripperCommand,
    MoveJoints,
    RobotBehaviour,
    SolveIK,
    Status,
    gripper_key,
)
from .trial_log import LogTrial, TrialLog
from .trial_plan import (
    Motion,
    is_success,
    label_message,
    plan_trial,
    put_down_spot,
    trial_motions,
)
from .trial_state import Grasp, TrialBehaviour, TrialState, key

PATHS = ("above", "down", "up")  # every plan: move above, go down, come back up


class StartTrial(RobotBehaviour):
    """A fresh trial state, and no grasp: the last trial's must never be logged with this one."""

    def __init__(self, side: str, config: Config) -> None:
        super().__init__(
            "Start trial",
            config.robot,
            write=[key(side, "trial"), key(side, "grasp"), key(side, "claim")],
        )
        self.side = side

    def update(self) -> Status:
        now = self.now()
        self.bb.set(key(self.side, "trial"), TrialState(started=now, phase_started=now), True)
        self.bb.set(key(self.side, "grasp"), None, True)
        self.bb.set(key(self.side, "claim"), None, True)
        return Status.SUCCESS


class KeepClearOfOtherArm(TrialBehaviour):
    """Claims this grasp's spot (``/<side>/claim``) until the trial ends, unless the other arm's
    grasp under way is nearer than ``arms.min_separation``: then it waits for that one to end
    and fails, so that the trial starts again from a new look at the table (the other arm has
    just grasped near what this one chose, from an image taken before).

    Both arms share the middle of the table. The arms are ticked one after the other, so the
    first to get here claims its spot and the other waits. A waiting arm holds no claim, so
    the two never wait on each other.
    """

    def __init__(self, side: str, config: Config) -> None:
        self.other = "right" if side == "left" else "left"
        super().__init__(
            "Keep clear of the other arm",
            side,
            config,
            read=[key(side, "grasp"), key(self.other, "claim")],
            write=[key(side, "claim")],
        )

    def initialise(self) -> None:
        super().initialise()
        self.waited = False

    def update(self) -> Status:
        grasp = self.read(key(self.side, "grasp"))
        claim = self.read(key(self.other, "claim"))
        if claim is not None:
            apart = math.dist((grasp.x, grasp.y), claim)
            if apart < self.config.arms.min_separation:
                self.waited = True
                self.feedback_message = (
                    f"waiting: the {self.other} arm's grasp is {apart:.2f} m away "
                    f"(arms.min_separation {self.config.arms.min_separation:g} m)"
                )
                return Status.RUNNING
        if self.waited:
            self.feedback_message = f"the {self.other} arm is done there: looking again"
            return Status.FAILURE
        self.bb.set(key(self.side, "claim"), (grasp.x, grasp.y), overwrite=True)
        self.feedback_message = f"claimed ({grasp.x:.3f}, {grasp.y:.3f}) m"
        return Status.SUCCESS


class ReleaseClaim(TrialBehaviour):
    """The end of a trial, however it ended: the other arm may grasp near this one's spot."""

    def __init__(self, side: str, config: Config) -> None:
        super().__init__("Release claim", side, config, write=[key(side, "claim")])

    def update(self) -> Status:
        self.bb.set(key(self.side, "claim"), None, overwrite=True)
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

    def describe(self) -> str:
        g: Grasp = self.bb.get(key(self.side, "grasp"))
        return f"grasp (x {g.x:.3f} m, y {g.y:.3f} m, theta {math.degrees(g.theta):.0f} deg)"

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
        self.spot = put_down_spot(self.rng, getattr(self.config.arms, self.side).workspace)
        return plan_trial(self.config.trial, *self.spot).put_down_paths()

    def describe(self) -> str:
        x, y, _ = self.spot
        return f"put-down at (x {x:.3f} m, y {y:.3f} m)"


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


def motion(side: str, config: Config, path: str, motion: Motion, name: str = "") -> MoveJoints:
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


def gripper(side: str, config: Config, command: str, name: str) -> GripperCommand:
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
    when_missed: Callable[[str, Config], py_trees.behaviour.Behaviour] | None = None,
    leave_region: Callable[[Region], bool] | None = None,
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
        when_missed: builds what to do after a trial labelled a failure (its status is ignored);
            clutter removal remembers the grasp so as not to try it again.
        leave_region: regions of interest not to grasp (``FindRegions``); clutter removal
            leaves alone an object it failed to pick too often.

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
            motion(side, config, "put_down/above", moves["above"], "Above put-down spot"),
            motion(side, config, "put_down/down", moves["down"], "Lower"),
            gripper(side, config, c.CMD_RELEASE, "Release"),
            motion(side, config, "put_down/up", moves["up"], "Raise"),
        ],
    )
    if when_held is not None:
        put_down = when_held(side, config)
    missed = []
    if when_missed is not None:
        missed.append(
            py_trees.decorators.FailureIsSuccess(
                "After a miss",
                py_trees.composites.Sequence(
                    "If missed",
                    memory=True,
                    children=[
                        _Condition("Missed?", side, config, lambda trial: not trial.success),
                        when_missed(side, config),
                    ],
                ),
            )
        )
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
                    FindRegions(side, config, leave_region),
                    when_empty(side, config) if when_empty else _refill_and_look(side, config),
                ],
            ),
            grasp_chosen,
            KeepClearOfOtherArm(side, config),
            gripper(side, config, c.CMD_RELEASE, "Open gripper"),
            motion(side, config, "plan/above", moves["above"]),
            _Mark("Executing", side, config),
            motion(side, config, "plan/down", moves["down"]),
            gripper(side, config, c.CMD_GRIP, "Grip"),
            motion(side, config, "plan/up", moves["up"]),
            LabelTrial(side, config),
            LogTrial(side, config, log, chooser_name, seed),
            *missed,
            after_label,
            gripper(side, config, c.CMD_RELEASE, "Let go"),
            ReleaseClaim(side, config),
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
                "Open", gripper(side, config, c.CMD_RELEASE, "Open after failure")
            ),
            ReleaseClaim(side, config),
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
