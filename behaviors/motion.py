"""Following joint-space waypoints, one decision per tick: plain Python shared by the tree's
``MoveJoints`` (joint states from ROS, commands re-sent every tick like baxter_interface) and the
bulk collector (the simulator's Python API), so both arrive, and stop when blocked, alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STILL_SPEED = 0.02  # rad/s: joints slower than this are standing still


@dataclass
class Step:
    """What one tick decided: ``arrived``, ``blocked`` (stood still short of the goal),
    or ``moving`` towards ``target``."""

    outcome: str
    target: dict[str, float]
    index: int  # the waypoint being followed
    error: float  # rad, the largest joint error to ``target``


class PathFollower:
    """Args:
    path: ``{joint: angle}`` waypoints.
    tolerance: rad within which the last waypoint counts as reached; earlier ones use 2x.
    stop_when_blocked: ``blocked`` when every joint of the target has stood still for
        ``blocked_time`` s short of the goal (a descent stopped by the object it is about to
        grasp).

    Standing still counts only towards the waypoint being followed, and only from the second
    state that sees it as the target: the first was measured before its command went out. An arm
    that reached one waypoint and waits for the next command (ticks that come late: a loaded
    machine, a simulator faster than real time) is not blocked.
    """

    def __init__(
        self,
        path: Sequence[Mapping[str, float]],
        tolerance: float,
        stop_when_blocked: bool = False,
        blocked_time: float = 0.3,
    ) -> None:
        self.path = [dict(p) for p in path]
        self.tolerance, self.stop_when_blocked = tolerance, stop_when_blocked
        self.blocked_time = blocked_time
        self.index = 0
        self.still_since: float | None = None
        self.commanded: int | None = None  # the waypoint that the last step returned

    def step(
        self, now: float, positions: Mapping[str, float], velocities: Mapping[str, float]
    ) -> Step:
        while True:
            target = self.path[self.index]
            last = self.index == len(self.path) - 1
            tolerance = self.tolerance if last else 2 * self.tolerance
            error = max(abs(positions[n] - v) for n, v in target.items())
            if error > tolerance or last:
                break
            self.index += 1
        if error <= tolerance:
            return Step("arrived", target, self.index, error)
        new_target, self.commanded = self.commanded != self.index, self.index
        if new_target:
            self.still_since = None
        elif self.stop_when_blocked and self._blocked(now, velocities, target):
            return Step("blocked", target, self.index, error)
        return Step("moving", target, self.index, error)

    def _blocked(self, now: float, velocities: Mapping[str, float], target) -> bool:
        if any(abs(velocities.get(n, 0.0)) > STILL_SPEED for n in target):
            self.still_since = None
            return False
        if self.still_since is None:
            self.still_since = now
        return now - self.still_since >= self.blocked_time


MAX_STEP_TIME = 0.25  # s: a late tick moves the command no further than this long's travel


class SpeedLimit:
    """The speed ratio enforced on what is sent, whatever the robot's own setting: commanded
    positions move towards each target at no more than ``ratio`` x each joint's velocity limit,
    all joints on one straight line in joint space (as Baxter's position mode moves them), from
    the measured positions at the start. ``ratio`` 1.0 is the robot's own limit: targets pass
    unchanged.

    Args:
        ratio: fraction of each joint's velocity limit, in (0, 1].
        limits: rad/s by joint name.
    """

    def __init__(self, ratio: float, limits: Mapping[str, float]) -> None:
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"speed ratio must be in (0, 1], got {ratio}")
        self.ratio, self.limits = ratio, dict(limits)
        self.commanded: dict[str, float] = {}
        self.time: float | None = None

    def command(
        self, now: float, target: Mapping[str, float], positions: Mapping[str, float]
    ) -> dict[str, float]:
        """The positions to send at ``now`` (s) on the way to ``target``.

        Raises:
            ValueError: a joint of ``target`` has no velocity limit.
        """
        unknown = sorted(set(target) - set(self.limits))
        if unknown:
            raise ValueError(f"no velocity limit for {unknown}")
        if self.ratio >= 1.0:
            return dict(target)
        dt = 0.0 if self.time is None else min(max(now - self.time, 0.0), MAX_STEP_TIME)
        self.time = now
        start = {n: self.commanded.get(n, positions[n]) for n in target}
        fraction = 1.0
        for name, value in target.items():
            distance = abs(value - start[name])
            if distance > 0.0:
                fraction = min(fraction, self.ratio * self.limits[name] * dt / distance)
        self.commanded = {n: start[n] + fraction * (v - start[n]) for n, v in target.items()}
        return dict(self.commanded)
