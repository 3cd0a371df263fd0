"""Joining trial stores from machines that never met into one, idempotently.

Every session and scene keeps the id it was given where it was collected (ids are unique: time
plus randomness), so a store merged twice, or a store merged into one that already holds part of
it, adds nothing the second time. Scene images are hard-linked where the stores share a file
system (copied otherwise) and checked against their checksums before their rows commit; each
trial commits on its own, so a merge killed midway is finished by running it again.

Stores of another object set or trial definition would mix labels that mean different things, so
a session whose configuration differs from the target's in one of ``IDENTITY`` is refused by
name unless forced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from supersize_grasp.config.loader import flatten_tree

from .records import Session
from .store import StoreError, TrialStore

IDENTITY = (
    "robot.label",
    "trial.table_z",
    "trial.approach_height",
    "trial.lift_height",
    "trial.grasp_depth",
    "trial.num_angle_bins",
    "trial.label_settle",
    "simulator.objects",
    "simulator.table",
    "simulator.gripper",
    "simulator.camera",
)
"""Configuration that says what a trial's label means: what was grasped, how, and seen how."""
NOT_IDENTITY = ("simulator.objects.cache_dir", "simulator.objects.use_cache")


class MergeRefusedError(StoreError):
    """A source store's sessions were collected under another configuration."""


@dataclass
class MergeCount:
    sessions: int = 0
    scenes: int = 0
    trials: int = 0
    trials_known: int = 0  # already in the target: not added again


def merge_stores(
    sources: Iterable[str | Path], into: str | Path, force: bool = False
) -> MergeCount:
    """Every session, scene and trial of ``sources`` into the store at ``into`` (made if absent).

    Raises:
        MergeRefusedError: a source session's configuration differs in ``IDENTITY`` (not with
            ``force``); nothing of that source is merged.
        StoreError: a source or the target cannot be used.
    """
    count = MergeCount()
    with TrialStore.open(into) as target:
        reference = _reference(target)
        for path in sources:
            with TrialStore.open(path, create=False, readonly=True) as source:
                sessions = source.sessions()
                if not force:
                    for session in sessions:
                        reference = reference or _identity(session.config_yaml)
                        _check_same(
                            str(source.root),
                            session.session_id,
                            session.config_yaml,
                            reference,
                            "--force merges it anyway",
                        )
                for session in sessions:
                    count.sessions += target.import_session(session)
                for scene_id in source.scene_ids():
                    count.scenes += target.import_scene(source, scene_id)
                for trial in source.trials(labelled_only=False):
                    added = target.import_trial(trial)
                    count.trials += added
                    count.trials_known += not added
    return count


def check_same_definition(target: TrialStore, session: Session, where: str, hint: str = "") -> None:
    """Refuse ``session`` (``MergeRefusedError``, naming ``where`` it came from and the first
    setting that differs) when ``target`` holds data of another object set or trial
    definition; ``hint`` ends the message."""
    reference = _reference(target)
    if reference is not None:
        _check_same(where, session.session_id, session.config_yaml, reference, hint)


def _reference(target: TrialStore) -> dict[str, Any] | None:
    first = target.sessions(limit=1)
    return _identity(first[0].config_yaml) if first else None


def _identity(config_yaml: str) -> dict[str, Any]:
    config = yaml.safe_load(config_yaml) or {}
    flat = flatten_tree(config)
    return {
        key: value
        for key, value in flat.items()
        if any(key == k or key.startswith(k + ".") for k in IDENTITY)
        and not any(key == k or key.startswith(k + ".") for k in NOT_IDENTITY)
    }


def _check_same(
    where: str, session_id: str, config_yaml: str, reference: dict[str, Any], hint: str = ""
) -> None:
    mine = _identity(config_yaml)
    for key in sorted(set(mine) | set(reference)):
        if mine.get(key) != reference.get(key):
            raise MergeRefusedError(
                f"{where}: session {session_id} was collected with {key} = {mine.get(key)!r}, "
                f"the target's data with {reference.get(key)!r}: another object set or trial "
                "definition" + (f" ({hint})" if hint else "")
            )
