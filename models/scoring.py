"""Scoring candidate grasps on a scene: an N x 18 graspability matrix and the best grasp.

The paper scores 800 patches per grasp choice. Cut one by one, that is 800 network passes
(~18 s for AlexNet on this CPU). The fast path shares the convolutions: the scene around the
candidates is resized once so a patch has the network's input size, the trunk runs over it once,
and the head, applied as a convolution, scores every patch position on the trunk's stride grid.
Candidates are snapped to that grid and the snapped pixels are what gets reported: 4 px of the
resized image for the cpu and resnet profiles, 32 px for AlexNet; with the HD head camera's
~110 px patches that is ~12, ~7 and ~15 scene pixels.

For the cpu and resnet profiles, whose convolutions are unpadded, the fast path computes exactly
what the naive path computes (to float rounding); for AlexNet (padded convolutions) patch borders
see real neighbours instead of zeros, so scores differ a little
(``benchmarks/bench_scoring.py`` measures by how much).

rgbd networks also get the heights above the table from the depth image, resized with the
colour by the same warp.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from supersize_grasp.geometry import CameraModel

from .checkpoint import (
    Checkpoint,
    CheckpointError,
    check_inputs,
    checkpoint_file,
    load_checkpoint,
)
from .network import GraspNet
from .patches import bin_centre, height_above_table, patch_side_px, table_angle
from .scores import GraspScores

STRIDE = {"cpu": 4, "resnet": 4, "paper": 32}
APPROXIMATE = {
    "paper": "padded convolutions: the fast path's patch borders see neighbours; measured by "
    "benchmarks/bench_scoring.py (max |score difference|, how often the best grasp differs)"
}
"""Profiles whose fast path differs from patch-by-patch scoring, and why; the others are exact."""


@dataclass(frozen=True)
class ScoredGrasp:
    """The best grasp in the scene and on the table."""

    u: float
    v: float
    image_angle: float  # the bin's centre, rad
    theta: float  # table angle in [0, pi) for the robot
    score: float
    position: tuple[float, float, float]  # on the table plane, robot base frame


def dense_head(net: GraspNet) -> nn.Module:
    """The head as convolutions: fc layers become kernels over the trunk's output map."""
    layers, channels, size = [], None, None
    trunk_out = net.trunk(torch.zeros(1, net.in_channels, net.input_px, net.input_px))
    channels, size = trunk_out.shape[1], trunk_out.shape[-1]
    for layer in net.head:
        if isinstance(layer, nn.Flatten):
            continue
        if isinstance(layer, nn.Linear):
            conv = nn.Conv2d(channels, layer.out_features, size)
            conv.weight.data.copy_(layer.weight.data.view(layer.out_features, channels, size, size))
            conv.bias.data.copy_(layer.bias.data)
            layers.append(conv)
            channels, size = layer.out_features, 1
        else:
            layers.append(layer)
    return nn.Sequential(*layers).eval()


class GraspScorer:
    """A trained network ready to score scenes. Plain Python: the scoring node wraps it."""

    def __init__(
        self, checkpoint: Checkpoint, model_id: str = "", inputs: str | None = None
    ) -> None:
        """``inputs``: what the caller is set up for (learning.inputs); a model that takes
        other inputs is refused. None: whatever the model takes."""
        if inputs is not None:
            check_inputs(checkpoint, inputs, "grasp scorer")
        self.checkpoint = checkpoint
        self.net = checkpoint.build()
        self.inputs = checkpoint.inputs
        self.num_bins = checkpoint.num_bins
        self.input_px = self.net.input_px
        self.stride = STRIDE[checkpoint.profile]
        self.head = dense_head(self.net)
        learning = checkpoint.learning
        self.patch_scale = float(learning.get("patch_scale", 1.5))
        self.gripper_opening = float(learning.get("gripper_opening", 0.075))
        self.model_id = (
            model_id
            or hashlib.sha256(
                b"".join(t.numpy().tobytes() for t in checkpoint.state_dict.values())
            ).hexdigest()[:16]
        )

    @classmethod
    def load(cls, path: str | Path, inputs: str | None = None) -> GraspScorer:
        path = checkpoint_file(path)
        checkpoint = load_checkpoint(path)
        try:
            return cls(checkpoint, hashlib.sha256(path.read_bytes()).hexdigest()[:16], inputs)
        except CheckpointError as e:
            raise CheckpointError(f"{path}: {e}") from e

    # ------------------------------------------------------------------ geometry
    def scale(self, camera: CameraModel, u: float, v: float, table_z: float) -> float:
        """Resize factor that makes a patch at pixel (u, v) the network's input size."""
        point = camera.pixel_to_plane(u, v, table_z)
        side = patch_side_px(camera, point, self.gripper_opening, self.patch_scale)
        return self.input_px / side

    def _window(self, rgb: np.ndarray, u: np.ndarray, v: np.ndarray, s: float, heights=None):
        """The resized scene around the candidates (and its heights, given ``heights``: the
        camera, depth and table_z), and each candidate's grid-snapped window."""
        half = self.input_px / 2.0
        x0 = math.floor(u.min() - half / s) - 1
        y0 = math.floor(v.min() - half / s) - 1
        # window top-left corners in the resized image, on the stride grid
        a = np.round((s * (u - x0) - half) / self.stride).astype(np.int64) * self.stride
        b = np.round((s * (v - y0) - half) / self.stride).astype(np.int64) * self.stride
        a, b = np.maximum(a, 0), np.maximum(b, 0)
        width = int(a.max()) + self.input_px
        height = int(b.max()) + self.input_px
        matrix = np.array([[s, 0.0, -s * x0], [0.0, s, -s * y0]])
        flags = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        resized = cv2.warpAffine(
            rgb, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE
        )
        resized_heights = None
        if heights is not None:  # only the part of the depth image the window sees
            camera, depth, table_z = heights
            c0, r0 = max(0, x0 - 1), max(0, y0 - 1)
            c1 = min(depth.shape[1], math.ceil(x0 + width / s) + 2)
            r1 = min(depth.shape[0], math.ceil(y0 + height / s) + 2)
            crop = height_above_table(camera, depth[r0:r1, c0:c1], table_z, (c0, r0))
            shifted = matrix + np.array([[0.0, 0.0, s * c0], [0.0, 0.0, s * r0]])
            resized_heights = cv2.warpAffine(
                crop, shifted, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE
            )
        snapped_u = (x0 + (a + half) / s).astype(np.float32)  # the inverse of ``a``'s mapping
        snapped_v = (y0 + (b + half) / s).astype(np.float32)
        return resized, resized_heights, a, b, snapped_u, snapped_v

    # ------------------------------------------------------------------ scoring
    @torch.no_grad()
    def score(
        self,
        rgb: np.ndarray,
        camera: CameraModel,
        table_z: float,
        u,
        v,
        fast: bool = True,
        depth: np.ndarray | None = None,
    ) -> GraspScores:
        """Score the patches at pixels (u, v) of an RGB scene for every angle bin.

        ``depth``: the registered depth image (HxW metres, 0 or NaN = no reading); rgbd models
        need it, rgb models ignore it."""
        u = np.asarray(u, dtype=np.float64).ravel()
        v = np.asarray(v, dtype=np.float64).ravel()
        if u.size == 0 or u.shape != v.shape:
            raise ValueError(
                f"need as many u as v candidates, at least one; got {u.size}, {v.size}"
            )
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"scene must be HxWx3 uint8 RGB, got {rgb.dtype} {rgb.shape}")
        heights = None
        if self.inputs == "rgbd":
            if depth is None or np.size(depth) == 0:
                raise ValueError(
                    "the model takes rgbd inputs and the request has no depth image: send the "
                    "depth registered to colour (32FC1 m or 16UC1 mm)"
                )
            if depth.shape != rgb.shape[:2]:
                raise ValueError(
                    f"depth {depth.shape[1]}x{depth.shape[0]} is not registered to the "
                    f"{rgb.shape[1]}x{rgb.shape[0]} colour image"
                )
            heights = (camera, depth, table_z)
        s = self.scale(camera, float(np.median(u)), float(np.median(v)), table_z)
        resized, resized_heights, a, b, su, sv = self._window(rgb, u, v, s, heights)

        def encode(rows: slice, cols: slice) -> torch.Tensor:
            colour = torch.from_numpy(np.ascontiguousarray(resized[rows, cols]))[None]
            if resized_heights is None:
                return self.net.encode(colour)
            h = torch.from_numpy(np.ascontiguousarray(resized_heights[rows, cols]))[None]
            return self.net.encode(colour, h)

        if fast:
            x = encode(slice(None), slice(None))
            dense = torch.sigmoid(self.head(self.net.trunk(x)))[0].numpy()
            scores = dense[:, b // self.stride, a // self.stride].T
        else:
            scores = np.empty((u.size, self.num_bins), np.float32)
            for i in range(u.size):
                x = encode(slice(b[i], b[i] + self.input_px), slice(a[i], a[i] + self.input_px))
                scores[i] = torch.sigmoid(self.net(x))[0].numpy()
        return GraspScores(su, sv, np.ascontiguousarray(scores, dtype=np.float32))

    def best_grasp(self, scores: GraspScores, camera: CameraModel, table_z: float) -> ScoredGrasp:
        u, v = float(scores.u[scores.best_index]), float(scores.v[scores.best_index])
        position = camera.pixel_to_plane(u, v, table_z)
        phi = float(bin_centre(scores.best_bin, self.num_bins))
        return ScoredGrasp(
            u,
            v,
            phi,
            table_angle(camera, position, phi),
            scores.best_score,
            tuple(float(c) for c in position),
        )


def sample_in_region(
    region: tuple[int, int, int, int], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pixels uniform in an (x, y, width, height) box."""
    x, y, w, h = region
    if w <= 0 or h <= 0 or n <= 0:
        raise ValueError(f"region {region} and num_samples {n} must be positive")
    return rng.uniform(x, x + w, n), rng.uniform(y, y + h, n)
