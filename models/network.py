"""The grasp network (the paper, section IV-B): a convolutional trunk and 18 binary classifiers.

The output is one logit per angle bin: sigmoid(logit k) is the probability that a grasp at the
patch's centre with its closing axis in bin k succeeds. Training puts a loss only on the bin
that was tried (``executed_bin_loss``).

Profiles:
    paper: AlexNet's conv1-conv5 (torchvision) at 227 px, then fc6 4096, fc7 1024 (Gaussian
        initialised) and the 18 outputs, as in the paper. ~45 patches/s inference on this CPU.
    cpu: four small unpadded conv layers at 36 px (a patch spans ~100 px of the HD head image,
        3 mm a pixel at 36 px) and one hidden layer; it trains on 2 cores in minutes. Being
        unpadded, it is exactly a fully convolutional net of stride 4: one pass over a scene
        scores every patch on a 4 px grid (see ``dense_scores``).
"""

from __future__ import annotations

import urllib.parse
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional

INPUT_PX = {"paper": 227, "cpu": 36}
# The ImageNet statistics of torchvision's AlexNet_Weights.IMAGENET1K_V1 (the pretrained trunk
# expects them; they do no harm from scratch), as numbers: importing torchvision for them would
# add ~1.5 s to every scorer node's start. tests/learning/test_learning.py holds them equal.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def imagenet_alexnet():
    """torchvision's ``AlexNet_Weights.IMAGENET1K_V1``, the paper profile's pretrained trunk."""
    from torchvision.models import AlexNet_Weights

    return AlexNet_Weights.IMAGENET1K_V1


def alexnet_cache_file() -> Path:
    """Where torch.hub keeps those weights once downloaded."""
    name = Path(urllib.parse.urlparse(imagenet_alexnet().url).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / name


class GraspNet(nn.Module):
    """trunk -> head -> (B, num_bins) logits, from (B, 3, input_px, input_px) normalised RGB."""

    def __init__(self, profile: str, num_bins: int = 18) -> None:
        super().__init__()
        if profile not in INPUT_PX:
            raise ValueError(f"unknown network profile {profile!r}; one of {sorted(INPUT_PX)}")
        self.profile = profile
        self.num_bins = num_bins
        self.input_px = INPUT_PX[profile]
        if profile == "paper":
            from torchvision.models import alexnet

            self.trunk = alexnet(weights=None).features  # conv1-conv5 with their pools
            self.pool = nn.AdaptiveAvgPool2d((6, 6))
            self.head = nn.Sequential(
                nn.Flatten(),
                nn.Dropout(0.5),
                nn.Linear(256 * 6 * 6, 4096),  # fc6
                nn.ReLU(inplace=True),
                nn.Dropout(0.5),
                nn.Linear(4096, 1024),  # fc7
                nn.ReLU(inplace=True),
                nn.Linear(1024, num_bins),  # the 18 binary classifiers
            )
        else:
            self.trunk = nn.Sequential(
                _conv(3, 32, 5, padding=0),
                nn.MaxPool2d(2),  # 36 -> 32 -> 16 px
                _conv(32, 64, 3, padding=0),
                nn.MaxPool2d(2),  # 14 -> 7 px
                _conv(64, 128, 3, padding=0),  # 5 px
                _conv(128, 128, 3, padding=0),  # 3 px
            )
            self.pool = nn.Identity()
            self.head = nn.Sequential(
                nn.Flatten(),
                nn.Dropout(0.3),
                nn.Linear(128 * 3 * 3, 256),
                nn.ReLU(inplace=True),
                nn.Dropout(0.3),
                nn.Linear(256, num_bins),
            )
        for layer in self.head:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=0.01)  # the paper's Gaussian initialisation
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.trunk(x)))


def _conv(c_in: int, c_out: int, k: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, padding=padding, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def executed_bin_loss(logits: torch.Tensor, bins: torch.Tensor, labels: torch.Tensor):
    """Binary cross-entropy on the tried angle's output only; the other 17 get no gradient."""
    chosen = logits.gather(1, bins.view(-1, 1)).squeeze(1)
    return functional.binary_cross_entropy_with_logits(chosen, labels.float())


def pretrained_trunk_file(configured: Path | None) -> Path | None:
    """The ImageNet AlexNet weights to start from: the configured file, else torch's cache."""
    if configured is not None:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"learning.pretrained_weights: no file at {configured}")
        return Path(configured)
    cached = alexnet_cache_file()
    return cached if cached.is_file() else None


def load_pretrained_trunk(net: GraspNet, configured: Path | None) -> str:
    """Copy ImageNet conv weights into the paper profile's trunk; says where they came from.

    Returns a one-line description for logs and the checkpoint, e.g. ``"ImageNet (path)"`` or
    ``"random init (no ImageNet weights found ...)"``.
    """
    if net.profile != "paper":
        return "random init (the cpu profile has no pretrained trunk)"
    path = pretrained_trunk_file(configured)
    if path is None:
        where = alexnet_cache_file()
        message = (
            f"random init: no ImageNet AlexNet weights at {where} and learning.pretrained_weights "
            "is unset, so the trunk trains from scratch (the paper's 'from scratch' row)"
        )
        warnings.warn(message, stacklevel=2)
        return message
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"{path}: not a readable torchvision weights file: {e}") from e
    trunk = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    if not trunk:
        raise ValueError(f"{path}: no 'features.*' tensors; expected torchvision AlexNet weights")
    try:
        net.trunk.load_state_dict(trunk)
    except RuntimeError as e:
        raise ValueError(f"{path}: does not fit AlexNet's conv trunk: {e}") from e
    return f"ImageNet ({path})"


def normalise(patches: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float, ImageNet-normalised."""
    x = patches.permute(0, 3, 1, 2).float().div_(255.0)
    mean, std = (
        torch.tensor(s, dtype=x.dtype, device=x.device).view(1, 3, 1, 1) for s in (MEAN, STD)
    )
    return (x - mean) / std
