"""The fast scoring path (one trunk pass over the scene) chooses the naive path's best grasp."""

import math

import numpy as np
import pytest
import torch

from supersize_grasp.config import load_config
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.checkpoint import Checkpoint
from supersize_grasp.models.network import GraspNet
from supersize_grasp.models.scoring import GraspScorer

TILT = math.radians(55)
ROTATION = np.array(
    [[0, -math.sin(TILT), math.cos(TILT)], [-1, 0, 0], [0, -math.cos(TILT), -math.sin(TILT)]]
)
CAMERA = CameraModel(355.0, 355.0, 319.5, 179.5, 640, 360, np.array([0.2, 0.0, 0.95]), ROTATION)
CONFIG = load_config()


def _scorer(profile: str) -> GraspScorer:
    torch.manual_seed(0)
    net = GraspNet(profile)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
        if isinstance(m, torch.nn.Linear):  # spread the outputs like a trained head
            torch.nn.init.normal_(m.weight, std=0.05 if profile == "cpu" else 0.02)
    learning = CONFIG.learning.model_dump(mode="json")
    return GraspScorer(Checkpoint(profile, 18, net.state_dict(), learning, "test", "random"))


def _scene() -> np.ndarray:
    rng = np.random.default_rng(0)
    rgb = np.full((360, 640, 3), 230, np.uint8)
    for _ in range(15):
        x, y = rng.integers(200, 440), rng.integers(120, 240)
        rgb[y : y + rng.integers(6, 25), x : x + rng.integers(6, 25)] = rng.integers(0, 255, 3)
    return rgb


@pytest.mark.slow
def test_cpu_profile_fast_path_equals_naive_path():
    scorer = _scorer("cpu")
    rng = np.random.default_rng(1)
    u, v = rng.uniform(220, 420, 400), rng.uniform(130, 230, 400)
    fast = scorer.score(_scene(), CAMERA, CONFIG.trial.table_z, u, v, fast=True)
    naive = scorer.score(_scene(), CAMERA, CONFIG.trial.table_z, u, v, fast=False)
    np.testing.assert_array_equal(fast.u, naive.u)
    np.testing.assert_allclose(fast.scores, naive.scores, atol=1e-5)
    assert (fast.best_index, fast.best_bin) == (naive.best_index, naive.best_bin)
    assert np.abs(fast.u - u).max() <= 4 / scorer.scale(CAMERA, 320, 180, CONFIG.trial.table_z)
    assert fast.scores.std() > 0.01  # the patches do differ


@pytest.mark.slow
def test_paper_profile_fast_path_picks_a_naive_optimum():
    """AlexNet pads its convolutions, so shared features see neighbours where a lone patch sees
    zeros: scores differ slightly, and the fast choice must be as good under the naive scores."""
    scorer = _scorer("paper")
    rng = np.random.default_rng(2)
    u, v = rng.uniform(250, 390, 24), rng.uniform(150, 210, 24)
    fast = scorer.score(_scene(), CAMERA, CONFIG.trial.table_z, u, v, fast=True)
    naive = scorer.score(_scene(), CAMERA, CONFIG.trial.table_z, u, v, fast=False)
    np.testing.assert_array_equal(fast.u, naive.u)
    assert np.abs(fast.scores - naive.scores).max() < 0.01
    chosen = naive.scores[fast.best_index, fast.best_bin]
    assert naive.scores.max() - chosen < 2e-3
