"""The trial-tree node: runs the behaviour tree of grasp trials (collection or clutter removal).

A thin shell over ``supersize_grasp.behaviors``: it opens the trial store, builds the task's
tree, ticks it on the robot clock (simulation time with ``robot.use_sim_time``), publishes each
finished trial and the tree's snapshots, and exits when the quota of labelled trials is reached.

Node name: ``trial_tree``.
Publishers: ``/trials`` (TrialRecord, reliable, keep 100); ``~/snapshots`` (TreeSnapshot);
    ``~/trial_view`` (CompressedImage, latched: each chosen grasp drawn on its head image).
Parameters: ``config_file`` and every field of the robot, arms, camera, trial, storage,
    simulator, learning and clear_table sections; ``task`` (``collect``, or ``clear_table``: drop
    the objects in a bin until the table is clear or ``clear_table.max_interactions``);
    ``policy`` (``random``; ``sample`` or ``greedy``: the grasp scorer chooses); ``num_trials``
    (labelled trials to collect, 0: until stopped), ``stage`` (0: random trials), ``session``
    (the store's session id, also the recording's name; default: new),
    ``snapshot_period`` (s between unchanged snapshots), ``snapshot_min_interval``
    (wall s between snapshots at most; 0: every changed tick).
"""

from __future__ import annotations

import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from supersize_grasp_interfaces.msg import TrialRecord

from supersize_grasp.behaviors.clear_table import clear_table_tree
from supersize_grasp.behaviors.collection import collection_tree
from supersize_grasp.behaviors.learned import learned_chooser
from supersize_grasp.behaviors.ros.snapshots import SnapshotPublisher
from supersize_grasp.behaviors.ros.trees import RosBehaviourTree
from supersize_grasp.behaviors.ros.trial_view import TrialViewPublisher
from supersize_grasp.behaviors.trial import TrialLog
from supersize_grasp.config import to_yaml
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.nodes.parameters import load_node_config
from supersize_grasp.nodes.spin import run_node

TRIALS_QOS = QoSProfile(
    depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)


class TrialTreeNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("trial_tree", **kwargs)
        self.config = load_node_config(
            self,
            ["robot", "arms", "camera", "trial", "storage", "simulator", "learning", "clear_table"],
        )
        self.num_trials = self.declare_parameter("num_trials", 0).value
        self.stage = self.declare_parameter("stage", 0).value
        session = self.declare_parameter("session", "").value or None
        snapshot_period = self.declare_parameter("snapshot_period", 1.0).value
        snapshot_min_interval = self.declare_parameter("snapshot_min_interval", 0.1).value
        policy = self.declare_parameter("policy", "random").value
        task = self.declare_parameter("task", "collect").value
        if task not in ("collect", "clear_table"):
            raise ValueError(f"parameter task: 'collect' or 'clear_table', got {task!r}")
        if task == "clear_table":
            self.num_trials = self.config.clear_table.max_interactions
        self.set_parameters([Parameter("use_sim_time", value=self.config.robot.use_sim_time)])
        self.store = TrialStore.open(self.config.storage.data_dir)
        already = self.store.count()
        seed = self.config.trial.seed + already  # a resumed run does not repeat its grasps
        self.session_id = self.store.begin_session(
            robot=self.config.robot.name,
            config_yaml=to_yaml(self.config),
            seed=seed,
            session_id=session,
        )
        self.trials_pub = self.create_publisher(TrialRecord, "/trials", TRIALS_QOS)
        self.log = TrialLog(
            self.store, self.session_id, self.stage, self.num_trials, self.trials_pub.publish
        )
        chooser = None if policy == "random" else learned_chooser(policy, seed)
        if task == "clear_table":
            root, self.cleared = clear_table_tree(self.config, self.log, chooser, policy, seed)
        else:
            root = collection_tree(self.config, self.log, chooser, policy, seed=seed)
        self.tree = RosBehaviourTree(root)
        self.tree.setup(node=self, timeout=60.0)
        self.snapshots = SnapshotPublisher(
            self.tree, self, period=snapshot_period, min_interval=snapshot_min_interval
        )
        self.trial_view = TrialViewPublisher(
            self.tree,
            self,
            self.config.arms.active(),
            policy,
            self.config.trial.table_z,
            self.config.learning.gripper_opening,
        )
        self.tree.add_post_tick_handler(self._after_tick)
        self.finished = False
        self.tree.tick_tock(self.config.trial.tick_period)
        self.get_logger().info(
            f"collecting {self.num_trials or 'unlimited'} trials (stage {self.stage}) into "
            f"{self.config.storage.data_dir} ({already} trials stored), session {self.session_id}"
        )

    def _after_tick(self, tree) -> None:
        if tree.root.status == tree.root.status.SUCCESS and not self.finished:
            self.finished = True
            self.get_logger().info(f"done: {self.log}")
            self.tree.stop()
            rclpy.try_shutdown(context=self.context)

    def destroy_node(self) -> None:
        if self.log is not None:  # rclpy may destroy the node again at context shutdown
            self.tree.stop()
            self.log.close()
            if self.finished:  # a stopped or killed session stays open: it did not finish
                self.store.end_session(self.session_id)
            self.store.close()
            self.log = None
        super().destroy_node()


def main(args=None) -> None:
    run_node(TrialTreeNode, args)


if __name__ == "__main__":
    main()
