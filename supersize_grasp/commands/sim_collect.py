"""Bulk grasp trials through the simulator's Python API (no ROS), for learning data.

Each worker process owns a simulated world and runs the paper's trial the way the behaviour tree
does; the trials go into the same trial store as `supersize-grasp collect`. The grasp is the
paper's random one, or with --policy sample|greedy --model M the grasp network's choice, as the
tree's learned chooser makes it (a stage's collection; the network runs in each worker).
About 10,000 random trials per hour per worker on this project's 2-core machine, against ~3,000
for the full ROS graph. Runs until the store holds --trials labelled trials of --stage; stop it at
any time (even kill -9) and run the same command to continue.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from supersize_grasp import test_objects
from supersize_grasp.models.weights import model_argument


def add_arguments(parser) -> None:
    parser.add_argument("--trials", type=int, default=1000, help="labelled trials in the store")
    parser.add_argument("--data", type=Path, help="trial store (default: storage.data_dir)")
    parser.add_argument(
        "--split",
        choices=("train", "novel"),
        help="object split on the table (default: train; novel with a test-object folder)",
    )
    parser.add_argument("--workers", type=int, default=1, help="simulator processes")
    parser.add_argument("--stage", type=int, default=0, help="stage recorded with the trials")
    parser.add_argument("--seed", type=int, default=0, help="base seed of scenes and grasps")
    parser.add_argument(
        "--policy",
        choices=("random", "sample", "greedy"),
        default="random",
        help="who chooses the grasp: random, or the grasp network (--model) sampling by its "
        "scores (a stage's collection) or greedy",
    )
    parser.add_argument(
        "--model",
        type=model_argument,
        help="grasp-network checkpoint file, or shipped weights by name (with --policy)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    test_objects.add_arguments(parser)


def run(args, config) -> int:
    from tqdm import tqdm

    from supersize_grasp.bulk.collect import collect
    from supersize_grasp.models.checkpoint import CheckpointError

    try:
        config = test_objects.apply(args, config)
    except ValueError as e:
        print(f"supersize-grasp sim-collect: {e}", file=sys.stderr)
        return 2
    if (args.policy == "random") != (args.model is None):
        print(
            "supersize-grasp sim-collect: --policy sample|greedy needs --model, and --model a "
            "learned --policy",
            file=sys.stderr,
        )
        return 2
    split = args.split or ("novel" if config.simulator.test_objects.folder else "train")
    if args.test_objects is not None and split != "novel":
        print("supersize-grasp sim-collect: --test-objects collects --split novel", file=sys.stderr)
        return 2
    data = args.data or config.storage.data_dir
    bar = None if args.quiet else tqdm(total=args.trials, unit="trial", dynamic_ncols=True)
    started, first = time.monotonic(), None

    def on_trial(progress, item) -> None:
        nonlocal first
        if bar is None:
            return
        first = progress.labelled - 1 if first is None else first
        bar.n = progress.labelled
        hours = (time.monotonic() - started) / 3600.0
        rate = progress.successes / max(1, progress.labelled - first)
        bar.set_postfix(success=f"{rate:.1%}", per_hour=f"{(bar.n - first) / hours:.0f}")
        bar.refresh()

    try:
        progress = collect(
            config,
            data,
            args.trials,
            split=split,
            stage=args.stage,
            workers=args.workers,
            seed=args.seed,
            policy=args.policy,
            model=args.model or "",
            on_trial=on_trial,
        )
    except (RuntimeError, ValueError, CheckpointError) as e:
        print(f"supersize-grasp sim-collect: {e}", file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    print(f"{data}: {progress.labelled} labelled trials of stage {args.stage}")
    return 0
