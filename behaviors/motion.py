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
