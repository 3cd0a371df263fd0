"""The paper's robot tests in the simulator: learned grasping against random, and clutter removal.

For each --policies policy and each object set (seen: the training split in new scenes; novel:
objects never trained on) the collection graph makes --tries labelled tries into
OUT/<policy>-<objects>; greedy is the paper's test policy (top 10 grasps re-ranked by their
neighbours), random the paper's random grasping, oracle the ceiling: the simulator tries
simulator.ros.oracle_budget of the learned policy's candidate grasps on copies of the scene and
executes one that lifted an object. Every --tries-per-scene tries the graph starts
again on a new seeded clutter, so that the tries spread over many objects (the table is otherwise
refilled only when it is empty, and a poor grasper would meet the same few objects all along);
all policies see the same clutters (seen: seeds --seed, --seed + 1, ...; novel: --seed + 1000,
...). Then --clutter-runs runs of clear-table with --clutter-objects novel objects each (seeds
--seed + 2000, + 2001, ...) into OUT/clear-table.
Finally OUT/report.md and OUT/results.json hold the success rates of every store in OUT (also
those of earlier runs with other --policies or --objects) with their intervals and the
interactions per clutter. Every store resumes: run the same command again after a stop, and only
what is missing is collected.
"""

from __future__ import annotations

import sys
from pathlib import Path

from supersize_grasp import test_objects
from supersize_grasp.graph import LEARNED
from supersize_grasp.models.weights import model_argument

POLICIES = ("oracle", "greedy", "sample", "random")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--model",
        type=model_argument,
        help="grasp-network checkpoint file, or shipped weights by name: default "
        "(learning.checkpoint)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder of the stores and report")
    parser.add_argument("--tries", type=int, default=150, help="labelled tries per policy and set")
    parser.add_argument(
        "--policies",
        default="oracle,greedy,random",
        help="comma-separated, of oracle, greedy, sample, random",
    )
    parser.add_argument(
        "--objects", default="seen,novel", help="object sets, comma-separated: seen, novel"
    )
    parser.add_argument(
        "--tries-per-scene", type=int, default=15, help="tries before a new clutter (default 15)"
    )
    parser.add_argument("--clutter-runs", type=int, default=5, help="clear-table runs (0: none)")
    parser.add_argument("--clutter-objects", type=int, default=10, help="objects per clutter")
    parser.add_argument("--seed", type=int, default=1000, help="first scene seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    test_objects.add_arguments(parser)


def _choices(text: str, allowed, what: str) -> list[str]:
    chosen = [c.strip() for c in text.split(",") if c.strip()]
    wrong = [c for c in chosen if c not in allowed]
    if wrong or not chosen:
        raise ValueError(f"--{what} {text!r}: expected a comma-separated list of {list(allowed)}")
    return list(dict.fromkeys(chosen))


def first_seed(seed: int, objects: str) -> int:
    """The first clutter seed of an object set: seen --seed, novel --seed + 1000, whichever sets
    are asked for, so that a row measured alone meets the same clutters."""
    from supersize_grasp.models.robot_tests import OBJECT_SETS

    return seed + 1000 * list(OBJECT_SETS).index(objects)


class RobotTestError(Exception):
    """A step failed or was stopped; carries the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def run(args, config) -> int:
    from supersize_grasp.launcher import exit_on_sigterm
    from supersize_grasp.models import robot_tests as rt

    exit_on_sigterm()
    try:
        config = test_objects.apply(args, config)
        policies = _choices(args.policies, POLICIES, "policies")
        object_sets = _choices(args.objects, rt.OBJECT_SETS, "objects")
        learned = [p for p in policies if p in LEARNED]
        model, described = _model(args, config, needed=bool(learned or args.clutter_runs))
        if args.tries < 1 or args.tries_per_scene < 1:
            raise RobotTestError("--tries and --tries-per-scene must be at least 1")
        args.out.mkdir(parents=True, exist_ok=True)
        for objects in object_sets:
            for policy in policies:
                _tries(args, config, policy, objects, first_seed(args.seed, objects), model)
        _clutter(args, config, learned[0] if learned else "greedy", model)
    except (RobotTestError, ValueError) as e:
        print(f"supersize-grasp robot-test: {e}", file=sys.stderr)
        return getattr(e, "code", 2)

    # every row stored in --out, not only this run's: a run of one set or policy keeps the others
    results = rt.collect_results(args.out, POLICIES, rt.OBJECT_SETS, described)
    report = rt.markdown(results, learned[0] if learned else "greedy")
    (args.out / "report.md").write_text(report)
    (args.out / "results.json").write_text(rt.to_json(results) + "\n")
    print(report)
    print(f"report: {args.out / 'report.md'}")
    return 0


def _model(args, config, needed: bool) -> tuple[Path | None, str]:
    """The model, checked, and how the report names it: its file, and what identifies it beyond
    the path."""
    from supersize_grasp.models.checkpoint import CheckpointError, check_inputs, load_checkpoint

    model = args.model or config.learning.checkpoint
    if model is None:
        if needed:
            raise RobotTestError("--model (or learning.checkpoint) is needed for learned grasping")
        return None, "none (no learned policy)"
    try:
        c = load_checkpoint(model)
        check_inputs(c, config.learning.inputs, str(model))
    except CheckpointError as e:
        raise RobotTestError(str(e)) from None
    return Path(model), (
        f"{model} ({c.profile} profile, {c.inputs} inputs, stage {c.stage}, {c.epoch} epochs, "
        f"training data {c.data_fingerprint[:12]})"
    )


def _tries(args, config, policy: str, objects: str, first_seed: int, model) -> None:
    """--tries of ``policy`` on ``objects``, a new clutter every --tries-per-scene."""
    from supersize_grasp.models import robot_tests as rt
    from supersize_grasp.runs import collect_trials

    while True:
        found = rt.policy_tries(args.out, policy, objects)
        done = found.tries if found else 0
        if done >= args.tries:
            return
        scene = done // args.tries_per_scene
        quota = min((scene + 1) * args.tries_per_scene, args.tries) - done
        print(
            f"{policy} on {objects} objects: tries {done + 1}-{done + quota} of {args.tries}, "
            f"clutter seed {first_seed + scene}",
            flush=True,
        )
        code = collect_trials(
            config,
            quota,
            data=rt.tries_store(args.out, policy, objects),
            policy=policy,
            model=model if policy in LEARNED else None,
            seed=first_seed + scene,
            split=rt.OBJECT_SETS[objects],
            progress=not args.quiet,
        )
        if code != 0:
            raise RobotTestError(f"{policy} on {objects} objects stopped ({code})", code)


def _clutter(args, config, policy: str, model) -> None:
    """--clutter-runs runs of clear-table on novel objects; finished runs are kept."""
    from supersize_grasp.models import robot_tests as rt
    from supersize_grasp.runs import clear_clutter

    store = rt.clutter_store(args.out)
    finished = {r.seed for r in rt.clutter_runs(store) if r.finished}
    for k in range(args.clutter_runs):
        seed = args.seed + 2000 + k
        if seed in finished:
            continue
        print(f"clutter run {k + 1}/{args.clutter_runs} (seed {seed})", flush=True)
        code, _ = clear_clutter(
            config,
            store,
            objects=args.clutter_objects,
            split="novel",
            seed=seed,
            policy=policy,
            model=model,
        )
        if code != 0:
            raise RobotTestError(f"clutter run {k + 1} stopped ({code})", code)
