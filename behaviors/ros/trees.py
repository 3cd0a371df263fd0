"""A py_trees ``BehaviourTree`` ticked by an rclpy timer (py_trees_ros's ``tick_tock``).

Ticks run as timer callbacks on the node's executor, interleaved with subscription and service
callbacks of the same executor, so behaviours need no locks for their own state. Behaviours get
the node in ``setup(node=...)``, make their publishers and clients there, and never block a tick.
"""

from __future__ import annotations

import time

import py_trees
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from std_msgs.msg import Header

from supersize_grasp.qos import TICKS

from .exceptions import NotReadyError


class RosBehaviourTree(py_trees.trees.BehaviourTree):
    """A tree whose behaviours talk to ROS through one node."""

    def __init__(self, root: py_trees.behaviour.Behaviour) -> None:
        super().__init__(root)
        self.node: Node | None = None
        self._timers: list = []
        self._ticked = time.monotonic()
        self.add_pre_tick_handler(self._mark_tick)

    def setup(self, node: Node, timeout: float = 30.0, **kwargs) -> None:  # type: ignore[override]
        """Hand the node to every behaviour's ``setup(node=...)``; raises on any failure."""
        self.node = node
        super().setup(timeout=timeout, node=node, **kwargs)

    def tick_tock(self, period: float, max_gap: float | None = None) -> None:
        """Tick every ``period`` seconds of the node's clock (simulation time with use_sim_time).

        With ``max_gap``, also tick on the steady wall clock whenever no tick came for
        ``max_gap`` wall seconds: a simulator's ``/clock`` stops with it, and a tree ticked only
        on that clock could not notice (rcl timers survive the restarted clock's jump back).
        """
        if self.node is None:
            raise NotReadyError("call setup(node=...) before tick_tock()")
        self._timers = [self.node.create_timer(period, self.tick)]
        if max_gap is not None:
            steady = Clock(clock_type=ClockType.STEADY_TIME)
            self._timers.append(
                self.node.create_timer(
                    max_gap, lambda: self._tick_if_stalled(max_gap), clock=steady
                )
            )

    def publish_ticks(self, topic: str) -> None:
        """After every tick, a ``Header`` on ``topic``: the robot-clock time of the tick and the
        node's name. A simulator in lockstep waits for it rather than run ahead of the tree
        (``simulator.ros.lockstep``); a lost message only makes it wait for the next."""
        if self.node is None:
            raise NotReadyError("call setup(node=...) before publish_ticks()")
        publisher = self.node.create_publisher(Header, topic, TICKS)
        name = self.node.get_fully_qualified_name()

        def publish(_tree) -> None:
            if not self._timers or not self.node.context.ok():  # stopped within this tick
                return
            publisher.publish(Header(stamp=self.node.get_clock().now().to_msg(), frame_id=name))

        self.add_post_tick_handler(publish)

    def _mark_tick(self, _tree) -> None:
        self._ticked = time.monotonic()

    def _tick_if_stalled(self, max_gap: float) -> None:
        if time.monotonic() - self._ticked >= max_gap:
            self.tick()

    def stop(self) -> None:
        """Stop ticking and let RUNNING behaviours clean up (their terminate() runs: a motion
        holds the arm where it is, a pending request is dropped). Call it between ticks, in the
        executor's thread. ``interrupt()`` alone only ends a ``tick_tock`` loop."""
        if self.node is not None:
            for timer in self._timers:
                self.node.destroy_timer(timer)
        self._timers = []
        self.interrupt()
        if self.root.status == py_trees.common.Status.RUNNING:
            self.root.stop(py_trees.common.Status.INVALID)
