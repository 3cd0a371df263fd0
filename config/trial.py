"""The random grasp trial loop (the paper, section III): heights, ROI sampling, limits."""

from pydantic import Field

from .base import StrictModel


class RegionOfInterestConfig(StrictModel):
    """OpenCV Mixture-of-Gaussians background subtraction against the empty table."""

    history: int = Field(20, ge=1, description="frames of the empty table that seed the model")
    var_threshold: float = Field(16.0, gt=0.0, description="MOG2 squared Mahalanobis threshold")
    learning_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="background update per capture; 0: keep the empty table"
    )
    min_area_px: int = Field(
        90,
        ge=1,
        description="smaller foreground blobs are noise (a 2 cm object covers ~300 px of the HD "
        "image; 1 px is ~1.1 mm on the table)",
    )
    open_px: int = Field(
        9, ge=1, description="px of the morphological opening that removes specks and slivers"
    )
    margin_px: int = Field(12, ge=0, description="grown around each blob's bounding box")
    min_height: float = Field(
        0.004, ge=0.0, description="m above the table: seeds the background model from depth"
    )
    max_height: float = Field(
        0.15, gt=0.0, description="m above the table: higher foreground is an arm, not an object"
    )
    sample_on_foreground: bool = Field(
        True,
        description="grasp pixel uniform over the region's foreground pixels; false: uniform in "
        "its bounding box (the paper; irregular objects fill only 30-40 % of their box)",
    )


class TrialConfig(StrictModel):
    table_z: float = Field(-0.155, description="table top height in the robot base frame (m)")
    approach_height: float = Field(0.25, gt=0.0, description="m above the table before descending")
    lift_height: float = Field(0.20, gt=0.0, description="m lifted before the label is read")
    grasp_depth: float = Field(
        0.015, ge=0.0, description="m above the table top for the fingertips at the grasp"
    )
    release_height: float = Field(
        0.02, ge=0.0, description="m above the grasp height where a held object is let go"
    )
    waypoint_spacing: float = Field(
        0.05, gt=0.0, description="m between the waypoints of a vertical move (keeps it straight)"
    )
    label_settle: float = Field(
        0.3, ge=0.0, description="s after the lift before the gripper is read (a slip shows)"
    )
    num_angle_bins: int = Field(18, ge=1, description="theta in [0, pi) split into equal bins")
    max_ik_retries: int = Field(5, ge=0, description="new samples after an unreachable one")
    motion_timeout: float = Field(10.0, gt=0.0, description="s allowed for any single motion")
    joint_tolerance: float = Field(0.01, gt=0.0, description="rad: a motion has arrived")
    put_down: bool = Field(True, description="put a held object back at a random table spot")
    refill_service: str = Field(
        "/sim_baxter/reset_scene",
        description="Trigger service for new objects when an arm's half is empty; '': a person",
    )
    refill_wait: float = Field(30.0, gt=0.0, description="s to wait for a person to refill")
    tick_period: float = Field(0.05, gt=0.0, description="s (robot clock) between tree ticks")
    max_tick_gap: float = Field(
        0.25,
        gt=0.0,
        description="wall s without a tick after which the tree ticks on the wall clock: a "
        "simulator's /clock stops when it dies, and the tree must still notice (keep it under a "
        "quarter of robot.state_timeout)",
    )
    tick_topic: str = Field(
        "/trial_tree/tick",
        description="std_msgs/Header (robot clock stamp) after every tick of a tree: a simulator "
        "in lockstep (simulator.ros.lockstep) runs no further ahead of the tree than its lead",
    )
    seed: int = Field(0, description="seeds the random grasps (offset by the trials stored)")
    roi: RegionOfInterestConfig = RegionOfInterestConfig()
