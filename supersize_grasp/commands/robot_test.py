"""The paper's robot tests in the simulator: learned grasping against random, and clutter removal.

For each --policies policy and each object set (seen: the training split in new scenes; novel:
objects never trained on) the collection graph makes --tries labelled tries into
OUT/<policy>-<objects>; greedy is the paper's test policy (top 10 grasps re-ranked by their
neighbours), random the paper's random grasping. Both policies start from the same seeded clutter
(seen: --seed, novel: --seed + 1000). Then --clutter-runs runs of clear-table with
--clutter-objects novel objects each (seeds --seed + 2000, + 2001, ...) into OUT/clear-table.
Finally OUT/report.md and OUT/results.json hold the success rates with their intervals and the
interactions per clutter. Every store resumes: run the same command again after a stop, and only
what is missing is collected.
"""

from __future__ import annotations

import sys
from pathlib import Path

POLICIES = ("greedy", "sample", "random")


def add_arguments(parser) -> None:
    parser.add_argument("--model", type=Path, help="grasp-network checkpoint (learning.checkpoint)")
    parser.add_argument("--out", type=Path, required=True, help="folder of the stores and report")
    parser.add_argument("--tries", type=int, default=150, help="labelled tries per policy and set")
    parser.add_argument(
        "--policies", default="greedy,random", help="comma-separated, of greedy, sample, random"
    )
    parser.add_argument(
        "--objects", default="seen,novel", help="object sets, comma-separated: seen, novel"
    )
    parser.add_argument("--clutter-runs", type=int, default=5, help="clear-table runs (0: none)")
    parser.add_argument("--clutter-objects", type=int, default=10, help="objects per clutter")
    parser.add_argument("--seed", type=int, default=1000, help="first scene seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _choices(text: str, allowed, what: str) -> list[str]:
    chosen = [c.strip() for c in text.split(",") if c.strip()]
    wrong = [c for c in chosen if c not in allowed]
    if wrong or not chosen:
        raise ValueError(f"--{what} {text!r}: expected a comma-separated list of {list(allowed)}")
    return list(dict.fromkeys(chosen))


def run(args, config) -> int:
    from supersize_grasp.models import robot_tests as rt
    from supersize_grasp.models.checkpoint import CheckpointError, load_checkpoint
    from supersize_grasp.runs import clear_clutter, collect_trials

    def fail(message: str, code: int = 2) -> int:
        print(f"supersize-grasp robot-test: {message}", file=sys.stderr)
        return code

    try:
        policies = _choices(args.policies, POLICIES, "policies")
        object_sets = _choices(args.objects, rt.OBJECT_SETS, "objects")
    except ValueError as e:
        return fail(str(e))
    model = args.model or config.learning.checkpoint
    learned = [p for p in policies if p != "random"]
    if (learned or args.clutter_runs) and model is None:
        return fail("--model (or learning.checkpoint) is needed for learned grasping")
    if model is not None:
        try:
            load_checkpoint(model)
        except CheckpointError as e:
            return fail(str(e))
    args.out.mkdir(parents=True, exist_ok=True)

    for i, objects in enumerate(object_sets):
        for policy in policies:
            found = rt.policy_tries(args.out, policy, objects)
            missing = args.tries - (found.tries if found else 0)
            if missing <= 0:
                continue
            print(f"{policy} on {objects} objects: {missing} tries", flush=True)
            code = collect_trials(
                config,
                missing,
                data=rt.tries_store(args.out, policy, objects),
                policy=policy,
                model=None if policy == "random" else model,
                seed=args.seed + 1000 * i,
                split=rt.OBJECT_SETS[objects],
                progress=not args.quiet,
            )
            if code != 0:
                return fail(f"{policy} on {objects} objects stopped ({code})", code)

    store = rt.clutter_store(args.out)
    for k in range(args.clutter_runs):
        seed = args.seed + 2000 + k
        if any(r.finished and r.seed == seed for r in rt.clutter_runs(store)):
            continue
        print(f"clutter run {k + 1}/{args.clutter_runs} (seed {seed})", flush=True)
        code, _ = clear_clutter(
            config,
            store,
            objects=args.clutter_objects,
            split="novel",
            seed=seed,
            policy=learned[0] if learned else "greedy",
            model=model,
        )
        if code != 0:
            return fail(f"clutter run {k + 1} stopped ({code})", code)

    results = rt.collect_results(args.out, policies, object_sets, str(model))
    report = rt.markdown(results, learned[0] if learned else "greedy")
    (args.out / "report.md").write_text(report)
    (args.out / "results.json").write_text(rt.to_json(results) + "\n")
    print(report)
    print(f"report: {args.out / 'report.md'}")
    return 0
