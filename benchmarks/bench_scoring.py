"""Benchmark of grasp scoring: one 800-patch query, fast path against patch-by-patch, per profile.

Prints seconds per query for the fast path (one trunk pass over the resized scene, the head as a
convolution) and the naive path (800 patches, one network pass each) and their ratio; then, on
--scenes synthetic scenes of --naive-patches candidates each, how far the two paths' scores are
apart (max |score difference|) and on how many scenes they choose a different best grasp. For
unpadded profiles both are 0 (to float rounding); AlexNet's padded convolutions are not.
Random weights with trained-looking spread, or a trained --model: the cost does not depend on the
weights, the discrepancy does. The naive path is timed on --naive-patches and scaled to 800.

    python benchmarks/bench_scoring.py
    python benchmarks/bench_scoring.py --profile paper --naive-patches 100 --scenes 5
    python benchmarks/bench_scoring.py --model runs/resnet/model.pt --scenes 20
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from supersize_grasp.config import load_config
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.checkpoint import Checkpoint
from supersize_grasp.models.network import INPUT_PX, INPUTS, GraspNet
from supersize_grasp.models.scoring import GraspScorer

TILT = math.radians(55)  # the simulated head camera's view of the table
CAMERA = CameraModel(
    1064.4,
    1064.4,
    613.5,
    301.5,
    1228,
    615,
    np.array([0.2, 0.0, 0.95]),
    np.array(
        [[0, -math.sin(TILT), math.cos(TILT)], [-1, 0, 0], [0, -math.cos(TILT), -math.sin(TILT)]]
    ),
)
"""The default head camera: the table's 1228 x 615 crop of the 1920 x 1080 HD image."""


def scene(seed: int, table_z: float) -> tuple[np.ndarray, np.ndarray]:
    """A white table with 25 coloured boxes (1-8 cm high) in the middle: colour and depth."""
    rng = np.random.default_rng(seed)
    rgb = np.full((CAMERA.height, CAMERA.width, 3), 225, np.uint8)
    rgb += rng.integers(0, 12, rgb.shape, dtype=np.uint8)  # sensor noise
    height = np.zeros(rgb.shape[:2])
    for _ in range(25):
        x, y = rng.integers(480, 740), rng.integers(200, 400)
        w, h = rng.integers(15, 80, 2)
        rgb[y : y + h, x : x + w] = rng.integers(0, 255, 3)
        height[y : y + h, x : x + w] = rng.uniform(0.01, 0.08)
    v, u = np.mgrid[0 : CAMERA.height, 0 : CAMERA.width]
    down = (
        CAMERA.rotation[2, 0] * (u - CAMERA.cx) / CAMERA.fx
        + CAMERA.rotation[2, 1] * (v - CAMERA.cy) / CAMERA.fy
        + CAMERA.rotation[2, 2]
    )
    depth = ((table_z + height - CAMERA.position[2]) / down).astype(np.float32)
    return rgb, depth


def random_checkpoint(profile: str, inputs: str, learning: dict) -> Checkpoint:
    """Random weights whose scores spread like a trained network's (not all ~0.5)."""
    torch.manual_seed(0)
    net = GraspNet(profile, inputs=inputs)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=0.02 if profile == "paper" else 0.05)
    return Checkpoint(profile, 18, net.state_dict(), learning, "bench", "-", inputs=inputs)


def run(scorer: GraspScorer, name: str, args, table_z: float) -> None:
    rgb, depth = scene(0, table_z)
    rng = np.random.default_rng(0)
    # the paper samples in one region of interest: a 180 x 120 px box around an object
    u, v = rng.uniform(520, 700, args.patches), rng.uniform(240, 360, args.patches)
    scorer.score(rgb, CAMERA, table_z, u, v, depth=depth)  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        scorer.score(rgb, CAMERA, table_z, u, v, depth=depth)
        times.append(time.perf_counter() - start)
    fast_s = float(np.median(times))
    n = min(args.naive_patches, args.patches)
    start = time.perf_counter()
    scorer.score(rgb, CAMERA, table_z, u[:n], v[:n], fast=False, depth=depth)
    naive_s = (time.perf_counter() - start) * args.patches / n
    worst, differ, regret = 0.0, 0, 0.0
    for k in range(args.scenes):
        rgb, depth = scene(k, table_z)
        u, v = rng.uniform(520, 700, n), rng.uniform(240, 360, n)
        fast = scorer.score(rgb, CAMERA, table_z, u, v, depth=depth)
        naive = scorer.score(rgb, CAMERA, table_z, u, v, fast=False, depth=depth)
        worst = max(worst, float(np.abs(fast.scores - naive.scores).max()))
        differ += (fast.best_index, fast.best_bin) != (naive.best_index, naive.best_bin)
        chosen = naive.scores[fast.best_index, fast.best_bin]
        regret = max(regret, float(naive.scores.max() - chosen))
    print(
        f"{name}: fast {fast_s:.3f} s/query, naive {naive_s:.2f} s/query (timed on {n}), "
        f"ratio {naive_s / fast_s:.0f}x; on {args.scenes} scenes x {n} patches: max |score "
        f"diff| {worst:.2g}, best grasp differs on {differ}/{args.scenes} (worst naive-score "
        f"loss {regret:.2g})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(INPUT_PX), action="append")
    parser.add_argument("--inputs", choices=sorted(INPUTS), action="append")
    parser.add_argument("--model", action="append", default=[], help="a trained checkpoint")
    parser.add_argument("--patches", type=int, default=800)
    parser.add_argument("--naive-patches", type=int, default=200, help="timed, then scaled")
    parser.add_argument("--scenes", type=int, default=10, help="scenes for the discrepancy")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    config = load_config()
    table_z = config.trial.table_z
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.patches} patches")
    learning = config.learning.model_dump(mode="json")
    for path in args.model:
        scorer = GraspScorer.load(path)
        c = scorer.checkpoint
        run(scorer, f"{path} ({c.profile}, {c.inputs})", args, table_z)
    if args.model and not args.profile:
        return
    for profile in args.profile or ("cpu", "resnet", "paper"):
        for inputs in args.inputs or ("rgb",):
            scorer = GraspScorer(random_checkpoint(profile, inputs, learning))
            run(scorer, f"{profile:6s} profile, {inputs:4s}", args, table_z)


if __name__ == "__main__":
    main()
