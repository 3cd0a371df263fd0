"""How often the simulated Baxter publishes when its physics runs faster than real time."""

import threading
import time

import numpy as np
import py_trees
import pytest
import rclpy
from baxter_core_msgs.msg import EndEffectorCommand
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState

from supersize_grasp.behaviors.ros.trees import RosBehaviourTree
from supersize_grasp.config import load_config
from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess
from supersize_grasp.simulator.pacing import Lockstep, Pace
from tests.sdk_client import SdkClient

CAP = 20.0  # Hz (wall): far below what the physics would give at 100 Hz of simulated time
CONFIG = load_config(
    overrides={
        "simulator.objects.folder": "builtin:primitives",
        "simulator.scene.n_objects": 1,
        "simulator.ros.auto_refill": False,
        "simulator.ros.max_state_rate_wall": CAP,
    }
)


def test_pace_keeps_the_robots_rate_and_the_wall_clock_cap():
    pace = Pace(rate=100.0, max_rate_wall=10.0)
    assert pace.due(0.0, 0.0)
    assert not pace.due(0.005, 1.0), "faster than the robot's 100 Hz of simulated time"
    assert not pace.due(0.5, 0.05), "more than 10 a wall second"
    assert pace.due(0.5, 0.05, flags=(True,)), "a changed flag goes out at the robot's rate"
    assert not pace.due(0.505, 0.06, flags=(False,))
    assert not pace.due(0.52, 0.07, flags=(True,)), "unchanged flags wait for the cap"
    assert pace.due(0.6, 0.16)
    uncapped = Pace(rate=100.0)
    assert all(uncapped.due(0.01 * i, 0.0) for i in range(1000)), "float steps of 10 ms"


@pytest.fixture(scope="module")
def client():
    graph = GraphProcess(sim_graph(), config=CONFIG)
    client = SdkClient("rates_client")
    try:
        client.wait_for(lambda: client.get("state") is not None, 90, "the simulator to start")
        yield client
    finally:
        client.close()
        graph.shutdown()


def test_joint_states_keep_the_wall_clock_cap_and_the_robots_rate(client):
    received = []
    subscription = client.node.create_subscription(
        JointState, "/robot/joint_states", received.append, 100
    )
    try:
        client.wait_for(lambda: len(received) > 2, 30, "joint states")
        start, first = time.monotonic(), len(received)
        time.sleep(2.0)
        wall, stamps = time.monotonic() - start, received[first:]
    finally:
        client.node.destroy_subscription(subscription)
    seconds = np.array([m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in stamps])
    assert 0 < len(seconds) <= CAP * wall + 3, f"{len(seconds)} in {wall:.1f} s passes {CAP} Hz"
    assert np.diff(seconds).min() >= 0.01 - 1e-6, "faster than 100 Hz of simulated time"


def test_gripper_commands_complete_under_a_low_cap(client):
    """Clients wait for flags (the echoed sequence number, ``moving``); those states go out
    whatever the cap (``Pace``'s ``changed``), so a low cap slows no command to a halt."""
    client.enable()
    client.calibrate("left")
    state = client.run_gripper("left", EndEffectorCommand.CMD_GRIP)
    assert state.gripping == 0 and state.missed == 1  # nothing between the fingers


def test_lockstep_holds_the_physics_to_the_slowest_live_tree():
    lockstep = Lockstep(lead=0.1, timeout=1.0)
    assert lockstep.limit(wall=0.0) is None, "no tree: the physics runs freely"
    lockstep.tick("/a", stamp=5.0, wall=10.0)
    lockstep.tick("/b", stamp=3.0, wall=10.5)
    assert lockstep.limit(wall=10.6) == pytest.approx(3.1)
    assert lockstep.limit(wall=11.2) == pytest.approx(3.1), "/a fell silent: only /b holds"
    lockstep.tick("/a", stamp=6.0, wall=11.2)
    lockstep.tick("/b", stamp=3.05, wall=11.2)
    assert lockstep.limit(wall=11.3) == pytest.approx(3.15)
    assert lockstep.limit(wall=12.3) is None, "every tree silent: free again"


class _SlowTick(py_trees.behaviour.Behaviour):
    """A tree that needs 30 ms of wall time a tick: about 1.5x real time at 0.05 s a tick."""

    def update(self):
        time.sleep(0.03)
        return py_trees.common.Status.RUNNING


def _tick_gaps(config, seconds: float = 4.0) -> np.ndarray:
    """Robot-clock seconds between the ticks of a slow tree that publishes its ticks."""
    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node("slow_tree", context=context)
    node.set_parameters([Parameter("use_sim_time", value=True)])
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    stamps = []
    try:
        tree = RosBehaviourTree(_SlowTick("slow"))
        tree.setup(node=node)
        tree.add_post_tick_handler(lambda _t: stamps.append(node.get_clock().now().nanoseconds))
        tree.publish_ticks(config.trial.tick_topic)
        tree.tick_tock(config.trial.tick_period)
        spinner.start()
        time.sleep(seconds)
        tree.stop()
    finally:
        executor.shutdown()
        spinner.join(timeout=10.0)
        node.destroy_node()
        rclpy.shutdown(context=context)
    return np.diff(np.array(stamps[5:]) * 1e-9)  # the first ticks wait for /clock


@pytest.mark.slow
def test_a_slow_tree_sees_the_robot_move_a_tick_period_per_tick(client):
    """Faster than real time, the simulator waits for the trees that publish their ticks
    (simulator.ros.lockstep), so every tick comes after ~trial.tick_period of robot time."""
    gaps = _tick_gaps(CONFIG)
    assert len(gaps) > 20
    period, lead = CONFIG.trial.tick_period, CONFIG.simulator.ros.lockstep_lead
    assert gaps.max() <= period + lead + 0.02, f"{gaps.max():.2f} s of robot time in one tick"
