"""A robot's store as a spool: its committed trials, one by one, into a fleet's one store.

Each robot keeps writing its own crash-safe store (as a single robot does); the fleet's writer
takes each committed trial from it, with its session and its scene's image files, and imports it
as ``supersize-grasp dataset merge`` does: under the ids it was collected with (a session's id
is time plus randomness, a scene's randomness), so a trial sent twice is kept once.

Trials travel in the spool's id order as a chain: each carries the spool's id of the trial
before it (``prev``), and the writer takes one only when ``prev`` is the cursor it committed
with the last one (:meth:`TrialStore.import_trial`'s ``cursor``, in the same transaction). So
the writer's store itself says which trials it holds: a writer or a robot killed at any point
resumes from it, losing none and adding none twice. A spool is known by its first session's
id, so a robot whose store was replaced starts a new chain instead of being skipped.

Plain Python: the ROS side (:mod:`supersize_grasp.behaviors.ros.spool`, the ``dataset_writer``
node) moves the parts of :func:`pack` as bytes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .merge import check_same_definition
from .records import Session, Trial
from .store import TrialStore

RECORD = "record.json"
"""The first part of a packed trial: the JSON document; the image files follow by name."""


@dataclass(frozen=True)
class SpooledTrial:
    """One trial as the writer receives it."""

    spool: str  # the spool's first session id
    trial_id: int  # in the spool
    prev: int  # the spool's trial id before it; 0 for the first
    session: Session
    scene: dict[str, Any]  # the scene's row (TrialStore.scene_row)
    files: dict[str, bytes]  # the scene's image files by name
    trial: Trial  # without its trial_id: the writer's store assigns one


def spool_id(store: TrialStore) -> str:
    """The spool's name for the writer's cursor: its first session's id ("" while empty)."""
    sessions = store.sessions()
    return sessions[0].session_id if sessions else ""


def pending(store: TrialStore, after: int, limit: int) -> list[tuple[int, Trial]]:
    """Up to ``limit`` trials after spool id ``after``, each with the id before it."""
    chain: list[tuple[int, Trial]] = []
    prev = after
    for trial in store.trials(labelled_only=False, after=after):
        if len(chain) >= limit:
            break
        chain.append((prev, trial))
        prev = trial.trial_id
    return chain


def pack(store: TrialStore, spool: str, prev: int, trial: Trial) -> list[tuple[str, bytes]]:
    """``trial`` of the spool ``store`` as parts: the JSON record, then its scene's images."""
    (session,) = [s for s in store.sessions() if s.session_id == trial.session_id]
    scene = store.scene_row(trial.scene_id)
    record = {
        "spool": spool,
        "trial_id": trial.trial_id,
        "prev": prev,
        "session": dataclasses.asdict(session),
        "scene": scene,
        "trial": {**dataclasses.asdict(trial), "trial_id": None},
    }
    parts = [(RECORD, json.dumps(record).encode())]
    for image in ("rgb", "depth"):
        name = scene[f"{image}_file"]
        parts.append((name, store.scene_file(name, scene[f"{image}_sha256"])))
    return parts


def unpack(parts: Sequence[tuple[str, bytes]]) -> SpooledTrial:
    """The parts of :func:`pack` back as a trial.

    Raises:
        ValueError: the parts are not a packed trial (the message says what is wrong).
    """
    if not parts or parts[0][0] != RECORD:
        raise ValueError(f"a spooled trial starts with {RECORD} (got {[n for n, _ in parts]})")
    try:
        record = json.loads(parts[0][1])
        trial = record["trial"]
        return SpooledTrial(
            spool=str(record["spool"]),
            trial_id=int(record["trial_id"]),
            prev=int(record["prev"]),
            session=Session(**record["session"]),
            scene=dict(record["scene"]),
            files=dict(parts[1:]),
            trial=Trial(
                **{
                    **trial,
                    "timings": dict(trial["timings"]),
                    "gripper_history": tuple(tuple(s) for s in trial["gripper_history"]),
                }
            ),
        )
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{RECORD}: not a spooled trial ({type(e).__name__}: {e})") from None


def ingest(store: TrialStore, spooled: SpooledTrial) -> bool | None:
    """Import ``spooled`` into the writer's ``store`` if it is the next of its spool's chain.

    True: added; False: it was here already (its cursor moves on all the same); None: not the
    next one (the cursor is elsewhere: the sender resends from :meth:`TrialStore.cursor`).
    The session's end time, when the spool has it by now, is taken over either way.

    Raises:
        MergeRefusedError: a session new to ``store`` was collected with another object set or
            trial definition than its data (as ``dataset merge`` refuses it); nothing is taken.
    """
    if not store.has_session(spooled.session.session_id):
        where = f"robot {spooled.session.robot}"
        check_same_definition(store, spooled.session, where, "its trials stay in its spool")
    store.import_session(spooled.session)
    if spooled.prev != store.cursor(spooled.spool):
        return None
    store.import_scene_data(spooled.scene, spooled.files)
    return store.import_trial(spooled.trial, cursor=(spooled.spool, spooled.trial_id))
