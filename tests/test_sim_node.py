"""The simulated Baxter over real DDS, driven only through the Baxter SDK's topics and services."""

import math
import os
import signal
import time

import numpy as np
import pytest
from baxter_core_msgs.msg import EndEffectorCommand, JointCommand
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Bool, Empty

from supersize_grasp.behaviors.trial_plan import plan_trial
from supersize_grasp.config import load_config
from supersize_grasp.geometry import top_down_quaternion
from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess
from tests.sdk_client import CameraListener, SdkClient, capture

pytestmark = pytest.mark.ros

TABLE_TOP = -0.155

CONFIG = load_config(
    overrides={
        "simulator.seed": 5,
        "simulator.objects.folder": "builtin:primitives",
        "simulator.scene.n_objects": 1,
        "simulator.scene.drop_x": [0.58, 0.62],
        "simulator.scene.drop_y": [0.18, 0.22],
        "simulator.ros.auto_refill": False,
    }
)


@pytest.fixture(scope="module")
def sim():
    graph = GraphProcess(sim_graph(), config=CONFIG)
    client = SdkClient()
    try:
        client.wait_for(lambda: started(graph, client), 90, "the simulator to start")
        yield graph, client
    finally:
        client.close()
        graph.shutdown()


def started(graph: GraphProcess, client: SdkClient) -> bool:
    exited = graph.poll()
    if exited:
        raise RuntimeError(f"{exited[0]} exited with {exited[1]}")
    return client.get("state") is not None


def object_on_table():
    """Centre (x, y) and the narrow-side direction of what stands above the table top."""
    _, depth, k, position, rotation = capture()
    v, u = np.nonzero(depth > 0)
    d = depth[v, u]
    rays = np.stack([(u - k[0, 2]) / k[0, 0] * d, (v - k[1, 2]) / k[1, 1] * d, d])
    points = (rotation @ rays).T + position
    x, y, z = points.T
    on_table = (x > 0.4) & (x < 0.85) & (np.abs(y) < 0.4)  # not the robot's own body
    above = points[on_table & (z > TABLE_TOP + 0.005) & (z < TABLE_TOP + 0.15)]
    assert len(above) > 20, "the camera sees no object on the table"
    xy = above[:, :2]
    centre = xy.mean(axis=0)
    _, eigenvectors = np.linalg.eigh(np.cov((xy - centre).T))
    minor = eigenvectors[:, 0]  # fingers close across the smallest width
    return centre, math.atan2(minor[1], minor[0]) % math.pi


def solve_path(client, side, poses):
    path = []
    for position, orientation in poses:
        ok, joints = client.solve_ik(side, position, orientation)
        assert ok, f"no IK solution at z={position[2]:.3f}"
        path.append(joints)
    return path


def grasp(client, side, x, y, theta):
    """The trial's plan (behaviors/trial_plan.py) over the SDK's topics: above, descend, grip,
    lift; the gripper state after the lift."""
    plan = plan_trial(CONFIG.trial, x, y, theta)
    paths = {name: solve_path(client, side, poses) for name, poses in plan.paths().items()}
    client.move_to(side, paths["above"][0])
    for joints in paths["down"]:
        client.move_to(side, joints, tol=0.02)
    client.run_gripper(side, EndEffectorCommand.CMD_GRIP)
    for joints in paths["up"]:
        client.move_to(side, joints, tol=0.02)
    lifted_to = client.endpoint(side)[2]
    assert lifted_to == pytest.approx(plan.z_lift, abs=0.02)
    return client.get(f"gripper_{side}")


def release_and_park(client, side, x, y, theta):
    client.gripper_command(side, EndEffectorCommand.CMD_RELEASE)
    client.wait_for(lambda: client.get(f"gripper_{side}").position > 95, 30, "release")


def test_clock_advances_and_robot_starts_disabled(sim):
    _, client = sim
    ticks = []
    client.node.create_subscription(Clock, "/clock", ticks.append, 10)
    client.wait_for(lambda: len(ticks) > 5, 30, "/clock")
    first = ticks[0].clock.sec + ticks[0].clock.nanosec * 1e-9
    last = ticks[-1].clock.sec + ticks[-1].clock.nanosec * 1e-9
    assert last > first
    state = client.get("state")
    assert not state.enabled and not state.stopped
    names = client.get("joints").name
    assert "left_s0" in names and "right_w2" in names and "head_pan" in names


def test_every_head_camera_frame_arrives_whole(sim):
    """A frame (HD colour and depth, ~3.8 MB) crosses to a new subscriber whole, as the tree's
    capture subscribes anew each trial: with Fast DDS's default transport buffers ~90 % of the
    colour images were lost in fragments
    (config/fastdds.xml, which every node of ours and this test get)."""
    listener = CameraListener()
    try:
        listener.wait_for(lambda: len(listener.stamps["info"]) >= 12, 120, "12 camera frames")
        with listener.lock:
            rgb, depth, info = (listener.stamps[k] for k in ("rgb", "depth", "info"))
            frames = sorted(info)[1:]  # each frame's info goes out after its images
            whole = [f for f in frames if f in rgb and f in depth]
    finally:
        listener.close()
    assert len(whole) == len(frames), f"{len(frames) - len(whole)} of {len(frames)} frames lost"


def test_commands_are_ignored_while_disabled(sim):
    _, client = sim
    before = dict(zip(client.get("joints").name, client.get("joints").position, strict=True))
    client.joint_pubs["left"].publish(
        JointCommand(mode=JointCommand.POSITION_MODE, names=["left_s0"], command=[0.5])
    )
    time.sleep(1.0)
    after = dict(zip(client.get("joints").name, client.get("joints").position, strict=True))
    assert after["left_s0"] == pytest.approx(before["left_s0"], abs=0.05)
    assert client.get("gripper_left").enabled == 0


def test_a_whole_grasp_through_the_sdk_interface_lifts_the_object(sim):
    _, client = sim
    client.enable()
    client.calibrate("left")
    (x, y), theta = object_on_table()
    state = grasp(client, "left", x, y, theta)
    assert state.gripping == 1 and state.missed == 0, state
    assert state.force > 5.0
    assert 0.0 < state.position < 95.0
    release_and_park(client, "left", x, y, theta)


def test_a_grasp_in_empty_space_is_a_miss(sim):
    _, client = sim
    state = grasp(client, "left", 0.5, 0.35, 0.3)
    assert state.gripping == 0 and state.missed == 1, state
    release_and_park(client, "left", 0.5, 0.35, 0.3)


def test_unreachable_pose_is_not_valid(sim):
    _, client = sim
    ok, _ = client.solve_ik("left", (2.0, 1.5, 0.3), top_down_quaternion(0.0))
    assert not ok
    ok, joints = client.solve_ik("right", (0.6, -0.2, 0.0), top_down_quaternion(1.0))
    assert ok and set(joints) == {f"right_{j}" for j in ("s0", "s1", "e0", "e1", "w0", "w1", "w2")}


def test_bad_commands_are_refused_and_the_node_lives_on(sim):
    graph, client = sim
    before = dict(zip(client.get("joints").name, client.get("joints").position, strict=True))
    bad = [
        JointCommand(mode=JointCommand.POSITION_MODE, names=["left_elbow"], command=[0.1]),
        JointCommand(mode=JointCommand.POSITION_MODE, names=["left_s0"], command=[float("nan")]),
        JointCommand(mode=JointCommand.POSITION_MODE, names=["left_s0"], command=[3.0]),
        JointCommand(mode=JointCommand.POSITION_MODE, names=["left_s0", "left_s1"], command=[0.1]),
        JointCommand(mode=JointCommand.TORQUE_MODE, names=["left_s0"], command=[0.1]),
    ]
    for msg in bad:
        client.joint_pubs["left"].publish(msg)
    gripper_id = client.get("gripper_left").id
    for command, args in (("go", "{not json"), ("go", '{"position": 400}'), ("dance", "{}")):
        client.gripper_pubs["left"].publish(
            EndEffectorCommand(id=gripper_id, command=command, args=args)
        )
    time.sleep(1.0)
    assert graph.poll() is None, "the simulator died on bad input"
    after = dict(zip(client.get("joints").name, client.get("joints").position, strict=True))
    assert after["left_s0"] == pytest.approx(before["left_s0"], abs=0.02)
    stamp = client.get("joints").header.stamp
    client.wait_for(lambda: client.get("joints").header.stamp != stamp, 10, "fresh joint states")


def test_estop_stops_and_reset_leaves_the_robot_disabled(sim):
    _, client = sim
    press = client.node.create_publisher(Bool, "/sim_baxter/estop_button", 10)
    client.wait_for(
        lambda: (press.publish(Bool(data=True)), client.get("state").stopped)[1], 30, "E-stop"
    )
    state = client.get("state")
    assert not state.enabled and state.estop_button == state.ESTOP_BUTTON_PRESSED
    client.reset_pub.publish(Empty())  # refused: the button is still pressed
    time.sleep(0.5)
    assert client.get("state").stopped
    client.wait_for(
        lambda: (
            press.publish(Bool(data=False)),
            client.reset_pub.publish(Empty()),
            not client.get("state").stopped,
        )[2],
        30,
        "reset",
    )
    assert not client.get("state").enabled
    client.enable()


def test_killed_node_restarts_in_a_consistent_state(sim):
    graph, client = sim
    process = graph.processes["sim_baxter"]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    restarted = GraphProcess(sim_graph(), config=CONFIG)
    try:
        client.latest.clear()
        client.wait_for(lambda: started(restarted, client), 90, "the restarted simulator")
        state = client.get("state")
        assert not state.enabled and not state.stopped
        client.wait_for(lambda: client.get("gripper_left") is not None, 30, "gripper state")
        assert client.get("gripper_left").calibrated == 0
        (x, y), _ = object_on_table()
        assert 0.5 < x < 0.7 and 0.1 < y < 0.3  # the seeded scene is back
    finally:
        restarted.shutdown()
