"""Training on the device ``learning.device`` names: the CPU here, a GPU where there is one (the
GPU test runs only on a machine with CUDA; this one has none)."""

import numpy as np
import pytest
import torch

from supersize_grasp.config import load_config
from supersize_grasp.models.checkpoint import load_checkpoint
from supersize_grasp.models.network import GraspNet
from supersize_grasp.models.training import TrainPlan, predict_scores, resolve_device, train
from tests.learning.ddp_squares import squares


def test_the_training_device_is_chosen_or_refused_by_name():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    missing = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ValueError, match=f"learning.device '{missing}': this machine has"):
        resolve_device(missing)
    with pytest.raises(ValueError, match="device"):
        load_config(overrides={"learning.device": "gpu"})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_trained_on_a_gpu_loads_and_scores_the_same_on_the_cpu(tmp_path):
    data = squares()
    learning = load_config(overrides={"learning.device": "cuda", "learning.batch_size": 32})
    final = train(data, learning.learning, tmp_path, TrainPlan(12, 0.01), progress=False)
    checkpoint = load_checkpoint(tmp_path / "model.pt")
    assert all(t.device.type == "cpu" for t in checkpoint.state_dict.values())
    net = GraspNet(checkpoint.profile, checkpoint.num_bins)
    net.load_state_dict(checkpoint.state_dict)
    on_cpu = predict_scores(net, data)
    on_gpu = predict_scores(net.to("cuda"), data)
    np.testing.assert_allclose(on_cpu, on_gpu, atol=1e-4)
    chosen = on_cpu[np.arange(len(data)), data.angle_bin]
    assert ((chosen > 0.5) == (data.label == 1)).mean() > 0.9  # it learned, on the GPU
    assert final.history[-1]["patches_per_s"] > 0
