"""Safety limits (``robot.safety``) enforced before anything is commanded: a grasp outside the
workspace box is refused and logged, never sent; joint commands keep to the speed ratio.

The tree's behaviours run against the real robot's IK node (``baxter_ik``) over real DDS, with
the real-robot profile's limits; the test plays the robot's joint states and listens, as the
robot would, on the joint command topic and ``/rosout``.
"""

import itertools
import math
import threading
from pathlib import Path

import numpy as np
import py_trees
import pytest
from baxter_core_msgs.msg import JointCommand
from rcl_interfaces.msg import Log
from sensor_msgs.msg import JointState

from supersize_grasp.behaviors.motion import MAX_STEP_TIME, SpeedLimit
from supersize_grasp.behaviors.regions import Region
from supersize_grasp.behaviors.robot import JOINTS_KEY, MoveJoints
from supersize_grasp.behaviors.trial import PlanGrasp, motion
from supersize_grasp.behaviors.trial_plan import plan_trial, trial_motions
from supersize_grasp.behaviors.trial_state import Grasp, TrialState, key
from supersize_grasp.config import load_config
from supersize_grasp.config.arms import ARM_JOINTS, joint_velocity_limits
from supersize_grasp.config.robot import WorkspaceBox
from supersize_grasp.simulator.kinematics import BaxterKinematics
from tests.sdk_client import IKNode
from tests.tree_runner import TreeRunner

Status = py_trees.common.Status
REAL_PROFILE = Path(__file__).resolve().parents[1] / "config" / "real_baxter.yaml"
LEFT = [f"left_{j}" for j in ARM_JOINTS]


@pytest.fixture
def real():
    """The real-robot profile's configuration, on a clean blackboard."""
    py_trees.blackboard.Blackboard.clear()
    yield load_config([REAL_PROFILE])
    py_trees.blackboard.Blackboard.clear()


def test_the_real_profile_keeps_the_trials_targets_inside_a_tighter_box(real):
    """Conservative, yet every pose of a trial over either arm's workspace and clear-table's
    bins lie inside the box, and the joints move slower than the robot's own default."""
    box, default = real.robot.safety.workspace, load_config().robot.safety
    assert real.robot.safety.speed_ratio < 0.3 < default.speed_ratio
    for axis in "xyz":
        low, high = getattr(box, axis)
        wide_low, wide_high = getattr(default.workspace, axis)
        assert wide_low < low < high < wide_high
    for side in ("left", "right"):
        w = getattr(real.arms, side).workspace
        for x in (w.x_min, w.x_max):
            for y in (w.y_min, w.y_max):
                plan = plan_trial(real.trial, x, y, 0.0)
                for paths in (plan.paths(), plan.put_down_paths()):
                    for pose in (p for path in paths.values() for p in path):
                        assert box.contains(pose[0]), f"{side} {pose[0]}"
        assert box.contains(getattr(real.clear_table, f"bin_{side}"))


def test_a_box_that_is_not_a_box_is_refused_by_axis():
    with pytest.raises(ValueError, match=r"z needs min < max, got \[0.2, 0.1\]"):
        WorkspaceBox(z=(0.2, 0.1))
    box = WorkspaceBox(x=(0.3, 0.9), y=(-0.5, 0.5), z=(-0.2, 0.2))
    assert box.contains((0.3, 0.5, 0.0)) and not box.contains((0.91, 0.0, 0.0))
    assert str(box) == "x [0.300, 0.900] y [-0.500, 0.500] z [-0.200, 0.200]"


def test_the_speed_limit_moves_the_command_at_the_ratio_on_a_straight_line():
    limits = joint_velocity_limits()
    limit = SpeedLimit(0.2, limits)
    start = dict.fromkeys(LEFT, 0.0)
    target = {**start, "left_s0": 1.0, "left_w0": -2.0}
    # w0 has 2 rad to go at 0.8 rad/s, s0 1 rad at 0.3 rad/s: s0 sets the pace (3.33 s).
    sent = [limit.command(0.05 * k, target, start) for k in range(80)]
    assert sent[0] == start  # nothing has moved at the start
    fractions = [c["left_s0"] for c in sent]
    assert fractions[1] == pytest.approx(0.2 * 1.5 * 0.05)
    assert all(c["left_w0"] == pytest.approx(-2.0 * c["left_s0"]) for c in sent)
    assert all(b >= a for a, b in itertools.pairwise(fractions))
    assert sent[66]["left_s0"] < 1.0 and sent[67] == target  # 3.35 s: arrived, not overshot
    late = SpeedLimit(0.2, limits)
    late.command(0.0, target, start)
    assert late.command(10.0, target, start)["left_s0"] == pytest.approx(0.3 * MAX_STEP_TIME)


def test_the_speed_limit_lets_targets_through_at_the_robots_own_limit_and_names_unknowns():
    limit = SpeedLimit(1.0, joint_velocity_limits())
    target = dict.fromkeys(LEFT, 1.0)
    assert limit.command(0.0, target, dict.fromkeys(LEFT, 0.0)) == target
    with pytest.raises(ValueError, match=r"no velocity limit for \['head_pan'\]"):
        limit.command(0.0, {"head_pan": 0.1}, {"head_pan": 0.0})
    with pytest.raises(ValueError, match="speed ratio must be in"):
        SpeedLimit(0.0, {})


class RobotListener:
    """What the robot hears: the arm's joint commands and the logs (``/rosout``)."""

    def __init__(self, node, topic: str) -> None:
        self.commands: list[JointCommand] = []
        self.logs: list[Log] = []
        self.lock = threading.Lock()
        self.subscription = node.create_subscription(JointCommand, topic, self._command, 10)
        node.create_subscription(Log, "/rosout", self._log, 100)

    def _command(self, msg: JointCommand) -> None:
        with self.lock:
            self.commands.append(msg)

    def _log(self, msg: Log) -> None:
        with self.lock:
            self.logs.append(msg)

    def errors(self, logger: str = "faults_tree") -> list[str]:
        """What the tree's node (``TreeRunner``'s) logged as errors."""
        with self.lock:
            return [m.msg for m in self.logs if m.level >= Log.ERROR and m.name == logger]


def park_state(config) -> JointState:
    return JointState(name=LEFT, position=list(config.arms.left.park_joints), velocity=[0.0] * 7)


def plan_and_move(config, x: float, y: float, theta: float):
    """The trial's plan for this grasp and its first move, the grasp already chosen."""
    client = py_trees.blackboard.Client(name="test chooser")
    for k in (key("left", "trial"), key("left", "grasp"), JOINTS_KEY):
        client.register_key(k, access=py_trees.common.Access.WRITE)
    client.set(key("left", "trial"), TrialState(started=0.0, phase_started=0.0))
    client.set(key("left", "grasp"), Grasp(0, 0, x, y, theta, Region(0, 0, 1, 1, 1)))
    client.set(JOINTS_KEY, park_state(config))
    plan = PlanGrasp("left", config)
    move = motion("left", config, "plan/above", trial_motions(config.trial)["above"])
    root = py_trees.composites.Sequence("Plan and move", memory=True, children=[plan, move])
    return py_trees.decorators.OneShot("Once", root, py_trees.common.OneShotPolicy.ON_COMPLETION)


@pytest.fixture
def ik_node(real):
    node = IKNode(config_file=str(REAL_PROFILE))
    yield node
    node.close()


@pytest.mark.ros
def test_a_grasp_outside_the_workspace_is_refused_logged_and_never_commanded(real, ik_node):
    root = plan_and_move(real, 0.95, 0.2, math.radians(30))  # beyond x 0.85 of the real box
    runner = TreeRunner(root)
    topic = real.robot.topic(real.robot.joint_command_topic, "left")
    robot = RobotListener(runner.node, topic)
    try:
        runner.wait_for(
            lambda: runner.shown("Plan grasp", Status.FAILURE, "outside the safety workspace"),
            30,
            "the refusal",
        )
        refusal = next(f for n, s, f in runner.seen if n == "Plan grasp" and s == Status.FAILURE)
        assert "grasp (x 0.950 m, y 0.200 m, theta 30 deg) refused" in refusal
        assert "its above pose (0.950, 0.200, 0.095) m" in refusal
        assert "x [0.350, 0.850] y [-0.780, 0.780] z [-0.150, 0.150]" in refusal
        runner.wait_for(lambda: refusal in " ".join(robot.errors()), 30, "the error on /rosout")
        # The move's publisher is up and heard; ten more ticks send nothing on it.
        runner.wait_for(lambda: robot.subscription.get_publisher_count() >= 1, 30, "publisher")
        ticks = runner.tree.count
        runner.wait_for(lambda: runner.tree.count >= ticks + 10, 30, "ten more ticks")
        assert robot.commands == []
        assert not runner.shown("Move 25 cm above", Status.RUNNING, "")
    finally:
        runner.close()


@pytest.mark.ros
def test_a_grasp_inside_is_planned_by_the_ik_node_and_commanded(real, ik_node):
    """The same tree with a grasp on the table: the ROS 2 IK node answers the plan (no ROS 1
    service involved) and the arm is commanded towards the first pose, from where it stands."""
    root = plan_and_move(real, 0.6, 0.2, math.radians(30))
    runner = TreeRunner(root)
    robot = RobotListener(runner.node, real.robot.topic(real.robot.joint_command_topic, "left"))
    try:
        runner.wait_for(
            lambda: runner.shown("Plan grasp", Status.SUCCESS, "10 poses solved"), 60, "the plan"
        )
        runner.wait_for(lambda: robot.commands, 60, "a joint command toward the grasp")
        above = py_trees.blackboard.Blackboard.storage[key("left", "plan/above")]
        position, _ = BaxterKinematics(real.simulator.arm).forward("left", above[0])
        assert np.linalg.norm(position - (0.6, 0.2, 0.095)) < 0.001
        first = dict(zip(robot.commands[0].names, robot.commands[0].command, strict=True))
        park = dict(zip(LEFT, real.arms.left.park_joints, strict=True))
        assert first == pytest.approx(park)  # the speed limit starts where the arm stands
        assert robot.errors() == []
    finally:
        runner.close()


@pytest.mark.ros
def test_the_tree_commands_joints_no_faster_than_the_speed_ratio(real):
    """Whatever the ticks' timing, each command moves on the straight line to the waypoint and
    no joint further than its share of the velocity limit for the longest step allowed."""
    here = park_state(real)
    client = py_trees.blackboard.Client(name="test robot")
    client.register_key(JOINTS_KEY, access=py_trees.common.Access.WRITE)
    client.set(JOINTS_KEY, here)
    start = dict(zip(here.name, here.position, strict=True))
    # Further than twenty commands can go even at the longest step: never arrived.
    waypoint = {**start, "left_s0": start["left_s0"] - 2.5, "left_w1": start["left_w1"] + 1.4}
    move = MoveJoints("Move", "left", real.robot, lambda: [waypoint], timeout=60.0)
    runner = TreeRunner(move)
    robot = RobotListener(runner.node, real.robot.topic(real.robot.joint_command_topic, "left"))
    try:
        runner.wait_for(lambda: len(robot.commands) >= 20, 60, "twenty commands")
        ratio, limits = real.robot.safety.speed_ratio, joint_velocity_limits()
        sent = [dict(zip(c.names, c.command, strict=True)) for c in robot.commands[:20]]
        progress = [start["left_s0"] - c["left_s0"] for c in sent]
        for before, after, done in zip(sent, sent[1:], progress[1:], strict=False):
            for name in LEFT:
                step = abs(after[name] - before[name])
                assert step <= ratio * limits[name] * MAX_STEP_TIME + 1e-12, name
            assert after["left_w1"] - start["left_w1"] == pytest.approx(done * 1.4 / 2.5)
        assert progress == sorted(progress) and 0.0 < progress[-1] < 2.5
    finally:
        runner.close()
