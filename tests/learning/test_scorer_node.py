"""The grasp-scoring node over real DDS: its answers match the plain-Python scorer, it switches
checkpoints through its parameter without a restart, and refuses bad checkpoints and requests."""

import math
import time

import numpy as np
import pytest
import rclpy
import torch
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image
from supersize_grasp_interfaces.srv import ScoreGrasps

from supersize_grasp.behaviors.learned import scene_request
from supersize_grasp.behaviors.scene import Scene
from supersize_grasp.config import load_config, overlay
from supersize_grasp.geometry import CameraModel, table_angle_bin
from supersize_grasp.graph import NodeSpec
from supersize_grasp.launcher import GraphProcess
from supersize_grasp.models.checkpoint import Checkpoint, save_checkpoint
from supersize_grasp.models.network import GraspNet
from supersize_grasp.models.scoring import GraspScorer
from supersize_grasp.msgs import depth_to_image

pytestmark = pytest.mark.ros

TILT = math.radians(55)
ROTATION = np.array(
    [[0, -math.sin(TILT), math.cos(TILT)], [-1, 0, 0], [0, -math.cos(TILT), -math.sin(TILT)]]
)
CAMERA = CameraModel(355.0, 355.0, 319.5, 179.5, 640, 360, np.array([0.2, 0.0, 0.95]), ROTATION)
CONFIG = load_config()


def _checkpoint(path, seed: int) -> GraspScorer:
    torch.manual_seed(seed)
    net = GraspNet("cpu")
    for m in net.modules():  # trained-looking batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    checkpoint = Checkpoint(
        "cpu", 18, net.state_dict(), CONFIG.learning.model_dump(mode="json"), "test", "random init"
    )
    save_checkpoint(path, checkpoint)
    return GraspScorer.load(path)


def _scene(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgb = np.full((360, 640, 3), 235, np.uint8)
    for _ in range(12):
        x, y = rng.integers(150, 480), rng.integers(100, 260)
        rgb[y : y + rng.integers(8, 30), x : x + rng.integers(8, 30)] = rng.integers(0, 255, 3)
    return rgb


def _request(rgb, u=(), v=(), region=None, num_samples=0, seed=0) -> ScoreGrasps.Request:
    depth = np.zeros(rgb.shape[:2], np.float32)
    request = scene_request(Scene(rgb=rgb, depth=depth, camera=CAMERA, stamp=0.0))
    request.candidate_u = [float(x) for x in u]
    request.candidate_v = [float(x) for x in v]
    if region is not None:
        (
            request.region.x_offset,
            request.region.y_offset,
            request.region.width,
            request.region.height,
        ) = region
    request.num_samples = num_samples
    request.seed = seed
    return request


class Client:
    def __init__(self, scorer: str = "grasp_scorer") -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(f"{scorer}_test_client", context=self.context)
        self.score = self.node.create_client(ScoreGrasps, f"/{scorer}/score")
        self.params = self.node.create_client(SetParameters, f"/{scorer}/set_parameters")
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def call(self, client, request, timeout=60.0):
        future = client.call_async(request)
        self.executor.spin_until_future_complete(future, timeout_sec=timeout)
        assert future.done(), "no answer from the scorer"
        return future.result()

    def set_checkpoint(self, path):
        value = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=str(path))
        request = SetParameters.Request(parameters=[Parameter(name="checkpoint", value=value)])
        return self.call(self.params, request).results[0]

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scorer")
    first = _checkpoint(folder / "first.pt", 1)
    second = _checkpoint(folder / "second.pt", 2)
    spec = NodeSpec("grasp_scorer", "grasp_scorer", {"checkpoint": str(folder / "first.pt")})
    graph = GraphProcess([spec], config=CONFIG)
    client = Client()
    try:
        deadline = time.monotonic() + 60
        while not client.score.wait_for_service(timeout_sec=0.5):
            assert graph.poll() is None, f"scorer exited: {graph.poll()}"
            assert time.monotonic() < deadline, "the scorer service never appeared"
        yield client, folder, first, second
    finally:
        client.close()
        graph.shutdown()


@pytest.mark.slow
def test_answers_match_the_plain_scorer(scorer):
    client, _, first, _ = scorer
    rgb = _scene()
    rng = np.random.default_rng(3)
    u, v = rng.uniform(200, 440, 300), rng.uniform(120, 240, 300)
    answer = client.call(client.score, _request(rgb, u, v))
    assert answer.success, answer.message
    expected = first.score(rgb, CAMERA, CONFIG.trial.table_z, u, v)
    assert answer.model_id == first.model_id and answer.num_angle_bins == 18
    np.testing.assert_allclose(answer.candidate_u, expected.u, atol=1e-4)
    np.testing.assert_allclose(np.reshape(answer.scores, (300, 18)), expected.scores, atol=1e-5)
    best = first.best_grasp(expected, CAMERA, CONFIG.trial.table_z)
    assert (answer.best.u, answer.best.v) == pytest.approx((best.u, best.v), abs=1e-3)
    assert answer.best.angle == pytest.approx(best.theta, abs=1e-5)
    assert answer.best.angle_bin == table_angle_bin(best.theta, 18)
    assert answer.best.score == pytest.approx(expected.scores.max(), abs=1e-5)
    assert answer.best.position.point.z == pytest.approx(CONFIG.trial.table_z, abs=1e-6)

    sampled = client.call(
        client.score, _request(rgb, region=(250, 150, 60, 40), num_samples=800, seed=7)
    )
    assert sampled.success and len(sampled.scores) == 800 * 18
    assert min(sampled.candidate_u) >= 250 - 2 and max(sampled.candidate_u) <= 310 + 2


def test_switches_checkpoints_without_restart(scorer):
    client, folder, first, second = scorer
    rgb = _scene(1)
    request = _request(rgb, [300.0, 320.0], [170.0, 180.0])
    assert client.set_checkpoint(folder / "second.pt").successful
    answer = client.call(client.score, request)
    assert answer.model_id == second.model_id != first.model_id
    expected = second.score(rgb, CAMERA, CONFIG.trial.table_z, [300.0, 320.0], [170.0, 180.0])
    np.testing.assert_allclose(np.reshape(answer.scores, (2, 18)), expected.scores, atol=1e-5)

    (folder / "broken.pt").write_bytes(b"garbage")
    refused = client.set_checkpoint(folder / "broken.pt")
    assert not refused.successful and "broken.pt" in refused.reason
    assert client.call(client.score, request).model_id == second.model_id
    assert client.set_checkpoint(folder / "first.pt").successful


def test_bad_requests_get_reasons(scorer):
    client, *_ = scorer
    rgb = _scene()
    cases = {
        "candidate_v": _request(rgb, [300.0, 310.0], [170.0]),
        "outside the image": _request(rgb, [700.0], [170.0]),
        "region and num_samples": _request(rgb),
    }
    for reason, request in cases.items():
        answer = client.call(client.score, request)
        assert not answer.success and reason in answer.message
    mismatched = _request(rgb, [300.0], [170.0])
    mismatched.camera_info.width = 320
    answer = client.call(client.score, mismatched)
    assert not answer.success and "does not describe" in answer.message


def _rgbd_checkpoint(path, profile: str = "resnet") -> GraspScorer:
    torch.manual_seed(3)
    net = GraspNet(profile, inputs="rgbd")
    for m in net.modules():
        if isinstance(m, torch.nn.Linear):  # spread the outputs like a trained head
            torch.nn.init.normal_(m.weight, std=0.05)
    learning = CONFIG.learning.model_dump(mode="json")
    save_checkpoint(
        path, Checkpoint(profile, 18, net.state_dict(), learning, "t", "-", inputs="rgbd")
    )
    return GraspScorer.load(path)


def _depth(seed: int = 0) -> np.ndarray:
    """Metres along the optical axis to a table 1-6 cm under random blocks, in whole mm."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:360, 0:640]
    down = (
        ROTATION[2, 0] * (u - CAMERA.cx) / CAMERA.fx
        + ROTATION[2, 1] * (v - CAMERA.cy) / CAMERA.fy
        + ROTATION[2, 2]
    )
    height = np.zeros((360, 640))
    for _ in range(12):
        x, y = rng.integers(150, 480), rng.integers(100, 260)
        height[y : y + rng.integers(8, 30), x : x + rng.integers(8, 30)] = rng.uniform(0.01, 0.06)
    depth = (CONFIG.trial.table_z + height - CAMERA.position[2]) / down
    return (np.round(depth * 1000.0) / 1000.0).astype(np.float32)  # as 16UC1 carries it


def test_a_model_of_other_inputs_is_refused_naming_both(scorer, tmp_path):
    client, *_ = scorer
    _rgbd_checkpoint(tmp_path / "rgbd.pt")
    refused = client.set_checkpoint(tmp_path / "rgbd.pt")
    assert not refused.successful
    assert "takes rgbd inputs but learning.inputs is rgb" in refused.reason


@pytest.mark.slow
def test_an_rgbd_scorer_uses_the_requests_depth(tmp_path):
    model = _rgbd_checkpoint(tmp_path / "rgbd.pt")
    # another name: the module's rgb scorer may still be up
    spec = NodeSpec("rgbd_scorer", "grasp_scorer", {"checkpoint": str(tmp_path / "rgbd.pt")})
    graph = GraphProcess([spec], config=overlay(CONFIG, {"learning.inputs": "rgbd"}))
    client = Client("rgbd_scorer")
    try:
        deadline = time.monotonic() + 60
        while not client.score.wait_for_service(timeout_sec=0.5):
            assert graph.poll() is None, f"scorer exited: {graph.poll()}"
            assert time.monotonic() < deadline, "the scorer service never appeared"
        rgb, depth = _scene(), _depth()
        rng = np.random.default_rng(4)
        u, v = rng.uniform(200, 440, 100), rng.uniform(120, 240, 100)
        request = _request(rgb, u, v)
        request.depth = depth_to_image(depth)
        answer = client.call(client.score, request)
        assert answer.success, answer.message
        expected = model.score(rgb, CAMERA, CONFIG.trial.table_z, u, v, depth=depth)
        np.testing.assert_allclose(np.reshape(answer.scores, (100, 18)), expected.scores, atol=1e-5)
        flat = model.score(rgb, CAMERA, CONFIG.trial.table_z, u, v, depth=np.zeros_like(depth))
        assert np.abs(flat.scores - expected.scores).max() > 1e-3  # the depth did count

        request.depth = Image()  # empty: refused, and the scorer goes on
        answer = client.call(client.score, request)
        assert not answer.success and "no depth image" in answer.message
    finally:
        client.close()
        graph.shutdown()
