"""A tree of our behaviours ticking in the test process on its own node and executor."""

import threading
import time

import py_trees
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from supersize_grasp.behaviors.ros.trees import RosBehaviourTree

Status = py_trees.common.Status


class TreeRunner:
    """Ticks ``root`` every 50 ms on a node's executor; remembers every feedback it showed."""

    def __init__(self, root: py_trees.behaviour.Behaviour) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node("faults_tree", context=self.context)
        self.tree = RosBehaviourTree(root)
        try:
            self.tree.setup(node=self.node, timeout=180.0)  # a chooser waits for its scorer
        except BaseException:
            self.node.destroy_node()
            self.context.try_shutdown()
            raise
        self.seen: list[tuple[str, Status, str]] = []
        self.tree.add_post_tick_handler(self._record)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.tree.tick_tock(period=0.05)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _record(self, tree) -> None:
        for b in tree.root.iterate():
            entry = (b.name, b.status, b.feedback_message)
            if entry not in self.seen[-20:]:
                self.seen.append(entry)

    def wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"{what}; seen: {self.seen[-8:]}"
            time.sleep(0.05)

    def shown(self, name: str, status: Status, text: str, since: int = 0) -> bool:
        """Whether the behaviour showed ``text`` with ``status`` (from ``seen[since]`` on)."""
        return any(n == name and s == status and text in f for n, s, f in self.seen[since:])

    def close(self) -> None:
        self.executor.shutdown()
        self.thread.join(timeout=10.0)  # its spin must not outlive the context
        self.tree.stop()  # between ticks, as the tree's own node stops it
        self.node.destroy_node()
        self.context.try_shutdown()
