"""Decorators our trees need that py_trees does not ship."""

from __future__ import annotations

from collections.abc import Callable

import py_trees

from .robot import (
    Status,
)

PATHS = ("above", "down", "up")  # every plan: move above, go down, come back up


class RepeatUntil(py_trees.decorators.Decorator):
    """Runs its child again and again; SUCCESS once ``until()`` holds when a run has finished.

    Checked only between runs, so a trial in progress is never cut short.
    """

    def __init__(self, name: str, child: py_trees.behaviour.Behaviour, until: Callable[[], bool]):
        super().__init__(name=name, child=child)
        self.until = until
        self.runs = 0

    def update(self) -> Status:
        if self.decorated.status in (Status.SUCCESS, Status.FAILURE):
            self.runs += 1
            if self.until():
                self.feedback_message = f"done after {self.runs} runs"
                return Status.SUCCESS
        self.feedback_message = f"run {self.runs + 1}"
        return Status.RUNNING
