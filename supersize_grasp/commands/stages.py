"""Staged learning with hard negatives: train, collect with the model, aggregate, fine-tune.

Stage 0 trains on the random trials (stage 0) of --data. Each later stage collects --trials new
trials through the behaviour tree with the previous model choosing the grasps (importance
sampling over its 800 x 18 scores), aggregates D_k = D_(k-1) + Gamma * d_k
(learning.aggregation_gamma) and fine-tunes (learning.finetune_lr, finetune_epochs). Models go
to OUT/stage-<k>/model.pt; --ablation also fine-tunes on each stage's new trials alone
(OUT/stage-<k>-no-aggregation). --bulk WORKERS collects through the simulator's Python API
instead (the same trial and the same policy, the network in each of WORKERS processes: ~5x
faster; the robot tests still run through the tree). Kill it at any point and run the same
command to continue.
"""

from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--stages", type=int, default=3, help="stages, stage 0 included")
    parser.add_argument("--data", type=Path, required=True, help="the trial store")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--into",
        type=Path,
        help="store for the later stages' trials (default: --data; another keeps --data's "
        "random trials apart)",
    )
    parser.add_argument("--trials", type=int, default=1000, help="new trials per later stage")
    parser.add_argument("--ablation", action="store_true", help="also train without aggregation")
    parser.add_argument(
        "--bulk",
        type=int,
        default=0,
        metavar="WORKERS",
        help="collect through the simulator's Python API with WORKERS processes, not the tree",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


class StageError(RuntimeError):
    """A collection failed or was stopped; carries the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def run(args, config) -> int:
    from supersize_grasp.dataset.store import StoreError
    from supersize_grasp.launcher import exit_on_sigterm
    from supersize_grasp.models.checkpoint import CheckpointError
    from supersize_grasp.models.stages import run_stages
    from supersize_grasp.runs import collect_trials

    exit_on_sigterm()
    into = args.into or args.data
    if args.bulk < 0:
        print("supersize-grasp stages: --bulk takes a number of workers >= 1", file=sys.stderr)
        return 2

    def collect(stage: int, trials: int, model: Path) -> None:
        if args.bulk:  # collects until the store holds the stage's --trials (run_stages counted)
            from supersize_grasp.bulk.collect import collect as bulk_collect

            bulk_collect(
                config,
                into,
                args.trials,
                stage=stage,
                workers=args.bulk,
                seed=config.trial.seed + 7919 * stage,
                policy="sample",
                model=model,
            )
            return
        code = collect_trials(config, trials, data=into, stage=stage, policy="sample", model=model)
        if code > 128:
            raise StageError(f"stage {stage} collection stopped ({code})", code)
        if code != 0:
            raise StageError(f"stage {stage} collection exited with {code}")

    try:
        models = run_stages(
            config,
            args.data,
            args.out,
            args.stages,
            args.trials,
            collect,
            ablation=args.ablation,
            progress=not args.quiet,
            into=into,
        )
    except (CheckpointError, StoreError, ValueError, RuntimeError) as e:
        print(f"supersize-grasp stages: {e}", file=sys.stderr)
        return getattr(e, "code", 2)
    for k, model in enumerate(models):
        print(f"stage {k}: {model}")
    return 0
