"""Summarise a trial store and check it: counts, success rates, sessions, integrity.

Prints trials and successes, the success rate per arm, per object, per stage and per session,
the session recordings (MCAP) left unfinished, then every integrity problem (database, image
checksums, dangling references, orphan files).
Opens the store read-only, so it is safe while a collection is writing to it.
Exit status: 0 sound, 1 damaged, 2 DIR is not a trial store.

``dataset merge A B ... --into C`` joins stores collected apart into C (made if absent): run it
again and nothing is added twice; a store of another object set or trial definition is refused by
name unless --force.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument(
        "dir", type=Path, nargs="+", metavar="DIR", help="the trial store, or: merge STORE..."
    )
    parser.add_argument("--into", type=Path, help="merge: the store that receives the others")
    parser.add_argument(
        "--force", action="store_true", help="merge: stores of another configuration too"
    )


def run(args, config) -> int:
    if args.into is not None or (len(args.dir) > 1 and args.dir[0] == Path("merge")):
        return _merge(args)
    if len(args.dir) > 1:
        print("supersize-grasp dataset: one DIR, or: merge STORE... --into STORE", file=sys.stderr)
        return 2
    args.dir = args.dir[0]
    from supersize_grasp.dataset.store import NotAStoreError, StoreError, TrialStore

    try:
        store = TrialStore.open(args.dir, create=False, readonly=True)
    except NotAStoreError as e:
        print(f"supersize-grasp dataset: {e}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"supersize-grasp dataset: DAMAGED: {e}", file=sys.stderr)
        return 1
    with store:
        try:
            _print_summary(store)
        except StoreError as e:  # the database reads, but not all of it
            print(f"summary unavailable: {e}")
        problems = store.check_integrity()
    _print_recordings(args.dir / config.storage.recorder.output_dir)
    if problems:
        print(f"integrity: DAMAGED, {len(problems)} problem(s)")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print("integrity: ok")
    return 0


def _merge(args) -> int:
    from supersize_grasp.dataset.merge import merge_stores
    from supersize_grasp.dataset.store import StoreError

    sources = args.dir[1:] if args.dir[0] == Path("merge") else args.dir
    if args.into is None or not sources:
        print("supersize-grasp dataset merge: STORE... --into STORE", file=sys.stderr)
        return 2
    try:
        count = merge_stores(sources, args.into, force=args.force)
    except StoreError as e:
        print(f"supersize-grasp dataset merge: {e}", file=sys.stderr)
        return 2
    print(
        f"{args.into}: {count.trials} trials added ({count.trials_known} already there), "
        f"{count.scenes} scenes, {count.sessions} sessions"
    )
    return 0


def _print_summary(store) -> None:
    summary = store.summary()
    sessions = store.sessions()
    print(f"{store.root}: {summary.trials} trials, {summary.overall.successes} successes")
    print(
        f"  {summary.overall.labelled} labelled ({_rate(summary.overall)}), "
        + ", ".join(f"{n} {outcome}" for outcome, n in summary.outcomes.items())
        + f"; {summary.scenes} scenes"
    )
    if summary.trials:
        per_trial = store.scene_bytes() / summary.trials
        print(
            f"  disk: {per_trial / 1e3:.0f} kB of scene images per trial "
            f"(50,000 trials: {per_trial * 50_000 / 1e9:.1f} GB)"
        )
    for title, table in (
        ("arm", summary.per_arm),
        ("object", summary.per_object),
        ("stage", summary.per_stage),
    ):
        print(f"per {title}:")
        for key, tally in table.items():
            name = key if key != "" else "(unknown)"
            print(f"  {name!s:<24} {tally.successes:>7} / {tally.labelled:<7} {_rate(tally)}")
    print(f"sessions: {len(sessions)}")
    for s in sessions:
        tally = summary.per_session.get(s.session_id)
        ended = "interrupted or running" if s.ended is None else f"{s.ended - s.started:.0f} s"
        counts = f"{tally.successes} / {tally.labelled} {_rate(tally)}" if tally else "no labels"
        print(f"  {s.session_id}  {s.robot:<10} seed {s.seed:<6} {ended:<24} {counts}")


def _print_recordings(folder: Path) -> None:
    """Session MCAP files; an unfinished one is being recorded or its recorder was killed."""
    from supersize_grasp.dataset.recorder import is_finished

    files = sorted(folder.glob("*.mcap"))
    if not files:
        return
    unfinished = [f for f in files if not is_finished(f)]
    print(f"recordings: {len(files)} in {folder}, {len(unfinished)} unfinished")
    for f in unfinished:
        print(f"  {f.name}: no footer (still recording, or interrupted: dataset.recorder.recover)")


def _rate(tally) -> str:
    rate = tally.success_rate
    return "n/a" if math.isnan(rate) else f"{100 * rate:.1f}% success"
