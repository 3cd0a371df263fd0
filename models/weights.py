"""Grasp-network weights that ship with the package, named and versioned.

A small registry in the style of torchvision's ``Weights`` enums: each entry names its file, the
file's sha256, the network profile and inputs, the data that trained it and the figures measured
with it, so ``--model default`` works from a fresh clone without training, and a report can say
exactly which model it ran. A missing or altered file is refused with a message that names it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from supersize_grasp.dataset.durable import sha256_file

FOLDER = Path(__file__).resolve().parent / "weights"


class WeightsError(Exception):
    """Shipped weights that cannot be used; the message names the entry and the file."""


@dataclass(frozen=True)
class Weights:
    """One shipped checkpoint and what is known about it."""

    file: str  # in models/weights/
    sha256: str
    profile: str
    inputs: str
    data: Mapping[str, object]  # what trained it: its data fingerprint, trials, objects, command
    figures: Mapping[str, object] = field(default_factory=dict)  # measured with it, and how

    @property
    def path(self) -> Path:
        return FOLDER / self.file

    def verify(self) -> Path:
        """The file's path once its sha256 matches the entry's."""
        if not self.path.is_file():
            raise WeightsError(
                f"{self.path}: the shipped weights file is missing (reinstall the package, or "
                "check out the file with git)"
            )
        digest = sha256_file(self.path)
        if digest != self.sha256:
            raise WeightsError(
                f"{self.path}: sha256 {digest} is not the registry's {self.sha256}: the file was "
                "altered or replaced; restore it (git checkout) or pass your own checkpoint file"
            )
        return self.path


class GraspNetWeights(enum.Enum):
    """Shipped models; ``DEFAULT`` is the best measured one."""

    CPU_RGB_8K_V1 = Weights(
        file="cpu-rgb-8k-v1.pt",
        sha256="90cc84bf3bb7361c28b428e73835f4b7722855b8e04298adfe78bb5cefdb0c88",
        profile="cpu",
        inputs="rgb",
        data={
            "training_data_fingerprint": "e85ac39e923c",
            "trials": 8000,
            "objects": "random_urdfs, train split (graspable), seed 0",
            "command": "scripts/reproduce_reports.sh (sim-collect --trials 8000; train, 20 epochs)",
        },
        figures={
            "offline balanced accuracy, seen / novel": "74.8 % / 72.5 %",
            "robot-test greedy success, seen / novel": "78.8 % / 82.8 % (151 tries each)",
            "robot-test oracle success, seen / novel": "84.8 % / 81.5 % (same clutters)",
            "report": "reports/random, reports/robot",
        },
    )
    CPU_RGB_50K_V1 = Weights(
        file="cpu-rgb-50k-v1.pt",
        sha256="f822ccfddd418b8c4a0db16817c43978ced275a836cb83689c131aafbe4faf08",
        profile="cpu",
        inputs="rgb",
        data={
            "training_data_fingerprint": "2fde2a11b2cf",
            "trials": 50000,
            "objects": "random_urdfs, train split (graspable)",
            "command": "sim-collect --trials 50000 --workers 2; stages --stages 4 --trials 5000 "
            "--bulk 2 (its stage 0: train, 20 epochs; store fingerprint 075891394465)",
        },
        figures={
            "robot-test greedy success, seen / novel": "80.7 % / 83.4 % (301 tries each)",
            "robot-test oracle success, seen": "84.4 % (301 tries, same clutters)",
            "robot-test greedy success, novel, 20 clutters": "84.8 % (600 tries)",
            "clear-table, 5 runs of 10 novel objects (seeds 3000-3004)": (
                "10 removed in all 5; 13.0 interactions a run"
            ),
            "report": "reports/robot, reports/stages-50k (stage 0)",
        },
    )
    CPU_RGB_50K_STAGE3_V1 = Weights(
        file="cpu-rgb-50k-stage3-v1.pt",
        sha256="2831853b50cd52cc80c57ad38062f7437f42e78dfd43e2e15877dba29fe79a5a",
        profile="cpu",
        inputs="rgb",
        data={
            "training_data_fingerprint": "eebe2b968a34",
            "trials": 65000,
            "objects": "random_urdfs, train split (graspable)",
            "command": "stages --stages 4 --trials 5000 --bulk 2 --ablation on the 50,000 random "
            "trials, stage 0 = cpu-rgb-50k-v1: stage 3, fine-tuned 5 epochs on 58,596 trials "
            "(Gamma = 3); its other stages in reports/stages-50k/models/",
        },
        figures={
            "robot-test greedy success, seen / novel": "86.7 % (300 tries) / 92.3 % (601 tries)",
            "robot-test greedy success of cpu-rgb-50k-v1 (same clutters), seen / novel": (
                "82.4 % (301) / 84.8 % (600)"
            ),
            "robot-test oracle success, seen / novel (the clutters of greedy's first 300 tries)": (
                "86.0 % / 86.0 % (301 tries each; greedy there 86.7 % / 92.7 %)"
            ),
            "clear-table, 5 runs of 10 novel objects (seeds 3000-3004)": (
                "10, 10, 10, 10, 9 removed; 14.6 interactions a run"
            ),
            "report": "reports/stages-50k",
        },
    )
    DEFAULT = CPU_RGB_50K_STAGE3_V1

    @classmethod
    def named(cls, name: str) -> GraspNetWeights:
        """The entry called ``name`` (any case, ``-`` or ``_``), e.g. ``default``."""
        key = name.strip().upper().replace("-", "_")
        try:
            return cls[key]
        except KeyError:
            known = ", ".join(m.lower().replace("_", "-") for m in cls.__members__)
            raise WeightsError(
                f"{name!r}: no such checkpoint file, nor shipped weights of that name (known: "
                f"{known})"
            ) from None


def resolve_model(model: str | Path) -> Path:
    """A checkpoint file from ``--model``: a shipped entry's name, else a path to a file.

    A value that is neither an existing file nor a registry name is refused by the checkpoint
    loader, which names the file.
    """
    text = str(model)
    if Path(text).exists() or "/" in text or text.endswith(".pt"):
        return Path(text)
    return GraspNetWeights.named(text).value.verify()


def model_argument(value: str) -> Path:
    """``--model``'s argparse type: shipped weights by name become their verified file."""
    import argparse

    try:
        return resolve_model(value)
    except WeightsError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
