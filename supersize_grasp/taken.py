"""Subscriptions whose owner takes their messages when it needs them, instead of an executor
calling back for each one as it arrives.

rclpy's executors are Python: for every message they rebuild their wait set over all of the
node's entities (each publisher's and subscription's event handlers included) and trigger their
guard condition around the callback, 0.1-0.3 ms of CPU a message on our nodes. A behaviour tree
that reads the robot's 100 Hz states once a tick (20 Hz), or a recorder that writes a dozen
topics' messages in batches, pays far more for that than for the work itself. A subscription
made with ``callback_group=OwnerTakes()`` is never in an executor's wait set (its group never
lets an executor run it): its owner reads it with :func:`take_latest` or :func:`take_all`, the
way rclpy's own ``wait_for_message`` takes (``handle.take_message``), a few microseconds a call.

Its messages queue in the middleware meanwhile, up to its QoS depth (keep-last): a reader of the
latest state needs depth 1, a recorder a depth that holds what arrives between two takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rclpy.callback_groups import CallbackGroup


class OwnerTakes(CallbackGroup):
    """The callback group of subscriptions that no executor runs: their owner takes from them."""

    def can_execute(self, entity) -> bool:
        return False

    def beginning_execution(self, entity) -> bool:
        return False

    def ending_execution(self, entity) -> None:
        pass


def ignore(*_args) -> None:
    """The callback of a subscription read with ``take_*``: never called."""


def take_all(subscription, limit: int | None = None) -> Iterator[tuple[Any, dict]]:
    """``(message, info)`` of every message waiting on ``subscription`` (at most ``limit``), the
    oldest first; ``info`` holds the middleware's ``source_timestamp`` and ``received_timestamp``
    (ns). Messages are deserialized unless the subscription is ``raw`` (then they are bytes)."""
    taken = 0
    while limit is None or taken < limit:
        with subscription.handle:
            result = subscription.handle.take_message(subscription.msg_type, subscription.raw)
        if result is None:
            return
        taken += 1
        yield result[0], result[1]


def take_latest(subscription) -> Any:
    """The newest message waiting on ``subscription`` (older ones are dropped), or None."""
    latest = None
    for message, _info in take_all(subscription):
        latest = message
    return latest
