"""The README's example: our grasp subtree composed into a user's own task, on the real graph."""

import threading
import time

import py_trees
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

from supersize_grasp.behaviors.collection import with_robot_topics
from supersize_grasp.behaviors.robot import EnableRobot
from supersize_grasp.behaviors.ros.trees import RosBehaviourTree
from supersize_grasp.behaviors.trial import TrialLog, trial_subtree
from supersize_grasp.config import load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess


def tidy_up(config, log, chooser=None, grasps=3):
    """Enable the robot, then make three grasp trials with the left arm (as in the README)."""
    three_grasps = py_trees.decorators.Repeat(
        "Three grasps", trial_subtree("left", config, log, chooser=chooser), num_success=grasps
    )
    task = py_trees.composites.Sequence(
        "Tidy up", memory=True, children=[EnableRobot(config.robot), three_grasps]
    )
    return with_robot_topics("Root", config, ["left"], task)


def run_on_the_simulator(tmp_path, make_root) -> TrialStore:
    """Ticks ``make_root(config, log)`` against the simulated Baxter until it succeeds."""
    config = load_config(
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


def test_readme_composition_runs_three_trials(tmp_path):
    store = run_on_the_simulator(tmp_path, tidy_up)
    outcomes = [(t.arm, t.outcome, t.message[:60]) for t in store.trials(labelled_only=False)]
    assert store.count() == 3, outcomes
    assert {t.arm for t in store.trials(labelled_only=False)} == {"left"}
    store.close()


def test_a_chooser_that_never_chooses_logs_no_trial(tmp_path):
    """E.g. a scorer that never answers: no grasp, so nothing to log (and no crash), and the
    subtree recovers as after any failure."""

    def broken(side, config):
        return py_trees.behaviours.Failure("Scorer never answers")

    store = run_on_the_simulator(
        tmp_path, lambda config, log: tidy_up(config, log, chooser=broken, grasps=2)
    )
    assert list(store.trials(labelled_only=False)) == []
    store.close()
