"""Benchmark of the simulated Baxter: physics speed, render time, random grasp trials.

Prints physics steps/s, head-camera render time, wall seconds per random grasp trial (through the
plain-Python API, as the behaviour tree will do through ROS), trials/hour and the success rate of
random grasps sampled uniformly over object pixels (the paper's first, random stage).

    MUJOCO_GL=egl python benchmarks/bench_simulator.py --trials 100
    MUJOCO_GL=egl python benchmarks/bench_simulator.py --primitives   # no pybullet data needed
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported

import numpy as np

from supersize_grasp.bulk.trial import run_grasp_trial, sample_object_pixel_grasp
from supersize_grasp.config import load_config
from supersize_grasp.simulator.world import BaxterWorld


def _physics_rate(world: BaxterWorld, seconds: float) -> float:
    """Physics steps per wall second with the servos running and objects resting."""
    steps = round(seconds / world.timestep)
    start = time.perf_counter()
    world.step(seconds)
    return steps / (time.perf_counter() - start)


def _render_time(world: BaxterWorld, repeats: int) -> float:
    world.render_head_camera()  # the first render creates the GL context
    start = time.perf_counter()
    for _ in range(repeats):
        world.render_head_camera()
    return (time.perf_counter() - start) / repeats


def _random_trials(world: BaxterWorld, config, args: argparse.Namespace) -> None:
    """Random grasps uniform over object pixels, refilling the table as the robot would ask."""
    rng = np.random.default_rng(args.seed)
    trial_wall, trial_sim, cycle_wall = [], [], []
    successes = missed = ik_fail = agree = refills = 0
    for _ in range(args.trials):
        cycle_start = time.perf_counter()
        if world.refill_if_needed(args.objects, args.split):
            refills += 1
        grasp = sample_object_pixel_grasp(world.render_head_camera(), rng)
        if grasp is None:
            world.reset_scene(args.objects, args.split)
            refills += 1
            continue
        side = "left" if grasp.y > 0 else "right"
        start = time.perf_counter()
        result = run_grasp_trial(world, config, side, grasp.x, grasp.y, grasp.theta)
        trial_wall.append(time.perf_counter() - start)
        cycle_wall.append(time.perf_counter() - cycle_start)
        trial_sim.append(result.sim_time)
        successes += result.success
        missed += result.missed
        ik_fail += not result.ik_ok
        agree += result.success == result.lifted
    n = len(trial_wall)
    mean_cycle = statistics.fmean(cycle_wall)
    print(
        f"grasp trial          : {statistics.fmean(trial_wall):.3f} s wall (median "
        f"{statistics.median(trial_wall):.3f}), {statistics.fmean(trial_sim):.2f} s simulated"
    )
    print(f"trial + render+sample: {mean_cycle:.3f} s wall -> {3600 / mean_cycle:,.0f} trials/h")
    print(
        f"random grasps        : {n} trials, success {successes / n:.1%}, missed "
        f"{missed / n:.1%}, IK unreachable {ik_fail / n:.1%}, scene refills {refills}"
    )
    print(f"label vs ground truth: {agree / n:.1%} agree (gripping <-> object lifted 10 cm+)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--objects", type=int, default=5, help="objects per scene")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=("train", "novel"), default="train")
    parser.add_argument(
        "--primitives", action="store_true", help="built-in primitive objects, no files"
    )
    args = parser.parse_args(argv)

    overrides = {"simulator.objects.folder": "builtin:primitives"} if args.primitives else {}
    root = load_config(overrides=overrides)
    config = root.simulator
    build_start = time.perf_counter()
    world = BaxterWorld(config, seed=args.seed)
    world.reset_scene(args.objects, split=args.split)
    build_time = time.perf_counter() - build_start
    object_set = world.objects()[0].object_id.rsplit("/", 1)[0] if world.objects() else "-"
    print(f"object set           : {object_set} ({args.split}), {args.objects} objects/scene")
    print(f"world + first scene  : {build_time:.2f} s")
    print(
        f"physics              : {_physics_rate(world, 2.0):,.0f} steps/s "
        f"(timestep {world.timestep * 1000:.0f} ms, {len(world.objects())} objects)"
    )
    render = _render_time(world, 10)
    cam = config.camera
    x, y, w, h = cam.crop_window
    print(
        f"head camera render   : {render * 1000:.1f} ms ({w}x{h} at ({x}, {y}) of "
        f"{cam.width}x{cam.height}, RGB + depth + segmentation)"
    )

    _random_trials(world, root, args)
    if world.warnings():
        print(f"MuJoCo warnings      : {world.warnings()}")
    world.close()


if __name__ == "__main__":
    main()
