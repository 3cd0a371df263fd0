"""Staged learning with hard negatives (the paper, section V): data aggregation.

Stage 0 trains on the random trials. Each later stage k collects new trials with the previous
model choosing the grasps (importance sampling over its scores, so its confident mistakes become
hard negatives), aggregates ``D_k = D_{k-1} + Gamma * d_k`` (every later stage's trials count
Gamma times) and fine-tunes the previous model on it. Each step leaves its result on disk and is
skipped when it is there, so a killed run resumes where it stopped, collection included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from supersize_grasp.config import Config
from supersize_grasp.dataset.store import TrialStore

from .checkpoint import load_checkpoint
from .training import FINAL, TrainPlan, train
from .workflow import training_samples

# collect(stage, trials, model): adds ``trials`` labelled trials of ``stage`` to the store
Collector = Callable[[int, int, Path], None]


def stage_dir(out_dir: Path, stage: int, aggregated: bool = True) -> Path:
    return Path(out_dir) / (f"stage-{stage}" if aggregated else f"stage-{stage}-no-aggregation")


def stage_models(out_dir: Path) -> dict[str, Path]:
    """A stages run's finished models by name, in stage order, each ablation after its stage."""
    found = []
    for model in Path(out_dir).glob(f"stage-*/{FINAL}"):
        match = re.fullmatch(r"stage-(\d+)(-no-aggregation)?", model.parent.name)
        if match:
            stage, ablated = int(match[1]), bool(match[2])
            name = f"CNN stage {stage}" + (", no aggregation" if ablated else "")
            found.append(((stage, ablated), name, model))
    return {name: model for _, name, model in sorted(found)}


def run_stages(
    config: Config,
    store: Path,
    out_dir: Path,
    stages: int,
    trials_per_stage: int,
    collect: Collector,
    *,
    ablation: bool = False,
    progress: bool = True,
    say: Callable[[str], None] = print,
    into: Path | None = None,
) -> list[Path]:
    """Run stages 0..stages-1; returns each stage's model path. ``into``: the store the later
    stages' trials go to (default ``store``; another keeps the random store as it was)."""
    if stages < 1:
        raise ValueError(f"stages must be >= 1, got {stages}")
    learning = config.learning
    gamma = learning.aggregation_gamma
    models: list[Path] = []
    into = Path(into or store)
    stores = [store] if into.resolve() == Path(store).resolve() else [store, into]
    for k in range(stages):
        model = stage_dir(out_dir, k) / FINAL
        if k > 0:
            have = 0
            if into.exists():
                with TrialStore.open(into, create=False, readonly=True) as s:
                    have = s.count(stage=k, labelled_only=True)
            if have < trials_per_stage:
                say(f"stage {k}: collecting {trials_per_stage - have} trials with {models[-1]}")
                collect(k, trials_per_stage - have, models[-1])
        if model.exists():
            say(f"stage {k}: {model} exists")
            models.append(model)
            continue
        data = training_samples(config, stores[: 1 if k == 0 else 2], progress)
        keep = np.nonzero(data.train.stage <= k)[0]
        samples = data.train.subset(keep)
        if k == 0:
            plan = TrainPlan(learning.epochs, learning.lr, stage=0, source=data.source)
        else:
            multiplicity = np.where(samples.stage == 0, 1.0, gamma)
            plan = TrainPlan(
                learning.finetune_epochs,
                learning.finetune_lr,
                stage=k,
                init=load_checkpoint(models[-1]),
                source=f"{data.source}\ngamma={gamma}",
                multiplicity=multiplicity,
            )
            new_only = samples.subset(np.nonzero(samples.stage == k)[0])
            if ablation and len(set(new_only.label.tolist())) < 2:
                say(f"stage {k}: no ablation, the new trials hold only one label")
            elif ablation:
                ablated = TrainPlan(
                    plan.epochs, plan.lr, stage=k, init=plan.init, source=data.source
                )
                say(f"stage {k}: fine-tuning on stage {k} trials only (ablation)")
                train(
                    new_only,
                    learning,
                    stage_dir(out_dir, k, False),
                    ablated,
                    num_bins=config.trial.num_angle_bins,
                    progress=progress,
                )
        say(
            f"stage {k}: training on {len(samples)} trials "
            f"({int(samples.label.sum())} successes), {plan.epochs} epochs at lr {plan.lr}"
        )
        train(
            samples,
            learning,
            stage_dir(out_dir, k),
            plan,
            num_bins=config.trial.num_angle_bins,
            progress=progress,
        )
        models.append(model)
    return models
