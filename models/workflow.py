"""The data side of training and evaluation, shared by the train, report and stages commands.

Training stores give the training samples and, from scenes hashed out of training, the *seen*
test set (objects the network has seen, in scenes it has not). The seen test set holds random
trials (stage 0) only, so the models of every stage are scored on the same trials; held-out
scenes of later stages are used for neither. The *novel* test set comes from stores collected on
the novel object split only. Both test sets are balanced by sampling, as in the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from supersize_grasp.config import Config
from supersize_grasp.dataset.store import TrialStore

from .samples import PatchSamples, load_samples
from .training import balanced_indices, split_by_scene


@dataclass(frozen=True)
class TrainingData:
    train: PatchSamples
    seen_test: PatchSamples  # balanced
    source: str  # fingerprints of the stores, for the checkpoint


def store_samples(
    config: Config, stores: Sequence[str | Path], progress: bool = False
) -> tuple[PatchSamples, str]:
    """All labelled samples of the stores, and a text naming the stores' fingerprints."""
    if not stores:
        raise ValueError("no trial store given")
    parts, source = [], []
    for path in stores:
        with TrialStore.open(path, create=False, readonly=True) as store:
            source.append(f"{Path(path).name}:{store.fingerprint()}")
        parts.append(
            load_samples(
                path,
                config.learning,
                config.trial.table_z,
                config.trial.num_angle_bins,
                progress=progress,
            )
        )
    return PatchSamples.concatenate(parts), "\n".join(source)


def training_samples(
    config: Config, stores: Sequence[str | Path], progress: bool = False
) -> TrainingData:
    samples, source = store_samples(config, stores, progress)
    train_idx, held_idx = split_by_scene(samples, config.learning.seen_test_fraction)
    train = samples.subset(train_idx)
    held = samples.subset(held_idx)
    if len(train) == 0:
        raise ValueError(f"no labelled trials to train on in {', '.join(map(str, stores))}")
    held = held.subset(np.nonzero(held.stage == 0)[0])
    seen = held.subset(balanced_indices(held.label, config.learning.test_seed))
    return TrainingData(train, seen, source)


def novel_test_samples(
    config: Config, stores: Sequence[str | Path], progress: bool = False
) -> PatchSamples:
    """The balanced novel-object test set from stores collected on the novel split."""
    samples, _ = store_samples(config, stores, progress)
    return samples.subset(balanced_indices(samples.label, config.learning.test_seed))
