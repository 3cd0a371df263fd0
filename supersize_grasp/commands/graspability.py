"""Measure which objects this gripper can hold at all, and print the counts.

Each object of the configured set (and of a test folder) alone on the table: the trial through
its centre at simulator.objects.graspability_angles angles, stopping at the first that lifts it.
Results are kept with the object cache and measured once (about 1 s an object on one core);
with simulator.objects.graspable_only, scenes draw only the objects found graspable. Stop it any
time: the same command goes on from there.
"""

from __future__ import annotations

import itertools
import sys
import time

from supersize_grasp import test_objects


def add_arguments(parser) -> None:
    parser.add_argument("--workers", type=int, default=1, help="simulator processes")
    parser.add_argument("--quiet", action="store_true", help="no line per object")
    test_objects.add_arguments(parser)


def run(args, config) -> int:
    from supersize_grasp.bulk.graspability import ensure_measured
    from supersize_grasp.simulator.graspability import GraspabilityTable, fingerprints
    from supersize_grasp.simulator.world import object_libraries

    try:
        config = test_objects.apply(args, config, measure=False)
    except ValueError as e:
        print(f"supersize-grasp graspability: {e}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("supersize-grasp graspability: --workers must be >= 1", file=sys.stderr)
        return 2
    started = time.monotonic()

    def on_object(obj, lifted_at, done, total) -> None:
        if not args.quiet:
            verdict = f"lifted at angle {lifted_at}" if lifted_at else "never lifted"
            print(f"[{done}/{total}] {obj.object_id}: {verdict}", flush=True)

    measured, known = ensure_measured(config, args.workers, on_object)
    seconds = time.monotonic() - started
    print(f"measured {measured} objects in {seconds:.0f} s; {known} were known")
    sim = config.simulator
    table = GraspabilityTable(sim.objects.resolved_cache_dir())
    low, high = sim.objects.grasp_width_range
    edges = [low + (high - low) * i / 7 for i in range(8)]
    for lib in object_libraries(sim, graspable_only=False):
        if lib is None:
            continue
        held = {i for i, key in fingerprints(lib, sim).items() if table.get(key).graspable}
        print(f"{lib.source}: {len(held)} of {len(lib)} graspable ({len(held) / len(lib):.0%})")
        for split in ("train", "novel"):
            objects = lib.objects(split)
            if objects:
                n = sum(o.object_id in held for o in objects)
                print(f"  {split:5}: {n} of {len(objects)}")
        for a, b in itertools.pairwise(edges):
            group = [o for o in lib if a <= o.grasp_width < b + 1e-9]
            if group:
                share = sum(o.object_id in held for o in group) / len(group)
                print(f"  width {a * 1000:3.0f}-{b * 1000:3.0f} mm: {share:4.0%} of {len(group)}")
    return 0
