"""Patches, network profile, training schedule and staged learning (the paper, sections IV-V)."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from .base import StrictModel


class LearningConfig(StrictModel):
    profile: Literal["paper", "cpu", "resnet"] = Field(
        "cpu",
        description="paper: AlexNet trunk at 227 px; cpu: a small net that trains on 2 cores; "
        "resnet: unpadded residual net at 64 px (stronger, still hours on 2 cores)",
    )
    inputs: Literal["rgb", "rgbd"] = Field(
        "rgb",
        description="network input channels: rgb (the paper), or rgbd: rgb + each pixel's "
        "height above the table from the registered depth image",
    )
    max_height: float = Field(
        0.12,
        gt=0.0,
        description="m: rgbd heights above the table are clipped to [0, max_height] and scaled "
        "to [-2, 2] (no depth reading counts as the table)",
    )
    patch_scale: float = Field(1.5, gt=0.0, description="patch side / projected gripper opening")
    gripper_opening: float = Field(
        0.075, gt=0.0, description="m between the fingers fully open (Baxter's electric gripper)"
    )
    gripper_min_opening: float = Field(
        0.035, ge=0.0, description="m between the fingers fully closed: thinner objects slip"
    )
    context_px: int = Field(
        96, ge=16, description="px of the cached unrotated context (patch side x sqrt 2)"
    )
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
    candidate_regions: Literal["all", "one"] = Field(
        "all",
        description="learned grasps: patches on every region of interest (by area; the model "
        "picks the object) or on one random region (as a random trial)",
    )
    checkpoint: Path | None = Field(
        None, description="model the grasp_scorer node loads when not given one as a parameter"
    )
    scorer_service: str = Field(
        "/grasp_scorer/score", description="ScoreGrasps service of the grasp_scorer node"
    )
    oracle_service: str = Field(
        "/sim_baxter/oracle",
        description="ScoreGrasps service of the simulated Baxter's oracle (the oracle policy: "
        "ground truth, simulation only)",
    )
    scorer_timeout: float = Field(
        30.0, gt=0.0, description="s (wall clock, the scorer's) to wait for scores"
    )
    scorer_setup_timeout: float = Field(
        120.0,
        gt=0.0,
        description="s (wall clock) the tree's setup waits for the scorer (or oracle) service "
        "to appear, then stops naming it",
    )
    rerank_top: int = Field(10, ge=1, description="greedy policy: best grasps re-ranked")
    rerank_neighbours: int = Field(10, ge=1, description="greedy policy: patches around each")
    rerank_radius_px: float = Field(
        9.0, ge=0.0, description="greedy policy: neighbour offset (~1 cm in the HD image)"
    )
    num_workers: int = Field(
        0,
        ge=0,
        description="DataLoader worker processes; cached patches cost little to "
        "augment, so on 2 cores the main process is fastest (use more beside a GPU)",
    )
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="torch device that trains: auto (the first GPU when there is one, else the "
        "CPU), cpu, cuda or cuda:N",
    )
    seed: int = 0
    seen_test_fraction: float = Field(
        0.1, ge=0.0, lt=1.0, description="scenes of the training store held out as the seen test"
    )
    test_seed: int = Field(0, description="draws the balanced test sets")
    heuristic_angle_tolerance_deg: float = Field(
        20.0,
        gt=0.0,
        le=90.0,
        description="common-sense baseline: grasp within this of the object's smallest width",
    )
