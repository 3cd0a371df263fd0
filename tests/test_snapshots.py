"""Tree snapshots: conversion, change detection, statistics and ``supersize-grasp watch`` on DDS."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import py_trees
import pytest
import rclpy
from py_trees.common import Access, Status
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from supersize_grasp_interfaces.msg import BehaviourSnapshot, TreeSnapshot

from supersize_grasp.behaviors.ros.snapshots import (
    SNAPSHOT_QOS,
    VALUE_MAX_CHARS,
    SnapshotPublisher,
    render_snapshot,
    snapshot_message,
)
from supersize_grasp.rclpy_compat import initialized

pytestmark = pytest.mark.ros

CLI = Path(sys.prefix, "bin", "supersize-grasp")
# Deeper than the publisher's history, so that a test subscriber never drops one of a burst.
TEST_QOS = QoSProfile(
    depth=50, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


class Puppet(py_trees.behaviour.Behaviour):
    """A leaf that returns what the test says, and writes ``value`` to its key when ticked."""

    def __init__(self, name: str, status: Status = Status.RUNNING, key: str | None = None):
        super().__init__(name)
        self.next_status = status
        self.next_message = ""
        self.key = key
        self.value = 0
        self.bb = self.attach_blackboard_client(name=name)
        if key is not None:
            self.bb.register_key(key, access=Access.WRITE)

    def update(self) -> Status:
        if self.key is not None:
            self.bb.set(self.key, self.value)
        self.feedback_message = self.next_message
        return self.next_status


class TrialTree:
    """Selector(Sequence(leaf, Inverter(leaf), Parallel(leaf, leaf)), leaf), with two keys."""

    def __init__(self):
        self.close = Puppet("Close Gripper", key="/trial/attempt")
        self.close.next_message = "closing"
        self.force = Puppet("Watch Force", Status.SUCCESS)
        self.grasp = py_trees.composites.Parallel(
            "Grasp",
            # unsynchronised: both children are ticked every tick
            policy=py_trees.common.ParallelPolicy.SuccessOnAll(synchronise=False),
            children=[self.close, self.force],
        )
        self.perceive = Puppet("Perceive", Status.SUCCESS, key="objects")
        self.holding = Puppet("Holding", Status.FAILURE)
        self.not_holding = py_trees.decorators.Inverter("Not Holding", self.holding)
        self.trial = py_trees.composites.Sequence(
            "Trial", memory=False, children=[self.perceive, self.not_holding, self.grasp]
        )
        self.recover = Puppet("Recover", Status.SUCCESS, key="/recover/count")
        self.root = py_trees.composites.Selector(
            "Root", memory=False, children=[self.trial, self.recover]
        )
        self.tree = py_trees.trees.BehaviourTree(self.root)


@pytest.fixture(autouse=True)
def clean_blackboard():
    py_trees.blackboard.Blackboard.clear()
    yield
    py_trees.blackboard.Blackboard.clear()


@pytest.fixture(scope="module")
def ros():
    with initialized():
        yield


@pytest.fixture
def node(ros):
    node = rclpy.create_node("snapshot_test", namespace=f"/t{os.getpid()}")
    yield node
    node.destroy_node()


def spin_until(executor, predicate, timeout=10.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        executor.spin_once(timeout_sec=0.05)


def recording(snapshots: SnapshotPublisher) -> list[TreeSnapshot]:
    """Record what the publisher publishes (it still goes out over DDS)."""
    published = []
    publish = snapshots.publisher.publish

    def record(msg):
        published.append(msg)
        publish(msg)

    snapshots.publisher.publish = record
    return published


def by_name(msg: TreeSnapshot) -> dict[str, BehaviourSnapshot]:
    return {b.name: b for b in msg.behaviours}


def test_conversion_and_rendering():
    t = TrialTree()
    t.tree.add_visitor(py_trees.visitors.SnapshotVisitor())
    t.close.value = 3
    t.tree.tick()
    msg = snapshot_message(t.tree)

    assert [b.name for b in msg.behaviours] == [
        "Root", "Trial", "Perceive", "Not Holding", "Holding", "Grasp", "Close Gripper",
        "Watch Force", "Recover",
    ]  # fmt: skip
    b = by_name(msg)
    ids = {name: s.own_id for name, s in b.items()}
    assert b["Root"].parent_id == "" and b["Root"].class_name == "py_trees.composites.Selector"
    assert b["Trial"].parent_id == ids["Root"]
    assert b["Trial"].child_ids == [ids["Perceive"], ids["Not Holding"], ids["Grasp"]]
    assert b["Not Holding"].child_ids == [ids["Holding"]]
    assert b["Close Gripper"].class_name == f"{__name__}.Puppet"
    expected_types = {
        "Root": BehaviourSnapshot.TYPE_SELECTOR,
        "Trial": BehaviourSnapshot.TYPE_SEQUENCE,
        "Grasp": BehaviourSnapshot.TYPE_PARALLEL,
        "Not Holding": BehaviourSnapshot.TYPE_DECORATOR,
        "Perceive": BehaviourSnapshot.TYPE_BEHAVIOUR,
    }
    assert {name: b[name].type for name in expected_types} == expected_types
    statuses = {name: s.status for name, s in b.items()}
    assert statuses == {
        "Root": BehaviourSnapshot.STATUS_RUNNING,
        "Trial": BehaviourSnapshot.STATUS_RUNNING,
        "Perceive": BehaviourSnapshot.STATUS_SUCCESS,
        "Not Holding": BehaviourSnapshot.STATUS_SUCCESS,
        "Holding": BehaviourSnapshot.STATUS_FAILURE,
        "Grasp": BehaviourSnapshot.STATUS_RUNNING,
        "Close Gripper": BehaviourSnapshot.STATUS_RUNNING,
        "Watch Force": BehaviourSnapshot.STATUS_SUCCESS,
        "Recover": BehaviourSnapshot.STATUS_INVALID,
    }
    assert [name for name, s in b.items() if not s.is_active] == ["Recover"]
    assert b["Root"].tip_id == str(t.root.tip().id) == b["Trial"].tip_id != ""
    assert b["Perceive"].tip_id == "" and b["Recover"].tip_id == ""  # leaves, an invalid one
    assert b["Close Gripper"].message == "closing"
    assert b["Root"].blackbox_level == py_trees.common.BlackBoxLevel.NOT_A_BLACKBOX.value
    # the blackboard of the visited path only: Recover was not ticked
    assert [(kv.key, kv.value) for kv in msg.blackboard_on_visited_path] == [
        ("/objects", "0"),
        ("/trial/attempt", "3"),
    ]
    assert msg.tree_name == "Root" and msg.changed

    text = render_snapshot(msg, color=False)
    assert "\033" not in text
    for line in [
        "[o] Root [*]",
        "    [-] Trial [*]",
        "        --> Perceive [✓]",
        "        -^- Not Holding [✓] -- failure -> success",
        "            --> Holding [✕]",
        "        /_/ Grasp [*]",
        "            --> Close Gripper [*] -- closing",
        "    --> Recover [-]",
        "    /trial/attempt : 3",
    ]:
        assert line in text.splitlines(), f"{line!r} not in\n{text}"
    assert text.index("Blackboard") < text.index("Statistics")
    assert "Blackboard" not in render_snapshot(msg, color=False, show_blackboard=False)
    ascii_text = render_snapshot(msg, color=False, unicode=False)
    assert "--> Holding [x]" in ascii_text and "--> Perceive [o]" in ascii_text
    coloured = render_snapshot(msg)
    assert "\033[31m✕\033[0m" in coloured  # red failure mark


def test_long_values_are_cut_and_unvisited_trees_have_no_blackboard():
    t = TrialTree()
    t.close.value = list(range(1000))  # summarised, not converted in full and then cut
    visitor = py_trees.visitors.SnapshotVisitor()
    t.tree.add_visitor(visitor)
    t.tree.tick()
    value = {kv.key: kv.value for kv in snapshot_message(t.tree).blackboard_on_visited_path}
    assert value["/trial/attempt"] == "[0, 1, 2, 3, ...]"
    t.close.value = "x" * 1000
    t.tree.tick()
    value = {kv.key: kv.value for kv in snapshot_message(t.tree).blackboard_on_visited_path}
    assert len(value["/trial/attempt"]) <= VALUE_MAX_CHARS
    assert value["/trial/attempt"].startswith("'xxx") and "..." in value["/trial/attempt"]

    bare = TrialTree()  # no SnapshotVisitor: nothing known to be active
    bare.tree.tick()
    msg = snapshot_message(bare.tree)
    assert not any(b.is_active for b in msg.behaviours) and not msg.blackboard_on_visited_path
    # an explicit visitor is used instead of the tree's own
    assert len(snapshot_message(bare.tree, visitor=visitor).blackboard_on_visited_path) == 0


def test_changed_flags_and_statistics(node):
    t = TrialTree()
    snapshots = SnapshotPublisher(t.tree, node, period=0.0)
    published = recording(snapshots)
    assert snapshots.topic == f"{node.get_namespace()}/snapshot_test/snapshots"

    def tick(expect_changed: bool):
        t.tree.tick()
        msg = published[-1]
        assert msg.statistics.count == t.tree.count
        assert msg.changed == expect_changed, render_snapshot(msg, color=False)

    tick(True)  # everything was INVALID
    tick(False)
    t.close.next_message = "closing harder"
    tick(True)  # feedback message
    tick(False)
    t.close.value = 7
    tick(True)  # blackboard on the visited path
    tick(False)
    t.force.next_status = Status.RUNNING
    tick(True)  # a status
    t.grasp.remove_child(t.force)
    tick(True)  # tree shape
    tick(False)
    t.close.next_status = Status.FAILURE
    tick(True)  # Trial fails, Recover runs: the visited path changed
    assert by_name(published[-1])["Recover"].is_active

    # each snapshot keeps the statistics of its own tick
    assert [m.statistics.count for m in published] == list(range(1, 11))
    s = published[-1].statistics
    assert 0 < s.tick_duration < 10 and 0 < s.tick_duration_mean < 10  # seconds, not ns
    assert s.tick_duration_variance >= 0 and s.tick_interval_variance >= 0
    assert published[-1].header.stamp == s.stamp
    snapshots.close()
    t.tree.tick()
    assert published[-1].statistics.count == 10  # detached
    assert not t.tree.pre_tick_handlers and not t.tree.post_tick_handlers and not t.tree.visitors


def test_unchanged_ticks_publish_only_every_period(node):
    t = TrialTree()
    snapshots = SnapshotPublisher(t.tree, node, period=0.3)
    published = recording(snapshots)
    for _ in range(6):
        t.tree.tick()
    assert [m.changed for m in published] == [True]
    time.sleep(0.3)
    t.tree.tick()
    assert [m.changed for m in published] == [True, False]
    s = published[-1].statistics
    assert s.count == 7
    assert 0.3 <= s.tick_interval < 1.0
    assert s.tick_interval / 6 < s.tick_interval_mean < s.tick_interval / 2  # 6 in the window
    snapshots.close()


def test_latched_snapshot_reaches_a_late_subscriber(node):
    t = TrialTree()
    snapshots = SnapshotPublisher(t.tree, node, topic="latched", period=0.0)
    for _ in range(3):
        t.close.value += 1
        t.tree.tick()
    late = rclpy.create_node("late_watcher", namespace=node.get_namespace())
    executor = SingleThreadedExecutor()
    executor.add_node(late)
    received = []
    late.create_subscription(TreeSnapshot, "latched", received.append, SNAPSHOT_QOS)
    try:
        spin_until(executor, lambda: received, what="the latched snapshot")
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:  # nothing older follows
            executor.spin_once(timeout_sec=0.05)
        assert [m.statistics.count for m in received] == [3]
        assert by_name(received[0])["Close Gripper"].status == BehaviourSnapshot.STATUS_RUNNING
    finally:
        executor.shutdown()
        late.destroy_node()
        snapshots.close()


@pytest.fixture
def ticking_tree(node):
    """A tree ticking every 50 ms on an executor thread, as the trial runner does."""
    t = TrialTree()
    snapshots = SnapshotPublisher(t.tree, node)
    node.create_timer(0.05, t.tree.tick)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield t, snapshots.topic
    executor.shutdown()
    thread.join(timeout=5)


def watch(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.Popen(
        [str(CLI), "watch", "--no-color", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
        **kwargs,
    )


@pytest.mark.slow
def test_watch_once_prints_the_tree_from_another_process(ticking_tree):
    _, topic = ticking_tree
    proc = watch("--once", "--topic", topic, "--timeout", "20")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    for line in [
        "[o] Root [*]",
        "        --> Perceive [✓]",
        "            --> Holding [✕]",
        "            --> Close Gripper [*] -- closing",
        "    --> Recover [-]",
    ]:
        assert line in lines, f"{line!r} not in\n{out}"
    assert any(line.startswith("    /trial/attempt") for line in lines)
    assert "Statistics" in out


def test_watch_streams_until_ctrl_c(ticking_tree):
    _, topic = ticking_tree
    proc = watch("--topic", topic, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + 20
        while not lines.get(timeout=max(0.1, deadline - time.monotonic())).startswith("Statistics"):
            pass
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_watch_once_times_out_without_publisher(ros):
    proc = watch("--once", "--topic", f"/nobody_{os.getpid()}/snapshots", "--timeout", "0.5")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and out == ""
    assert "no snapshot" in err and "no publisher" in err
