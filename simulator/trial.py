"""One planar grasp trial through the world's robot API, as the paper's robot does it.

Move 25 cm above (x, y), descend, close, lift 20 cm, label from the gripper, put the object back
down, retreat. Used for measurements and benchmarks; the behaviour tree does the same through ROS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import CameraFrame
from .world import BaxterWorld

APPROACH_HEIGHT = 0.25  # paper: the arm first moves 25 cm above the object
LIFT_HEIGHT = 0.20  # paper: success is judged after lifting 20 cm
# Endpoint height above the table when closing: the paddle pads then span 8.5-45.5 mm above it.
GRASP_HEIGHT = 0.012
WAYPOINT_SPACING = 0.05  # vertical Cartesian moves are split so the gripper stays on its line


@dataclass(frozen=True)
class GraspResult:
    """Outcome of one trial.

    Attributes:
        success: the label: the gripper reports ``gripping`` after the lift.
        missed: the gripper reports ``missed`` (closed fully on nothing) after the lift.
        force: gripper force (% of max) after the lift.
        gripper_position: finger opening (%) after the lift.
        sim_time: simulated seconds the trial took.
        ik_ok: every pose of the trial had an IK solution (if not, nothing moved).
        lifted_object: ground truth, not used for the label: body name of an object that was
            20 cm up with the gripper, or None.
    """

    success: bool
    missed: bool
    force: float
    gripper_position: float
    sim_time: float
    ik_ok: bool
    lifted_object: str | None = None


@dataclass(frozen=True)
class PixelGrasp:
    """A random planar grasp sampled in the head image: pixel, base-frame point, angle, object."""

    u: int
    v: int
    x: float
    y: float
    theta: float
    object_label: int


STALL_SPEED = 0.02  # rad/s: every joint slower than this, short of the target, means blocked


def _arrived_or_blocked(world: BaxterWorld, side: str, tolerance: float | None = None):
    """Condition: at the target, or stopped short of it (e.g. fingers resting on an object)."""
    arm = world.arm(side)
    since = world.time

    def done() -> bool:
        if arm.at_target(tolerance):
            return True
        speeds = np.abs(list(arm.joint_velocities().values()))
        return world.time - since > 0.2 and bool(np.all(speeds < STALL_SPEED))

    return done


def _move(world: BaxterWorld, side: str, joints: dict[str, float], timeout: float) -> bool:
    world.arm(side).command_joint_dict(joints)
    world.step_until(_arrived_or_blocked(world, side), timeout)
    return world.arm(side).at_target()


def _vertical_path(
    world: BaxterWorld,
    side: str,
    grasp: tuple[float, float, float],
    heights: tuple[float, float],
    seed: dict[str, float],
) -> list[dict[str, float]] | None:
    """Top-down IK waypoints above ``grasp`` = (x, y, theta) from ``heights[0]`` to
    ``heights[1]`` (start excluded), or None if one has no solution."""
    x, y, theta = grasp
    z_from, z_to = heights
    n = max(1, int(np.ceil(abs(z_to - z_from) / WAYPOINT_SPACING)))
    path = []
    for z in np.linspace(z_from, z_to, n + 1)[1:]:
        ok, seed = world.arm(side).solve_top_down(x, y, float(z), theta, seed=seed)
        if not ok:
            return None
        path.append(seed)
    return path


def _follow(world: BaxterWorld, side: str, path: list[dict[str, float]], timeout: float) -> bool:
    arm = world.arm(side)
    for waypoint in path[:-1]:
        arm.command_joint_dict(waypoint)
        world.step_until(_arrived_or_blocked(world, side, 0.02), timeout)
    return _move(world, side, path[-1], timeout)


def run_grasp_trial(
    world: BaxterWorld,
    side: str,
    x: float,
    y: float,
    theta: float,
    *,
    grasp_height: float = GRASP_HEIGHT,
    put_down: bool = True,
    retreat: bool = True,
    move_timeout: float = 4.0,
) -> GraspResult:
    """Execute a top-down grasp at table point (x, y) with fingers closing along ``theta``.

    The gripper is calibrated first if needed. The label is the gripper's ``gripping`` flag after
    the 20 cm lift, as the paper labels from the gripper's force sensor.
    """
    start = world.time
    arm = world.arm(side)
    gripper = world.gripper(side)
    top = world.config.table.top_z
    z_grasp = top + grasp_height
    z_above = top + APPROACH_HEIGHT
    z_lift = z_grasp + LIFT_HEIGHT
    grasp = (x, y, theta)

    ok, above = arm.solve_top_down(x, y, z_above, theta)
    down = _vertical_path(world, side, grasp, (z_above, z_grasp), above) if ok else None
    up = _vertical_path(world, side, grasp, (z_grasp, z_lift), down[-1]) if down else None
    if up is None:
        return GraspResult(False, False, gripper.force, gripper.position, world.time - start, False)

    if not gripper.calibrated:
        gripper.calibrate()
    else:
        gripper.release()
    _move(world, side, above, move_timeout)
    world.step_until(lambda: not gripper.moving, 1.0)
    _follow(world, side, down, move_timeout)
    gripper.grip()
    world.step_until(lambda: not gripper.moving, 1.5)
    _follow(world, side, up, move_timeout)
    world.step(0.2)  # let a slipping object fall before reading the gripper

    success, missed = gripper.gripping, gripper.missed
    force, position = gripper.force, gripper.position
    lifted = [o.body_name for o in world.objects() if o.pose.position[2] > top + 0.5 * LIFT_HEIGHT]
    z_now = z_lift
    if put_down and success:
        back = _vertical_path(world, side, grasp, (z_lift, z_grasp + 0.01), up[-1])
        if back is not None:
            _follow(world, side, back, move_timeout)
            z_now = z_grasp + 0.01
    gripper.release()
    world.step_until(lambda: not gripper.moving, 1.0)
    if retreat:
        # Straight up first: a joint-space move home from low down would sweep the table.
        if z_now < z_above:
            clear = _vertical_path(world, side, grasp, (z_now, z_above), above)
            if clear is not None:
                _follow(world, side, clear, move_timeout)
        world.move_arm_home(side)
        world.step_until(_arrived_or_blocked(world, side), move_timeout)
    return GraspResult(
        success, missed, force, position, world.time - start, True, lifted[0] if lifted else None
    )


def sample_object_pixel_grasp(
    frame: CameraFrame, rng: np.random.Generator, plane_z: float | None = None
) -> PixelGrasp | None:
    """A random planar grasp: pixel uniform over a random visible object's mask, theta in [0, pi).

    (x, y) is the seen 3-D point under the pixel (from depth), or, with ``plane_z``, where the
    pixel's ray meets that horizontal plane. None when no object is visible.
    """
    labels = np.unique(frame.segmentation)
    labels = labels[labels > 0]
    if labels.size == 0:
        return None
    label = int(rng.choice(labels))
    vs, us = np.nonzero(frame.segmentation == label)
    i = int(rng.integers(len(us)))
    u, v = int(us[i]), int(vs[i])
    point = frame.pixel_to_point(u, v) if plane_z is None else frame.pixel_to_plane(u, v, plane_z)
    theta = float(rng.uniform(0.0, np.pi))
    return PixelGrasp(u, v, float(point[0]), float(point[1]), theta, label)
