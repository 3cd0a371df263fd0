"""Scoring candidate grasps on a scene: an N x 18 graspability matrix and the best grasp.

The paper scores 800 patches per grasp choice. Cut one by one, that is 800 network passes
(~18 s for AlexNet on this CPU). The fast path shares the convolutions: the scene around the
candidates is resized once so a patch has the network's input size, the trunk runs over it once,
and the head, applied as a convolution, scores every patch position on the trunk's stride grid.
Candidates are snapped to that grid (4 px of the resized image for the cpu profile, ~1 scene
pixel; 32 px, ~5 scene pixels, for AlexNet) and the snapped pixels are what gets reported.

For the cpu profile, whose convolutions are unpadded, the fast path computes exactly what the
naive path computes; for AlexNet (padded convolutions) patch borders see real neighbours instead
of zeros, so scores differ a little.
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

from .checkpoint import Checkpoint, checkpoint_file, load_checkpoint
from .network import GraspNet, normalise
from .patches import bin_centre, patch_side_px, table_angle
from .scores import GraspScores

STRIDE = {"cpu": 4, "paper": 32}


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
    trunk_out = net.trunk(torch.zeros(1, 3, net.input_px, net.input_px))
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

    def __init__(self, checkpoint: Checkpoint, model_id: str = "") -> None:
        self.checkpoint = checkpoint
        self.net = checkpoint.build()
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
    def load(cls, path: str | Path) -> GraspScorer:
        path = checkpoint_file(path)
        checkpoint = load_checkpoint(path)
        return cls(checkpoint, hashlib.sha256(path.read_bytes()).hexdigest()[:16])

    # ------------------------------------------------------------------ geometry
    def scale(self, camera: CameraModel, u: float, v: float, table_z: float) -> float:
        """Resize factor that makes a patch at pixel (u, v) the network's input size."""
        point = camera.pixel_to_plane(u, v, table_z)
        side = patch_side_px(camera, point, self.gripper_opening, self.patch_scale)
        return self.input_px / side

    def _window(self, rgb: np.ndarray, u: np.ndarray, v: np.ndarray, s: float):
        """The resized scene around the candidates and each candidate's grid-snapped window."""
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
        resized = cv2.warpAffine(
            rgb,
            matrix,
            (width, height),
            flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        snapped_u = (x0 + (a + half) / s).astype(np.float32)  # the inverse of ``a``'s mapping
        snapped_v = (y0 + (b + half) / s).astype(np.float32)
        return resized, a, b, snapped_u, snapped_v

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
    ) -> GraspScores:
        """Score the patches at pixels (u, v) of an RGB scene for every angle bin."""
        u = np.asarray(u, dtype=np.float64).ravel()
        v = np.asarray(v, dtype=np.float64).ravel()
        if u.size == 0 or u.shape != v.shape:
            raise ValueError(
                f"need as many u as v candidates, at least one; got {u.size}, {v.size}"
            )
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"scene must be HxWx3 uint8 RGB, got {rgb.dtype} {rgb.shape}")
        s = self.scale(camera, float(np.median(u)), float(np.median(v)), table_z)
        resized, a, b, su, sv = self._window(rgb, u, v, s)
        if fast:
            x = normalise(torch.from_numpy(np.ascontiguousarray(resized))[None])
            dense = torch.sigmoid(self.head(self.net.trunk(x)))[0].numpy()
            scores = dense[:, b // self.stride, a // self.stride].T
        else:
            scores = np.empty((u.size, self.num_bins), np.float32)
            for i in range(u.size):
                patch = resized[b[i] : b[i] + self.input_px, a[i] : a[i] + self.input_px]
                x = normalise(torch.from_numpy(np.ascontiguousarray(patch))[None])
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
