"""Learning on a small real dataset that the simulator collects in the test: patches, training
(resumed after SIGKILL), checkpoints, the baselines and the report, through the command line."""

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from supersize_grasp.bulk.collect import collect
from supersize_grasp.cli import main
from supersize_grasp.config import load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from supersize_grasp.models.network import (
    MEAN,
    STD,
    GraspNet,
    alexnet_cache_file,
    executed_bin_loss,
    imagenet_alexnet,
)
from supersize_grasp.models.patches import (
    crop_patch,
    image_angle,
    image_angle_bin,
    shift_bin,
    table_angle,
)
from supersize_grasp.models.samples import load_samples

EXE = Path(sys.prefix, "bin", "supersize-grasp")
CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
learning:
  num_workers: 0
  batch_size: 16
  seen_test_fraction: 0.3
"""


def _line_context(phi: float, size: int = 96) -> np.ndarray:
    image = np.zeros((size, size, 3), np.uint8)
    c, d = (size - 1) / 2, 30
    p0 = (round(c - d * math.cos(phi)), round(c - d * math.sin(phi)))
    p1 = (round(c + d * math.cos(phi)), round(c + d * math.sin(phi)))
    cv2.line(image, p0, p1, (255, 255, 255), 3)
    return image


def _orientation(patch: np.ndarray) -> float:
    vs, us = np.nonzero(patch[..., 0] > 128)
    _, vectors = np.linalg.eigh(np.cov(np.stack([us, vs])))
    return math.atan2(vectors[1, 1], vectors[0, 1]) % math.pi


@pytest.mark.parametrize("phi", [0.2, 1.0, 2.5])
@pytest.mark.parametrize("k", [0, 4, 13])
@pytest.mark.parametrize("flip", [False, True])
def test_rotating_a_patch_moves_its_angle_bin(phi, k, flip):
    patch = crop_patch(_line_context(phi), 64, k, 18, flip)
    expected = int(shift_bin(image_angle_bin(phi, 18), k, 18, flip))
    assert int(image_angle_bin(_orientation(patch), 18)) == expected


def test_image_and_table_angles_invert_each_other():
    tilt = math.radians(35)
    rotation = np.array(  # optical frame looking forward and down at the table
        [[0, -math.sin(tilt), math.cos(tilt)], [-1, 0, 0], [0, -math.cos(tilt), -math.sin(tilt)]]
    )
    camera = CameraModel(355.0, 355.0, 319.5, 179.5, 640, 360, np.array([0.2, 0, 0.95]), rotation)
    point = (0.65, 0.1, -0.14)
    angles = [table_angle(camera, point, image_angle(camera, point, t)) for t in (0.1, 1.3, 2.9)]
    assert np.allclose(angles, [0.1, 1.3, 2.9], atol=1e-6)
    # the camera's tilt makes image angles differ from table angles
    assert abs(image_angle(camera, point, 0.7) - 0.7) > 0.05


def test_input_statistics_and_weights_file_are_torchvisions():
    """The normalisation is the pretrained trunk's (torchvision's weights entry), and the cached
    weights are looked for under the name torch.hub gives them."""
    transforms = imagenet_alexnet().transforms()
    assert (list(MEAN), list(STD)) == (list(transforms.mean), list(transforms.std))
    assert alexnet_cache_file().name == imagenet_alexnet().url.rsplit("/", 1)[1]


def test_loss_reaches_only_the_executed_bin():
    net = GraspNet("cpu", 18)
    logits = torch.zeros(2, 18, requires_grad=True)
    executed_bin_loss(logits, torch.tensor([3, 17]), torch.tensor([1, 0])).backward()
    touched = logits.grad.abs() > 0
    assert touched.sum() == 2 and touched[0, 3] and touched[1, 17]
    assert net(torch.zeros(2, 3, net.input_px, net.input_px)).shape == (2, 18)


@pytest.fixture(scope="module")
def stores(tmp_path_factory, copy_random_trials):
    """Real random trials from the simulator: a training store and a novel-object store."""
    root = tmp_path_factory.mktemp("learning")
    config_file = root / "test.yaml"
    config_file.write_text(CONFIG)
    config = load_config([config_file])
    copy_random_trials(root / "train")  # 60 trials of seed 1
    first = TrialStore.open(root / "train", readonly=True)
    first_count = first.count(labelled_only=True)
    first.close()
    collect(config, root / "train", first_count + 10, split="train", seed=1)  # resumes
    collect(config, root / "novel", 40, split="novel", seed=2)
    return root, config_file, config


@pytest.mark.slow
def test_sim_collect_resumes_with_new_seeds(stores):
    root, _, _ = stores
    with TrialStore.open(root / "train", readonly=True) as store:
        sessions = store.sessions()
        trials = list(store.trials())
        assert len(sessions) == 2 and all(s.ended is not None for s in sessions)
        assert len(trials) >= 70
        seeds = {
            s.session_id: {t.seed for t in trials if t.session_id == s.session_id} for s in sessions
        }
        assert not set.intersection(*seeds.values())
        assert 0 < sum(t.success for t in trials) < len(trials)
        assert not store.check_integrity()


@pytest.mark.slow
def test_samples_are_cut_once_and_cached(stores):
    root, _, config = stores
    first = load_samples(root / "train", config.learning, config.trial.table_z, 18)
    with TrialStore.open(root / "train", readonly=True) as store:
        assert len(first) == store.count(labelled_only=True)
    assert first.rgb.shape[1:] == (config.learning.context_px,) * 2 + (3,)
    assert (first.height.max(axis=(1, 2)) > 0.01).mean() > 0.3  # grasps aim at objects
    again = load_samples(root / "train", config.learning, config.trial.table_z, 18)
    assert np.array_equal(first.rgb, again.rgb) and np.array_equal(first.trial_id, again.trial_id)
    assert list((root / "train" / "cache").iterdir())


def _train(config_file, data, out, epochs, **popen):
    command = [EXE, "train", "--data", data, "--out", out, "--epochs", str(epochs), "--quiet"]
    return subprocess.Popen([*command, "--config", config_file], **popen)


@pytest.mark.slow
def test_training_resumes_after_sigkill(stores, tmp_path):
    root, config_file, _ = stores
    out = tmp_path / "run"
    proc = _train(config_file, root / "train", out, 40, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / "last.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = load_checkpoint(out / "last.pt").epoch
    assert 1 <= done < 40
    assert not (out / "model.pt").exists()

    result = _train(config_file, root / "train", out, done + 2, stdout=subprocess.PIPE, text=True)
    stdout, _ = result.communicate(timeout=300)
    assert result.returncode == 0, stdout
    assert f"epoch {done + 1}/{done + 2}" in stdout and "epoch 1/" not in stdout
    final = load_checkpoint(out / "model.pt")
    assert final.epoch == done + 2 and len(final.history) == done + 2
    assert final.optimizer is None
    assert list((out / "tensorboard").iterdir())

    # the same folder with other data is refused, never overwritten
    other = main(
        [
            "train",
            "--data",
            str(root / "novel"),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--quiet",
            "--config",
            str(config_file),
        ]
    )
    assert other == 2
    assert load_checkpoint(out / "model.pt").epoch == done + 2


def test_bad_checkpoints_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"garbage\.pt: not a readable torch checkpoint"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a grasp-network checkpoint"):
        load_checkpoint(foreign)

    from supersize_grasp.models.checkpoint import Checkpoint

    paper_weights = Checkpoint("paper", 18, GraspNet("cpu").state_dict(), {}, "x", "random")
    mismatched = tmp_path / "mismatched.pt"
    save_checkpoint(mismatched, paper_weights)
    with pytest.raises(CheckpointError, match=r"mismatched\.pt: weights do not fit the 'paper'"):
        load_checkpoint(mismatched)


def test_a_killed_checkpoint_write_leaves_nothing_the_next_run_keeps(tmp_path):
    from supersize_grasp.models.checkpoint import Checkpoint, remove_leftovers

    path = tmp_path / "last.pt"
    save_checkpoint(path, Checkpoint("cpu", 18, GraspNet("cpu").state_dict(), {}, "x", "-"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary file
    cut_short = tmp_path / ".last.pt.0123abcd.tmp"  # what a kill during the write leaves
    cut_short.write_bytes(b"partial")
    remove_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    assert load_checkpoint(path).data_fingerprint == "x"


@pytest.mark.slow
def test_train_and_report_on_simulated_trials(stores, tmp_path):
    root, config_file, _ = stores
    common = ["--config", str(config_file), "--quiet"]
    model = tmp_path / "cnn"
    assert (
        main(
            ["train", "--data", str(root / "train"), "--out", str(model), "--epochs", "2", *common]
        )
        == 0
    )
    tuned = tmp_path / "tuned"
    assert (
        main(
            [
                "train",
                "--data",
                str(root / "train"),
                "--out",
                str(tuned),
                "--init",
                str(model / "model.pt"),
                "--stage",
                "1",
                *common,
            ]
        )
        == 0
    )
    assert (
        load_checkpoint(tuned / "model.pt").epoch
        == load_config([config_file]).learning.finetune_epochs
    )

    report = tmp_path / "report"
    code = main(
        [
            "report",
            "--train",
            str(root / "train"),
            "--novel",
            str(root / "novel"),
            "--model",
            f"CNN={model / 'model.pt'}",
            "--out",
            str(report),
            "--curve",
            "20,1000000",
            "--curve-epochs",
            "1",
            *common,
        ]
    )
    assert code == 0
    text = (report / "report.md").read_text()
    for method in ("common-sense heuristic", "HoG + kNN", "HoG + linear SVMs", "| CNN |"):
        assert method in text
    results = json.loads((report / "results.json").read_text())
    novel_totals = {m["novel"]["total"] for m in results["methods"]}
    assert len(novel_totals) == 1 and novel_totals.pop() % 2 == 0  # one balanced test set
    for m in results["methods"]:
        for split in ("seen", "novel"):
            a = m[split]
            assert 0.0 <= a["ci95"][0] <= a["accuracy"] <= a["ci95"][1] <= 1.0
    trained = [point["trials"] for point in results["curve"]]
    assert trained[0] == 20 and 20 < trained[1] < 1000000  # past the training set: all of it
    assert (report / "accuracy_vs_trials.png").stat().st_size > 1000
    assert (report / "novel_examples.png").stat().st_size > 1000

    bad = main(
        [
            "report",
            "--train",
            str(root / "train"),
            "--novel",
            str(root / "novel"),
            "--model",
            f"CNN={tmp_path / 'nothing.pt'}",
            "--out",
            str(report),
            *common,
        ]
    )
    assert bad == 2
