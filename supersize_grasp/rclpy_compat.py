"""The rclpy API differences between the ROS 2 distributions we run on, in one place.

Kilted (the default wheels) and Jazzy (LTS) are checked in CI; nothing here rules out Humble.
Code uses these instead of the newer API directly, so no version check is scattered elsewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import rclpy
from rclpy.context import Context
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions, uninstall_signal_handlers
from rclpy.utilities import get_default_context, try_shutdown

try:  # Kilted: a subscription callback with two parameters gets the middleware's timestamps
    from rclpy.subscription import MessageInfo

    _CALLBACKS_TAKE_INFO = True
except ImportError:  # Jazzy, Humble: callbacks get the message only
    MessageInfo = dict  # type: ignore[misc,assignment]
    _CALLBACKS_TAKE_INFO = False


@contextlib.contextmanager
def initialized(
    args: list[str] | None = None, *, signal_handlers: bool = True
) -> Iterator[Context]:
    """Kilted's ``with rclpy.init(...)``: the default context, shut down on leaving; yields it.

    ``signal_handlers=False`` leaves SIGINT and SIGTERM to the caller (rclpy installs none).
    """
    options = SignalHandlerOptions.ALL if signal_handlers else SignalHandlerOptions.NO
    rclpy.init(args=args, signal_handler_options=options)
    try:
        yield get_default_context()
    finally:
        try_shutdown()  # the context only: Jazzy's rclpy.try_shutdown keeps rclpy's handlers
        if signal_handlers:
            uninstall_signal_handlers()


def create_subscription_with_info(
    node: Node, msg_type, topic: str, callback: Callable[[object, MessageInfo], None], qos, **kwargs
):
    """A subscription whose callback gets ``(message, info)``; ``info`` holds the middleware's
    ``source_timestamp`` and ``received_timestamp`` (ns) where rclpy passes them (Kilted) and is
    empty where it does not (Jazzy), so callers fall back to their own clock."""
    if not _CALLBACKS_TAKE_INFO:
        inner = callback

        def callback(message) -> None:
            inner(message, {})

    return node.create_subscription(msg_type, topic, callback, qos, **kwargs)
