"""How many objects of a set can this gripper hold at all: the ceiling of any grasp policy.

Each object alone on the table (left arm's half), settled; the trial (behaviors/trial_plan.py,
as sim-collect runs it) through its centre at --angles angles, stopping at the first that lifts
it. Prints the graspable fraction overall and by grasp width (the object's middle side), the
time per object, and the objects that no angle lifts.

    python benchmarks/bench_graspability.py --objects 50
    python benchmarks/bench_graspability.py --primitives --objects 50
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported

from supersize_grasp.bulk.trial import park, run_grasp_trial
from supersize_grasp.config import load_config
from supersize_grasp.simulator.world import BaxterWorld

SPOT = (0.6, 0.2)  # the left arm's half of the table


def lifts(world: BaxterWorld, config, obj, angles: int) -> int:
    """The first angle (1-based) whose centre grasp lifts the object alone; 0 if none does."""
    top = config.simulator.table.top_z
    for k in range(angles):
        world.place_objects([(obj, (*SPOT, top + obj.extents[2] / 2 + 0.002), (0, 0, 0, 1))])
        park(world, config, "left")
        x, y = (float(v) for v in world.objects()[0].pose.position[:2])
        result = run_grasp_trial(world, config, "left", x, y, k * math.pi / angles)
        if result.success and result.lifted:
            return k + 1
    return 0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=50, help="first N objects of the split")
    parser.add_argument("--split", choices=("train", "novel"), default="train")
    parser.add_argument("--angles", type=int, default=6, help="angles in [0, pi) per object")
    parser.add_argument("--primitives", action="store_true", help="built-in primitive objects")
    args = parser.parse_args(argv)
    overrides = {"simulator.objects.folder": "builtin:primitives"} if args.primitives else {}
    config = load_config(overrides=overrides)
    world = BaxterWorld(config.simulator)
    objects = world.library(args.split).objects(args.split)[: args.objects]
    started = time.perf_counter()
    found = {obj.object_id: (lifts(world, config, obj, args.angles), obj) for obj in objects}
    seconds = (time.perf_counter() - started) / len(objects)
    world.close()
    held = [i for i, (k, _) in found.items() if k]
    print(f"object set        : {objects[0].object_id.rsplit('/', 1)[0]} ({args.split})")
    print(
        f"graspable         : {len(held)}/{len(found)} ({len(held) / len(found):.0%}), "
        f"{args.angles} centre grasps at most, {seconds:.2f} s per object"
    )
    low, high = config.simulator.objects.grasp_width_range
    edges = [low + (high - low) * i / 7 for i in range(8)]
    for a, b in itertools.pairwise(edges):
        group = [k for k, obj in found.values() if a <= obj.grasp_width < b + 1e-9]
        if group:
            share = sum(1 for k in group if k) / len(group)
            print(f"  width {a * 1000:3.0f}-{b * 1000:3.0f} mm : {share:4.0%} of {len(group)}")
    never = sorted(i for i, (k, _) in found.items() if not k)
    print(f"never lifted      : {', '.join(never) if never else '-'}")


if __name__ == "__main__":
    main()
