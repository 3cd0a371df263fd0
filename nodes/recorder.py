"""The session recorder: raw messages of the configured topics into one MCAP file per session.

A thin shell over :class:`supersize_grasp.dataset.recorder.McapRecorder`: subscriptions take the
serialized bytes (``raw=True``), so nothing is deserialized and any type can be recorded. No
executor calls back for each message (a recording of the robot's 100 Hz states would spend most
of its CPU in rclpy's executor): a timer takes every waiting message of every topic each
``storage.recorder.take_period`` (``OwnerTakes``) and writes them merged in order of reception,
each topic's in its own order; the subscriptions' ``queue_depth`` holds them meanwhile. A topic
given without a type is subscribed once it has a publisher; its QoS follows its publishers, as
``ros2 bag record`` does (reliable only when every publisher is, transient-local likewise). The
trial tree waits for these subscriptions before its first tick (its ``recorder`` parameter), so
a session's file starts with the tree's first snapshot and holds its first trial.

Node name: ``recorder``.
Subscribers: every entry of ``storage.recorder.topics`` (``/name`` or ``/name:pkg/msg/Type``).
Parameters: ``config_file``; every field of the ``storage`` section; ``session`` (file name stem,
    default the UTC start time): writes ``<data_dir>/<output_dir>/<session>.mcap``.
Stops on SIGINT or SIGTERM, finishing the file (summary, footer) first.
"""

from __future__ import annotations

import errno
import heapq
import importlib
import time
from datetime import datetime, timezone
from pathlib import Path

from rclpy.exceptions import InvalidHandle
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from supersize_grasp.dataset.recorder import McapRecorder
from supersize_grasp.nodes.parameters import load_node_config
from supersize_grasp.nodes.spin import run_node, start_or_destroy
from supersize_grasp.taken import OwnerTakes, ignore, take_all

NODE_NAME = "recorder"
DISCOVERY_PERIOD = 0.5  # s between graph look-ups for topics not yet subscribed


class RecorderNode(Node):
    def __init__(self, **kwargs) -> None:
        self._recorder: McapRecorder | None = None  # Ctrl-C may end the constructor anywhere
        super().__init__(NODE_NAME, **kwargs)
        start_or_destroy(self, self._start)

    def _start(self) -> None:
        storage = load_node_config(self, ["storage"]).storage
        config = storage.recorder
        session = self.declare_parameter("session", "").value or datetime.now(
            timezone.utc
        ).strftime("%Y%m%dT%H%M%S")
        self.path = Path(storage.data_dir, config.output_dir, f"{session}.mcap")
        self._depth = config.queue_depth
        self._recorded: dict[str, object] = {}  # topic -> its subscription, taken from
        self._recorder = McapRecorder(
            self.path,
            chunk_size=config.chunk_size,
            flush_interval=config.flush_interval,
            compression=config.compression,
            metadata={"session": session, "node": self.get_fully_qualified_name()},
        )
        self._pending: dict[str, str | None] = {}  # topic -> type name, None: ask the graph
        for entry in config.topics:
            topic, _, type_name = entry.partition(":")
            self._pending[topic] = type_name or None
        self.get_logger().info(f"recording {len(self._pending)} topics to {self.path}")
        self.create_timer(config.flush_interval / 2, self._recorder.flush_if_due)
        self.create_timer(config.take_period, self._take)
        self._discovery = self.create_timer(DISCOVERY_PERIOD, self._subscribe_pending)
        self._subscribe_pending()

    def _subscribe_pending(self) -> None:
        """Subscribe to each wanted topic whose type is known (given, or a publisher's).

        An untyped topic waits for a publisher, not just a name in the graph: a subscriber
        (a viewer) may name it first, and the QoS must follow what the publishers offer.
        """
        graph = {name for name, _ in self.get_topic_names_and_types()}
        for topic, given in list(self._pending.items()):
            if given:
                types = [given]
            elif topic in graph:
                types = sorted({p.topic_type for p in self.get_publishers_info_by_topic(topic)})
            else:
                types = []
            if len(types) != 1:
                if len(types) > 1:
                    self.get_logger().error(f"{topic}: several types {types}, not recorded")
                    del self._pending[topic]
                continue
            del self._pending[topic]
            try:
                self._subscribe(topic, types[0])
            except (ImportError, AttributeError, LookupError, ValueError) as e:
                self.get_logger().error(f"{topic}: not recorded: {type(e).__name__}: {e}")
        if not self._pending:
            self._discovery.cancel()

    def _subscribe(self, topic: str, type_name: str) -> None:
        package, _, name = type_name.rpartition("/")
        package = package.split("/")[0]
        msg_type = getattr(importlib.import_module(f"{package}.msg"), name)
        publishers = self.get_publishers_info_by_topic(topic)
        qos = _adapted_qos(publishers, self._depth)
        metadata = {"offered_qos_profiles": _offered_qos_yaml(publishers)}
        hashes = {_stringify_hash(p.topic_type_hash) for p in publishers}
        if len(hashes) == 1:
            metadata["topic_type_hash"] = hashes.pop()
        self._recorder.add_topic(topic, f"{package}/msg/{name}", metadata=metadata)
        self._recorded[topic] = self.create_subscription(
            msg_type, topic, ignore, qos, raw=True, callback_group=OwnerTakes()
        )
        self.get_logger().info(f"recording {topic} ({package}/msg/{name})")

    def _take(self) -> None:
        """Every message waiting on every topic into the file, merged by reception time; each
        topic's keep their order (a reliable topic's repaired sample is received late)."""
        if self._recorder is None:
            return
        batches = []
        for topic, subscription in self._recorded.items():
            batch = []
            for data, info in take_all(subscription):
                received = info.get("received_timestamp") or time.time_ns()
                batch.append((received, info.get("source_timestamp") or received, topic, data))
            if batch:
                batches.append(batch)
        for received, sent, topic, data in heapq.merge(*batches, key=lambda m: m[0]):
            self._recorder.write(topic, data, received, sent)

    def destroy_node(self) -> None:
        """Writes what is still waiting and finishes the file (summary, footer) before the node
        goes."""
        if self._recorder is not None:  # rclpy may destroy the node again at context shutdown
            try:
                self._take()
            except (InvalidHandle, RuntimeError) as e:  # the context went down first
                self.get_logger().warning(f"messages still waiting were not written: {e}")
            finally:
                recorder, self._recorder = self._recorder, None
                recorder.close()
            self.get_logger().info(f"{recorder.messages} messages in {self.path}")
        super().destroy_node()


def _adapted_qos(publishers, depth: int) -> QoSProfile:
    """Reliable / transient-local only if every publisher offers it, so all of them match.

    With no publisher yet (a typed topic), reliable and volatile, like ``ros2 bag record``.
    """
    offered = [p.qos_profile for p in publishers]
    reliable = all(q.reliability == ReliabilityPolicy.RELIABLE for q in offered)
    latched = bool(offered) and all(
        q.durability == DurabilityPolicy.TRANSIENT_LOCAL for q in offered
    )
    return QoSProfile(
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def _offered_qos_yaml(publishers) -> str:
    """rosbag2's ``offered_qos_profiles`` channel metadata (Jazzy+ form: names, not numbers)."""

    def duration(d) -> str:
        ns = d.nanoseconds
        return f"\n    sec: {ns // 10**9}\n    nsec: {ns % 10**9}"

    entries = []
    for p in publishers:
        q = p.qos_profile
        entries.append(
            f"- history: {q.history.name.lower()}\n"
            f"  depth: {q.depth}\n"
            f"  reliability: {q.reliability.name.lower()}\n"
            f"  durability: {q.durability.name.lower()}\n"
            f"  deadline:{duration(q.deadline)}\n"
            f"  lifespan:{duration(q.lifespan)}\n"
            f"  liveliness: {q.liveliness.name.lower()}\n"
            f"  liveliness_lease_duration:{duration(q.liveliness_lease_duration)}\n"
            f"  avoid_ros_namespace_conventions: {str(q.avoid_ros_namespace_conventions).lower()}"
        )
    return "\n".join(entries) if entries else "[]"


def _stringify_hash(type_hash) -> str:
    """``RIHS01_<hex>``, as rosidl_stringify_type_hash writes it."""
    return f"RIHS{type_hash.version:02d}_{bytes(type_hash.value).hex()}"


def main(args=None) -> None:
    built: list[RecorderNode] = []

    def make_node() -> RecorderNode:
        built.append(RecorderNode())
        return built[0]

    try:
        run_node(make_node, args)
    except OSError as e:  # the recording ends where the disk filled; what it holds is readable
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = built[0].path if built else "the session recording"
        raise SystemExit(f"{NODE_NAME}: disk full: cannot write {where} ({e.strerror})") from None


if __name__ == "__main__":
    main()
