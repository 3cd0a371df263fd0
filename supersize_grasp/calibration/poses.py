"""Candidate gripper poses that show the board to the camera, turned every which way.

Hand-eye calibration needs the board seen from rotations about more than one axis: each
candidate puts the board's centre at a random point of ``calibration.region``, leans its face
up to ``max_tilt_deg`` off the direction of ``camera_guess`` in a random direction, and spins
it up to ``max_spin_deg`` about its normal from upright (the print's top away from the camera).
The gripper pose follows from the board's nominal mount; only ``camera_guess`` needs to be rough.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from supersize_grasp.config.calibration import CalibrationConfig

from .board import transform


def board_pose(
    centre: np.ndarray, camera: np.ndarray, tilt: float, tilt_direction: float, spin: float
) -> np.ndarray:
    """``T_base_board`` with the board's centre at ``centre`` facing ``camera``, leaned by
    ``tilt`` rad towards ``tilt_direction`` (rad about the normal) and spun by ``spin`` rad."""
    normal = camera - centre
    normal /= np.linalg.norm(normal)
    up_print = np.array([1.0, 0.0, 0.0]) - normal[0] * normal  # the print's top: away (+x)
    up_print /= np.linalg.norm(up_print)
    side = np.cross(normal, up_print)
    lean = np.cos(tilt_direction) * up_print + np.sin(tilt_direction) * side
    normal = np.cos(tilt) * normal + np.sin(tilt) * lean
    z = -normal  # OpenCV's board z points into the board
    down = -(up_print - (up_print @ z) * z)
    down /= np.linalg.norm(down)
    across = np.cross(down, z)
    y = np.cos(spin) * down + np.sin(spin) * across
    rotation = np.column_stack([np.cross(y, z), y, z])
    return transform(rotation, centre)


def candidates(config: CalibrationConfig, board_size: tuple[float, float]) -> Iterator[np.ndarray]:
    """``T_base_board`` of up to ``max_candidates`` views, the board's origin at its top-left."""
    rng = np.random.default_rng(config.seed)
    region = config.region
    camera = np.asarray(config.camera_guess, dtype=float)
    half = np.array([board_size[0] / 2, board_size[1] / 2, 0.0])
    for _ in range(config.max_candidates):
        centre = np.array([rng.uniform(*region.x), rng.uniform(*region.y), rng.uniform(*region.z)])
        pose = board_pose(
            centre,
            camera,
            np.radians(rng.uniform(0.0, region.max_tilt_deg)),
            rng.uniform(-np.pi, np.pi),
            np.radians(rng.uniform(-region.max_spin_deg, region.max_spin_deg)),
        )
        pose[:3, 3] = centre - pose[:3, :3] @ half
        yield pose
