"""The grasp trial, defined once (the paper, section III-B): the random grasp, where the gripper
goes, how the trial is labelled and what is recorded.

Plain Python, no ROS. The behaviour tree executes it through the robot's topics and IK service
(behaviors/trial.py); the bulk collector executes it through the simulator's Python API
(supersize_grasp/bulk.py). Every height, spacing and threshold comes from the ``trial`` and
``robot.label`` configuration, so both collect the same trial under the same labelling rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from supersize_grasp.config import Config
from supersize_grasp.config.learning import LearningConfig
from supersize_grasp.config.robot import GripperLabelConfig
from supersize_grasp.config.trial import TrialConfig
from supersize_grasp.geometry import (
    CameraModel,
    matrix_to_quaternion,
    table_angle_bin,
    top_down_quaternion,
)

from .regions import Region

Pose = tuple[tuple[float, float, float], tuple[float, float, float, float]]


@dataclass(frozen=True)
class RandomGrasp:
    """The paper's random grasp: a region, a pixel in it, its table point and theta."""

    region: Region
    u: float
    v: float
    x: float
    y: float
    theta: float


def sample_random_grasp(
    rng: np.random.Generator, regions: Sequence[Region], camera: CameraModel, trial: TrialConfig
) -> RandomGrasp:
    """Random region, pixel uniform in it (``trial.roi.sample_on_foreground``), theta uniform
    in [0, pi); the pixel's ray meets the table plane at (x, y)."""
    region = regions[int(rng.integers(len(regions)))]
    u, v = region.sample_pixel(rng, trial.roi.sample_on_foreground)
    x, y, _ = camera.pixel_to_plane(u, v, trial.table_z)
    theta = float(rng.uniform(0.0, math.pi))
    return RandomGrasp(region, u, v, float(x), float(y), theta)


def sample_candidates(
    rng: np.random.Generator,
    regions: Sequence[Region],
    learning: LearningConfig,
    trial: TrialConfig,
) -> tuple[list[tuple[float, float]], list[Region]]:
    """The pixels a learned chooser scores, and the region of each: ``learning.num_patch_samples``
    on the regions, each region getting its share by area (``candidate_regions: all``), or all on
    one random region (``one``)."""
    n = learning.num_patch_samples
    if learning.candidate_regions == "one":
        chosen = [regions[int(rng.integers(len(regions)))]] * n
    else:
        area = np.array([r.area for r in regions], dtype=np.float64)
        picks = rng.choice(len(regions), size=n, p=area / area.sum())
        chosen = [regions[int(i)] for i in picks]
    on_foreground = trial.roi.sample_on_foreground
    return [r.sample_pixel(rng, on_foreground) for r in chosen], chosen


@dataclass(frozen=True)
class TrialPlan:
    """Where the gripper goes for a grasp at table point (x, y), fingers closing along theta:
    ``approach_height`` above the table, straight down to ``grasp_depth``, grip, straight up
    ``lift_height``; a held object is put down ``release_height`` above the grasp height.
    Vertical moves are split every ``waypoint_spacing`` so the gripper keeps
    to its line."""

    x: float
    y: float
    theta: float
    z_above: float
    z_grasp: float
    z_lift: float
    z_release: float
    spacing: float

    def heights(self, z_from: float, z_to: float) -> list[float]:
        """Waypoint heights from ``z_from`` (excluded) to ``z_to`` (included)."""
        n = max(1, math.ceil(round(abs(z_to - z_from) / self.spacing, 9)))
        return [float(z) for z in np.linspace(z_from, z_to, n + 1)[1:]]

    def poses(self, heights: Sequence[float]) -> list[Pose]:
        quaternion = top_down_quaternion(self.theta)
        return [((self.x, self.y, z), quaternion) for z in heights]

    def paths(self) -> dict[str, list[Pose]]:
        """``above``: one pose; ``down``: the descent; ``up``: the lift."""
        return {
            "above": self.poses([self.z_above]),
            "down": self.poses(self.heights(self.z_above, self.z_grasp)),
            "up": self.poses(self.heights(self.z_grasp, self.z_lift)),
        }

    def put_down_paths(self) -> dict[str, list[Pose]]:
        """Putting a held object down here: above, down to ``z_release``, back up above."""
        return {
            "above": self.poses([self.z_above]),
            "down": self.poses(self.heights(self.z_above, self.z_release)),
            "up": self.poses(self.heights(self.z_release, self.z_above)),
        }


@dataclass(frozen=True)
class Motion:
    """One move of the trial along a path of its plan, and when it has arrived
    (:class:`~.motion.PathFollower`)."""

    name: str
    tolerance: float  # rad, at the last waypoint; earlier ones 2x
    stop_when_blocked: bool = False


def trial_motions(trial: TrialConfig) -> dict[str, Motion]:
    """The moves along ``TrialPlan.paths()`` (and, alike, ``put_down_paths()``): the descent may
    stop on the object it is about to grasp; vertical paths arrive within twice the tolerance."""
    tolerance = trial.joint_tolerance
    return {
        "above": Motion(f"Move {trial.approach_height * 100:.0f} cm above", tolerance),
        "down": Motion("Descend", 2 * tolerance, stop_when_blocked=True),
        "up": Motion(f"Lift {trial.lift_height * 100:.0f} cm", 2 * tolerance),
    }


def put_down_spot(rng: np.random.Generator, workspace) -> tuple[float, float, float]:
    """Where a held object goes back down: uniform over the arm's workspace, any angle."""
    x, y = (
        rng.uniform(workspace.x_min, workspace.x_max),
        rng.uniform(workspace.y_min, workspace.y_max),
    )
    return float(x), float(y), float(rng.uniform(0.0, math.pi))


def plan_trial(trial: TrialConfig, x: float, y: float, theta: float) -> TrialPlan:
    z_grasp = trial.table_z + trial.grasp_depth
    return TrialPlan(
        x,
        y,
        theta,
        z_above=trial.table_z + trial.approach_height,
        z_grasp=z_grasp,
        z_lift=z_grasp + trial.lift_height,
        z_release=z_grasp + trial.release_height,
        spacing=trial.waypoint_spacing,
    )


def is_success(gripping: bool, force: float, position: float, label: GripperLabelConfig) -> bool:
    """The label, read from the gripper ``trial.label_settle`` s after the lift: it reports
    ``gripping``, or holds at least ``min_force`` with the fingers not closed (the paper labels
    from the gripper's force sensor)."""
    return bool(gripping or (force >= label.min_force and position >= label.min_position))


def label_message(outcome: str, force: float, position: float) -> str:
    return f"{outcome}: force {force:.0f}%, opening {position:.0f}%"


def camera_record(camera: CameraModel) -> tuple[dict[str, float], Pose]:
    """A scene's intrinsics and camera pose as the store keeps them."""
    intrinsics = dict(
        fx=camera.fx,
        fy=camera.fy,
        cx=camera.cx,
        cy=camera.cy,
        width=camera.width,
        height=camera.height,
    )
    return intrinsics, (tuple(map(float, camera.position)), matrix_to_quaternion(camera.rotation))


def trial_record(
    config: Config,
    *,
    stage: int,
    arm: str,
    chooser: str,
    outcome: str,
    roi: Region,
    pixel: tuple[float, float],
    grasp: tuple[float, float, float],
    force: float,
    gripper_position: float,
    timings: Mapping[str, float],
    seed: int,
    object_id: str,
    message: str,
    score: float = math.nan,
    gripper_history: Sequence[tuple[float, float, float]] = (),
) -> dict:
    """The fields of a :class:`~supersize_grasp.dataset.records.Trial` but its session and scene:
    the one record of a trial, whichever path executed it."""
    t = config.trial
    x, y, theta = grasp
    return dict(
        stage=stage,
        arm=arm,
        chooser=chooser,
        outcome=outcome,
        roi=(int(roi.x), int(roi.y), int(roi.width), int(roi.height)),
        grasp_pixel=(float(pixel[0]), float(pixel[1])),
        angle=theta % math.pi,
        angle_bin=table_angle_bin(theta, t.num_angle_bins),
        grasp_position=(float(x), float(y), t.table_z + t.grasp_depth),
        grasp_orientation=top_down_quaternion(theta),
        force=float(force),
        gripper_position=float(gripper_position),
        gripper_history=tuple(gripper_history),
        timings=dict(timings),
        seed=seed,
        object_id=object_id,
        message=message,
        score=float(score),
        stamp=time.time(),
    )
