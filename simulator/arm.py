"""One simulated Baxter arm: joint servos in position mode, endpoint state, and IK, as the SDK's
``Limb`` and IK service see them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from ..config.arms import ARM_VELOCITY_LIMITS
from ..geometry import top_down_quaternion
from .kinematics import arm_ik, solve_pose, wxyz_to_xyzw
from .scene import (
    SIDES,
    actuator_name,
    arm_joint_names,
    endpoint_body,
    finger_bodies,
)

if TYPE_CHECKING:
    from .world import BaxterWorld


@dataclass(frozen=True)
class Pose:
    """Position (m) and quaternion (x, y, z, w) in the base frame, as ``geometry_msgs/Pose``."""

    position: np.ndarray
    orientation: np.ndarray


def check_side(side: str) -> str:
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return side


class Arm:
    """One 7-DoF arm in position mode (``baxter_interface.Limb``-like).

    Commands set joint targets; every control period the servo setpoint moves towards them at
    ``speed_ratio`` x the joint velocity limit, like Baxter's position mode with the SDK's default
    speed ratio. Out-of-limit commands are refused (``ValueError``) rather than clamped, so a bug
    in a caller is seen at once.
    """

    def __init__(self, world: BaxterWorld, side: str):
        self.side = side
        self._world = world
        model, config = world.model, world.config
        self.joint_names: tuple[str, ...] = tuple(arm_joint_names(side))
        ids = [model.joint(n).id for n in self.joint_names]
        self._qadr = np.array([model.jnt_qposadr[j] for j in ids])
        self._dadr = np.array([model.jnt_dofadr[j] for j in ids])
        self._acts = np.array(
            [
                mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, actuator_name(n))
                for n in self.joint_names
            ]
        )
        self.lower = model.jnt_range[ids, 0].copy()
        self.upper = model.jnt_range[ids, 1].copy()
        self.velocity_limits = np.array(ARM_VELOCITY_LIMITS)
        self._speed = self.velocity_limits * config.arm.speed_ratio
        self._body = model.body(endpoint_body(side)).id
        self._wrench_bodies = {
            model.body(name).id
            for name in (*finger_bodies(side), f"{side}_gripper_base", f"{side}_hand")
        }
        self._target = world.data.qpos[self._qadr].copy()
        self._setpoint = self._target.copy()
        self._ik = arm_ik(model, side, config.arm)

    # ---- commands ------------------------------------------------------------------------
    def command_joint_positions(
        self, names: Sequence[str], positions: Sequence[float] | np.ndarray
    ) -> None:
        """Position-mode command (``JointCommand`` mode 1) for some or all of this arm's joints.

        Raises:
            CommandRejectedError: robot disabled or E-stopped.
            ValueError: names/positions lengths differ, unknown or repeated joint names,
                non-finite values, or values outside the joint limits.
        """
        self._world.require_enabled(f"{self.side} arm joint command")
        names = list(names)
        values = np.asarray(positions, dtype=float).reshape(-1)
        if len(names) != len(values):
            raise ValueError(f"{len(names)} joint names but {len(values)} positions")
        if len(set(names)) != len(names):
            raise ValueError(f"repeated joint names in {names}")
        target = self._target.copy()
        for name, value in zip(names, values, strict=True):
            if name not in self.joint_names:
                raise ValueError(f"unknown joint {name!r} for the {self.side} arm")
            if not math.isfinite(value):
                raise ValueError(f"joint {name}: position {value} is not finite")
            i = self.joint_names.index(name)
            if not self.lower[i] - 1e-9 <= value <= self.upper[i] + 1e-9:
                raise ValueError(
                    f"joint {name}: position {value:.4f} outside its limits "
                    f"[{self.lower[i]:.4f}, {self.upper[i]:.4f}]"
                )
            target[i] = value
        self._target = np.clip(target, self.lower, self.upper)

    def command_joint_dict(self, positions: Mapping[str, float]) -> None:
        """Same as :meth:`command_joint_positions` for a ``{name: angle}`` mapping."""
        self.command_joint_positions(list(positions), list(positions.values()))

    # ---- state ---------------------------------------------------------------------------
    def joint_positions(self) -> dict[str, float]:
        """Measured joint angles (rad)."""
        q = self._world.data.qpos[self._qadr]
        return {n: float(v) for n, v in zip(self.joint_names, q, strict=True)}

    def joint_velocities(self) -> dict[str, float]:
        """Measured joint velocities (rad/s)."""
        qd = self._world.data.qvel[self._dadr]
        return {n: float(v) for n, v in zip(self.joint_names, qd, strict=True)}

    def target_positions(self) -> dict[str, float]:
        """The commanded joint angles (rad)."""
        return {n: float(v) for n, v in zip(self.joint_names, self._target, strict=True)}

    def at_target(self, tolerance: float | None = None) -> bool:
        """All joints within ``tolerance`` (rad, default from config) of the commanded angles."""
        tol = self._world.config.arm.position_tolerance if tolerance is None else tolerance
        q = self._world.data.qpos[self._qadr]
        return bool(np.all(np.abs(q - self._target) <= tol))

    def endpoint_pose(self) -> Pose:
        """Pose of the ``<side>_gripper`` frame (fingertip end) in the base frame."""
        d = self._world.data
        return Pose(d.xpos[self._body].copy(), wxyz_to_xyzw(d.xquat[self._body]))

    def endpoint_twist(self) -> tuple[np.ndarray, np.ndarray]:
        """Linear (m/s) and angular (rad/s) velocity of the endpoint in the base frame."""
        vel = np.zeros(6)
        mujoco.mj_objectVelocity(
            self._world.model, self._world.data, mujoco.mjtObj.mjOBJ_XBODY, self._body, vel, 0
        )
        return vel[3:].copy(), vel[:3].copy()

    def endpoint_wrench(self) -> tuple[np.ndarray, np.ndarray]:
        """External force (N) and torque (N m, about the endpoint) on the gripper, base frame.

        Summed from the contacts on the hand, gripper base and fingers: what Baxter estimates
        from its joint torques.
        """
        m, d = self._world.model, self._world.data
        force = np.zeros(3)
        torque = np.zeros(3)
        origin = d.xpos[self._body]
        local = np.zeros(6)
        for i in range(d.ncon):
            contact = d.contact[i]
            b1, b2 = m.geom_bodyid[contact.geom1], m.geom_bodyid[contact.geom2]
            in1, in2 = b1 in self._wrench_bodies, b2 in self._wrench_bodies
            if in1 == in2:
                continue
            mujoco.mj_contactForce(m, d, i, local)
            frame = contact.frame.reshape(3, 3)
            f_world = frame.T @ local[:3]  # force on geom2 from geom1
            f_on_gripper = f_world if in2 else -f_world
            force += f_on_gripper
            torque += np.cross(contact.pos - origin, f_on_gripper)
        return force, torque

    # ---- kinematics ----------------------------------------------------------------------
    def solve_ik(
        self,
        position: Sequence[float],
        quaternion_xyzw: Sequence[float],
        seed: Mapping[str, float] | None = None,
    ) -> tuple[bool, dict[str, float]]:
        """IK service: joint angles putting the endpoint at the pose, or ``(False, best try)``.

        The current angles are always tried first after ``seed``; the simulation is untouched.
        """
        current = self._world.data.qpos[self._qadr]
        return solve_pose(self._ik, self.joint_names, position, quaternion_xyzw, seed, current)

    def solve_top_down(
        self,
        x: float,
        y: float,
        z: float,
        theta: float,
        seed: Mapping[str, float] | None = None,
    ) -> tuple[bool, dict[str, float]]:
        """IK for a top-down grasp pose: endpoint at (x, y, z), fingers closing along ``theta``.

        The gripper is symmetric, so ``theta + pi`` is tried too; the solution nearer to the seed
        (or the current angles) is returned.
        """
        reference = (
            np.array([seed[n] for n in self.joint_names])
            if seed is not None
            else self._world.data.qpos[self._qadr].copy()
        )
        best: tuple[float, dict[str, float]] | None = None
        fallback: dict[str, float] = {}
        for angle in (theta, theta + math.pi):
            ok, joints = self.solve_ik((x, y, z), top_down_quaternion(angle), seed)
            fallback = fallback or joints
            if ok:
                distance = float(np.abs(np.array(list(joints.values())) - reference).sum())
                if best is None or distance < best[0]:
                    best = (distance, joints)
        if best is None:
            return False, fallback
        return True, best[1]

    def forward_kinematics(self, positions: Mapping[str, float]) -> Pose:
        """Endpoint pose for the given joint angles (missing joints: current angles)."""
        q = self._world.data.qpos[self._qadr].copy()
        for i, name in enumerate(self.joint_names):
            if name in positions:
                q[i] = positions[name]
        pos, quat = self._ik.forward(q)
        return Pose(pos, wxyz_to_xyzw(quat))

    # ---- servo ---------------------------------------------------------------------------
    def _update(self, dt: float) -> None:
        # All joints arrive together (a straight line in joint space), the slowest at its limit,
        # so short Cartesian moves stay close to straight.
        delta = self._target - self._setpoint
        ratio = float(np.max(np.abs(delta) / (self._speed * dt)))
        self._setpoint += delta / ratio if ratio > 1.0 else delta
        self._world.data.ctrl[self._acts] = self._setpoint

    def _hold_current(self) -> None:
        q = self._world.data.qpos[self._qadr].copy()
        self._target = q.copy()
        self._setpoint = q.copy()
        self._world.data.ctrl[self._acts] = q
