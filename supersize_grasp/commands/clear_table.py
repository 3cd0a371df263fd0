"""Clear a clutter of objects with the learned grasp policy (the paper, section VI-D).

Starts the graph of `ros2 launch supersize_grasp clear_table.launch.py`: the simulated Baxter with
--objects objects of --split on the table (no refills), the grasp scorer with --model, and the
tree that picks objects one by one (greedy choice with re-ranking), lifts them and drops them in
a bin beside the table, until the table is clear or clear_table.max_interactions attempts. Each
of --runs runs gets a new clutter (seeded); every attempt is stored as a trial in --data. Prints
the objects removed and the interactions needed per object, per run and overall.
"""

from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--model", type=Path, help="grasp-network checkpoint (learning.checkpoint)")
    parser.add_argument("--objects", type=int, default=10, help="objects on the table")
    parser.add_argument("--split", choices=("train", "novel"), default="novel")
    parser.add_argument("--runs", type=int, default=1, help="clutters to clear, one after another")
    parser.add_argument("--data", type=Path, help="trial store (default: storage.data_dir)")
    parser.add_argument("--seed", type=int, default=0, help="clutter seed of the first run")
    parser.add_argument(
        "--policy", choices=("greedy", "sample", "random"), default="greedy", help="grasp chooser"
    )
    parser.add_argument("--real", action="store_true", help="the real Baxter (no simulator)")


def run(args, config) -> int:
    from supersize_grasp.config import overlay
    from supersize_grasp.dataset.store import TrialStore, new_session_id
    from supersize_grasp.graph import clear_table_graph
    from supersize_grasp.launcher import GraphProcess

    model = args.model or config.learning.checkpoint
    if args.policy != "random" and model is None:
        print(
            "supersize-grasp clear-table: --model (or learning.checkpoint) is needed",
            file=sys.stderr,
        )
        return 2
    data = (args.data or config.storage.data_dir).resolve()
    totals = {"interactions": 0, "removed": 0, "objects": 0}
    for run in range(args.runs):
        overrides = {
            "storage.data_dir": str(data),
            "simulator.seed": args.seed + run,
            "trial.seed": args.seed + run,
            "simulator.scene.n_objects": args.objects,
            "simulator.ros.split": args.split,
            "simulator.ros.auto_refill": False,
        }
        if args.real:
            overrides["robot.use_sim_time"] = False
        run_config = overlay(config, overrides, "<command line>")
        session = new_session_id()
        specs = clear_table_graph(
            policy=args.policy,
            checkpoint=str(Path(model).resolve()) if model else "",
            session=session,
        )
        if not run_config.storage.record_mcap:
            specs = [s for s in specs if s.executable != "recorder"]
        with GraphProcess(specs, config=run_config, arguments={"simulated": not args.real}) as g:
            code = g.wait()
        if code != 0:
            print(f"supersize-grasp clear-table: run {run + 1} stopped ({code})", file=sys.stderr)
            return code
        with TrialStore.open(data, create=False, readonly=True) as store:
            trials = list(store.trials(session_id=session))
        interactions = len(trials)
        removed = sum(t.success for t in trials)
        limit = interactions >= run_config.clear_table.max_interactions
        totals["interactions"] += interactions
        totals["removed"] += removed
        totals["objects"] += args.objects
        print(
            f"run {run + 1}/{args.runs} (seed {args.seed + run}, {args.split} objects): removed "
            f"{removed}/{args.objects} in {interactions} interactions"
            + (" (attempt limit reached)" if limit else " (table clear)")
            + (f", {interactions / removed:.1f} per object" if removed else ""),
            flush=True,
        )
    if totals["removed"]:
        print(
            f"overall: {totals['removed']}/{totals['objects']} objects removed, "
            f"{totals['interactions'] / totals['removed']:.2f} interactions per object removed "
            f"({totals['interactions'] / args.runs:.1f} interactions per run)"
        )
    return 0
