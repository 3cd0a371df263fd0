"""One grasp trial executed through the world's robot API, as the behaviour tree executes it
through ROS: the same plan (``behaviors/trial_plan.py``), the same labelling rule, the same
heights and thresholds from configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from supersize_grasp.behaviors.motion import PathFollower
from supersize_grasp.behaviors.trial_plan import Motion, is_success, plan_trial, trial_motions
from supersize_grasp.config import Config
from supersize_grasp.simulator.camera import CameraFrame
from supersize_grasp.simulator.contacts import trial_object
from supersize_grasp.simulator.world import BaxterWorld


@dataclass(frozen=True)
class GraspResult:
    """Outcome of one trial.

    Attributes:
        success: the label (:func:`~supersize_grasp.behaviors.trial_plan.is_success`).
        gripping: the gripper reported ``gripping`` after the lift.
        missed: the gripper reported ``missed`` (closed fully on nothing) after the lift.
        force: gripper force (% of max) after the lift.
        gripper_position: finger opening (%) after the lift.
        sim_time: simulated seconds the trial took.
        ik_ok: every pose of the trial had an IK solution (if not, nothing moved).
        lifted: ground truth, never a label: an object was up with the gripper after the lift.
        object_id: ground truth, never a label: the object the trial was about (held, else the
            one below the gripper; ``simulator.contacts.trial_object``), or "".
        aborted_after: the step that did not finish within ``trial.motion_timeout`` (the tree's
            behaviour name, e.g. "Descend"), or "".
        executed: the gripper reached the approach pose (the tree's "Executing" mark); a trial
            stopped before it was never executed and, as in the tree, is not logged.
    """

    success: bool
    gripping: bool
    missed: bool
    force: float
    gripper_position: float
    sim_time: float
    ik_ok: bool
    lifted: bool = False
    object_id: str = ""
    aborted_after: str = ""
    executed: bool = True


@dataclass(frozen=True)
class PixelGrasp:
    """A random planar grasp sampled in the head image: pixel, base-frame point, angle, object."""

    u: int
    v: int
    x: float
    y: float
    theta: float
    object_label: int


def _follow(
    world: BaxterWorld, side: str, path: list[dict[str, float]], motion: Motion, config: Config
) -> bool:
    """``MoveJoints`` without ROS: one :class:`PathFollower` decision per tree tick (the command
    re-sent each tick), within ``trial.motion_timeout``; True when arrived or blocked."""
    arm = world.arm(side)
    follower = PathFollower(path, motion.tolerance, motion.stop_when_blocked)
    deadline = world.time + config.trial.motion_timeout
    while True:
        step = follower.step(world.time, arm.joint_positions(), arm.joint_velocities())
        if step.outcome != "moving":
            return True
        if world.time > deadline:
            return False
        arm.command_joint_dict(step.target)
        world.step(config.trial.tick_period)


def _gripper(world: BaxterWorld, side: str, command: str, config: Config) -> bool:
    """``GripperCommand`` without ROS: command, then wait (tick by tick) until it stops; False
    when it still moves after ``trial.motion_timeout``."""
    gripper = world.gripper(side)
    {"grip": gripper.grip, "release": gripper.release, "calibrate": gripper.calibrate}[command]()
    deadline = world.time + config.trial.motion_timeout
    while gripper.moving:
        if world.time > deadline:
            return False
        world.step(config.trial.tick_period)
    return True


def _solve_paths(world: BaxterWorld, side: str, paths: dict[str, list]) -> dict | None:
    """``SolveIK`` without ROS: one request per path, in order; every pose of a path seeded with
    the last solution of the path before (the first with the current angles), as the IK service
    answers it. None if a pose has no solution."""
    solved, seed = {}, None
    for name, poses in paths.items():
        path = []
        for position, orientation in poses:
            ok, joints = world.arm(side).solve_ik(position, orientation, seed)
            if not ok:
                return None
            path.append(joints)
        solved[name], seed = path, path[-1]
    return solved


def park(world: BaxterWorld, config: Config, side: str) -> None:
    """The tree's "Park out of view" before each capture."""
    joints = dict(
        zip(world.arm(side).joint_names, getattr(config.arms, side).park_joints, strict=True)
    )
    _follow(world, side, [joints], Motion("Park", config.trial.joint_tolerance), config)


def capture(world: BaxterWorld, config: Config, finder, side: str) -> tuple[CameraFrame, list]:
    """The tree's steps before a grasp is chosen: park both arms, capture the head camera, find
    the regions of interest (``finder``: a ``RegionFinder``) in ``side``'s workspace."""
    for arm in config.arms.active():
        park(world, config, arm)
    frame = world.render_head_camera()
    workspace = getattr(config.arms, side).workspace
    regions, _ = finder.find(frame.rgb, frame.depth, frame.model, workspace)
    return frame, regions


def run_grasp_trial(
    world: BaxterWorld,
    config: Config,
    side: str,
    x: float,
    y: float,
    theta: float,
    *,
    put_down: tuple[float, float, float] | None = None,
) -> GraspResult:
    """The trial subtree's steps after the grasp was chosen: plan (IK for every pose), open,
    above, down, grip, lift, wait ``trial.label_settle``, label; a held object is put down at
    ``put_down`` (x, y, theta; default: where it was) when ``trial.put_down``; let go."""
    start = world.time
    trial = config.trial
    plan = plan_trial(trial, x, y, theta)
    moves = trial_motions(trial)
    gripper = world.gripper(side)

    def failed(step: str = "", executed: bool = False, ik_ok: bool = True) -> GraspResult:
        result = GraspResult(
            False,
            gripper.gripping,
            gripper.missed,
            gripper.force,
            gripper.position,
            world.time - start,
            ik_ok,
            object_id=trial_object(world, side) if executed else "",
            aborted_after=step,
            executed=executed,
        )
        _gripper(world, side, "release", config)
        return result

    if not gripper.calibrated and not _gripper(world, side, "calibrate", config):
        return failed("Calibrate gripper")
    paths = _solve_paths(world, side, plan.paths())
    if paths is None:
        return failed(ik_ok=False)

    def move(name: str) -> tuple[str, Callable[[], bool]]:
        return moves[name].name, lambda: _follow(world, side, paths[name], moves[name], config)

    steps = [
        ("Open gripper", lambda: _gripper(world, side, "release", config)),
        move("above"),
        move("down"),
        ("Grip", lambda: _gripper(world, side, "grip", config)),
        move("up"),
    ]
    for k, (step, done) in enumerate(steps):
        if not done():
            return failed(step, executed=k >= 2)  # past "above": the tree's "Executing" mark
    world.step(trial.label_settle)

    gripping, missed = gripper.gripping, gripper.missed
    force, position = gripper.force, gripper.position
    success = is_success(gripping, force, position, config.robot.label)
    top = world.config.table.top_z
    lifted = any(o.pose.position[2] > top + 0.5 * trial.lift_height for o in world.objects())
    object_id = trial_object(world, side)
    if success and trial.put_down:
        back = _solve_paths(
            world, side, plan_trial(trial, *(put_down or (x, y, theta))).put_down_paths()
        )
        if back is not None and all(
            _follow(world, side, back[name], moves[name], config) for name in ("above", "down")
        ):
            _gripper(world, side, "release", config)
            _follow(world, side, back["up"], moves["up"], config)
    _gripper(world, side, "release", config)
    return GraspResult(
        success,
        gripping,
        missed,
        force,
        position,
        world.time - start,
        True,
        lifted,
        object_id,
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
