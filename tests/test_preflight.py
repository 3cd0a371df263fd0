"""``check --robot`` (the preflight) and the real profile run end to end against the simulator
standing in for the real robot (``simulator.ros.stand_in: real``).

The judgements are plain functions, tested on their own; then the verb against the simulator
(green), and against the stand-in with a camera clock 2 s behind and with a topic, the camera
pose and the IK service missing, each named; last, ``collect --real --config
config/real_baxter.yaml`` stores trials against the stand-in. The camera pose comes as on a real
robot: from a calibration file (the simulator's true pose) that the graph's ``camera_pose`` node
publishes; the stand-in publishes none.
"""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from baxter_core_msgs.msg import AssemblyState, EndEffectorState
from builtin_interfaces.msg import Time
from sensor_msgs.msg import JointState

from supersize_grasp import preflight
from supersize_grasp.calibration.board import transform
from supersize_grasp.calibration.result import load_camera_pose
from supersize_grasp.calibration.solver import pose_difference
from supersize_grasp.config import load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.geometry import CameraModel, quaternion_to_matrix
from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess
from supersize_grasp.qos import LATEST
from tests.sdk_client import Listener
from tests.test_calibrate_camera import true_camera_pose

EXE = Path(sys.prefix, "bin", "supersize-grasp")
REAL = Path(__file__).resolve().parents[1] / "config" / "real_baxter.yaml"
PRIMITIVES = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
"""
BOUNDS = {"preflight.max_clock_skew": 0.5, "camera.max_clock_skew": 0.5}


# ---- the judgements -------------------------------------------------------------------------
def joint_states() -> preflight.Need:
    (need,) = [n for n in preflight.needs(load_config()) if n.name == "/robot/joint_states"]
    return need


def stream(offsets, stamp: Time | None = None) -> preflight.Stream:
    stamp = Time(sec=100) if stamp is None else stamp
    s = preflight.Stream()
    for i, offset in enumerate(offsets):
        msg = JointState()
        msg.header.stamp = stamp
        s.add(msg, 10.0 + 0.1 * i, offset)
    return s


def test_every_topic_and_service_of_the_graph_is_needed_with_its_type():
    config = load_config()
    found = {n.name: n.type_name for n in preflight.needs(config)}
    assert found["/robot/state"] == "baxter_core_msgs/msg/AssemblyState"
    assert found["/clock"] == "rosgraph_msgs/msg/Clock"
    assert found["/kinect2/hd/camera_pose"] == "geometry_msgs/msg/PoseStamped"
    for side in ("left", "right"):
        ik = f"/ExternalTools/{side}/PositionKinematicsNode/IKService"
        assert found[ik] == "baxter_core_msgs/srv/SolvePositionIK"
        assert f"/robot/limb/{side}/joint_command" in found
    real = {n.name for n in preflight.needs(load_config([REAL]))}
    assert "/clock" not in real and "/sim_baxter/reset_scene" not in real


def test_a_stream_is_missing_of_the_wrong_type_silent_or_stale_and_says_so():
    need, name = joint_states(), "/robot/joint_states"
    judge = preflight.judge_stream
    assert judge(need, [], stream([]), 11.0, 5.0, BOUNDS).problem == (
        f"{name}: no publisher (sensor_msgs/msg/JointState)"
    )
    assert judge(need, ["std_msgs/msg/String"], stream([]), 11.0, 5.0, BOUNDS).problem == (
        f"{name}: a publisher has type std_msgs/msg/String, not sensor_msgs/msg/JointState"
    )
    fine = [need.type_name]
    assert judge(need, fine, stream([]), 11.0, 5.0, BOUNDS).problem == (
        f"{name}: no message within 5 s"
    )
    assert judge(need, fine, stream([0.01, 0.01]), 20.0, 5.0, BOUNDS).problem == (
        f"{name}: nothing for 9.9 s (window 5 s)"
    )
    row = judge(need, fine, stream([0.02, 0.01, 0.03]), 10.3, 5.0, BOUNDS)
    assert (row.problem, row.state) == ("", "10.0 Hz, clock +0.010 s")


def test_a_clock_out_of_bounds_is_named_with_its_setting_and_zero_stamps_too():
    need, fine = joint_states(), ["sensor_msgs/msg/JointState"]
    behind = preflight.judge_stream(need, fine, stream([2.3, 2.1, 2.2]), 10.3, 5.0, BOUNDS)
    assert behind.problem == (
        "/robot/joint_states: clock 2.10 s behind this computer's (preflight.max_clock_skew 0.5 s)"
    )
    ahead = preflight.judge_stream(need, fine, stream([-0.9, -0.8]), 10.3, 5.0, BOUNDS)
    assert "clock 0.90 s ahead of this computer's" in ahead.problem
    unset = preflight.judge_stream(need, fine, stream([1.8e9], Time()), 10.3, 5.0, BOUNDS)
    assert unset.problem == "/robot/joint_states: stamps are 0 (the source sets no time)"
    simulated = preflight.judge_stream(need, fine, stream([2.0, 2.0]), 10.3, 5.0, None)
    assert (simulated.problem, simulated.state) == ("", "10.0 Hz, simulated time")


def test_an_estop_and_a_gripper_error_are_problems_disabled_and_uncalibrated_are_not():
    assert preflight.robot_state(AssemblyState(enabled=False)) == (
        "disabled (the tree enables it)",
        "",
    )
    stopped = AssemblyState(stopped=True, estop_button=1, estop_source=1)
    assert preflight.robot_state(stopped)[1] == (
        "robot: E-stopped (button pressed, source user): release the E-stop, then the tree "
        "resets it"
    )
    assert preflight.gripper_state("left", EndEffectorState(calibrated=0))[1] == ""
    error = EndEffectorState(calibrated=1, error=1)
    assert (
        preflight.gripper_state("left", error)[1]
        == "left gripper: in error (EndEffectorState.error)"
    )


def test_the_table_height_is_the_median_over_the_workspaces_so_objects_do_not_move_it():
    config = load_config()
    rotation = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])  # looks down
    camera = CameraModel(200.0, 200.0, 80.0, 60.0, 160, 120, np.array([0.6, 0.0, 0.8]), rotation)
    depth = np.full((120, 160), 0.8 - config.trial.table_z, dtype=np.float32)
    depth[40:70, 50:90] -= 0.05  # an object 5 cm high
    workspaces = [config.arms.left.workspace, config.arms.right.workspace]
    assert preflight.table_height(depth, camera, workspaces) == pytest.approx(-0.155, abs=1e-4)
    assert preflight.table_height(depth + 0.04, camera, workspaces) == pytest.approx(
        -0.195, abs=1e-4
    )
    assert preflight.table_height(np.zeros_like(depth), camera, workspaces) is None


# ---- the verb against the simulator and the stand-in ---------------------------------------
def check(*configs: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    arguments = [a for c in configs for a in ("--config", str(c))]
    return subprocess.run(
        [EXE, "check", "--robot", *arguments], capture_output=True, text=True, timeout=timeout
    )


def start(graph: GraphProcess) -> None:
    """Until the robot's state arrives (the simulator has built its world)."""
    listener = Listener("preflight_test_waits")
    try:
        listener._sub(AssemblyState, "/robot/state", "state", LATEST)

        def up() -> bool:
            if graph.poll():
                raise RuntimeError(f"{graph.poll()[0]} exited")
            return listener.get("state") is not None

        listener.wait_for(up, 120, "the simulator to start")
    finally:
        listener.close()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.ros
@pytest.mark.slow
def test_the_preflight_is_green_on_the_simulator_and_names_a_missing_ik_service(tmp_path):
    overlay = write(tmp_path / "primitives.yaml", PRIMITIVES)
    ik = "robot:\n  ik_service: /ExternalTools/{side}/NoKinematicsNode/IKService\n"
    renamed = write(tmp_path / "ik.yaml", ik)
    graph = GraphProcess(sim_graph(), config=load_config([overlay]))
    try:
        start(graph)
        result = check(overlay)
        missing_ik = check(overlay, renamed)
    finally:
        graph.shutdown()
    assert missing_ik.returncode == 1, missing_ik.stdout + missing_ik.stderr[-3000:]
    for side in ("left", "right"):
        line = f"  /ExternalTools/{side}/NoKinematicsNode/IKService: no server "
        assert line + "(baxter_core_msgs/srv/SolvePositionIK)\n" in missing_ik.stdout
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    for need in preflight.needs(load_config([overlay])):
        assert f"ok   {need.name} " in result.stdout
    assert "FAIL" not in result.stdout
    assert "table height: z -0.155 m in depth" in result.stdout
    assert "no problems" in result.stdout


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    """The simulator standing in for the real robot, its camera's clock 2 s behind; and a
    calibration file of its camera's true pose (``sim --save-camera-pose``)."""
    folder = tmp_path_factory.mktemp("stand_in")
    calibration = folder / "head_camera.yaml"
    saved = subprocess.run(
        [EXE, "sim", "--save-camera-pose", calibration], capture_output=True, text=True, timeout=120
    )
    assert saved.returncode == 0, saved.stdout + saved.stderr
    overlay = write(
        folder / "stand_in.yaml",
        PRIMITIVES + "  ros: {camera_clock_offset: -2.0}\n"
        f"calibration: {{file: {calibration}}}\n",
    )
    graph = GraphProcess(sim_graph(), config=load_config([REAL, overlay]))
    try:
        start(graph)
        yield folder, overlay
    finally:
        graph.shutdown()


@pytest.mark.ros
@pytest.mark.slow
def test_the_saved_camera_pose_is_the_simulators_true_one(stand_in):
    folder, _ = stand_in
    pose = load_camera_pose(folder / "head_camera.yaml")
    found = transform(quaternion_to_matrix(*pose.orientation), pose.position)
    metres, radians = pose_difference(found, true_camera_pose(load_config()))
    assert pose.frame_id == "base"
    assert metres < 1e-5
    assert radians < 1e-3  # arccos near 1 of a quaternion rounded to 8 decimals


@pytest.mark.ros
@pytest.mark.slow
def test_the_stand_in_offers_what_the_real_robot_does_on_the_wall_clock(stand_in):
    """No /clock, refill, oracle, camera pose or IK (the SDK's does not cross ros1_bridge: the real
    graphs' baxter_ik answers); stamps on this computer's clock, the camera's
    ``camera_clock_offset`` behind."""
    listener = Listener("stand_in_looker")
    try:
        config = load_config([REAL])
        ik = config.robot.topic(config.robot.ik_service, "left")
        listener._sub(JointState, config.robot.joint_states_topic, "joints", LATEST)

        def services() -> dict:
            return dict(listener.node.get_service_names_and_types())

        listener.wait_for(lambda: listener.get("joints") is not None, 60, "joint states")
        received = time.time()
        topics = dict(listener.node.get_topic_names_and_types())
        assert "/clock" not in topics
        assert listener.node.get_publishers_info_by_topic(config.camera.pose_topic) == []
        offered = set(services())
        assert not {"/sim_baxter/reset_scene", config.learning.oracle_service, ik} & offered
        stamp = listener.get("joints").header.stamp  # this computer's clock, as the robot's
        assert abs(received - (stamp.sec + stamp.nanosec * 1e-9)) < 1.0
    finally:
        listener.close()


@pytest.mark.ros
@pytest.mark.slow
def test_a_camera_clock_2_s_behind_is_named(stand_in):
    _, overlay = stand_in
    result = check(REAL, overlay)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    problems = result.stdout.split("problems:\n", 1)[1].splitlines()
    camera = load_config([REAL]).camera
    assert len(problems) == 3, result.stdout
    topics = (camera.image_topic, camera.depth_topic, camera.info_topic)
    for topic, line in zip(topics, problems, strict=True):
        assert line.startswith(f"  {topic}: clock 2."), result.stdout
        assert line.endswith(" s behind this computer's (camera.max_clock_skew 0.5 s)")
    assert "ok   /robot/joint_states " in result.stdout  # the robot's clock is this one
    assert "ok   table height" in result.stdout


@pytest.mark.ros
@pytest.mark.slow
def test_a_missing_topic_and_camera_pose_are_each_named(stand_in):
    """(The IK service the real graph's baxter_ik serves, which the check starts; a missing one
    is named in the simulator's test above.)"""
    folder, overlay = stand_in
    broken = write(
        folder / "broken.yaml",
        "camera: {info_topic: /kinect2/hd/no_camera_info}\n"
        f"calibration: {{file: {folder / 'missing.yaml'}}}\n",
    )
    result = check(REAL, overlay, broken, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    problems = result.stdout.split("problems:\n", 1)[1]
    for line in [
        "/kinect2/hd/no_camera_info: no publisher (sensor_msgs/msg/CameraInfo)",
        "/kinect2/hd/camera_pose: no publisher (geometry_msgs/msg/PoseStamped)",
        "the camera_pose node (started for the check) exited with 1: see its message above",
    ]:
        assert f"  {line}\n" in problems, result.stdout
    assert f"camera_pose: {folder / 'missing.yaml'}: no such calibration file" in result.stderr


@pytest.mark.ros
@pytest.mark.slow
def test_collect_real_with_the_real_profile_stores_trials_against_the_stand_in(stand_in):
    """The real profile unchanged (wall clock, camera_pose node from the calibration file, IK on
    the SDK's name), its camera 2 s behind within ``camera.max_clock_skew``."""
    folder, overlay = stand_in
    skew = write(folder / "skew.yaml", "camera: {max_clock_skew: 2.5}\n")
    data = folder / "data"
    command = [EXE, "collect", "--real", "--config", REAL, "--config", overlay, "--config", skew]
    result = subprocess.run(
        [*command, "--trials", "4", "--data", data, "--quiet"],
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with TrialStore.open(data, readonly=True) as store:
        trials = list(store.trials())
        assert len(trials) >= 4
        assert {t.outcome for t in trials} <= {"success", "failure"}
        (session,) = store.sessions()
        assert session.ended is not None
