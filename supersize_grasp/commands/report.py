"""Evaluate grasp models against the paper's baselines and write the report (Markdown + PNG).

Scores the common-sense heuristic, HoG + kNN, HoG + 18 linear SVMs and every --model on the same
balanced test sets: seen objects (scenes of the --train stores held out of training) and novel
objects (--novel stores, collected on the novel split). With --curve, trains the network on
random subsets of the training trials for the accuracy-against-data figure (Fig. 8); each of
those runs resumes if interrupted. With --stages, every model of a `supersize-grasp stages` run
gets a row (stage 0, 1, ... and the no-aggregation ablation).
"""

from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument(
        "--train", type=Path, action="append", required=True, help="training store (repeatable)"
    )
    parser.add_argument(
        "--novel", type=Path, action="append", required=True, help="novel-object store"
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=CHECKPOINT",
        help="a network to score, e.g. 'CNN (cpu)=runs/cpu/model.pt' (repeatable)",
    )
    parser.add_argument(
        "--stages",
        type=Path,
        metavar="DIR",
        help="a `supersize-grasp stages` output folder: one row per stage model (and ablation)",
    )
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument(
        "--curve",
        default="",
        help="training-set sizes for the learning curve, e.g. 500,2000 (a size past the "
        "training set: all of it)",
    )
    parser.add_argument("--curve-epochs", type=int, help="epochs per learning-curve run")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args, config) -> int:
    from supersize_grasp.dataset.store import StoreError
    from supersize_grasp.models.checkpoint import CheckpointError
    from supersize_grasp.models.report import build_report
    from supersize_grasp.models.stages import stage_models

    models = {}
    for item in args.model:
        name, sep, path = item.rpartition("=")
        if not sep or not name:
            print(
                f"supersize-grasp report: --model {item!r}: expected NAME=CHECKPOINT",
                file=sys.stderr,
            )
            return 2
        models[name] = Path(path)
    if args.stages is not None:
        found = stage_models(args.stages)
        if not found:
            print(
                f"supersize-grasp report: --stages {args.stages}: no stage models", file=sys.stderr
            )
            return 2
        models.update(found)
    try:
        sizes = [int(s) for s in args.curve.split(",") if s.strip()]
    except ValueError:
        print(
            f"supersize-grasp report: --curve {args.curve!r}: expected sizes like 500,2000",
            file=sys.stderr,
        )
        return 2
    try:
        path = build_report(
            config,
            args.train,
            args.novel,
            models,
            args.out,
            curve_sizes=sizes,
            curve_epochs=args.curve_epochs,
            progress=not args.quiet,
        )
    except (CheckpointError, StoreError, ValueError) as e:
        print(f"supersize-grasp report: {e}", file=sys.stderr)
        return 2
    print(path.read_text())
    print(f"report: {path}")
    return 0
