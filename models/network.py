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
        scores every patch on a 4 px grid (``models.scoring``).
    resnet: a small residual net at 64 px (1.7 mm a pixel, about the cached context's own
        resolution): a 5x5 stem, three residual blocks of unpadded 3x3 convolutions whose skips
        are centre-cropped to match, 3.2x the cpu profile's multiply-adds (31 M). Unpadded and with
        its two 2x2 pools aligned, it too is exactly fully convolutional, of stride 4.

Inputs: ``rgb`` (3 channels, ImageNet-normalised) or ``rgbd`` (a 4th channel: the height of each
pixel above the table plane, from the depth image registered to colour and the camera pose,
clipped to [0, max_height] and scaled to [-2, 2]; no reading counts as the table).
"""

from __future__ import annotations

import urllib.parse
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional

INPUT_PX = {"paper": 227, "cpu": 36, "resnet": 64}
INPUTS = {"rgb": 3, "rgbd": 4}  # input name -> channels
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
    """trunk -> head -> (B, num_bins) logits, from (B, C, input_px, input_px) inputs made by
    ``encode`` (C = 3 for rgb, 4 for rgbd)."""

    def __init__(
        self, profile: str, num_bins: int = 18, inputs: str = "rgb", max_height: float = 0.12
    ) -> None:
        super().__init__()
        if profile not in INPUT_PX:
            raise ValueError(f"unknown network profile {profile!r}; one of {sorted(INPUT_PX)}")
        if inputs not in INPUTS:
            raise ValueError(f"unknown network inputs {inputs!r}; one of {sorted(INPUTS)}")
        if not max_height > 0:
            raise ValueError(f"max_height must be > 0 m, got {max_height}")
        self.profile = profile
        self.num_bins = num_bins
        self.input_px = INPUT_PX[profile]
        self.inputs = inputs
        self.in_channels = c = INPUTS[inputs]
        self.max_height = float(max_height)
        if profile == "paper":
            from torchvision.models import alexnet

            self.trunk = alexnet(weights=None).features  # conv1-conv5 with their pools
            if c != 3:  # the height channel gets its own conv1 filters, the rest stay ImageNet's
                conv1 = self.trunk[0]
                self.trunk[0] = nn.Conv2d(c, 64, 11, stride=4, padding=2)
                self.trunk[0].bias.data.copy_(conv1.bias.data)
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
        elif profile == "resnet":
            self.trunk = nn.Sequential(
                _conv(c, 32, 5, padding=0),  # 64 -> 60 px
                nn.MaxPool2d(2),  # 30
                ValidResidual(32, 32),  # 26
                nn.MaxPool2d(2),  # 13
                _conv(32, 64, 3, padding=0),  # 11
                ValidResidual(64, 64),  # 7
                ValidResidual(64, 64),  # 3
            )
            self.pool = nn.Identity()
            self.head = _small_head(64 * 3 * 3, num_bins)
        else:
            self.trunk = nn.Sequential(
                _conv(c, 32, 5, padding=0),
                nn.MaxPool2d(2),  # 36 -> 32 -> 16 px
                _conv(32, 64, 3, padding=0),
                nn.MaxPool2d(2),  # 14 -> 7 px
                _conv(64, 128, 3, padding=0),  # 5 px
                _conv(128, 128, 3, padding=0),  # 3 px
            )
            self.pool = nn.Identity()
            self.head = _small_head(128 * 3 * 3, num_bins)
        for layer in self.head:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=0.01)  # the paper's Gaussian initialisation
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.trunk(x)))

    def encode(self, rgb: torch.Tensor, height: torch.Tensor | None = None) -> torch.Tensor:
        """The network's input from (B, H, W, 3) uint8 RGB and, for rgbd, (B, H, W) heights
        above the table in metres (0 where depth had no reading)."""
        x = normalise(rgb)
        if self.inputs == "rgb":
            return x
        if height is None or height.shape != rgb.shape[:3]:
            raise ValueError(
                f"the {self.inputs} network needs heights of shape {tuple(rgb.shape[:3])}, got "
                f"{None if height is None else tuple(height.shape)}"
            )
        h = height.to(x.device, x.dtype).clamp(0.0, self.max_height) / self.max_height
        return torch.cat([x, (4.0 * h - 2.0).unsqueeze(1)], dim=1)


class ValidResidual(nn.Module):
    """Two unpadded 3x3 conv-BN(-ReLU) layers plus a skip centre-cropped by 2 px (a 1x1 conv
    when the width changes). The crop, like the convolutions, is translation-equivariant, so a
    stack of these stays exactly fully convolutional: a scene-wide pass equals patch by patch."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(c_in, c_out, 3, padding=0),
            nn.Conv2d(c_out, c_out, 3, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.skip = (
            nn.Identity()
            if c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional.relu(self.body(x) + self.skip(x[..., 2:-2, 2:-2]))


def _small_head(features: int, num_bins: int) -> nn.Sequential:
    """The cpu and resnet profiles' classifier: one hidden layer over the trunk's 3 x 3 map."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(features, 256),
        nn.ReLU(inplace=True),
        nn.Dropout(0.3),
        nn.Linear(256, num_bins),
    )


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
        return f"random init (the {net.profile} profile has no pretrained trunk)"
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
    extra = net.in_channels - 3
    if extra:  # rgbd: ImageNet's RGB filters, the height channel's from the random init
        conv1 = trunk.get("0.weight")
        if conv1 is not None and conv1.ndim == 4:
            trunk["0.weight"] = torch.cat([conv1, net.trunk[0].weight.data[:, 3:]], dim=1)
    try:
        net.trunk.load_state_dict(trunk)
    except RuntimeError as e:
        raise ValueError(f"{path}: does not fit AlexNet's conv trunk: {e}") from e
    return f"ImageNet ({path})" + (", height channel random init" if extra else "")


def normalise(patches: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float, ImageNet-normalised."""
    x = patches.permute(0, 3, 1, 2).float().div_(255.0)
    mean, std = (
        torch.tensor(s, dtype=x.dtype, device=x.device).view(1, 3, 1, 1) for s in (MEAN, STD)
    )
    return (x - mean) / std
