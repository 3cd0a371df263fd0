"""The ``main()`` of our nodes: init, spin until Ctrl-C, SIGTERM or shutdown, destroy the node.

rclpy's own signal handler shuts the context down and then lets Python raise KeyboardInterrupt
at whatever bytecode runs next; inside pybind11 (taking a message, say) that surfaces as a
``RuntimeError: Unable to convert call argument`` traceback, and a callback that publishes into
the dead context raises ``RCLError``. So our nodes handle the signals themselves: a signal
while the node spins only asks the spin loop to stop, between callbacks, with the context still
up for ``destroy_node`` to finish its files and say goodbye.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from supersize_grasp.rclpy_compat import initialized

# How long a stop request may wait for the executor to wake; no callback is cut short by it.
STOP_LATENCY = 0.1


def start_or_destroy(node: Node, start: Callable[[], None]) -> None:
    """The rest of a node's constructor; if it raises (Ctrl-C, a bad parameter), the half-built
    node is destroyed first, so no store or file stays open: Jazzy's rclpy never destroys a node
    at the context's shutdown (Kilted's does, and ``destroy_node`` may then run twice)."""
    try:
        start()
    except BaseException:
        node.destroy_node()
        raise


def run_node(
    make_node: Callable[[], Node],
    args=None,
    make_executor: Callable[[], Executor] = SingleThreadedExecutor,
) -> Node | None:
    """Spins the node that ``make_node`` builds; returns it (destroyed) for an exit status.

    A signal while the node is still being built (waiting for its peers, say) unwinds the
    constructor as Ctrl-C always did; once it spins, it stops the loop between callbacks.
    """
    stop: list[int] = []

    def request_stop(signum, _frame):
        if spinning:
            stop.append(signum)
        else:
            raise KeyboardInterrupt

    spinning = False
    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    node = None
    try:
        with initialized(args, signal_handlers=False) as context:
            node = make_node()
            executor = make_executor()
            executor.add_node(node)
            try:
                spinning = True
                while not stop and context.ok():
                    executor.spin_once(timeout_sec=STOP_LATENCY)
            finally:
                spinning = False
                executor.shutdown()
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return node
