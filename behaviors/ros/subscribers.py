"""Topic data to the blackboard: ``update`` takes the newest message and writes the board."""

from __future__ import annotations

from typing import Any

import py_trees
from rclpy.qos import QoSProfile

from supersize_grasp.qos import LATEST
from supersize_grasp.taken import OwnerTakes, ignore, take_latest

from .exceptions import NotReadyError


class ToBlackboard(py_trees.behaviour.Behaviour):
    """Copies the latest message of a topic to a blackboard key on every tick.

    RUNNING until the first message arrives, SUCCESS afterwards. Put these in a "topics to
    blackboard" branch ticked before the tasks, as py_trees_ros tutorials do. ``setup`` clears
    the key: a tree must never act on a message another tree (an earlier one in this process,
    on a robot since restarted) left there.

    The tick takes the newest message from the subscription itself (``OwnerTakes``): no executor
    callback for each of the robot's 100 Hz states, of which a 20 Hz tree reads one in five.
    While none arrives, the last one stays (the same object: ``RobotLink`` tells silence so).

    Args:
        name: behaviour name.
        topic: topic name.
        msg_type: message class.
        key: blackboard key (absolute, e.g. ``/robot/state``).
        qos: subscription QoS; by default only the newest message is kept.
    """

    def __init__(
        self, name: str, topic: str, msg_type: type, key: str, qos: QoSProfile | int = LATEST
    ):
        super().__init__(name)
        self.topic, self.msg_type, self.key, self.qos = topic, msg_type, key, qos
        self.blackboard = self.attach_blackboard_client(name)
        self.blackboard.register_key(key, access=py_trees.common.Access.WRITE)
        self._msg: Any = None
        self._subscription = None

    def setup(self, **kwargs) -> None:
        node = kwargs.get("node")
        if node is None:
            raise NotReadyError(f"{self.name}: setup needs node=")
        self.blackboard.unset(self.key)
        self._msg = None
        self._subscription = node.create_subscription(
            self.msg_type, self.topic, ignore, self.qos, callback_group=OwnerTakes()
        )

    def update(self) -> py_trees.common.Status:
        newest = take_latest(self._subscription) if self._subscription is not None else None
        if newest is not None:
            self._msg = newest
        msg = self._msg
        if msg is None:
            self.feedback_message = f"waiting for {self.topic}"
            return py_trees.common.Status.RUNNING
        self.blackboard.set(self.key, msg, overwrite=True)
        self.feedback_message = f"{self.topic} -> {self.key}"
        return py_trees.common.Status.SUCCESS
