"""Each robot behaviour alone in a ticking tree, against mock servers, as py_trees_ros tests its
service and action clients: a motion interrupted, an IK service and a gripper that never answer,
a camera whose stamps disagree. Mocks here on purpose: these are the failures a real robot or the
simulator show only rarely, and each behaviour must handle them on its own. Real DDS in between.
"""

import threading
import time
from collections import Counter
from types import SimpleNamespace

import py_trees
import pytest
import rclpy
from baxter_core_msgs.msg import EndEffectorCommand, EndEffectorState, JointCommand
from baxter_core_msgs.srv import SolvePositionIK
from builtin_interfaces.msg import Time
from rclpy.duration import Duration
from rclpy.node import Node
from sensor_msgs.msg import JointState

from supersize_grasp.behaviors.collection import collection_tree
from supersize_grasp.behaviors.learned import ChooseLearnedGrasp
from supersize_grasp.behaviors.perception import CaptureScene
from supersize_grasp.behaviors.robot import (
    JOINTS_KEY,
    EnableRobot,
    GripperCommand,
    MoveJoints,
    SolveIK,
    gripper_key,
)
from supersize_grasp.behaviors.ros.exceptions import TimedOutError
from supersize_grasp.behaviors.ros.trees import RosBehaviourTree
from supersize_grasp.behaviors.trial import KeepClearOfOtherArm, StartTrial
from supersize_grasp.behaviors.trial_log import TrialLog
from supersize_grasp.behaviors.trial_state import key
from supersize_grasp.config import load_config
from tests.fakes import Camera
from tests.tree_runner import TreeRunner

pytestmark = pytest.mark.ros

Status = py_trees.common.Status
ARM = [f"left_{j}" for j in ("s0", "s1", "e0", "e1", "w0", "w1", "w2")]


@pytest.fixture
def config():
    py_trees.blackboard.Blackboard.clear()
    yield load_config()
    py_trees.blackboard.Blackboard.clear()


def writer(*keys: str) -> py_trees.blackboard.Client:
    """What the tree's ``ToBlackboard`` subscribers would have written."""
    client = py_trees.blackboard.Client(name="test robot")
    for k in keys:
        client.register_key(k, access=py_trees.common.Access.WRITE)
    return client


class Recorder:
    """A mock robot's listener: every message on one topic, in order."""

    def __init__(self, node: Node, msg_type, topic: str) -> None:
        self.messages, self.lock = [], threading.Lock()
        node.create_subscription(msg_type, topic, self._take, 10)

    def _take(self, msg) -> None:
        with self.lock:
            self.messages.append(msg)

    def last(self):
        with self.lock:
            return self.messages[-1] if self.messages else None


def once(behaviour: py_trees.behaviour.Behaviour) -> py_trees.behaviour.Behaviour:
    """The behaviour ticked until it finishes, then left as it ended (not started again)."""
    return py_trees.decorators.OneShot(
        "Once", behaviour, py_trees.common.OneShotPolicy.ON_COMPLETION
    )


def stamp(t: Time) -> float:
    return t.sec + t.nanosec * 1e-9


def test_move_joints_interrupted_holds_the_arm_where_it_is(config):
    """Abandoned mid-motion (the tree stopped, a higher-priority branch), the arm is commanded to
    stay where it is, not left to finish a motion nobody follows any more."""
    here = JointState(name=ARM, position=[0.1] * 7, velocity=[0.0] * 7)
    writer(JOINTS_KEY).set(JOINTS_KEY, here)
    waypoint = dict.fromkeys(ARM, 1.0)
    move = MoveJoints("Move", "left", config.robot, lambda: [waypoint], timeout=60.0)
    runner = TreeRunner(move)
    topic = config.robot.topic(config.robot.joint_command_topic, "left")
    commands = Recorder(runner.node, JointCommand, topic)
    try:
        runner.wait_for(lambda: commands.last() is not None, 10, "no command toward the waypoint")
        assert dict(zip(commands.last().names, commands.last().command, strict=True)) == waypoint
        assert move.status == Status.RUNNING and "waypoint 1/1" in move.feedback_message
        before = len(commands.messages)
        stop = runner.node.create_timer(0.0, lambda: (stop.cancel(), runner.tree.stop()))

        def hold():
            held = [m for m in commands.messages[before:] if list(m.command) == [0.1] * 7]
            return held[-1] if held else None

        runner.wait_for(hold, 10, "no hold command after the interruption")
        assert list(hold().names) == ARM and hold().mode == JointCommand.POSITION_MODE
        assert move.status == Status.INVALID
    finally:
        runner.close()


@pytest.mark.parametrize("server", ["hung", "none"])
def test_solve_ik_fails_after_its_timeout_on_a_silent_service(config, server):
    """A server that takes the request and never answers (a hung IK node), or no server at all:
    the plan fails after its timeout saying which, and no solution is written."""
    poses = {"above": [((0.6, 0.2, 0.1), (0.0, 1.0, 0.0, 0.0))]}
    solve = SolveIK("Plan", "left", config.robot, lambda: poses, "/left/plan", ["above"], 1.0)
    runner = TreeRunner(once(solve))
    if server == "hung":  # never spun: the request reaches it and is never answered
        hung = Node("hung_ik", context=runner.context)
        service = config.robot.topic(config.robot.ik_service, "left")
        hung.create_service(SolvePositionIK, service, lambda request, response: response)
    try:
        runner.wait_for(lambda: solve.status == Status.FAILURE, 30, "the plan did not fail")
        if server == "hung":
            assert runner.shown(solve.name, Status.RUNNING, "solving above (1 poses)")
            assert solve.feedback_message == "IK service timed out"
        else:
            assert solve.feedback_message == "waiting for the IK service"
    finally:
        runner.close()
    reader = py_trees.blackboard.Client(name="test reader")
    reader.register_key("/left/plan/above", access=py_trees.common.Access.READ)
    assert not reader.exists("/left/plan/above")


@pytest.mark.parametrize("gripper", ["echoes", "silent"])
def test_gripper_command_is_done_on_its_echo_and_times_out_without(config, gripper):
    """A command counts as done only when the gripper's state echoes its sequence number and it
    stopped moving; from a gripper that never echoes, the command fails after its timeout."""
    state_key = gripper_key("left")
    robot = writer(state_key)
    robot.set(state_key, EndEffectorState(id=1, calibrated=1, position=100.0))
    grip = GripperCommand("left", config.robot, EndEffectorCommand.CMD_GRIP, timeout=2.0)
    runner = TreeRunner(once(grip))
    topic = config.robot.topic(config.robot.gripper_command_topic, "left")
    sent = Recorder(runner.node, EndEffectorCommand, topic)
    if gripper == "echoes":
        mock = Node("mock_gripper", context=runner.context)

        def echo(command: EndEffectorCommand) -> None:
            done = EndEffectorState(id=1, position=35.0, force=30.0)
            done.command_sequence = command.sequence
            robot.set(state_key, done)

        mock.create_subscription(EndEffectorCommand, topic, echo, 10)
        runner.executor.add_node(mock)
    try:
        runner.wait_for(lambda: grip.status != Status.RUNNING and sent.last(), 30, "no end")
        assert sent.last().command == EndEffectorCommand.CMD_GRIP
        if gripper == "echoes":
            assert grip.status == Status.SUCCESS
            assert grip.feedback_message == "done (position 35%, force 30%)"
        else:
            assert grip.status == Status.FAILURE
            assert grip.feedback_message == "timed out after 2 s"
    finally:
        runner.close()


def capture_rig(config):
    """A trial's start and one capture, ticking once (a finished capture stays finished: ticked
    again, a new trial would wait for a frame that never comes), a camera driver, and a reader of
    the scene it stores: (capture, root, runner, camera, reader)."""
    capture = CaptureScene("left", config)
    trial = py_trees.composites.Sequence(
        "Trial", memory=True, children=[StartTrial("left", config), capture]
    )
    root = py_trees.decorators.OneShot("Once", trial, py_trees.common.OneShotPolicy.ON_COMPLETION)
    runner = TreeRunner(root)
    reader = py_trees.blackboard.Client(name="test reader")
    reader.register_key(key("left", "scene"), access=py_trees.common.Access.READ)
    return capture, root, runner, Camera(runner.node, config), reader


def test_capture_takes_only_a_frame_whose_stamps_agree_and_follow_its_start(config):
    """Colour, depth and camera info must carry one stamp, taken after the capture began: a frame
    whose parts disagree (one came from the next frame) or that predates the capture (the arm may
    still have been in view) is never taken."""
    capture, root, runner, camera, reader = capture_rig(config)

    try:
        runner.wait_for(lambda: capture.status == Status.RUNNING, 10, "the capture did not start")
        now = runner.node.get_clock().now()
        ahead, further, before = ((now + Duration(seconds=s)).to_msg() for s in (1, 1.1, -5))
        for _ in range(20):
            camera.send_stamped(ahead, further)  # parts of two frames
            camera.send_stamped(before)  # whole, but older than the capture
            time.sleep(0.05)
        assert capture.status == Status.RUNNING
        assert capture.feedback_message == "waiting for a fresh frame"
        assert not reader.exists(key("left", "scene"))
        camera.send_stamped(ahead)
        runner.wait_for(lambda: root.status == Status.SUCCESS, 30, "the whole frame not taken")
        assert reader.get(key("left", "scene")).stamp == pytest.approx(stamp(ahead))
    finally:
        runner.close()


def test_capture_takes_a_frame_from_a_camera_clock_behind_by_up_to_max_clock_skew():
    """A real Kinect stamps with its own computer's clock: a frame stamped up to
    ``camera.max_clock_skew`` before the capture began counts, one stamped earlier does not."""
    py_trees.blackboard.Blackboard.clear()
    config = load_config(overrides={"camera.max_clock_skew": 3.0})
    capture, root, runner, camera, reader = capture_rig(config)

    try:
        runner.wait_for(lambda: capture.status == Status.RUNNING, 10, "the capture did not start")
        now = runner.node.get_clock().now()  # after the capture began
        too_early, within = ((now - Duration(seconds=s)).to_msg() for s in (3.5, 2.0))
        for _ in range(20):
            camera.send_stamped(too_early)
            time.sleep(0.05)
        assert capture.status == Status.RUNNING
        assert not reader.exists(key("left", "scene"))

        def taken() -> bool:
            camera.send_stamped(within)
            return root.status == Status.SUCCESS

        runner.wait_for(taken, 30, "a frame stamped 2 s before now was not taken")
        assert reader.get(key("left", "scene")).stamp == pytest.approx(stamp(within))
    finally:
        runner.close()
        py_trees.blackboard.Blackboard.clear()


@pytest.mark.slow
def test_a_missing_scorer_stops_the_setup_naming_it(capfd):
    """As py_trees_ros's clients wait for their servers in setup: a learned chooser whose scorer
    never appears warns while it waits, then raises TimedOutError naming the service and the
    setting, so a graph started without a scorer stops instead of failing every trial."""
    py_trees.blackboard.Blackboard.clear()
    config = load_config(overrides={"learning.scorer_setup_timeout": 12.0})
    choose = ChooseLearnedGrasp("left", config, "greedy", seed=0)
    started = time.monotonic()
    with pytest.raises(TimedOutError) as raised:
        TreeRunner(choose)
    waited = time.monotonic() - started
    service = config.learning.scorer_service
    assert str(raised.value) == (
        f"Choose grasp (greedy): {service} did not appear within 12 s "
        "(learning.scorer_setup_timeout): is the grasp_scorer node running?"
    )
    assert 12.0 <= waited < 30.0
    assert f"waiting for {service} (10 s)" in capfd.readouterr().err


def test_a_new_tree_never_reads_a_robot_state_an_earlier_tree_left(config):
    """Two trees in one process (a user's task after ours, a test after another): the second
    must wait for its own robot's state, not enable a robot it never heard from. Stale states
    once made every motion of a second tree time out against a robot still disabled."""
    from baxter_core_msgs.msg import AssemblyState

    from supersize_grasp.behaviors.collection import with_robot_topics
    from supersize_grasp.behaviors.robot import STATE_KEY

    writer(STATE_KEY).set(STATE_KEY, AssemblyState(enabled=True))  # the earlier tree's robot
    enable = EnableRobot(config.robot)
    runner = TreeRunner(with_robot_topics("Root", config, ["left"], enable))
    try:
        reader = py_trees.blackboard.Client(name="test reader")
        reader.register_key(STATE_KEY, access=py_trees.common.Access.READ)
        time.sleep(0.5)  # ticks, with no robot on this domain
        assert not reader.exists(STATE_KEY)
        assert enable.status in (Status.INVALID, Status.RUNNING)  # never SUCCESS on a stale state
    finally:
        runner.close()


def arms_once(config):
    """Both arms' ``KeepClearOfOtherArm`` ticked together (left first, as in the tree), once."""
    left, right = KeepClearOfOtherArm("left", config), KeepClearOfOtherArm("right", config)
    policy = py_trees.common.ParallelPolicy.SuccessOnAll(synchronise=True)
    arms = py_trees.composites.Parallel("Arms", policy=policy, children=[left, right])
    return left, right, once(arms)


@pytest.mark.parametrize("right_grasp", [(0.62, -0.05), (0.6, -0.3)], ids=["near", "far"])
def test_an_arm_waits_while_the_other_grasps_near_it_then_looks_again(config, right_grasp):
    """The grippers must not meet over the middle of the table: the second arm to get there
    waits for the first one's trial to end (its claim released), then starts its trial again."""
    robot = writer(*(key(s, n) for s in ("left", "right") for n in ("grasp", "claim")))
    robot.set(key("left", "grasp"), SimpleNamespace(x=0.6, y=0.02))
    robot.set(key("right", "grasp"), SimpleNamespace(x=right_grasp[0], y=right_grasp[1]))
    for side in ("left", "right"):
        robot.set(key(side, "claim"), None)  # as StartTrial leaves it
    left, right, root = arms_once(config)
    runner = TreeRunner(root)
    try:
        runner.wait_for(lambda: left.status == Status.SUCCESS, 10, "the left arm did not claim")
        assert robot.get(key("left", "claim")) == (0.6, 0.02)
        if right_grasp[1] < -0.2:  # 32 cm apart: no wait
            runner.wait_for(lambda: right.status == Status.SUCCESS, 10, "the right arm waited")
            assert robot.get(key("right", "claim")) == right_grasp
            return
        runner.wait_for(lambda: right.status == Status.RUNNING, 10, "the right arm went on")
        time.sleep(0.5)  # ten ticks: it keeps waiting while the left arm's grasp is under way
        assert right.status == Status.RUNNING
        assert right.feedback_message == (
            "waiting: the left arm's grasp is 0.07 m away (arms.min_separation 0.15 m)"
        )
        assert robot.get(key("right", "claim")) is None  # a waiting arm claims nothing
        robot.set(key("left", "claim"), None)  # the left arm's trial ended
        runner.wait_for(lambda: right.status == Status.FAILURE, 10, "the right arm kept waiting")
        assert right.feedback_message == "the left arm is done there: looking again"
        assert robot.get(key("right", "claim")) is None
    finally:
        runner.close()


def test_a_collection_tree_has_one_publisher_per_command_topic(config):
    """Its motions and gripper commands (a dozen per arm) share the node's publisher of each
    topic: one DDS writer each, not ~30 that every subscriber matches and whose QoS event
    handlers the executor walks on every spin."""
    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node("one_publisher_each", context=context)
    log = TrialLog(None, "session", stage=0, quota=1)
    tree = RosBehaviourTree(collection_tree(config, log))
    try:
        tree.setup(node=node, timeout=30.0)
        topics = Counter(p.topic_name for p in node.publishers)
        robot = config.robot
        commands = [robot.enable_topic] + [
            robot.topic(t, side)
            for t in (robot.joint_command_topic, robot.gripper_command_topic)
            for side in ("left", "right")
        ]
        assert all(topics[t] == 1 for t in commands), topics
        assert max(topics.values()) == 1, topics
    finally:
        tree.shutdown()
        log.close()
        node.destroy_node()
        context.try_shutdown()
