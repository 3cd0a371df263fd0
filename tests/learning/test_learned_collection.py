"""Learned grasping through the whole graph: the simulator, the grasp-scoring node and the tree,
with the network choosing each grasp (both of the paper's policies)."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from supersize_grasp.config import load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.models.checkpoint import Checkpoint, save_checkpoint
from supersize_grasp.models.network import GraspNet

EXE = Path(sys.prefix, "bin", "supersize-grasp")
CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
storage: {record_mcap: false}
learning: {num_patch_samples: 200}
"""


@pytest.mark.parametrize("policy", ["sample"])  # greedy: test_robot_test.py
def test_the_network_chooses_the_grasps(tmp_path, policy):
    config_file = tmp_path / "test.yaml"
    config_file.write_text(CONFIG)
    torch.manual_seed(0)
    learning = load_config([config_file]).learning.model_dump(mode="json")
    model = tmp_path / "model.pt"
    save_checkpoint(model, Checkpoint("cpu", 18, GraspNet("cpu").state_dict(), learning, "t", "-"))
    data = tmp_path / "data"
    command = [
        EXE,
        "collect",
        "--trials",
        "2",
        "--data",
        data,
        "--policy",
        policy,
        "--model",
        model,
        "--quiet",
        "--config",
        config_file,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with TrialStore.open(data, readonly=True) as store:
        trials = list(store.trials())
    assert len(trials) >= 2
    for trial in trials:
        assert trial.chooser == policy
        assert 0.0 < trial.score < 1.0 and math.isfinite(trial.score)
        x, y, w, h = trial.roi
        u, v = trial.grasp_pixel
        assert x - 4 <= u <= x + w + 4 and y - 4 <= v <= y + h + 4  # snapped to the 4 px grid
