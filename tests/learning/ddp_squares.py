"""test_ddp's helper, run by ``torchrun`` (or plain python for one process): ``train`` on bright
(graspable) and dark (not) squares at random angle bins, a task a few epochs learn; rank 0 saves
the trained model's scores of the unrotated squares as OUT/scores.npy, and every rank its own
copy of the weights as OUT/rank<R>.pt (DDP keeps them equal).

    torchrun --standalone --nproc_per_node 2 tests/learning/ddp_squares.py OUT EPOCHS
"""

import sys
from pathlib import Path

import numpy as np
import torch

from supersize_grasp.config import load_config
from supersize_grasp.models import distributed
from supersize_grasp.models.samples import PatchSamples
from supersize_grasp.models.training import TrainPlan, predict_scores, train


def squares(n: int = 96, context: int = 96) -> PatchSamples:
    """Bright squares are graspable, dark ones are not, at any angle bin (also test_device's)."""
    rng = np.random.default_rng(0)
    label = np.arange(n) % 2
    rgb = np.zeros((n, context, context, 3), np.uint8)
    rgb[label == 1, 30:66, 30:66] = 230
    rgb[label == 0, 30:66, 30:66] = 40
    return PatchSamples(
        trial_id=np.arange(n, dtype=np.int64),
        rgb=rgb,
        height=np.zeros((n, context, context), np.float16),
        angle=rng.uniform(0, np.pi, n).astype(np.float32),
        angle_bin=rng.integers(0, 18, n),
        label=label.astype(np.uint8),
        metres_per_px=np.full(n, 0.001, np.float32),
        stage=np.zeros(n, np.int64),
        object_id=np.array([""] * n),
        scene_id=np.array([f"s{i}" for i in range(n)]),
        session_id=np.array(["t"] * n),
    )


def main(out: Path, epochs: int) -> None:
    config = load_config(overrides={"learning.device": "cpu", "learning.batch_size": 16})
    data = squares()
    with distributed.processes("cpu") as ranks:
        final = train(data, config.learning, out, TrainPlan(epochs, 0.01), progress=False)
        torch.save(final.state_dict, out / f"rank{ranks.rank}.pt")
        if ranks.main:
            np.save(out / "scores.npy", predict_scores(final.build(), data))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
