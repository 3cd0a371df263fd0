"""Baxter electric parallel gripper: SDK-style commands and state on a force-limited servo.

Semantics follow ``baxter_interface.Gripper`` / ``EndEffectorState``: position 0 (closed) to 100
(open), force 0-100 % of the maximum, ``gripping`` when the closing fingers are held apart by
something with at least the gripping force, ``missed`` when a grip closed fully on nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mujoco
import numpy as np

from ..config.simulator import GripperConfig
from .errors import CommandRejectedError
from .scene import CLOSED_GAP, FINGER_TRAVEL, actuator_name, finger_joint_names


class Gripper:
    """One simulated electric gripper. State updates each control period via :meth:`update`.

    Args:
        model, data: the world's model and data.
        side: ``left`` or ``right``.
        config: gripper section of the simulator configuration.
        is_enabled: callable telling whether the robot accepts commands (enabled, no E-stop).
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        side: str,
        config: GripperConfig,
        is_enabled: Callable[[], bool],
    ):
        self.side = side
        self._model = model
        self._data = data
        self._config = config
        self._is_enabled = is_enabled
        driven, _ = finger_joint_names(side)
        joint = model.joint(driven).id
        self._qadr = model.jnt_qposadr[joint]
        self._dadr = model.jnt_dofadr[joint]
        self._act = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, actuator_name(driven))
        self._target = float(data.ctrl[self._act])
        self._setpoint = self._target
        self._force_percent = config.default_force
        self.configured_force = config.default_force  # % for go and grip ("set" changes it)
        self._closing = False
        self.calibrated = False
        self.error = False
        self.gripping = False
        self.missed = False
        self.moving = False
        self.empty_grips = 0  # grasp attempts in a row that opened again holding nothing
        self._apply_force_limit()

    # ---- commands ------------------------------------------------------------------------
    def execute(self, command: str, args: dict) -> None:
        """One SDK ``EndEffectorCommand`` by its ``command`` name (``go``, ``grip``, ``set``, ...)
        and JSON ``args``, as Baxter's electric gripper handles them.

        Raises:
            CommandRejectedError: as the command's method does.
            ValueError: an unknown command, or args it cannot use.
        """
        if command == "go":
            if "position" not in args:
                raise ValueError('"go" needs {"position": 0..100}')
            self.command(float(args["position"]), self.configured_force)
        elif command == "grip":
            self.grip(self.configured_force)
        elif command == "release":
            self.release()
        elif command == "calibrate":
            self.calibrate()
        elif command == "clear_calibration":
            self.calibrated = False
        elif command in ("configure", "set"):
            for key in ("moving_force", "holding_force", "force"):
                if key in args:
                    self.configured_force = _percent(key, args[key])
        elif command == "stop":
            self.stop()
        elif command in ("reset", "reboot"):
            self.error = False
            if command == "reboot":
                self.calibrated = False
        elif command not in ("no_op", "prepare_to_grip"):
            raise ValueError(f"unknown command {command!r}")

    def command(self, position: float, force: float | None = None) -> None:
        """Move the fingers to ``position`` (0 closed..100 open) with at most ``force`` %.

        Raises:
            CommandRejectedError: robot disabled or E-stopped, or gripper not calibrated.
            ValueError: position or force not a finite number in [0, 100].
        """
        self._check_ready()
        position = _percent("position", position)
        if force is not None:
            self._force_percent = _percent("force", force)
            self._apply_force_limit()
        target = position / 100.0 * FINGER_TRAVEL
        current = self.position / 100.0 * FINGER_TRAVEL
        if self._closing and target > current + 1e-6:  # a grip ends: did it hold anything?
            self.empty_grips = 0 if self.gripping else self.empty_grips + 1
        self._closing = target < current - 1e-6
        self._target = target
        self.missed = False
        self.moving = True

    def grip(self, force: float | None = None) -> None:
        """Close until the fingers hold something or are fully shut (SDK ``close()``)."""
        self.command(0.0, force)

    def release(self) -> None:
        """Open fully (SDK ``open()``)."""
        self.command(100.0)

    def calibrate(self) -> None:
        """Calibrate (the real gripper homes its fingers): afterwards it opens fully.

        Raises:
            CommandRejectedError: robot disabled or E-stopped.
        """
        if not self._is_enabled():
            raise CommandRejectedError(
                f"{self.side} gripper: robot is not enabled, cannot calibrate"
            )
        self.calibrated = True
        self.error = False
        self.release()

    def stop(self) -> None:
        """Stop where the fingers are now."""
        self._check_ready()
        self._target = self._setpoint = float(self._data.qpos[self._qadr])
        self._closing = False

    # ---- state ---------------------------------------------------------------------------
    @property
    def position(self) -> float:
        """Finger opening in % (0 closed .. 100 open)."""
        q = float(self._data.qpos[self._qadr])
        return float(np.clip(q / FINGER_TRAVEL * 100.0, 0.0, 100.0))

    @property
    def gap(self) -> float:
        """Distance between the paddle pads (m): 0.035 closed .. 0.0767 open."""
        q = float(self._data.qpos[self._qadr])
        return CLOSED_GAP + 2.0 * float(np.clip(q, 0.0, FINGER_TRAVEL))

    @property
    def force(self) -> float:
        """Motor effort in % of the maximum grip force."""
        effort = abs(float(self._data.actuator_force[self._act]))
        return float(min(100.0, effort / self._config.max_force * 100.0))

    @property
    def closing(self) -> bool:
        """The last command closed the fingers (a grip, until the next opening command)."""
        return self._closing

    @property
    def force_limit(self) -> float:
        """The commanded force limit in %."""
        return self._force_percent

    @property
    def ready(self) -> bool:
        """Accepts commands: calibrated, no error, robot enabled."""
        return self.calibrated and not self.error and bool(self._is_enabled())

    @property
    def target_position(self) -> float:
        """The last commanded position in %."""
        return self._target / FINGER_TRAVEL * 100.0

    def update(self, dt: float) -> None:
        """Advance the speed-limited finger setpoint and refresh the state flags."""
        if self._is_enabled():
            step = self._config.finger_speed * dt
            self._setpoint += float(np.clip(self._target - self._setpoint, -step, step))
            self._data.ctrl[self._act] = self._setpoint
        speed = abs(float(self._data.qvel[self._dadr]))
        travelling = abs(self._target - self._setpoint) > 1e-9
        self.moving = travelling or speed > self._config.settle_speed
        holding = (
            self._closing
            and self.force >= self._config.gripping_force
            and self.position > self._config.missed_position
        )
        self.gripping = holding
        self.missed = (
            self._closing and not self.moving and self.position <= self._config.missed_position
        )

    def hold_current(self) -> None:
        """Re-anchor the setpoint at the measured opening (after the robot is re-enabled)."""
        q = float(self._data.qpos[self._qadr])
        self._target = self._setpoint = q
        self._data.ctrl[self._act] = q
        self._closing = False

    def _apply_force_limit(self) -> None:
        limit = self._config.max_force * self._force_percent / 100.0
        self._model.actuator_forcerange[self._act] = (-limit, limit)

    def _check_ready(self) -> None:
        if not self._is_enabled():
            raise CommandRejectedError(f"{self.side} gripper: robot is not enabled (or E-stopped)")
        if not self.calibrated:
            raise CommandRejectedError(
                f"{self.side} gripper: not calibrated, call calibrate() first"
            )
        if self.error:
            raise CommandRejectedError(
                f"{self.side} gripper: in error state, calibrate to clear it"
            )


def _percent(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 100.0:
        raise ValueError(f"gripper {name} must be a finite number in [0, 100], got {value}")
    return value
