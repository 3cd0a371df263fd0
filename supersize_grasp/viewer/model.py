"""What the viewer shows, as plain Python: snapshot frames, a timeline, status transitions, trials.

No ROS graph and no server here: :class:`Timeline` is fed ``TreeSnapshot``, ``TrialRecord`` and
trial-view JPEGs by the live subscriber or by a recording, and answers the page's questions
(a frame by index, the transitions around it, where a trial starts). Frames are kept
JSON-encoded and compressed: that is what goes to every browser, and an hour of snapshots of the
two-arm tree fits in tens of MB rather than GBs of dicts.
"""

from __future__ import annotations

import bisect
import html
import json
import math
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from supersize_grasp_interfaces.msg import BehaviourSnapshot, TreeSnapshot, TrialRecord

__all__ = ["STATUS_NAMES", "Timeline", "Transition", "snapshot_frame", "trial_json"]

STATUS_NAMES = {
    BehaviourSnapshot.STATUS_INVALID: "INVALID",
    BehaviourSnapshot.STATUS_RUNNING: "RUNNING",
    BehaviourSnapshot.STATUS_SUCCESS: "SUCCESS",
    BehaviourSnapshot.STATUS_FAILURE: "FAILURE",
}
# py_trees_ros_viewer's colours for the type bar at the left of each box
_TYPE_COLOURS = {
    BehaviourSnapshot.TYPE_SEQUENCE: "#FFA500",
    BehaviourSnapshot.TYPE_SELECTOR: "#00FFFF",
    BehaviourSnapshot.TYPE_PARALLEL: "#FFFF00",
    BehaviourSnapshot.TYPE_DECORATOR: "#DDDDDD",
    BehaviourSnapshot.TYPE_CHOOSER: "#808080",
}
_OUTCOMES = {
    TrialRecord.OUTCOME_SUCCESS: "success",
    TrialRecord.OUTCOME_FAILURE: "failure",
    TrialRecord.OUTCOME_IK_FAILED: "ik_failed",
    TrialRecord.OUTCOME_ABORTED: "aborted",
}


def _seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def snapshot_frame(msg: TreeSnapshot, trial_view: int | None = None) -> dict[str, Any]:
    """A snapshot as the page draws it (without its timeline ``index``).

    ``tree`` follows py_trees_js' JSON specification; py_trees_js writes names and feedback into
    the page as HTML, so there they are escaped (a feedback message is text, never markup).
    ``blackboard`` and ``statistics`` (ms) are plain values for the page's own panels.
    """
    behaviours = {}
    for b in msg.behaviours:
        status = STATUS_NAMES.get(b.status, "INVALID")
        behaviours[b.own_id] = {
            "id": b.own_id,
            "name": html.escape(b.name),
            "status": status,
            "colour": _TYPE_COLOURS.get(b.type, "#555555"),
            "children": list(b.child_ids),
            "details": html.escape(b.message),
            "data": {
                "Type": html.escape(b.class_name),
                "Feedback": html.escape(b.message),
            },
        }
    s = msg.statistics
    stamp = _seconds(msg.header.stamp)
    return {
        "stamp": stamp,
        "tree_name": msg.tree_name,
        "changed": msg.changed,
        "tree": {
            "timestamp": stamp,
            "behaviours": behaviours,
            "visited_path": [b.own_id for b in msg.behaviours if b.is_active],
        },
        "blackboard": [[kv.key, kv.value] for kv in msg.blackboard_on_visited_path],
        "statistics": {
            "count": s.count,
            "duration": s.tick_duration * 1e3,
            "duration_mean": s.tick_duration_mean * 1e3,
            "duration_std": math.sqrt(max(s.tick_duration_variance, 0.0)) * 1e3,
            "interval": s.tick_interval * 1e3,
            "interval_mean": s.tick_interval_mean * 1e3,
            "interval_std": math.sqrt(max(s.tick_interval_variance, 0.0)) * 1e3,
        },
        "trial_view": trial_view,
    }


def trial_json(msg: TrialRecord) -> dict[str, Any]:
    """A finished trial for the page's trial list."""
    return {
        "trial_id": msg.trial_id,
        "arm": msg.arm,
        "chooser": msg.chooser,
        "outcome": _OUTCOMES.get(msg.outcome, "aborted"),
        "message": msg.message,
        "score": None if math.isnan(msg.grasp.score) else float(msg.grasp.score),
        "stamp": _seconds(msg.header.stamp),
        "duration": msg.duration,
    }


@dataclass(frozen=True)
class Transition:
    """One behaviour's status change between two consecutive snapshots."""

    frame: int
    stamp: float
    behaviour_id: str
    name: str
    path: str  # ancestor names, root first: names repeat across arms, paths do not
    before: str
    after: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "stamp": self.stamp,
            "id": self.behaviour_id,
            "name": self.name,
            "path": self.path,
            "from": self.before,
            "to": self.after,
            "message": self.message,
        }


def _paths(msg: TreeSnapshot) -> dict[str, str]:
    by_id = {b.own_id: b for b in msg.behaviours}
    paths: dict[str, str] = {}
    for b in msg.behaviours:  # root first: a parent's path is known before its children's
        parent = paths.get(b.parent_id) if b.parent_id in by_id else None
        paths[b.own_id] = f"{parent} / {b.name}" if parent else b.name
    return paths


class Timeline:
    """Snapshot frames numbered from 0, with their status transitions, trials and trial views.

    Args:
        limit: frames kept (the oldest go first, with their transitions and the trial views
            that only they showed); ``None`` keeps all (a replayed recording).
    """

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self._frames: deque[bytes] = deque()  # zlib-compressed JSON, frame index = _first + i
        self._stamps: deque[float] = deque()
        self._first = 0
        self._transitions: deque[Transition] = deque()
        self._statuses: dict[str, str] = {}
        self._paths: dict[str, str] = {}
        self._shape: tuple = ()
        self.trials: list[dict[str, Any]] = []
        self.behaviour_names: set[str] = set()
        self._views: OrderedDict[int, bytes] = OrderedDict()
        self._next_view = 0

    # ------------------------------------------------------------------ feeding

    def add_snapshot(self, msg: TreeSnapshot) -> dict[str, Any]:
        """Append a snapshot; returns its frame (with ``index`` and ``transitions``)."""
        index = self._first + len(self._frames)
        view = self._next_view - 1 if self._next_view else None
        frame = snapshot_frame(msg, view)
        frame["index"] = index
        shape = tuple((b.own_id, b.parent_id, b.name) for b in msg.behaviours)
        if shape != self._shape:  # a new tree (node restarted) or a grown/pruned one
            self._shape, self._paths = shape, _paths(msg)
            self.behaviour_names.update(b.name for b in msg.behaviours)
        transitions = []
        for b in msg.behaviours:
            status = STATUS_NAMES.get(b.status, "INVALID")
            before = self._statuses.get(b.own_id)
            if before is not None and before != status:
                transitions.append(
                    Transition(
                        index,
                        frame["stamp"],
                        b.own_id,
                        b.name,
                        self._paths[b.own_id],
                        before,
                        status,
                        b.message,
                    )
                )
        self._statuses = {b.own_id: STATUS_NAMES.get(b.status, "INVALID") for b in msg.behaviours}
        self._transitions.extend(transitions)
        frame["transitions"] = [t.to_json() for t in transitions]
        self._frames.append(zlib.compress(json.dumps(frame).encode(), 1))
        self._stamps.append(frame["stamp"])
        if self.limit is not None and len(self._frames) > self.limit:
            self._evict()
        return frame

    def add_trial_view(self, jpeg: bytes) -> int:
        """Keep a trial view (annotated JPEG); later frames refer to it by the returned id."""
        view = self._next_view
        self._next_view += 1
        self._views[view] = bytes(jpeg)
        return view

    def add_trial(self, msg: TrialRecord) -> dict[str, Any]:
        """Append a finished trial; ``frame`` is the first frame of its grasp (None: not kept)."""
        trial = trial_json(msg)
        trial["number"] = len(self.trials)
        start = trial["stamp"] - trial["duration"]
        i = len(self._stamps)
        while i > 0 and self._stamps[i - 1] >= start:  # newest first: a trial is recent
            i -= 1
        trial["frame"] = self._first + i if i < len(self._stamps) else None
        self.trials.append(trial)
        return trial

    def _evict(self) -> None:
        self._frames.popleft()
        self._stamps.popleft()
        self._first += 1
        while self._transitions and self._transitions[0].frame < self._first:
            self._transitions.popleft()
        oldest_view = json.loads(zlib.decompress(self._frames[0]))["trial_view"]
        while self._views and oldest_view is not None and next(iter(self._views)) < oldest_view:
            self._views.popitem(last=False)

    # ------------------------------------------------------------------ queries

    @property
    def first(self) -> int:
        return self._first

    @property
    def last(self) -> int:
        """Index of the newest frame; ``first - 1`` when there is none."""
        return self._first + len(self._frames) - 1

    def __len__(self) -> int:
        return len(self._frames)

    def frame_json(self, index: int) -> bytes | None:
        """Frame ``index`` as JSON bytes, None when it was never there or is no longer kept."""
        if not self._first <= index <= self.last:
            return None
        return zlib.decompress(self._frames[index - self._first])

    def frame(self, index: int) -> dict[str, Any] | None:
        data = self.frame_json(index)
        return None if data is None else json.loads(data)

    def trial_view(self, view: int) -> bytes | None:
        return self._views.get(view)

    def frame_at(self, stamp: float) -> int | None:
        """The first frame stamped at or after ``stamp`` (stamps of one run only grow)."""
        i = bisect.bisect_left(self._stamps, stamp)
        return self._first + i if i < len(self._stamps) else None

    def transitions(
        self, name: str | None = None, around: int | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` transitions of behaviours called ``name`` (None: all), centred on
        frame ``around`` (None: the newest), oldest first."""
        rows = [t for t in self._transitions if name is None or t.name == name]
        if around is None:
            chosen = rows[-limit:] if limit else []
        else:
            at = bisect.bisect_left([t.frame for t in rows], around)
            start = max(0, min(at - limit // 2, len(rows) - limit))
            chosen = rows[start : start + limit]
        return [t.to_json() for t in chosen]
