"""The simulated Baxter killed with SIGKILL mid-trial and started again: the tree stops the trial,
stores no label it could not measure, says why, and goes on by itself once the robot is back.

Real parts only: the simulator node and the trial-tree node run as separate process graphs over
DDS (so that the simulator alone can be killed, as a dying ``ros1_bridge`` silences the real
robot), with the real trial store.
"""

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import rclpy
from rcl_interfaces.msg import Log
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from supersize_grasp_interfaces.msg import BehaviourSnapshot, TreeSnapshot, TrialRecord

from supersize_grasp.behaviors.ros.snapshots import SNAPSHOT_QOS
from supersize_grasp.config import load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.graph import collect_graph, sim_graph
from supersize_grasp.launcher import GraphProcess
from supersize_grasp.qos import TRIALS_QOS

EXECUTING = ("Descend", "Grip", "Lift 20 cm", "Label from gripper")
LABELLED = (TrialRecord.OUTCOME_SUCCESS, TrialRecord.OUTCOME_FAILURE)


class TreeWatcher:
    """Follows the tree node from outside: its snapshots, its trials and its log."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node("fault_watcher", context=self.context)
        self.changed = threading.Condition()
        self.trials: list[TrialRecord] = []
        self.log: list[str] = []
        self.running: dict[str, str] = {}  # RUNNING behaviour -> feedback, in the last snapshot
        self.feedback: dict[str, str] = {}  # every active behaviour's feedback, last snapshot
        self.node.create_subscription(TrialRecord, "/trials", self._on_trial, TRIALS_QOS)
        self.node.create_subscription(
            TreeSnapshot, "/trial_tree/snapshots", self._on_snapshot, SNAPSHOT_QOS
        )
        self.node.create_subscription(Log, "/rosout", self._on_log, 100)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_trial(self, msg: TrialRecord) -> None:
        with self.changed:
            self.trials.append(msg)
            self.changed.notify_all()

    def _on_snapshot(self, msg: TreeSnapshot) -> None:
        active = [b for b in msg.behaviours if b.is_active]
        with self.changed:
            self.feedback = {b.name: b.message for b in active}
            self.running = {
                b.name: b.message for b in active if b.status == BehaviourSnapshot.STATUS_RUNNING
            }
            self.changed.notify_all()

    def _on_log(self, msg: Log) -> None:
        if msg.name == "trial_tree":
            with self.changed:
                self.log.append(msg.msg)
                self.changed.notify_all()

    def wait_for(self, condition, timeout: float, what: str, graphs=()) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition():
                for graph in graphs:
                    exited = graph.poll()
                    assert exited is None, f"{exited[0]} exited with {exited[1]} waiting for {what}"
                left = deadline - time.monotonic()
                assert left > 0, f"timed out after {timeout} s waiting for {what}"
                self.changed.wait(min(left, 1.0))

    def labelled(self) -> int:
        return sum(t.outcome in LABELLED for t in self.trials)

    def close(self) -> None:
        self.executor.shutdown()
        self.thread.join(timeout=5.0)
        self.node.destroy_node()
        self.context.try_shutdown()


def consistent_with_gripper(trial, label) -> None:
    """The label was read from a gripper state recorded in this trial's history, which is one
    robot clock's samples (none from before a restart)."""
    times = [t for t, _, _ in trial.gripper_history]
    assert times == sorted(set(times)), f"trial {trial.trial_id}: history not one clock's"
    measured = {(position, force) for _, position, force in trial.gripper_history}
    assert (trial.gripper_position, trial.force) in measured, f"trial {trial.trial_id}"
    held = trial.force >= label.min_force and trial.gripper_position >= label.min_position
    if trial.outcome == "failure":
        assert not held, f"trial {trial.trial_id}: failure while holding {trial.force}%"
    else:
        assert trial.object_id.startswith("primitives/"), f"trial {trial.trial_id}"


@pytest.mark.slow
def test_simulator_killed_mid_trial_and_restarted(tmp_path):
    config = load_config(
        overrides={
            "simulator.objects.folder": "builtin:primitives",
            "simulator.scene.n_objects": 6,
            "storage.data_dir": str(Path(tmp_path, "data")),
            "storage.record_mcap": False,
        }
    )
    (tree_spec,) = [s for s in collect_graph() if s.name == "trial_tree"]
    watcher = TreeWatcher()
    sim = GraphProcess(sim_graph(), config=config)
    tree = GraphProcess([tree_spec], config=config)
    try:
        watcher.wait_for(
            lambda: any(name in watcher.running for name in EXECUTING),
            120,
            "a grasp in execution",
            [sim, tree],
        )
        os.killpg(sim.processes["sim_baxter"].pid, signal.SIGKILL)
        sim.shutdown()

        watcher.wait_for(
            lambda: "connection lost" in watcher.running.get("Enable robot", ""),
            30,
            "the tree to report the silent robot",
            [tree],
        )
        reported_after = len(watcher.trials)
        assert "/robot/state" in watcher.feedback["Robot link"], watcher.feedback
        assert not set(watcher.running) & set(EXECUTING), watcher.running
        watcher.wait_for(
            lambda: any("connection lost" in line for line in watcher.log), 10, "the tree's log"
        )
        assert len(watcher.trials) == reported_after, "a trial logged while silent"

        sim = GraphProcess(sim_graph(), config=config)
        restarted_after = len(watcher.trials)
        watcher.wait_for(
            lambda: sum(t.outcome in LABELLED for t in watcher.trials[restarted_after:]) >= 1,
            150,
            "a labelled trial after the restart",
            [sim, tree],
        )
        assert any("arrive again" in line for line in watcher.log)
        resumed = {t.trial_id for t in watcher.trials[restarted_after:] if t.outcome in LABELLED}
    finally:
        tree.shutdown()
        sim.shutdown()
        watcher.close()
    with TrialStore.open(config.storage.data_dir, readonly=True) as store:
        assert store.check_integrity() == []
        trials = list(store.trials())
        assert resumed <= {t.trial_id for t in trials}
        for trial in trials:
            consistent_with_gripper(trial, config.robot.label)
