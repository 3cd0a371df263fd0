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
    ``policy`` (``random``; ``sample`` or ``greedy``: the grasp scorer chooses; ``oracle``: the
    simulated Baxter's oracle does); ``num_trials`` (labelled trials to collect, 0: until
    stopped), ``stage`` (0: random trials), ``session``
    (the store's session id, also the recording's name; default: new),
    ``snapshot_period`` (s between unchanged snapshots), ``snapshot_min_interval``
    (wall s between snapshots at most; 0: every changed tick); ``recorder`` (the session
    recorder's node name, set by the collection graph: the first tick waits until it subscribed
    to the tree's recorded topics, so the recording holds the first snapshot and trial; empty:
    no wait), ``recorder_timeout`` (s; then TimedOutError); ``spool`` (default: collecting in a
    robot's namespace): send each committed trial to the fleet's dataset writer
    (``SpoolPublisher``) and, with the quota done, exit once the writer holds them all.
In a fleet robot's namespace (``/baxter_0``) every name above is under it.
"""

from __future__ import annotations

import time

import rclpy
from rclpy.duration import Duration
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from supersize_grasp_interfaces.msg import TrialRecord

from supersize_grasp.behaviors.clear_table import clear_table_tree
from supersize_grasp.behaviors.collection import collection_tree
from supersize_grasp.behaviors.grasp_policy import FailedGrasps
from supersize_grasp.behaviors.learned import learned_chooser
from supersize_grasp.behaviors.ros.exceptions import TimedOutError
from supersize_grasp.behaviors.ros.snapshots import SNAPSHOT_QOS, SnapshotPublisher
from supersize_grasp.behaviors.ros.spool import SpoolPublisher
from supersize_grasp.behaviors.ros.trees import RosBehaviourTree
from supersize_grasp.behaviors.ros.trial_view import TrialViewPublisher
from supersize_grasp.behaviors.trial_log import TrialLog
from supersize_grasp.config import to_yaml
from supersize_grasp.dataset.store import StoreFullError, TrialStore
from supersize_grasp.fleet import namespaced
from supersize_grasp.nodes.parameters import load_node_config
from supersize_grasp.nodes.spin import run_node, start_or_destroy
from supersize_grasp.qos import LATCHED, TRIALS_QOS

RECORDER_WARNING_PERIOD = 5.0  # s between warnings while the first tick waits for the recorder


class TrialTreeNode(Node):
    def __init__(self, **kwargs) -> None:
        # What destroy_node reads, first: Ctrl-C may end the constructor anywhere.
        self.log: TrialLog | None = None
        self.store: TrialStore | None = None
        self.tree: RosBehaviourTree | None = None
        self.finished = False
        self.ended = False
        self.spool: SpoolPublisher | None = None
        self.failure: str | None = None
        super().__init__("trial_tree", **kwargs)
        start_or_destroy(self, self._start)

    def _start(self) -> None:
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
        recorder = self.declare_parameter("recorder", "").value
        recorder_timeout = self.declare_parameter("recorder_timeout", 60.0).value
        fleet = self.get_namespace() != "/" and task == "collect"
        spool = self.declare_parameter("spool", fleet).value
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
        trials = namespaced("/trials", self.get_namespace())
        self.trials_pub = self.create_publisher(TrialRecord, trials, TRIALS_QOS)
        if spool:
            self.spool = SpoolPublisher(self, self.store)
        self.log = TrialLog(
            self.store, self.session_id, self.stage, self.num_trials, self.trials_pub.publish
        )
        failed = None
        if task == "clear_table":
            c = self.config.clear_table
            failed = FailedGrasps(c.retry_radius, c.retry_bins, c.give_up_after)
        chooser = None if policy == "random" else learned_chooser(policy, seed, failed)
        if task == "clear_table":
            root, self.cleared = clear_table_tree(
                self.config, self.log, chooser, policy, seed, failed
            )
        else:
            root = collection_tree(self.config, self.log, chooser, policy, seed=seed)
        self.tree = RosBehaviourTree(root)
        # Longer than a learned chooser's own wait for its scorer, which names what is missing.
        self.tree.setup(node=self, timeout=self.config.learning.scorer_setup_timeout + 60.0)
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
        if recorder and self.config.storage.record_mcap:
            recorded = {t.partition(":")[0] for t in self.config.storage.recorder.topics}
            offered = {
                self.trials_pub: TRIALS_QOS,
                self.snapshots.publisher: SNAPSHOT_QOS,
                self.trial_view.publisher: LATCHED,
            }
            mine = {p: q for p, q in offered.items() if p.topic_name in recorded}
            wait_for_recorder(self, recorder, mine, recorder_timeout)
        self.tree.publish_ticks(self.config.trial.tick_topic)
        self.tree.tick_tock(self.config.trial.tick_period, self.config.trial.max_tick_gap)
        self.get_logger().info(
            f"collecting {self.num_trials or 'unlimited'} trials (stage {self.stage}) into "
            f"{self.config.storage.data_dir} ({already} trials stored), session {self.session_id}"
        )

    def _after_tick(self, tree) -> None:
        if self.store.disk_full is not None and self.failure is None:  # no trial can be kept
            self.failure = str(self.store.disk_full)
            self.get_logger().error(f"stopping: {self.failure}")
            self.tree.stop()
            rclpy.try_shutdown(context=self.context)
        elif tree.root.status == tree.root.status.SUCCESS and not self.finished:
            self.finished = True
            self.get_logger().info(f"done: {self.log}")
            self.tree.stop()
            if self.spool is None:
                rclpy.try_shutdown(context=self.context)
                return
            self.store.end_session(self.session_id)  # the trials still to send carry the end
            self.ended = True
            self.get_logger().info("waiting for the dataset writer to hold every trial")
            self.spool.finish(lambda: rclpy.try_shutdown(context=self.context))

    def destroy_node(self) -> None:
        if self.store is not None:  # rclpy may destroy the node again at context shutdown
            if self.tree is not None:
                self.tree.stop()
            if self.log is not None:
                self.log.close()
            if self.finished and not self.ended:  # a stopped or killed session stays open
                self.store.end_session(self.session_id)
            self.store.close()
            self.store = None
        super().destroy_node()


def wait_for_recorder(
    node: Node, recorder: str, publishers: dict[Publisher, QoSProfile], timeout: float
) -> None:
    """Block until the node named ``recorder`` subscribed to each publisher's topic, every
    subscription there matched, and every reliable one acknowledged what was already published.

    A match seen from the publisher is not yet one seen from the subscriber: a latched publisher
    of depth 1 (the first snapshot, published before the first tick) could replace its message
    with the next tick's before the recorder took it. Once acknowledged, it is recorded.

    Raises TimedOutError after ``timeout`` s, ExternalShutdownException on Ctrl-C.
    """
    start = warned = time.monotonic()
    while missing := _unmatched(node, recorder, publishers):
        if not node.context.ok():
            raise ExternalShutdownException()
        waited = time.monotonic() - start
        if waited >= timeout:
            raise TimedOutError(
                f"the recorder node {recorder!r} did not subscribe to {', '.join(missing)} "
                f"within {timeout:g} s (recorder_timeout); is it running?"
            )
        if time.monotonic() - warned >= RECORDER_WARNING_PERIOD:
            warned = time.monotonic()
            node.get_logger().warning(
                f"waiting {waited:.0f} s for the recorder {recorder!r} on {', '.join(missing)}"
            )
        time.sleep(0.02)
    for publisher in publishers:
        left = max(0.0, timeout - (time.monotonic() - start))
        if not publisher.wait_for_all_acked(Duration(seconds=left)):
            raise TimedOutError(
                f"the recorder node {recorder!r} did not acknowledge {publisher.topic_name} "
                f"within {timeout:g} s (recorder_timeout)"
            )


def _unmatched(node: Node, recorder: str, publishers: dict[Publisher, QoSProfile]) -> list[str]:
    """Topics without the recorder's subscription, or with a matching one not yet matched."""
    missing = []
    for publisher, qos in publishers.items():
        subscriptions = [
            s
            for s in node.get_subscriptions_info_by_topic(publisher.topic_name)
            if _matches(qos, s.qos_profile)
        ]
        recorded = any(s.node_name == recorder for s in subscriptions)
        if not recorded or publisher.get_subscription_count() < len(subscriptions):
            missing.append(publisher.topic_name)
    return missing


def _matches(offered: QoSProfile, requested: QoSProfile) -> bool:
    """Whether a subscription asking ``requested`` matches a publisher offering ``offered``.

    Reliability and durability only: our publishers set no deadline or liveliness, and
    ``qos_check_compatible`` reads their unset deadline as none against the graph's infinite one.
    """
    reliable = ReliabilityPolicy.RELIABLE
    latched = DurabilityPolicy.TRANSIENT_LOCAL
    return (offered.reliability == reliable or requested.reliability != reliable) and (
        offered.durability == latched or requested.durability != latched
    )


def main(args=None) -> None:
    try:
        node = run_node(TrialTreeNode, args)
    except (StoreFullError, TimedOutError) as e:  # the session could not even begin
        raise SystemExit(f"trial_tree: {e}") from None
    if node is not None and node.failure is not None:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
