"""The ceiling of grasp choosing, and what the oracle costs (issue 14, part 2).

For each clutter (default scene of the split, a random arm): capture, regions of interest as the
tree finds them, the candidates a learned chooser scores (``learning.num_patch_samples`` pixels x
every angle bin), then on copies of the scene: the oracle (``supersize_grasp/bulk/oracle.py``)
with a budget of tries and ``--checks`` jittered tries of each grasp that lifts, and one random
grasp of the paper's random trial. Prints how often the oracle found a grasp that lifts an
object (the ceiling of any chooser among those candidates), how often its choice lifts again
when jittered as the tree executes it (``--verify`` tries each, by up to the same jitter), the
random grasp's rate on the same scenes, tries and wall seconds per oracle choice.

    python benchmarks/bench_oracle.py --scenes 40 --budget 20 --checks 4
    python benchmarks/bench_oracle.py --primitives --scenes 10
"""

from __future__ import annotations

import argparse
import math
import os
import statistics

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported

import numpy as np

from supersize_grasp.behaviors.regions import RegionFinder
from supersize_grasp.behaviors.trial_plan import sample_candidates, sample_random_grasp
from supersize_grasp.bulk.oracle import GraspOracle, jittered
from supersize_grasp.bulk.trial import capture
from supersize_grasp.config import load_config
from supersize_grasp.models.evaluation import wilson
from supersize_grasp.models.patches import table_grasp
from supersize_grasp.simulator.world import BaxterWorld

NUM_BINS = 18


def candidates(rng, regions, camera, config, side):
    """The learned chooser's candidates as planar grasps: each pixel at every angle bin."""
    pixels, _ = sample_candidates(rng, regions, config.learning, config.trial)
    z = config.trial.table_z
    return [
        (side, *table_grasp(camera, u, v, k, NUM_BINS, z))
        for u, v in pixels
        for k in range(NUM_BINS)
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--budget", type=int, default=20, help="oracle candidates per choice")
    parser.add_argument("--checks", type=int, default=4, help="jittered tries of a lifting grasp")
    parser.add_argument("--jitter", type=float, nargs=2, default=(6.0, 5.0), help="mm, deg")
    parser.add_argument("--verify", type=int, default=6, help="jittered tries of the choice")
    parser.add_argument("--split", choices=("train", "novel"), default="novel")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--primitives", action="store_true", help="built-in primitive objects")
    parser.add_argument("--config", action="append", default=[], help="YAML overlay")
    args = parser.parse_args(argv)
    overrides = {"simulator.objects.folder": "builtin:primitives"} if args.primitives else {}
    config = load_config(args.config, overrides=overrides)
    rng = np.random.default_rng(args.seed)
    world = BaxterWorld(config.simulator, seed=args.seed)
    finder = RegionFinder(config.trial.roi, config.trial.table_z)
    sides = config.arms.active()
    jitter = (args.jitter[0] / 1000.0, math.radians(args.jitter[1]))
    found, random_lifts, tries, seconds, verified = 0, 0, [], [], []
    with GraspOracle(config, seed=args.seed) as oracle:
        for _ in range(args.scenes):
            regions = []
            while not regions:
                world.reset_scene(split=args.split)
                side = sides[int(rng.integers(len(sides)))]
                frame, regions = capture(world, config, finder, side)
            scene = world.scene_now()
            grasps = candidates(rng, regions, frame.model, config, side)
            choice = oracle.choose(scene, grasps, args.budget, rng, args.checks, jitter)
            found += choice.lifted
            if choice.lifted:
                verified += [
                    oracle.attempt(scene, jittered(grasps[choice.index], jitter, rng)).lifted
                    for _ in range(args.verify)
                ]
            tries.append(choice.tried)
            seconds.append(choice.seconds)
            grasp = sample_random_grasp(rng, regions, frame.model, config.trial)
            result = oracle.attempt(scene, (side, grasp.x, grasp.y, grasp.theta))
            random_lifts += result.success and result.lifted
    world.close()
    n = args.scenes
    lo, hi = wilson(found, n)
    rlo, rhi = wilson(random_lifts, n)
    print(f"objects           : {config.simulator.objects.folder or 'random_urdfs'} ({args.split})")
    print(f"oracle lifts      : {found}/{n} = {found / n:.1%} [{lo:.1%}, {hi:.1%}]", end="")
    print(f" (budget {args.budget})")
    v, nv = sum(verified), max(len(verified), 1)
    vlo, vhi = wilson(v, nv)
    print(
        f"choice, jittered  : {v}/{len(verified)} = {v / nv:.1%} [{vlo:.1%}, {vhi:.1%}] lift "
        f"(checks {args.checks}, jitter {args.jitter[0]:g} mm, {args.jitter[1]:g} deg)"
    )
    print(f"random grasp lifts: {random_lifts}/{n} = {random_lifts / n:.1%} [{rlo:.1%}, {rhi:.1%}]")
    print(f"tries per choice  : mean {statistics.mean(tries):.1f}", end="")
    print(f", median {statistics.median(tries):.0f}")
    print(
        f"seconds per choice: mean {statistics.mean(seconds):.1f}, "
        f"p90 {np.percentile(seconds, 90):.1f} (wall, one core)"
    )


if __name__ == "__main__":
    main()
