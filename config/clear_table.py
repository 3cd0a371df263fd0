"""Clutter removal (the paper, section VI-D): grasp objects one by one and drop them in a bin."""

from pydantic import Field

from .base import StrictModel


class ClearTableConfig(StrictModel):
    bin_left: tuple[float, float, float] = Field(
        (0.55, 0.72, 0.10),
        description="m, base frame: where the left arm lets go, beside the table",
    )
    bin_right: tuple[float, float, float] = Field(
        (0.55, -0.72, 0.10), description="m, base frame: where the right arm lets go"
    )
    max_interactions: int = Field(
        40, ge=1, description="grasp attempts (labelled trials) before giving up on the table"
    )
