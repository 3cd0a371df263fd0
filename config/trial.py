"""The random grasp trial loop (the paper, section III): heights, ROI sampling, limits."""

from pydantic import Field

from .base import StrictModel


class RegionOfInterestConfig(StrictModel):
    """OpenCV Mixture-of-Gaussians background subtraction against the empty table."""

    history: int = Field(20, ge=1)
    var_threshold: float = Field(16.0, gt=0.0)
    min_area_px: int = Field(80, ge=1, description="smaller foreground blobs are noise")
    margin_px: int = Field(4, ge=0, description="grown around each blob's bounding box")


class TrialConfig(StrictModel):
    approach_height: float = Field(0.25, gt=0.0, description="m above the table before descending")
    lift_height: float = Field(0.20, gt=0.0, description="m lifted before the label is read")
    grasp_depth: float = Field(
        0.015, ge=0.0, description="m above the table top for the fingertips at the grasp"
    )
    num_angle_bins: int = Field(18, ge=1, description="theta in [0, pi) split into equal bins")
    max_ik_retries: int = Field(5, ge=0, description="new samples after an unreachable one")
    motion_timeout: float = Field(10.0, gt=0.0, description="s allowed for any single motion")
    joint_tolerance: float = Field(0.01, gt=0.0, description="rad: a motion has arrived")
    put_down: bool = Field(True, description="put a held object back at a random table spot")
    roi: RegionOfInterestConfig = RegionOfInterestConfig()
