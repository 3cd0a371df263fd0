"""Train the grasp network on the labelled trials of one or more trial stores.

The paper's schedule is the default: lr 0.01 for 20 epochs from scratch (or from an ImageNet
trunk with --profile paper when weights exist), or, with --init, fine-tuning at lr 0.001 for 5.
Scenes hashed into the seen test set (learning.seen_test_fraction) never train; their balanced
accuracy is printed after each epoch. Writes OUT/last.pt after every epoch (a killed run resumes
when the same command is run again), OUT/model.pt at the end and TensorBoard logs in
OUT/tensorboard.

Under torchrun the same command trains in K processes (DistributedDataParallel; gloo on the CPU,
NCCL on GPUs, one GPU a process): each takes batch_size / K of every balanced batch, and rank 0
alone prints, evaluates and writes; a run resumes with any K:

    torchrun --standalone --nproc_per_node 2 --no-python supersize-grasp train --data D --out OUT
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import get_args

from supersize_grasp.config.learning import LearningConfig

_CHOICES = {
    name: get_args(LearningConfig.model_fields[name].annotation) for name in ("profile", "inputs")
}


def add_arguments(parser) -> None:
    parser.add_argument(
        "--data", type=Path, action="append", required=True, help="trial store (repeatable)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder of the run")
    parser.add_argument("--profile", choices=_CHOICES["profile"], help="learning.profile")
    parser.add_argument("--inputs", choices=_CHOICES["inputs"], help="learning.inputs: rgb or rgbd")
    parser.add_argument("--init", type=Path, help="checkpoint to fine-tune (finetune_lr/epochs)")
    parser.add_argument("--epochs", type=int, help="override the schedule's epochs")
    parser.add_argument("--lr", type=float, help="override the schedule's learning rate")
    parser.add_argument("--stage", type=int, default=0, help="stage the model belongs to")
    parser.add_argument(
        "--device", help="learning.device: auto (default; a GPU when there is one), cpu, cuda[:N]"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args, config) -> int:
    from supersize_grasp.config import overlay
    from supersize_grasp.launcher import exit_on_sigterm
    from supersize_grasp.models import distributed

    exit_on_sigterm()
    overrides = {
        "learning.profile": args.profile,
        "learning.inputs": args.inputs,
        "learning.device": args.device,
    }
    overrides = {key: value for key, value in overrides.items() if value}
    try:
        config = overlay(config, overrides, "<command line>") if overrides else config
        with distributed.processes(config.learning.device) as ranks:
            return _train(args, config, ranks)
    except ValueError as e:  # the configuration, or torchrun's environment (DistributedError)
        print(f"supersize-grasp train: {e}", file=sys.stderr)
        return 2


def _train(args, config, ranks) -> int:
    """The verb in one process, or in each of a torchrun's (``ranks``): rank 0 prints."""
    from supersize_grasp.dataset.store import StoreError
    from supersize_grasp.models import distributed
    from supersize_grasp.models.checkpoint import CheckpointError, load_checkpoint
    from supersize_grasp.models.training import TrainPlan, resolve_device, train
    from supersize_grasp.models.workflow import training_samples

    name = f"supersize-grasp train (rank {ranks.rank})" if ranks.active else "supersize-grasp train"
    learning = config.learning
    try:
        device = resolve_device(learning.device, ranks)
        batch = distributed.rank_batch(learning.batch_size, ranks.world_size)  # before any work
        init = load_checkpoint(args.init) if args.init else None
        with distributed.main_first():  # rank 0 cuts and caches the patches; the others read them
            data = training_samples(config, args.data, progress=not args.quiet and ranks.main)
    except (CheckpointError, StoreError, ValueError) as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 2
    epochs = args.epochs or (learning.finetune_epochs if init else learning.epochs)
    lr = args.lr or (learning.finetune_lr if init else learning.lr)
    train_set, seen = data.train, data.seen_test
    where = f"on {device}"
    if ranks.active:
        where = (
            f"in {ranks.world_size} processes ({distributed.backend(device)}, "
            f"{'one GPU each' if device.type == 'cuda' else 'cpu'}; batch "
            f"{batch} each)"
        )
    if ranks.main:
        print(
            f"training on {len(train_set)} trials ({int(train_set.label.sum())} successes) from "
            f"{len(args.data)} store(s); seen test {len(seen)} balanced; {learning.profile} "
            f"profile, {learning.inputs} inputs, {epochs} epochs at lr {lr} {where}",
            flush=True,
        )

    def on_epoch(checkpoint) -> None:
        row = checkpoint.history[-1]
        val = row.get("val_accuracy")
        print(
            f"epoch {checkpoint.epoch}/{epochs}: loss {row['train_loss']:.3f}, train accuracy "
            f"{row['train_accuracy']:.1%}"
            + (f", seen-test accuracy {val:.1%}" if val is not None else "")
            + f", {row['patches_per_s']:.0f} patches/s",
            flush=True,
        )

    try:
        final = train(
            train_set,
            learning,
            args.out,
            TrainPlan(epochs, lr, stage=args.stage, init=init, source=data.source),
            num_bins=config.trial.num_angle_bins,
            validation=seen,
            progress=not args.quiet,
            on_epoch=on_epoch,
        )
    except (CheckpointError, ValueError) as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 2
    if ranks.main:
        print(f"trunk: {final.trunk_init}")
        print(f"model: {args.out / 'model.pt'}")
    return 0
