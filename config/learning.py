"""Patches, network profile, training schedule and staged learning (the paper, sections IV-V)."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from .base import StrictModel


class LearningConfig(StrictModel):
    profile: Literal["paper", "cpu"] = Field(
        "cpu", description="paper: AlexNet trunk at 227 px; cpu: a small net that trains on 2 cores"
    )
    patch_scale: float = Field(1.5, gt=0.0, description="patch side / projected gripper opening")
    pretrained_weights: Path | None = Field(
        None, description="torchvision AlexNet weights file; None: torch cache, else random init"
    )
    batch_size: int = Field(64, ge=1)
    lr: float = Field(0.01, gt=0.0)
    epochs: int = Field(20, ge=1)
    finetune_lr: float = Field(0.001, gt=0.0)
    finetune_epochs: int = Field(5, ge=1)
    aggregation_gamma: float = Field(3.0, ge=0.0, description="weight of new stage data (Gamma)")
    num_patch_samples: int = Field(800, ge=1, description="patches scored per learned grasp")
    num_workers: int = Field(2, ge=0)
    seed: int = 0
