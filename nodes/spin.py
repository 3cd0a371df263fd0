"""The ``main()`` of our nodes: init, spin until Ctrl-C or shutdown, destroy the node, exit."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def run_node(make_node: Callable[[], Node], args=None) -> Node | None:
    """Spins the node that ``make_node`` builds; returns it (destroyed) for an exit status."""
    node = None
    try:
        with rclpy.init(args=args):
            node = make_node()
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            try:
                executor.spin()
            finally:
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return node
