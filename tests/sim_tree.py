"""Ticking a tree of our behaviours in the test process against the simulated Baxter's graph."""

import threading
import time

import py_trees
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

from supersize_grasp.behaviors.ros.trees import RosBehaviourTree
from supersize_grasp.behaviors.trial_log import TrialLog
from supersize_grasp.config import Config, load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess


def run_on_the_simulator(tmp_path, make_root, config: Config | None = None) -> TrialStore:
    """Ticks ``make_root(config, log)`` against the simulated Baxter until it succeeds; returns
    the store its trials went to (open)."""
    config = config or load_config(
        overrides={"simulator.objects.folder": "builtin:primitives", "simulator.seed": 3}
    )
    sim = GraphProcess(sim_graph(), config=config)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node("tidy_up", context=context)
    node.set_parameters([Parameter("use_sim_time", value=True)])
    store = TrialStore.open(tmp_path / "data")
    session = store.begin_session("sim", "", seed=0)
    log = TrialLog(store, session, stage=0, quota=0)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    try:
        tree = RosBehaviourTree(make_root(config, log))
        tree.setup(node=node, timeout=60.0)
        done = threading.Event()

        def stop_when_done(tree):
            if tree.root.status == py_trees.common.Status.SUCCESS:
                tree.stop()
                done.set()

        tree.add_post_tick_handler(stop_when_done)
        tree.publish_ticks(config.trial.tick_topic)
        tree.tick_tock(period=0.05)
        spinner.start()
        deadline = time.monotonic() + 240
        while not done.wait(0.2):
            assert time.monotonic() < deadline, py_trees.display.unicode_tree(tree.root, True)
            assert sim.poll() is None, "the simulator died"
    finally:
        executor.shutdown()
        if spinner.is_alive():
            spinner.join(timeout=10.0)  # its spin must not outlive the context
        log.close()
        node.destroy_node()
        rclpy.shutdown(context=context)
        sim.shutdown()
    return store
