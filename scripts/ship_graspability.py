"""Write simulator/assets/graspability.json: the measured graspability of the default object
sets (pybullet_data's random_urdfs and builtin:primitives) under the default configuration.

Run after a change that alters the fingerprints (object scaling, physics, arm, gripper):
    python scripts/ship_graspability.py --workers 2
It measures what the cache lacks (`supersize-grasp graspability`) and ships those entries only.
"""

from __future__ import annotations

import argparse
import json

from supersize_grasp.bulk.graspability import ensure_measured
from supersize_grasp.config.loader import load_config
from supersize_grasp.simulator.graspability import SHIPPED, VERSION, GraspabilityTable, fingerprints
from supersize_grasp.simulator.world import object_libraries

DEFAULT_SETS = (None, "builtin:primitives")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    entries = {}
    for folder in DEFAULT_SETS:
        config = load_config(overrides={"simulator.objects.folder": folder})
        measured, known = ensure_measured(config, args.workers)
        sim = config.simulator
        table = GraspabilityTable(sim.objects.resolved_cache_dir(), shipped=None)
        (library, _) = object_libraries(sim, graspable_only=False)
        for key in fingerprints(library, sim).values():
            entries[key] = table.get(key)
        print(f"{library.source}: {len(library)} objects ({measured} measured now, {known} known)")
    data = {"version": VERSION, "objects": {k: v.__dict__ for k, v in sorted(entries.items())}}
    SHIPPED.write_text(json.dumps(data, indent=0) + "\n")
    print(f"{SHIPPED}: {len(entries)} entries")


if __name__ == "__main__":
    main()
