"""A py_trees ``BehaviourTree`` ticked by an rclpy timer (py_trees_ros's ``tick_tock``).

Ticks run as timer callbacks on the node's executor, interleaved with subscription and service
callbacks of the same executor, so behaviours need no locks for their own state. Behaviours get
the node in ``setup(node=...)``, make their publishers and clients there, and never block a tick.
"""

from __future__ import annotations

import py_trees
from rclpy.node import Node

from .exceptions import NotReadyError


class RosBehaviourTree(py_trees.trees.BehaviourTree):
    """A tree whose behaviours talk to ROS through one node."""

    def __init__(self, root: py_trees.behaviour.Behaviour) -> None:
        super().__init__(root)
        self.node: Node | None = None
        self._timer = None

    def setup(self, node: Node, timeout: float = 30.0, **kwargs) -> None:  # type: ignore[override]
        """Hand the node to every behaviour's ``setup(node=...)``; raises on any failure."""
        self.node = node
        super().setup(timeout=timeout, node=node, **kwargs)

    def tick_tock(self, period: float) -> None:
        """Tick every ``period`` seconds of the node's clock (simulation time with use_sim_time)."""
        if self.node is None:
            raise NotReadyError("call setup(node=...) before tick_tock()")
        self._timer = self.node.create_timer(period, self.tick)

    def stop(self) -> None:
        """Stop ticking and let RUNNING behaviours clean up (their terminate() runs)."""
        if self._timer is not None and self.node is not None:
            self.node.destroy_timer(self._timer)
            self._timer = None
        self.interrupt()
