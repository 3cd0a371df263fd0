"""Benchmark of grasp scoring: one 800-patch query, fast path against patch-by-patch, per profile.

Prints seconds per query for the fast path (one trunk pass over the resized scene, the head as a
convolution) and the naive path (800 patches, one network pass each), their ratio, and whether
both choose the same best grasp. Random weights: the cost does not depend on them. The naive
path can be timed on fewer patches (--naive-patches) and scaled to 800.

    python benchmarks/bench_scoring.py
    python benchmarks/bench_scoring.py --profile paper --naive-patches 100
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
from supersize_grasp.models.network import GraspNet
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("cpu", "paper"), action="append")
    parser.add_argument("--patches", type=int, default=800)
    parser.add_argument("--naive-patches", type=int, default=200, help="timed, then scaled")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    config = load_config()
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (CAMERA.height, CAMERA.width, 3), dtype=np.uint8)
    # the paper samples in one region of interest: a 180 x 120 px box around an object
    u, v = rng.uniform(520, 700, args.patches), rng.uniform(240, 360, args.patches)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.patches} patches")
    for profile in args.profile or ("cpu", "paper"):
        torch.manual_seed(0)
        net = GraspNet(profile)
        learning = config.learning.model_dump(mode="json")
        scorer = GraspScorer(Checkpoint(profile, 18, net.state_dict(), learning, "bench", "-"))
        table_z = config.trial.table_z
        scorer.score(rgb, CAMERA, table_z, u, v)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            scorer.score(rgb, CAMERA, table_z, u, v)
            times.append(time.perf_counter() - start)
        fast_s = float(np.median(times))
        n = min(args.naive_patches, args.patches)
        start = time.perf_counter()
        naive = scorer.score(rgb, CAMERA, table_z, u[:n], v[:n], fast=False)
        naive_s = (time.perf_counter() - start) * args.patches / n
        subset = scorer.score(rgb, CAMERA, table_z, u[:n], v[:n])  # same window as naive
        same = (subset.best_index, subset.best_bin) == (naive.best_index, naive.best_bin)
        print(
            f"{profile:5s} profile: fast {fast_s:.3f} s/query, naive {naive_s:.2f} s/query "
            f"(timed on {n}), ratio {naive_s / fast_s:.0f}x, same best grasp on those {n}: {same}"
        )


if __name__ == "__main__":
    main()
