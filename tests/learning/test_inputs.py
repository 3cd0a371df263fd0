"""The network's inputs: heights above the table from registered depth, the rgbd channel, and
checkpoints that record their inputs and are refused where other inputs are expected."""

import math

import numpy as np
import pytest
import torch

from supersize_grasp.config import load_config
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.checkpoint import (
    FORMAT,
    VERSION,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from supersize_grasp.models.network import GraspNet
from supersize_grasp.models.patches import height_above_table
from supersize_grasp.models.samples import PatchSamples
from supersize_grasp.models.scoring import GraspScorer
from supersize_grasp.models.training import PatchDataset, TrainPlan, predict_scores, train

TILT = math.radians(55)
ROTATION = np.array(
    [[0, -math.sin(TILT), math.cos(TILT)], [-1, 0, 0], [0, -math.cos(TILT), -math.sin(TILT)]]
)
CAMERA = CameraModel(355.0, 355.0, 319.5, 179.5, 640, 360, np.array([0.2, 0.0, 0.95]), ROTATION)
LEARNING = load_config().learning


def test_heights_are_the_depth_points_above_the_table():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.6, 1.8, (360, 640)).astype(np.float32)
    depth[5, :7] = 0.0
    depth[9, :4] = np.nan
    heights = height_above_table(CAMERA, depth, -0.155)
    expected = np.nan_to_num(CAMERA.points(depth)[..., 2] + 0.155, nan=0.0)
    np.testing.assert_allclose(heights, expected, atol=1e-5)
    assert heights.dtype == np.float32 and not heights[5, :7].any() and not heights[9, :4].any()
    crop = height_above_table(CAMERA, depth[100:150, 200:260], -0.155, origin=(200, 100))
    np.testing.assert_allclose(crop, heights[100:150, 200:260], atol=1e-5)


def test_the_height_channel_is_clipped_and_scaled():
    net = GraspNet("cpu", inputs="rgbd", max_height=0.1)
    rgb = torch.zeros(1, 4, 4, 3, dtype=torch.uint8)
    height = torch.tensor([-0.02, 0.0, 0.05, 0.3]).view(1, 1, 4).expand(1, 4, 4)
    x = net.encode(rgb, height)
    assert x.shape == (1, 4, 4, 4)
    np.testing.assert_allclose(x[0, 3, 0].numpy(), [-2.0, -2.0, 0.0, 2.0])
    np.testing.assert_array_equal(x[:, :3], GraspNet("cpu").encode(rgb))
    with pytest.raises(ValueError, match=r"needs heights of shape \(1, 4, 4\), got None"):
        net.encode(rgb)
    with pytest.raises(ValueError, match="unknown network inputs 'depth'"):
        GraspNet("cpu", inputs="depth")


def test_checkpoints_record_inputs_and_refuse_other_pipelines(tmp_path):
    learning = LEARNING.model_dump(mode="json")
    rgbd = tmp_path / "rgbd.pt"
    net = GraspNet("resnet", inputs="rgbd")
    save_checkpoint(
        rgbd, Checkpoint("resnet", 18, net.state_dict(), learning, "x", "-", inputs="rgbd")
    )
    loaded = load_checkpoint(rgbd)
    assert loaded.inputs == "rgbd" and loaded.build().in_channels == 4
    with pytest.raises(
        CheckpointError, match=r"rgbd\.pt: .*takes rgbd inputs but learning\.inputs is rgb"
    ):
        GraspScorer.load(rgbd, "rgb")
    assert GraspScorer.load(rgbd, "rgbd").inputs == "rgbd"

    rgb = tmp_path / "rgb.pt"
    save_checkpoint(rgb, Checkpoint("cpu", 18, GraspNet("cpu").state_dict(), learning, "x", "-"))
    with pytest.raises(CheckpointError, match=r"takes rgb inputs but learning\.inputs is rgbd"):
        GraspScorer.load(rgb, "rgbd")

    # weights of one kind labelled as the other
    liar = tmp_path / "liar.pt"
    save_checkpoint(
        liar, Checkpoint("cpu", 18, GraspNet("cpu").state_dict(), learning, "x", "-", inputs="rgbd")
    )
    with pytest.raises(
        CheckpointError, match=r"liar\.pt: weights do not fit the 'cpu' network with rgbd"
    ):
        load_checkpoint(liar)
    unknown = tmp_path / "unknown.pt"
    save_checkpoint(
        unknown,
        Checkpoint("cpu", 18, GraspNet("cpu").state_dict(), learning, "x", "-", inputs="rgbx"),
    )
    with pytest.raises(CheckpointError, match=r"unknown\.pt: unknown network inputs 'rgbx'"):
        load_checkpoint(unknown)


def test_checkpoints_from_before_inputs_are_rgb(tmp_path):
    """Files written before rgbd had no ``inputs`` field: they keep loading, as rgb."""
    old = tmp_path / "old.pt"
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "profile": "cpu",
        "num_bins": 18,
        "state_dict": GraspNet("cpu").state_dict(),
        "learning": {},
        "data_fingerprint": "x",
        "trunk_init": "-",
        "epoch": 3,
    }
    torch.save(payload, old)
    checkpoint = load_checkpoint(old)
    assert checkpoint.inputs == "rgb" and checkpoint.epoch == 3
    assert GraspScorer.load(old, "rgb").inputs == "rgb"


def _samples(n: int = 48) -> PatchSamples:
    """Synthetic patches whose label is whether a block stands at the centre: visible in the
    heights only (the colour is the same table grey everywhere)."""
    rng = np.random.default_rng(0)
    c = LEARNING.context_px
    label = np.arange(n) % 2
    height = np.zeros((n, c, c), np.float16)
    height[label == 1, c // 2 - 12 : c // 2 + 12, c // 2 - 12 : c // 2 + 12] = 0.06
    return PatchSamples(
        trial_id=np.arange(n, dtype=np.int64),
        rgb=np.full((n, c, c, 3), 200, np.uint8),
        height=height,
        angle=rng.uniform(0, math.pi, n).astype(np.float32),
        angle_bin=rng.integers(0, 18, n),
        label=label.astype(np.uint8),
        metres_per_px=np.full(n, 0.002, np.float32),
        stage=np.zeros(n, np.int64),
        object_id=np.array(["o"] * n),
        scene_id=np.array([f"s{i}" for i in range(n)]),
        session_id=np.array(["a"] * n),
    )


def test_augmentation_moves_heights_with_the_colour():
    samples = _samples(2)
    samples.rgb[1, :, :48] = 0  # the left half dark, its heights raised: they must stay together
    samples.height[1] = 0.0
    samples.height[1, :, :48] = 0.05
    dataset = PatchDataset(samples.subset([1]), 36, 18, augment=True, heights=True)
    torch.manual_seed(0)
    for _ in range(8):
        rgb, height, _, _ = dataset[0]
        assert height.shape == rgb.shape[:2] and height.dtype == torch.float32
        dark, raised = rgb[..., 0] < 100, height > 0.025
        assert (dark == raised).float().mean() > 0.95
    rgb, height, _, _ = PatchDataset(samples, 36, 18, augment=False)[0]
    assert height.numel() == 0  # rgb networks get no heights


@pytest.mark.slow
def test_an_rgbd_network_learns_what_only_depth_shows(tmp_path):
    samples = _samples()
    learning = LEARNING.model_copy(update={"inputs": "rgbd", "batch_size": 16, "lr": 0.05})
    model = train(samples, learning, tmp_path / "rgbd", TrainPlan(15, 0.05), progress=False)
    assert model.inputs == "rgbd"
    scores = predict_scores(model.build(), samples)
    executed = scores[np.arange(len(samples)), samples.angle_bin]
    assert ((executed > 0.5) == (samples.label == 1)).mean() > 0.9
    flat = samples.subset(np.arange(len(samples)))
    flat.height[:] = 0
    assert np.abs(predict_scores(model.build(), flat) - scores).max() > 0.1

    rgb_learning = learning.model_copy(update={"inputs": "rgb"})
    with pytest.raises(CheckpointError, match=r"takes rgbd inputs but learning\.inputs is rgb"):
        train(samples, rgb_learning, tmp_path / "tuned", TrainPlan(1, 0.01, init=model))
