"""Numerical inverse kinematics for one Baxter arm: damped least squares on ``mj_jac``.

It works on its own ``MjData`` so solving never disturbs the running simulation. The rotation
error is the quaternion log map (``mju_subQuat``), which, unlike a cross-product error, does not
vanish at 180 degrees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from ..config.simulator import ArmControlConfig
from .scene import SIDES, URDF_PATH, arm_joint_names, endpoint_body

# The S1 joint sits 0.279 m from the S0 joint origin and the stretched arm reaches 1.129 m from S1
# (baxter-model note), so nothing beyond 1.41 m of the S0 origin is reachable: refused at once.
MAX_REACH_FROM_S0 = 0.279 + 1.129 + 0.005
STALL_WINDOW = 10  # iterations over which the error must fall by 0.1 mm, else the seed is dropped
STALL_RADIUS = 0.1  # m: weighs the angle error against the position error in that test


@dataclass(frozen=True)
class IKResult:
    """Outcome of one solve: joint angles (arm order) and the residual errors."""

    is_valid: bool
    positions: np.ndarray
    position_error: float
    angle_error: float


def xyzw_to_wxyz(quat_xyzw: np.ndarray) -> np.ndarray:
    """ROS/SDK order (x, y, z, w) to MuJoCo's (w, x, y, z)."""
    x, y, z, w = quat_xyzw
    return np.array([w, x, y, z], dtype=float)


def wxyz_to_xyzw(quat_wxyz: np.ndarray) -> np.ndarray:
    """MuJoCo's (w, x, y, z) to ROS/SDK order (x, y, z, w)."""
    w, x, y, z = quat_wxyz
    return np.array([x, y, z, w], dtype=float)


class ArmIK:
    """Damped-least-squares IK for the ``<side>_gripper`` frame of one arm, joint limits enforced.

    Args:
        model: the compiled scene model (the solver keeps its own ``MjData``).
        side: ``left`` or ``right``.
        damping: DLS damping lambda (m); larger is steadier near singularities.
        tol_position: accepted position error (m).
        tol_angle: accepted orientation error (rad).
        iterations: iterations per seed.
        n_seeds: seeds tried (given seed, then fixed spread seeds, then random ones).
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        side: str,
        *,
        damping: float = 0.01,
        tol_position: float = 0.002,
        tol_angle: float = 0.0175,
        iterations: int = 100,
        n_seeds: int = 12,
    ):
        self._model = model
        self._data = mujoco.MjData(model)
        self._joint_ids = [model.joint(n).id for n in arm_joint_names(side)]
        self._qadr = np.array([model.jnt_qposadr[j] for j in self._joint_ids])
        self._dadr = np.array([model.jnt_dofadr[j] for j in self._joint_ids])
        self._lower = model.jnt_range[self._joint_ids, 0].copy()
        self._upper = model.jnt_range[self._joint_ids, 1].copy()
        self._body = model.body(endpoint_body(side)).id
        self._s0_body = model.body(f"{side}_upper_shoulder").id
        self._damping = damping
        self._tol_position = tol_position
        self._tol_angle = tol_angle
        self._iterations = iterations
        self._n_seeds = n_seeds
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))
        mujoco.mj_kinematics(model, self._data)
        self._s0_position = self._data.xpos[self._s0_body].copy()
        # A fixed generator: the same request always gives the same answer (determinism).
        spread = np.random.default_rng(7).uniform(size=(max(n_seeds, 1), 7))
        self._spread = self._lower + spread * (self._upper - self._lower)

    def forward(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Endpoint position and quaternion (wxyz) at arm angles ``q``."""
        self._set(q)
        return self._data.xpos[self._body].copy(), self._data.xquat[self._body].copy()

    def _set(self, q: np.ndarray) -> None:
        self._data.qpos[self._qadr] = q
        mujoco.mj_kinematics(self._model, self._data)

    def _error(self, target_pos: np.ndarray, target_quat: np.ndarray) -> np.ndarray:
        err = np.empty(6)
        err[:3] = target_pos - self._data.xpos[self._body]
        local = np.zeros(3)
        mujoco.mju_subQuat(local, target_quat, self._data.xquat[self._body])
        err[3:] = self._data.xmat[self._body].reshape(3, 3) @ local  # body frame -> base frame
        return err

    def _descend(self, q: np.ndarray, target_pos: np.ndarray, target_quat: np.ndarray) -> IKResult:
        lam2 = self._damping**2
        history: list[float] = []
        for _ in range(self._iterations):
            self._set(q)
            err = self._error(target_pos, target_quat)
            pos_err = float(np.linalg.norm(err[:3]))
            ang_err = float(np.linalg.norm(err[3:]))
            if pos_err < self._tol_position and ang_err < self._tol_angle:
                return IKResult(True, q.copy(), pos_err, ang_err)
            # Stuck (at a joint limit or out of reach): the error stops shrinking; give up on this
            # seed so unreachable poses are refused quickly.
            history.append(pos_err + STALL_RADIUS * ang_err)
            if len(history) > STALL_WINDOW and history[-STALL_WINDOW - 1] - history[-1] < 1e-4:
                break
            mujoco.mj_comPos(self._model, self._data)
            mujoco.mj_jacBody(self._model, self._data, self._jacp, self._jacr, self._body)
            jac = np.vstack([self._jacp[:, self._dadr], self._jacr[:, self._dadr]])
            dq = jac.T @ np.linalg.solve(jac @ jac.T + lam2 * np.eye(6), err)
            step = np.max(np.abs(dq))
            if step > 0.5:  # keep each update inside the region where the linearisation holds
                dq *= 0.5 / step
            q = np.clip(q + dq, self._lower, self._upper)
        self._set(q)
        err = self._error(target_pos, target_quat)
        pos_err, ang_err = float(np.linalg.norm(err[:3])), float(np.linalg.norm(err[3:]))
        ok = pos_err < self._tol_position and ang_err < self._tol_angle
        return IKResult(ok, q.copy(), pos_err, ang_err)

    def solve(
        self,
        position: np.ndarray,
        quat_wxyz: np.ndarray,
        seeds: list[np.ndarray] | None = None,
    ) -> IKResult:
        """Joint angles putting the endpoint at ``position`` with orientation ``quat_wxyz``.

        Tries the given seeds first, then fixed spread seeds; returns the first valid solution,
        else the best attempt with ``is_valid`` False. Targets beyond the arm's reach are
        refused at once.
        """
        position = np.asarray(position, dtype=float)
        quat = np.asarray(quat_wxyz, dtype=float)
        quat = quat / np.linalg.norm(quat)
        candidates = [np.clip(np.asarray(s, float), self._lower, self._upper) for s in seeds or []]
        candidates += list(self._spread)
        candidates = candidates[: max(self._n_seeds, len(seeds or []))]
        if np.linalg.norm(position - self._s0_position) > MAX_REACH_FROM_S0:
            return IKResult(False, candidates[0].copy(), float("inf"), float("inf"))
        best: IKResult | None = None
        for seed in candidates:
            result = self._descend(seed.copy(), position, quat)
            if result.is_valid:
                return result
            if best is None or result.position_error < best.position_error:
                best = result
        assert best is not None
        return best


def arm_ik(model: mujoco.MjModel, side: str, config: ArmControlConfig) -> ArmIK:
    """The solver with the configured settings (``simulator.arm.ik_*``)."""
    return ArmIK(
        model,
        side,
        damping=config.ik_damping,
        tol_position=config.ik_tolerance_position,
        tol_angle=config.ik_tolerance_angle,
        iterations=config.ik_iterations,
        n_seeds=config.ik_seeds,
    )


def solve_pose(
    ik: ArmIK,
    joint_names: Sequence[str],
    position: Sequence[float],
    quaternion_xyzw: Sequence[float],
    seed: Mapping[str, float] | None,
    current: np.ndarray | None,
) -> tuple[bool, dict[str, float]]:
    """One pose of the SDK's IK service: ``seed`` first (a joint it lacks counts as 0), then the
    ``current`` angles, then the solver's fixed seeds. Shared by the simulated arm and the ROS 2
    IK node, so both answer a request alike.

    Raises:
        ValueError: a target that is not finite or a quaternion of zero norm.
    """
    pos = np.asarray(position, dtype=float).reshape(3)
    quat = np.asarray(quaternion_xyzw, dtype=float).reshape(4)
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(quat))):
        raise ValueError("IK target must be finite")
    if np.linalg.norm(quat) < 1e-9:
        raise ValueError("IK target quaternion has zero norm")
    seeds = []
    if seed is not None:
        seeds.append(np.array([seed.get(n, 0.0) for n in joint_names], dtype=float))
    if current is not None:
        seeds.append(np.asarray(current, dtype=float).copy())
    result = ik.solve(pos, xyzw_to_wxyz(quat), seeds)
    return result.is_valid, {
        n: float(v) for n, v in zip(joint_names, result.positions, strict=True)
    }


def kinematic_model() -> mujoco.MjModel:
    """Baxter from Rethink's URDF alone: no table, objects, cameras or actuators.

    The arms' chains are those of the simulated scene (which only adds fingers' slot offsets,
    actuators and the world around), so IK on it answers as the simulator's does, in about 2 ms
    to build instead of a scene's compilation.
    """
    return mujoco.MjSpec.from_file(str(URDF_PATH)).compile()


class BaxterKinematics:
    """Both arms' IK and forward kinematics on :func:`kinematic_model`: the simulator's solver
    without a simulation, for a real robot's IK service (``nodes/baxter_ik.py``)."""

    def __init__(self, config: ArmControlConfig) -> None:
        self.model = kinematic_model()
        self._ik = {side: arm_ik(self.model, side, config) for side in SIDES}
        self.joint_names = {side: tuple(arm_joint_names(side)) for side in SIDES}

    def _arm(self, side: str) -> ArmIK:
        if side not in self._ik:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        return self._ik[side]

    def solve(
        self,
        side: str,
        position: Sequence[float],
        quaternion_xyzw: Sequence[float],
        seed: Mapping[str, float] | None = None,
        current: Mapping[str, float] | None = None,
    ) -> tuple[bool, dict[str, float]]:
        """Joint angles for the endpoint pose, or ``(False, best try)``; see :func:`solve_pose`.
        ``current``: the arm's measured angles, used when it holds all seven joints."""
        ik, names = self._arm(side), self.joint_names[side]
        here = None
        if current is not None and all(n in current for n in names):
            here = np.array([current[n] for n in names], dtype=float)
        return solve_pose(ik, names, position, quaternion_xyzw, seed, here)

    def forward(self, side: str, joints: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Endpoint position and quaternion (x, y, z, w) at the arm's angles (all seven).

        Raises:
            ValueError: a joint of the arm is missing.
        """
        ik, names = self._arm(side), self.joint_names[side]
        missing = [n for n in names if n not in joints]
        if missing:
            raise ValueError(f"forward kinematics needs {missing}")
        position, quat = ik.forward(np.array([joints[n] for n in names]))
        return position, wxyz_to_xyzw(quat)
