"""How often the simulated Baxter publishes when its physics runs faster than real time."""

import time

import numpy as np
import pytest
from baxter_core_msgs.msg import EndEffectorCommand
from sensor_msgs.msg import JointState

from supersize_grasp.config import load_config
from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess
from supersize_grasp.nodes.sim_baxter import Pace
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
