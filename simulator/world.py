"""``BaxterWorld``: the simulated Baxter at a table, driven the way the Baxter SDK drives the robot.

Plain Python, no ROS: a ROS 2 node publishes its state and forwards commands. Time only advances
in :meth:`BaxterWorld.step`; each control period (10 ms by default) the joint and finger servos
move their setpoints towards the commanded targets at limited speed (Baxter's position mode), then
MuJoCo integrates the physics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import mujoco
import numpy as np

from ..config.simulator import SimulatorConfig
from .arm import Arm, Pose, check_side
from .camera import NO_OBJECT, ROBOT_LABEL, CameraFrame, CameraRenderer
from .errors import CommandRejectedError
from .graspability import GraspabilityTable, graspable_library
from .gripper import Gripper
from .kinematics import wxyz_to_xyzw, xyzw_to_wxyz
from .objects import ObjectLibrary, ObjectModel
from .scene import (
    BASE_BODY,
    HEAD_CAMERA,
    HEAD_PAN,
    OBJECT_PREFIX,
    SIDES,
    BoardMarker,
    Placement,
    actuator_name,
    arm_joint_names,
    build_model,
    finger_joint_names,
    hand_camera,
)

# Joints in /robot/joint_states order: head, left arm, left fingers, right arm, right fingers.
JOINT_NAMES: tuple[str, ...] = (
    HEAD_PAN,
    *arm_joint_names("left"),
    *finger_joint_names("left"),
    *arm_joint_names("right"),
    *finger_joint_names("right"),
)


@dataclass(frozen=True)
class ObjectState:
    """One scene object: its set id, body name, pose and whether it still lies on the table."""

    object_id: str
    body_name: str
    pose: Pose
    on_table: bool


def object_libraries(
    config: SimulatorConfig, graspable_only: bool | None = None
) -> tuple[ObjectLibrary, ObjectLibrary | None]:
    """The configured object set and the test folder's (None without one), each without the
    objects measured not graspable when ``graspable_only`` (default: ``objects.graspable_only``).
    """
    libraries = [ObjectLibrary.from_config(config.objects)]
    test = config.test_objects
    if test.folder is not None:
        libraries.append(
            ObjectLibrary.from_config(test.objects_config(config.objects), strict=True)
        )
    only = config.objects.graspable_only if graspable_only is None else graspable_only
    if only:
        table = GraspabilityTable(config.objects.resolved_cache_dir())
        libraries = [graspable_library(lib, table, config) for lib in libraries]
    return libraries[0], libraries[1] if len(libraries) > 1 else None


class BaxterWorld:
    """Simulated Baxter, table, objects and cameras.

    Args:
        config: simulator configuration.
        seed: seeds the scene generator (same seed and calls: same scenes, same outcomes).
        marker: a calibration board on a gripper (``calibrate-camera``); None: bare grippers.

    The robot starts enabled at the ``home`` keyframe (arms out of the head camera's view) with
    uncalibrated grippers, like a freshly enabled Baxter.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        seed: int | None = None,
        marker: BoardMarker | None = None,
    ):
        self.config = config or SimulatorConfig()
        self.marker = marker
        self.seed = self.config.seed if seed is None else seed
        self._rng = np.random.default_rng(self.seed)
        self._library, self._test_library = object_libraries(self.config)
        self._placements: tuple[Placement, ...] = ()
        self._time_offset = 0.0
        self._enabled = True
        self._stopped = False
        self._renderers: dict[str, CameraRenderer] = {}
        self._build()

    def library(self, split: str = "train") -> ObjectLibrary:
        """The object set that scenes of ``split`` draw from (the test folder's for ``novel``
        when ``test_objects.folder`` is set)."""
        return self._test_library if split == "novel" and self._test_library else self._library

    # ---- model (re)construction ------------------------------------------------------------
    def _build(self) -> None:
        self._close_renderers()
        self.model = build_model(self.config, self._library, self._placements, self.marker)
        self.data = mujoco.MjData(self.model)
        mujoco.mj_resetDataKeyframe(self.model, self.data, self.model.key("home").id)
        mujoco.mj_forward(self.model, self.data)
        m = self.model
        self._joint_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in JOINT_NAMES])
        self._joint_dadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in JOINT_NAMES])
        self._object_bodies = [m.body(p.body_name).id for p in self._placements]
        self._head_act = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, actuator_name(HEAD_PAN))
        self._arms = {side: Arm(self, side) for side in SIDES}
        kept = {  # what a new clutter does not change on the real robot
            s: (g.calibrated, g.configured_force) for s, g in getattr(self, "_grippers", {}).items()
        }
        self._grippers = {
            side: Gripper(m, self.data, side, self.config.gripper, self.is_commandable)
            for side in SIDES
        }
        for side, (calibrated, force) in kept.items():
            self._grippers[side].calibrated = calibrated
            self._grippers[side].configured_force = force
        labels = np.zeros(m.nbody, dtype=np.int32)
        robot_root = m.body(BASE_BODY).id
        labels[m.body_rootid == robot_root] = ROBOT_LABEL
        labels[robot_root] = ROBOT_LABEL
        for k, body in enumerate(self._object_bodies, start=1):
            labels[body] = k
        labels[0] = NO_OBJECT
        self._body_labels = labels
        self._control_substeps = max(
            1, round(self.config.physics.control_period / self.config.physics.timestep)
        )
        self._apply_enable_state()

    def _close_renderers(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers = {}

    def close(self) -> None:
        """Free the GL renderers (the world is unusable for rendering afterwards)."""
        self._close_renderers()

    # ---- time ------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Simulated seconds since the world was created (monotonic across scene resets)."""
        return self._time_offset + float(self.data.time)

    @property
    def timestep(self) -> float:
        """Physics step (s)."""
        return float(self.model.opt.timestep)

    @property
    def control_period(self) -> float:
        """Servo update period (s); :meth:`step` advances in whole periods."""
        return self._control_substeps * self.timestep

    def step(self, seconds: float) -> None:
        """Advance physics by ``seconds`` (rounded up to whole control periods)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"step needs a finite duration >= 0, got {seconds}")
        periods = math.ceil(seconds / self.control_period - 1e-9)
        for _ in range(periods):
            self._control_tick()

    def step_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Step until ``condition()`` holds (checked each control period) or ``timeout`` s pass."""
        end = self.time + timeout
        while not condition():
            if self.time >= end:
                return False
            self._control_tick()
        return True

    def _control_tick(self) -> None:
        dt = self.control_period
        if self.is_commandable():
            for arm in self._arms.values():
                arm._update(dt)
        mujoco.mj_step(self.model, self.data, nstep=self._control_substeps)
        for gripper in self._grippers.values():
            gripper.update(dt)

    def warnings(self) -> dict[str, int]:
        """MuJoCo warnings since the last scene (re)build (name: count); empty when healthy."""
        return {
            mujoco.mjtWarning(i).name: int(w.number)
            for i, w in enumerate(self.data.warning)
            if w.number > 0
        }

    # ---- robot state -----------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """Motors enabled (``AssemblyState.enabled``)."""
        return self._enabled

    @property
    def stopped(self) -> bool:
        """E-stop engaged (``AssemblyState.stopped``)."""
        return self._stopped

    def is_commandable(self) -> bool:
        """Enabled and not E-stopped: joint and gripper commands are accepted."""
        return self._enabled and not self._stopped

    def require_enabled(self, what: str) -> None:
        """Raise :class:`CommandRejectedError` naming ``what`` unless commands are accepted."""
        if self._stopped:
            raise CommandRejectedError(
                f"{what} rejected: E-stop is engaged (reset_estop, then enable)"
            )
        if not self._enabled:
            raise CommandRejectedError(f"{what} rejected: robot is disabled (enable it first)")

    def enable(self, on: bool = True) -> None:
        """``/robot/set_super_enable``: enable or disable the motors.

        Raises:
            CommandRejectedError: enabling while the E-stop is engaged.
        """
        if on and self._stopped:
            raise CommandRejectedError("enable rejected: E-stop is engaged (reset_estop first)")
        self._enabled = bool(on)
        self._apply_enable_state()

    def estop(self) -> None:
        """Engage the E-stop: motors off until :meth:`reset_estop` and :meth:`enable`."""
        self._stopped = True
        self._enabled = False
        self._apply_enable_state()

    def reset_estop(self) -> None:
        """Release the E-stop; the robot stays disabled, as the real one does."""
        self._stopped = False

    def _apply_enable_state(self) -> None:
        # Disabled: actuators off, the arms hang on their (compensated) weight and joint damping.
        if self.is_commandable():
            self.model.opt.disableflags &= ~int(mujoco.mjtDisableBit.mjDSBL_ACTUATION)
            for arm in self._arms.values():
                arm._hold_current()
            for gripper in self._grippers.values():
                gripper.hold_current()
        else:
            self.model.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_ACTUATION)

    # ---- joints ----------------------------------------------------------------------------
    @property
    def joint_names(self) -> tuple[str, ...]:
        """All joints in ``/robot/joint_states`` order (SDK names)."""
        return JOINT_NAMES

    def joint_positions(self) -> np.ndarray:
        """Angles (rad) / finger positions (m) in :attr:`joint_names` order."""
        return self.data.qpos[self._joint_qadr].copy()

    def joint_velocities(self) -> np.ndarray:
        """Joint velocities in :attr:`joint_names` order."""
        return self.data.qvel[self._joint_dadr].copy()

    def joint_efforts(self) -> np.ndarray:
        """Actuator torques/forces (N m, N) in :attr:`joint_names` order (0 when disabled)."""
        return self.data.qfrc_actuator[self._joint_dadr].copy()

    def arm(self, side: str) -> Arm:
        """The ``left`` or ``right`` arm."""
        return self._arms[check_side(side)]

    def gripper(self, side: str) -> Gripper:
        """The ``left`` or ``right`` electric gripper."""
        return self._grippers[check_side(side)]

    def command_head_pan(self, angle: float) -> None:
        """Turn the head (and the Kinect on it) to ``angle`` rad (``/robot/head/command_head_pan``).

        Raises:
            CommandRejectedError: robot disabled or E-stopped.
            ValueError: angle not finite or outside the head_pan limits.
        """
        self.require_enabled("head pan command")
        low, high = self.model.joint(HEAD_PAN).range
        if not math.isfinite(angle) or not low <= angle <= high:
            raise ValueError(f"head_pan angle {angle} outside its limits [{low:.4f}, {high:.4f}]")
        self.data.ctrl[self._head_act] = angle

    def move_arm_home(self, side: str) -> None:
        """Command one arm back to the ``home`` pose (out of the head camera's view)."""
        arm = self.arm(side)
        key = self.model.key("home")
        home = {
            n: float(key.qpos[self.model.jnt_qposadr[self.model.joint(n).id]])
            for n in arm.joint_names
        }
        arm.command_joint_dict(home)

    # ---- cameras ---------------------------------------------------------------------------
    def _renderer(self, camera: str, width: int, height: int) -> CameraRenderer:
        if camera not in self._renderers:
            self._renderers[camera] = CameraRenderer(
                self.model, camera, width, height, self._body_labels
            )
        return self._renderers[camera]

    def render_head_camera(self) -> CameraFrame:
        """The Kinect-v2-like head camera's crop (``camera.crop``): RGB, metric depth,
        segmentation, the crop's intrinsics, pose."""
        _, _, width, height = self.config.camera.crop_window
        frame = self._renderer(HEAD_CAMERA, width, height).render(self.data)
        return replace(frame, time=self.time)

    def render_hand_camera(self, side: str) -> CameraFrame:
        """The ``<side>_hand_camera`` looking along the gripper."""
        cam = self.config.camera
        name = hand_camera(check_side(side))
        frame = self._renderer(name, cam.hand_width, cam.hand_height).render(self.data)
        return replace(frame, time=self.time)

    # ---- scene -----------------------------------------------------------------------------
    def reset_scene(
        self, n_objects: int | None = None, split: str = "train", seed: int | None = None
    ) -> None:
        """Drop ``n_objects`` random objects of ``split`` above the table and let them settle.

        The robot returns to ``home`` (its enable/E-stop state and gripper calibration are kept);
        ``seed`` (default: the world's own generator) fixes which objects and where.
        """
        n = self.config.scene.n_objects if n_objects is None else int(n_objects)
        if n < 0:
            raise ValueError(f"n_objects must be >= 0, got {n}")
        rng = self._rng if seed is None else np.random.default_rng(seed)
        candidates = self.library(split).objects(split)
        if n and not candidates:
            raise ValueError(f"object set has no {split!r} objects")
        sc = self.config.scene
        placements: list[Placement] = []
        footprints: list[tuple[float, float, float, float]] = []  # x, y, radius, top z
        chosen = rng.choice(len(candidates), size=n, replace=n > len(candidates)) if n else []
        for k, index in enumerate(chosen):
            obj = candidates[int(index)]
            radius = 0.5 * float(np.linalg.norm(obj.extents))  # bounding sphere, any orientation
            # A free spot on the table if one is found, else on top of whatever is below.
            for _ in range(30):
                x, y = rng.uniform(*sc.drop_x), rng.uniform(*sc.drop_y)
                below = [f for f in footprints if np.hypot(x - f[0], y - f[1]) < radius + f[2]]
                if not below:
                    break
            z = max([self.config.table.top_z, *(f[3] for f in below)]) + radius + sc.drop_height
            footprints.append((x, y, radius, z + radius))
            quat = rng.normal(size=4)
            quat /= np.linalg.norm(quat)
            placements.append(
                Placement(obj, f"{OBJECT_PREFIX}{k}", (x, y, z), tuple(float(v) for v in quat))
            )
        self._set_placements(placements)

    def place_objects(
        self,
        objects: Sequence[tuple[ObjectModel, Sequence[float], Sequence[float]]],
        settle: bool = True,
    ) -> None:
        """Replace the scene's objects by ``(object, position, quaternion_xyzw)`` triples.

        Positions are the objects' bounding-box centres in the base frame. The robot returns to
        ``home`` as in :meth:`reset_scene`; with ``settle`` the objects then rest for
        ``scene.settle_time`` seconds.
        """
        placements = [
            Placement(
                obj,
                f"{OBJECT_PREFIX}{k}",
                tuple(float(v) for v in position),
                tuple(float(v) for v in xyzw_to_wxyz(np.asarray(quat, dtype=float))),
            )
            for k, (obj, position, quat) in enumerate(objects)
        ]
        self._set_placements(placements, settle)

    def _set_placements(self, placements: Sequence[Placement], settle: bool = True) -> None:
        self._time_offset = self.time
        self._placements = tuple(placements)
        self._build()
        if settle:
            self.step(self.config.scene.settle_time)

    def objects(self) -> list[ObjectState]:
        """All scene objects in segmentation-label order (label k = index k - 1)."""
        states = []
        for placement, body in zip(self._placements, self._object_bodies, strict=True):
            pos = self.data.xpos[body].copy()
            quat = wxyz_to_xyzw(self.data.xquat[body])
            states.append(
                ObjectState(
                    getattr(placement.obj, "object_id", placement.body_name),
                    placement.body_name,
                    Pose(pos, quat),
                    bool(self._on_table(pos)),
                )
            )
        return states

    def scene_now(self) -> list[tuple[ObjectModel, np.ndarray, np.ndarray]]:
        """The objects where they are now, as :meth:`place_objects` takes them (a copy of the
        scene for another world; velocities are not kept)."""
        return [
            (placement.obj, state.pose.position, state.pose.orientation)
            for placement, state in zip(self._placements, self.objects(), strict=True)
        ]

    def objects_on_table(self) -> list[ObjectState]:
        """Objects still lying on the table (not fallen off, not held up in the air)."""
        return [o for o in self.objects() if o.on_table]

    def objects_fell_off(self) -> list[ObjectState]:
        """Objects below the table top or outside its edges."""
        t = self.config.table
        return [
            o
            for o in self.objects()
            if o.pose.position[2] < t.top_z - 0.01 or not self._over_table(o.pose.position)
        ]

    def refill_if_needed(self, n_objects: int | None = None, split: str = "train") -> bool:
        """Reset the scene when fewer than ``scene.refill_below`` objects remain, any fell off, or
        an arm's last ``scene.refill_after_empty_grips`` grips all held nothing (a table left
        with objects too small or too wide for the gripper would stall collection).

        Returns:
            True when the scene was reset.
        """
        scene = self.config.scene
        on_table = len(self.objects_on_table())
        stuck = scene.refill_after_empty_grips > 0 and any(
            g.empty_grips >= scene.refill_after_empty_grips for g in self._grippers.values()
        )
        if on_table >= max(1, scene.refill_below) and not self.objects_fell_off() and not stuck:
            return False
        self.reset_scene(n_objects, split)
        return True

    def _over_table(self, pos: np.ndarray) -> bool:
        t = self.config.table
        return t.near_x <= pos[0] <= t.far_x and abs(pos[1]) <= t.half_width

    def _on_table(self, pos: np.ndarray) -> bool:
        t = self.config.table
        return self._over_table(pos) and t.top_z - 0.01 <= pos[2] <= t.top_z + 0.12

    def body_label(self, body_name: str) -> int:
        """Segmentation label of a body (object number, ``ROBOT_LABEL`` or 0)."""
        return int(self._body_labels[self.model.body(body_name).id])
