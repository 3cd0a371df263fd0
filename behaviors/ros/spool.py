"""A fleet robot's side of the spool: its store's committed trials, one by one, to the writer.

Sends the trials after the writer's cursor (``/<robot>/spool/ingested``, latched: a spool id and
the last spool trial id the writer committed) on ``/<robot>/spool/trials``, a few at a time, and
resends one the cursor has not passed after ``resend`` s: a writer that was down, restarted or
lost a message gets it again, and takes each once (:mod:`supersize_grasp.dataset.spool`). Until
the writer answers, it starts from the spool's first trial: the writer's answer moves it on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rclpy.node import Node
from std_msgs.msg import MultiArrayDimension, UInt8MultiArray
from supersize_grasp_interfaces.msg import KeyValue

from supersize_grasp.dataset.records import Trial
from supersize_grasp.dataset.spool import pack, pending, spool_id
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.fleet import INGESTED_TOPIC, SPOOL_TOPIC, namespaced
from supersize_grasp.qos import LATCHED, SPOOL_QOS


def to_message(parts: list[tuple[str, bytes]]) -> UInt8MultiArray:
    """The parts end to end, each a dimension labelled with its name and sized in bytes."""
    msg = UInt8MultiArray()
    msg.layout.dim = [MultiArrayDimension(label=n, size=len(b), stride=len(b)) for n, b in parts]
    msg.data = b"".join(b for _, b in parts)
    return msg


def from_message(msg: UInt8MultiArray) -> list[tuple[str, bytes]]:
    """The parts of :func:`to_message`.

    Raises:
        ValueError: the dimensions do not add up to the data.
    """
    data = msg.data.tobytes()
    if sum(d.size for d in msg.layout.dim) != len(data):
        raise ValueError(
            f"spooled trial: its parts add up to {sum(d.size for d in msg.layout.dim)} bytes, "
            f"the data holds {len(data)}"
        )
    parts, start = [], 0
    for d in msg.layout.dim:
        parts.append((d.label, data[start : start + d.size]))
        start += d.size
    return parts


class SpoolPublisher:
    """Sends ``store``'s trials to the fleet's writer from ``node``'s namespace."""

    def __init__(
        self,
        node: Node,
        store: TrialStore,
        period: float = 0.5,
        window: int = 2,
        resend: float = 5.0,
    ) -> None:
        self.node, self.store, self.window, self.resend = node, store, window, resend
        self.spool = spool_id(store)
        self.acked = 0
        self.sent: dict[int, float] = {}  # spool trial id -> monotonic time sent
        self.last: tuple[int, Trial] | None = None  # the last trial sent, with its prev
        self.acked_at = 0.0
        self.on_drained: Callable[[], None] | None = None  # set by finish
        self.ended_at: float | None = None  # when the last trial sent after finish went
        ns = node.get_namespace()
        self.publisher = node.create_publisher(
            UInt8MultiArray, namespaced(SPOOL_TOPIC, ns), SPOOL_QOS
        )
        node.create_subscription(KeyValue, namespaced(INGESTED_TOPIC, ns), self._on_ack, LATCHED)
        node.create_timer(period, self._send)

    def finish(self, on_drained: Callable[[], None]) -> None:
        """Call ``on_drained`` once the writer holds every trial and the session's end (which
        travels with each trial: the last one goes again if all were sent before the end)."""
        self.on_drained = on_drained

    def _on_ack(self, msg: KeyValue) -> None:
        if msg.key == self.spool:
            self.acked = int(msg.value)
            self.acked_at = time.monotonic()
            self.sent = {i: t for i, t in self.sent.items() if i > self.acked}

    def _send(self) -> None:
        now = time.monotonic()
        chain = pending(self.store, self.acked, self.window)
        for prev, trial in chain:
            if now - self.sent.get(trial.trial_id, -self.resend) >= self.resend:
                self._publish(prev, trial, now)
        if chain or self.on_drained is None:
            return
        if self.last is None or (self.ended_at is not None and self.acked_at > self.ended_at):
            self.on_drained()
        elif self.ended_at is None or now - self.ended_at >= self.resend:
            self._publish(*self.last, now)  # known to the writer: it takes the end only

    def _publish(self, prev: int, trial: Trial, now: float) -> None:
        self.publisher.publish(to_message(pack(self.store, self.spool, prev, trial)))
        self.sent[trial.trial_id] = now
        self.last = (prev, trial)
        if self.on_drained is not None:
            self.ended_at = now
