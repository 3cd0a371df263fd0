"""Clutter removal (the paper, section VI-D): grasp objects one by one and drop them in a bin."""

from pydantic import Field

from .arms import Workspace
from .base import StrictModel


class ClearTableConfig(StrictModel):
    bin_left: tuple[float, float, float] = Field(
        (0.55, 0.72, 0.10),
        description="m, base frame: where the left arm lets go, beside the table",
    )
    bin_right: tuple[float, float, float] = Field(
        (0.55, -0.72, 0.10), description="m, base frame: where the right arm lets go"
    )
    reach_left: Workspace = Field(
        Workspace(x_min=0.35, x_max=0.8, y_min=0.0, y_max=0.6),
        description="the part of the table the left arm clears (its top-down reach up to the "
        "table's edge): wider than arms.left.workspace, where trials keep to, so that an object "
        "pushed out of that is still picked",
    )
    reach_right: Workspace = Field(
        Workspace(x_min=0.35, x_max=0.8, y_min=-0.6, y_max=0.0),
        description="the part of the table the right arm clears",
    )
    retry_radius: float = Field(
        0.03,
        ge=0.0,
        description="m: a learned chooser does not try again a grasp that failed in the run: "
        "candidates this near a failed one (a missed object moves ~1 cm a try) with an angle "
        "bin within retry_bins of its bin score 0; 0: retry freely",
    )
    retry_bins: int = Field(
        1, ge=0, description="angle bins either side of a failed grasp's bin that it rules out"
    )
    give_up_after: int = Field(
        10,
        ge=0,
        description="failed grasps in one region of interest (an object, or objects touching) "
        "after which the arm leaves it alone, an object that defeats the grasps its chooser "
        "believes in (chosen on seen objects: the fewest that cleared as many of 20 clutters "
        "fully as never giving up); 0: never give up",
    )
    max_interactions: int = Field(
        40, ge=1, description="grasp attempts (labelled trials) before giving up on the table"
    )
