"""The dataset writer: the one store of a fleet, fed by every robot's spool over DDS.

A thin shell over :mod:`supersize_grasp.dataset.spool`: it finds each robot by its spool topic
(``/<robot>/spool/trials``, so a robot on another machine joins by running its graph on the same
domain), imports each trial once, in its spool's order, and answers with its cursor on the
robot's latched ``/<robot>/spool/ingested`` (a KeyValue: the spool's id, the last spool trial
id committed here). The cursor commits with the trial, so a writer killed at any point starts
again from its store.

Node name: ``dataset_writer``.
Subscribers: every ``*/spool/trials`` (UInt8MultiArray: a trial's record and images).
Publishers: ``*/spool/ingested`` (KeyValue, latched) for each robot found.
Parameters: ``config_file`` and every field of the ``storage`` section (``storage.data_dir``: the
    fleet's store); ``discovery_period`` (s between looks for new robots).
"""

from __future__ import annotations

import functools

import rclpy
from rclpy.node import Node
from rclpy.publisher import Publisher
from std_msgs.msg import UInt8MultiArray
from supersize_grasp_interfaces.msg import KeyValue

from supersize_grasp.behaviors.ros.spool import from_message
from supersize_grasp.dataset.spool import ingest, unpack
from supersize_grasp.dataset.store import StoreError, StoreFullError, TrialStore
from supersize_grasp.fleet import INGESTED_TOPIC, SPOOL_TOPIC
from supersize_grasp.nodes.parameters import load_node_config
from supersize_grasp.nodes.spin import run_node, start_or_destroy
from supersize_grasp.qos import LATCHED, SPOOL_QOS

SPOOL_TYPE = "std_msgs/msg/UInt8MultiArray"


class DatasetWriterNode(Node):
    def __init__(self, **kwargs) -> None:
        self.store: TrialStore | None = None  # Ctrl-C may end the constructor anywhere
        self.failure: str | None = None
        super().__init__("dataset_writer", **kwargs)
        start_or_destroy(self, self._start)

    def _start(self) -> None:
        storage = load_node_config(self, ["storage"]).storage
        period = self.declare_parameter("discovery_period", 1.0).value
        self.store = TrialStore.open(storage.data_dir)
        self.robots: dict[str, Publisher] = {}  # spool topic -> its robot's cursor publisher
        self.added = 0
        self.create_timer(period, self._discover)
        self._discover()
        self.get_logger().info(
            f"writing the fleet's trials into {storage.data_dir} ({self.store.count()} stored)"
        )

    def _discover(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self.robots or not topic.endswith(SPOOL_TOPIC) or SPOOL_TYPE not in types:
                continue
            robot = topic.removesuffix(SPOOL_TOPIC)
            cursor = self.create_publisher(KeyValue, robot + INGESTED_TOPIC, LATCHED)
            self.robots[topic] = cursor
            callback = functools.partial(self._on_trial, topic, cursor)
            self.create_subscription(UInt8MultiArray, topic, callback, SPOOL_QOS)
            self.get_logger().info(f"taking the trials of {robot or '/'} from {topic}")

    def _on_trial(self, topic: str, cursor: Publisher, msg: UInt8MultiArray) -> None:
        if self.store is None or self.failure is not None:
            return
        try:
            spooled = unpack(from_message(msg))
            added = ingest(self.store, spooled)
        except StoreFullError as e:
            self.failure = str(e)
            self.get_logger().error(f"stopping: {self.failure}")
            rclpy.try_shutdown(context=self.context)
            return
        except (ValueError, KeyError, StoreError) as e:
            self.get_logger().error(f"{topic}: a trial not taken: {e}", throttle_duration_sec=5.0)
            return
        cursor.publish(KeyValue(key=spooled.spool, value=str(self.store.cursor(spooled.spool))))
        if added:
            self.added += 1
            self.get_logger().info(
                f"trial {spooled.trial_id} of {spooled.session.robot} stored "
                f"({self.added} this run)",
                throttle_duration_sec=5.0,
            )

    def destroy_node(self) -> None:
        if self.store is not None:  # rclpy may destroy the node again at context shutdown
            self.store.close()
            self.store = None
        super().destroy_node()


def main(args=None) -> None:
    try:
        node = run_node(DatasetWriterNode, args)
    except StoreError as e:  # the store could not even be opened
        raise SystemExit(f"dataset_writer: {e}") from None
    if node is not None and node.failure is not None:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
