"""The paper's robot tests (section VI-D), read from their trial stores.

Grasp success of a policy is the fraction of its labelled tries that lifted an object 20 cm, on
seen objects (the training split, in new poses) and on novel objects, with Wilson intervals; the
learned policy is compared with random grasping by the difference of the two rates (Newcombe's
interval), and read as a share of the oracle's rate on the same clutters. Clutter removal counts
the grasp interactions a run needed to clear its objects. Everything is computed from the stores,
so a report can be rebuilt at any time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from supersize_grasp.dataset.store import TrialStore

from .evaluation import Accuracy, difference, proportion

OBJECT_SETS = {"seen": "train", "novel": "novel"}
"""Test object set -> the simulator's object split."""

CEILING = "oracle"
"""The policy with the simulator's ground truth: what was achievable among the candidates."""
PAPER = {"greedy": {"seen": 0.73, "novel": 0.66}, "clutter_interactions": 26}


def tries_store(out_dir: Path, policy: str, objects: str) -> Path:
    return Path(out_dir) / f"{policy}-{objects}"


def clutter_store(out_dir: Path) -> Path:
    return Path(out_dir) / "clear-table"


@dataclass(frozen=True)
class PolicyTries:
    policy: str
    objects: str  # seen | novel
    success: Accuracy
    not_labelled: int  # IK failures and aborted tries: not counted
    per_object: dict[str, tuple[int, int]] = field(default_factory=dict)  # id: successes, tries

    @property
    def tries(self) -> int:
        return self.success.total


def policy_tries(out_dir: Path, policy: str, objects: str) -> PolicyTries | None:
    """The tries stored for ``policy`` on ``objects``; None if there is no store yet."""
    path = tries_store(out_dir, policy, objects)
    if not (path / "trials.sqlite").exists():
        return None
    with TrialStore.open(path, create=False, readonly=True) as store:
        summary = store.summary()
    overall = summary.overall
    return PolicyTries(
        policy,
        objects,
        proportion(overall.successes, overall.labelled),
        summary.trials - overall.labelled,
        {o: (t.successes, t.labelled) for o, t in summary.per_object.items() if t.labelled},
    )


@dataclass(frozen=True)
class ClutterRun:
    """One clutter-removal run: ``interactions`` grasp attempts removed ``removed`` objects."""

    session: str
    seed: int
    objects: int
    interactions: int
    removed: int
    finished: bool  # the tree ended the run (nothing left in reach or attempt limit), not a kill

    @property
    def per_object(self) -> float:
        return self.interactions / self.removed if self.removed else float("inf")


def removed_objects(trials) -> int:
    """The objects a clutter run removed: those its last try of each lifted (in the simulator
    every try names its object: one that slipped back onto the table on the way to the bin
    was tried again, and counts only if that lifted it; a try without one, as on the real
    robot, counts as an object of its own when it lifted)."""
    last: dict[str, bool] = {}
    anonymous = 0
    for t in trials:
        if t.object_id:
            last[t.object_id] = t.success
        else:
            anonymous += bool(t.success)
    return sum(last.values()) + anonymous


def clutter_runs(path: Path, session_id: str | None = None) -> list[ClutterRun]:
    """The clear-table sessions in the store ``path`` (all, or the one ``session_id``), in the
    order they ran."""
    if not (Path(path) / "trials.sqlite").exists():
        return []
    runs = []
    with TrialStore.open(path, create=False, readonly=True) as store:
        for session in store.sessions():
            if session_id is not None and session.session_id != session_id:
                continue
            config = yaml.safe_load(session.config_yaml) or {}
            simulator = config.get("simulator", {})
            trials = list(store.trials(session_id=session.session_id))
            runs.append(
                ClutterRun(
                    session.session_id,
                    int(simulator.get("seed", -1)),
                    int(simulator.get("scene", {}).get("n_objects", 0)),
                    interactions=len(trials),
                    removed=removed_objects(trials),
                    finished=session.ended is not None,
                )
            )
    return runs


@dataclass(frozen=True)
class RobotTests:
    tries: list[PolicyTries]
    clutter: list[ClutterRun]  # finished runs only
    model: str

    def rate(self, policy: str, objects: str) -> Accuracy | None:
        found = [t.success for t in self.tries if (t.policy, t.objects) == (policy, objects)]
        return found[0] if found else None


def collect_results(out_dir: Path, policies, object_sets, model: str) -> RobotTests:
    tries = [policy_tries(out_dir, p, o) for p in policies for o in object_sets]
    runs = [r for r in clutter_runs(clutter_store(out_dir)) if r.finished]
    return RobotTests([t for t in tries if t is not None], runs, model)


def markdown(results: RobotTests, learned: str = "greedy", baseline: str = "random") -> str:
    object_sets = [o for o in OBJECT_SETS if any(t.objects == o for t in results.tries)]
    lines = [
        "# Robot tests in the simulator",
        "",
        f"Model: `{results.model}`. Each row counts labelled tries (an unreachable grasp or an "
        "aborted try is not a try); intervals are 95 % (Wilson; Newcombe for differences).",
        "",
        "| Policy | " + " | ".join(f"{o.capitalize()} objects" for o in object_sets) + " |",
        "|---" * (len(object_sets) + 1) + "|",
    ]
    for policy in dict.fromkeys(t.policy for t in results.tries):
        cells = []
        for o in object_sets:
            rate = results.rate(policy, o)
            cells.append(f"{rate} (n = {rate.total})" if rate else "n/a")
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    cells = []
    for o in object_sets:
        a, b = results.rate(learned, o), results.rate(baseline, o)
        if a and b and a.total and b.total:
            d, low, high = difference(a, b)
            cells.append(f"{d:+.1%} [{low:+.1%}, {high:+.1%}]")
        else:
            cells.append("n/a")
    lines.append(f"| {learned} - {baseline} | " + " | ".join(cells) + " |")
    if any(t.policy == CEILING for t in results.tries):
        cells = []
        for o in object_sets:
            a, c = results.rate(learned, o), results.rate(CEILING, o)
            cells.append(f"{a.value / c.value:.0%}" if a and c and c.value else "n/a")
        lines.append(
            f"| {learned} / {CEILING} (share of the achievable) | " + " | ".join(cells) + " |"
        )
    paper = PAPER.get(learned, {})
    lines.append(
        f"| the paper ({learned}, real Baxter) | "
        + " | ".join(f"{paper[o]:.0%}" if o in paper else "" for o in object_sets)
        + " |"
    )
    lines += _objects_that_fail_most(results, object_sets)
    if results.clutter:
        runs = results.clutter
        removed = sum(r.removed for r in runs)
        interactions = sum(r.interactions for r in runs)
        lines += [
            "",
            "## Clutter removal",
            "",
            "| Run (seed) | Removed | Interactions | Per object removed |",
            "|---|---|---|---|",
        ]
        for r in runs:
            per = f"{r.per_object:.1f}" if r.removed else "n/a"
            lines.append(f"| {r.seed} | {r.removed}/{r.objects} | {r.interactions} | {per} |")
        lines += [
            "",
            f"Overall: {removed}/{sum(r.objects for r in runs)} objects removed in "
            f"{interactions} interactions over {len(runs)} runs: "
            f"{interactions / len(runs):.1f} interactions per run"
            + (f", {interactions / removed:.2f} per object removed" if removed else "")
            + f" (the paper: {PAPER['clutter_interactions']} interactions for 10 objects).",
        ]
    return "\n".join(lines) + "\n"


def _objects_that_fail_most(results: RobotTests, object_sets, rows: int = 10) -> list[str]:
    """Per object set, the objects with the most failed tries over all policies: where the
    figures above are lost (the object id is the simulator's; "(unknown)" when no object was
    near the grasp)."""
    lines = []
    for o in object_sets:
        tries = [t for t in results.tries if t.objects == o and t.per_object]
        if not tries:
            continue
        failed: dict[str, int] = {}
        for t in tries:
            for obj, (successes, labelled) in t.per_object.items():
                failed[obj] = failed.get(obj, 0) + labelled - successes
        worst = sorted(failed, key=lambda obj: (-failed[obj], obj))[:rows]
        lines += [
            "",
            f"## {o.capitalize()} objects that fail most",
            "",
            "| Object | " + " | ".join(f"{t.policy} (successes / tries)" for t in tries) + " |",
            "|---" * (len(tries) + 1) + "|",
        ]
        for obj in worst:
            cells = [
                "{} / {}".format(*t.per_object[obj]) if obj in t.per_object else "-" for t in tries
            ]
            lines.append(f"| {obj or '(unknown)'} | " + " | ".join(cells) + " |")
    return lines


def to_json(results: RobotTests) -> str:
    def rate(a: Accuracy) -> dict:
        return {"successes": a.correct, "tries": a.total, "rate": a.value, "ci95": [a.low, a.high]}

    return json.dumps(
        {
            "model": results.model,
            "tries": [
                {
                    "policy": t.policy,
                    "objects": t.objects,
                    **rate(t.success),
                    "not_labelled": t.not_labelled,
                    "per_object": {o: list(st) for o, st in sorted(t.per_object.items())},
                }
                for t in results.tries
            ],
            "clutter": [asdict(r) for r in results.clutter],
        },
        indent=2,
    )
