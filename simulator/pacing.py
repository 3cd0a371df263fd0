"""How the simulator node paces its physics thread: work handed to it, the rate of each stream,
and the lockstep with the behaviour trees. Plain Python, no ROS: the node owns the thread."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from .world import BaxterWorld


class Job:
    """Work for the physics thread, which alone touches the world; callers may wait for it."""

    def __init__(self, fn: Callable[[BaxterWorld], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self, world: BaxterWorld) -> None:
        try:
            self.result = self.fn(world)
        except Exception as e:  # handed to the caller, which reports it
            self.error = e
        finally:
            self.done.set()

    def wait(self, timeout: float = 30.0) -> Any:
        if not self.done.wait(timeout):
            raise TimeoutError("the physics thread did not answer")
        if self.error is not None:
            raise self.error
        return self.result


class Pace:
    """When a stream is next due: every ``1 / rate`` s of simulated time, as the robot, but,
    when the physics runs faster than real time, at most ``max_rate_wall`` times a wall second.

    At 15x real time, 100 Hz of robot time would be 1,500 messages a wall second per topic. A
    Python subscriber handles a few thousand messages a second in all, so it would fall behind,
    act on states queued long ago, and the robot would run on past its targets.
    """

    def __init__(self, rate: float, max_rate_wall: float = 0.0) -> None:
        self.period = 1.0 / rate
        self.wall_period = 1.0 / max_rate_wall if max_rate_wall > 0 else 0.0
        self.next_sim = self.next_wall = -math.inf
        self.flags: tuple | None = None  # as last sent

    def due(self, sim_now: float, wall_now: float, flags: tuple | None = None) -> bool:
        """``flags``: what a client waits for (gripper moving, robot enabled, ...); when they
        differ from the last sent, the state goes out at the robot's rate whatever the cap."""
        changed = flags is not None and flags != self.flags
        if sim_now + 1e-6 < self.next_sim or (wall_now < self.next_wall and not changed):
            return False
        self.next_sim = sim_now + self.period
        self.next_wall = wall_now + self.wall_period
        self.flags = flags
        return True


class Lockstep:
    """How far the physics may run: ``lead`` s of simulated time past the last tick of the
    slowest tree that ticked within ``timeout`` wall s; no bound while none did.

    A tree ticks on the robot clock, every ``trial.tick_period``. Faster than real time, a
    Python tree ticks far more seldom than that in simulated time: between two ticks the arm
    reaches a waypoint and waits for the next command, a descent stops short, a lift jerks, and
    grasps that hold on the real robot (and in the bulk simulator) fail. Held to the trees'
    ticks, the simulator runs as fast as they keep up and they see the robot as at real time.
    """

    def __init__(self, lead: float, timeout: float) -> None:
        self.lead, self.timeout = lead, timeout
        self._ticks: dict[str, tuple[float, float]] = {}  # tree: (sim stamp, wall received)
        self._lock = threading.Lock()
        self.ticked = threading.Event()

    def tick(self, tree: str, stamp: float, wall: float) -> None:
        with self._lock:
            self._ticks[tree] = (stamp, wall)
        self.ticked.set()

    def limit(self, wall: float) -> float | None:
        """The simulated time not to pass now, or None (no tree holds the physics back)."""
        with self._lock:
            live = [t for t, received in self._ticks.values() if wall - received <= self.timeout]
        return min(live) + self.lead if live else None
