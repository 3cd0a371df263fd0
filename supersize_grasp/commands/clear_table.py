"""Clear a clutter of objects with the learned grasp policy (the paper, section VI-D).

Starts the graph of `ros2 launch supersize_grasp clear_table.launch.py`: the simulated Baxter with
--objects objects of --split on the table (no refills), the grasp scorer with --model, and the
tree that picks objects one by one (greedy choice with re-ranking), lifts them and drops them in
a bin beside the table, until no object is left in either arm's reach (clear_table.reach_left and
reach_right; an object pushed out of both stays on the table and counts as not removed) but
those it failed to pick clear_table.give_up_after times, or clear_table.max_interactions attempts.
Each of --runs runs gets a new clutter (seeded); every attempt is stored as a trial in --data.
Prints the objects removed and the interactions needed per object, per run and overall.
"""

from __future__ import annotations

import sys
from pathlib import Path

from supersize_grasp import test_objects
from supersize_grasp.models.weights import model_argument


def add_arguments(parser) -> None:
    parser.add_argument(
        "--model",
        type=model_argument,
        help="grasp-network checkpoint file, or shipped weights by name: default "
        "(learning.checkpoint)",
    )
    parser.add_argument("--objects", type=int, default=10, help="objects on the table")
    parser.add_argument("--split", choices=("train", "novel"), default="novel")
    parser.add_argument("--runs", type=int, default=1, help="clutters to clear, one after another")
    parser.add_argument("--data", type=Path, help="trial store (default: storage.data_dir)")
    parser.add_argument("--seed", type=int, default=0, help="clutter seed of the first run")
    parser.add_argument(
        "--policy", choices=("greedy", "sample", "random"), default="greedy", help="grasp chooser"
    )
    parser.add_argument("--real", action="store_true", help="the real Baxter (no simulator)")
    test_objects.add_arguments(parser)


def run(args, config) -> int:
    from supersize_grasp.models.robot_tests import clutter_runs
    from supersize_grasp.runs import clear_clutter

    try:
        config = test_objects.apply(args, config)
    except ValueError as e:
        print(f"supersize-grasp clear-table: {e}", file=sys.stderr)
        return 2
    model = args.model or config.learning.checkpoint
    if args.policy != "random" and model is None:
        print(
            "supersize-grasp clear-table: --model (or learning.checkpoint) is needed",
            file=sys.stderr,
        )
        return 2
    if args.policy != "random":
        from supersize_grasp.models.checkpoint import CheckpointError, check_inputs, load_checkpoint

        try:
            check_inputs(load_checkpoint(model), config.learning.inputs, str(model))
        except CheckpointError as e:
            print(f"supersize-grasp clear-table: {e}", file=sys.stderr)
            return 2
    data = (args.data or config.storage.data_dir).resolve()
    runs = []
    for k in range(args.runs):
        code, session = clear_clutter(
            config,
            data,
            objects=args.objects,
            split=args.split,
            seed=args.seed + k,
            policy=args.policy,
            model=model,
            real=args.real,
        )
        result = next(iter(clutter_runs(data, session)), None)
        if code != 0 or result is None or not result.finished:
            print(f"supersize-grasp clear-table: run {k + 1} stopped ({code})", file=sys.stderr)
            return code or 1
        runs.append(result)
        limit = result.interactions >= config.clear_table.max_interactions
        ending = "attempt limit reached" if limit else "nothing left in reach that it would try"
        print(
            f"run {k + 1}/{args.runs} (seed {result.seed}, {args.split} objects): removed "
            f"{result.removed}/{result.objects} in {result.interactions} interactions"
            + f" ({ending})"
            + (f", {result.per_object:.1f} per object" if result.removed else ""),
            flush=True,
        )
    removed = sum(r.removed for r in runs)
    if removed:
        interactions = sum(r.interactions for r in runs)
        print(
            f"overall: {removed}/{sum(r.objects for r in runs)} objects removed, "
            f"{interactions / removed:.2f} interactions per object removed "
            f"({interactions / len(runs):.1f} interactions per run)"
        )
    return 0
