"""The fast scoring path (one trunk pass over the scene) against patch by patch, for every
profile: equal for unpadded profiles, the naive optimum (or nearly) for padded ones."""

import math

import numpy as np
import pytest
import torch

from supersize_grasp.config import load_config
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.checkpoint import Checkpoint
from supersize_grasp.models.network import INPUT_PX, GraspNet
from supersize_grasp.models.scoring import APPROXIMATE, STRIDE, GraspScorer

TILT = math.radians(55)
ROTATION = np.array(
    [[0, -math.sin(TILT), math.cos(TILT)], [-1, 0, 0], [0, -math.cos(TILT), -math.sin(TILT)]]
)
CAMERA = CameraModel(355.0, 355.0, 319.5, 179.5, 640, 360, np.array([0.2, 0.0, 0.95]), ROTATION)
CONFIG = load_config()


def _scorer(profile: str, inputs: str = "rgb") -> GraspScorer:
    torch.manual_seed(0)
    net = GraspNet(profile, inputs=inputs)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
        if isinstance(m, torch.nn.Linear):  # spread the outputs like a trained head
            torch.nn.init.normal_(m.weight, std=0.02 if profile == "paper" else 0.05)
    learning = CONFIG.learning.model_dump(mode="json")
    return GraspScorer(
        Checkpoint(profile, 18, net.state_dict(), learning, "test", "random", inputs=inputs)
    )


def _scene() -> np.ndarray:
    rng = np.random.default_rng(0)
    rgb = np.full((360, 640, 3), 230, np.uint8)
    for _ in range(15):
        x, y = rng.integers(200, 440), rng.integers(120, 240)
        rgb[y : y + rng.integers(6, 25), x : x + rng.integers(6, 25)] = rng.integers(0, 255, 3)
    return rgb


def _depth() -> np.ndarray:
    """The table seen by CAMERA with the boxes of ``_scene`` on it (0.5-8 cm), and holes."""
    rng = np.random.default_rng(0)
    v, u = np.mgrid[0:360, 0:640]
    ray = np.stack([(u - CAMERA.cx) / CAMERA.fx, (v - CAMERA.cy) / CAMERA.fy, np.ones(u.shape)])
    down = np.tensordot(CAMERA.rotation[2], ray, axes=1)  # base z per metre of depth
    height = np.zeros((360, 640))
    for _ in range(15):
        x, y = rng.integers(200, 440), rng.integers(120, 240)
        height[y : y + rng.integers(6, 25), x : x + rng.integers(6, 25)] = rng.uniform(0.005, 0.08)
    depth = ((CONFIG.trial.table_z + height - CAMERA.position[2]) / down).astype(np.float32)
    depth[rng.random(depth.shape) < 0.02] = 0.0  # no reading
    return depth


EXACT = sorted(set(INPUT_PX) - set(APPROXIMATE))


@pytest.mark.slow
@pytest.mark.parametrize("inputs", ["rgb", "rgbd"])
@pytest.mark.parametrize("profile", EXACT)
def test_unpadded_profiles_fast_path_equals_naive_path(profile, inputs):
    scorer = _scorer(profile, inputs)
    rng = np.random.default_rng(1)
    u, v = rng.uniform(220, 420, 200), rng.uniform(130, 230, 200)
    depth = _depth() if inputs == "rgbd" else None
    fast = scorer.score(_scene(), CAMERA, CONFIG.trial.table_z, u, v, fast=True, depth=depth)
    naive = scorer.score(_scene(), CAMERA, CONFIG.trial.table_z, u, v, fast=False, depth=depth)
    np.testing.assert_array_equal(fast.u, naive.u)
    np.testing.assert_allclose(fast.scores, naive.scores, atol=1e-5)
    assert (fast.best_index, fast.best_bin) == (naive.best_index, naive.best_bin)
    step = scorer.stride / scorer.scale(CAMERA, 320, 180, CONFIG.trial.table_z)
    assert np.abs(fast.u - u).max() <= step
    assert fast.scores.std() > 0.01  # the patches do differ


def test_every_profile_is_exact_or_says_by_how_much():
    assert set(APPROXIMATE) <= set(INPUT_PX) == set(STRIDE)
    assert EXACT == ["cpu", "resnet"]


@pytest.mark.slow
@pytest.mark.parametrize("profile", sorted(APPROXIMATE))
def test_padded_profiles_fast_path_picks_a_naive_optimum(profile):
    """AlexNet pads its convolutions, so shared features see neighbours where a lone patch sees
    zeros: scores differ slightly, and the fast choice must be as good under the naive scores."""
    scorer = _scorer(profile)
    rng = np.random.default_rng(2)
    u, v = rng.uniform(250, 390, 24), rng.uniform(150, 210, 24)
    fast = scorer.score(_scene(), CAMERA, CONFIG.trial.table_z, u, v, fast=True)
    naive = scorer.score(_scene(), CAMERA, CONFIG.trial.table_z, u, v, fast=False)
    np.testing.assert_array_equal(fast.u, naive.u)
    assert np.abs(fast.scores - naive.scores).max() < 0.01
    chosen = naive.scores[fast.best_index, fast.best_bin]
    assert naive.scores.max() - chosen < 2e-3


def test_rgbd_scoring_needs_registered_depth_and_uses_it():
    scorer = _scorer("cpu", "rgbd")
    u, v = np.array([300.0, 330.0, 350.0]), np.array([170.0, 180.0, 200.0])
    z = CONFIG.trial.table_z
    with pytest.raises(ValueError, match="rgbd inputs and the request has no depth"):
        scorer.score(_scene(), CAMERA, z, u, v)
    with pytest.raises(ValueError, match="not registered to the 640x360 colour image"):
        scorer.score(_scene(), CAMERA, z, u, v, depth=np.ones((180, 320), np.float32))
    with_objects = scorer.score(_scene(), CAMERA, z, u, v, depth=_depth())
    flat = scorer.score(_scene(), CAMERA, z, u, v, depth=np.zeros((360, 640), np.float32))
    assert np.abs(with_objects.scores - flat.scores).max() > 1e-3
    rgb_model = _scorer("cpu", "rgb")
    np.testing.assert_array_equal(  # rgb models ignore depth
        rgb_model.score(_scene(), CAMERA, z, u, v).scores,
        rgb_model.score(_scene(), CAMERA, z, u, v, depth=_depth()).scores,
    )
