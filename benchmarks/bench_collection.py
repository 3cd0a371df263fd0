"""End-to-end collection speed through the whole ROS 2 node graph, and where the time goes.

Runs `supersize-grasp collect` (simulated Baxter node + behaviour-tree node, over DDS; with a
learned --policy also the grasp scorer node) for --trials labelled trials, with both arms and then
with one, and prints:
  - trials per wall hour (first to last trial, start-up excluded) and per CPU hour (all processes),
  - the simulated seconds per trial and per phase of the trial (from the stored timings),
  - the grasp success rate,
  - where the CPU went: each node's CPU seconds per trial (sim_baxter, trial_tree, recorder, ...)
    and the runner's, start-up included.
With --bulk, the same trials through `supersize-grasp sim-collect` (the simulator's Python API,
one worker, the network in the worker for a learned policy) instead, for comparison.
Compare the CPU seconds per trial with `benchmarks/bench_simulator.py` (the same trial through
the plain-Python API) to see what the ROS interface and the tree add.

    python benchmarks/bench_collection.py --trials 100
    python benchmarks/bench_collection.py --trials 100 --policy sample --model default [--bulk]
    python benchmarks/bench_collection.py --arms left --config try.yaml   # a setting, one arm
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench_fleet import node_cpu  # this folder is on sys.path when run as a script

from supersize_grasp.dataset.store import TrialStore

EXE = Path(sys.prefix, "bin", "supersize-grasp")


def run(
    trials: int,
    arms: str,
    objects: str,
    workdir: Path,
    learned: list[str],
    bulk: bool,
    overlays: list[str],
) -> dict:
    data = workdir / f"data-{arms}"
    config = workdir / f"{arms}.yaml"
    lines = ["simulator:", f"  objects: {{folder: {objects}}}"] if objects else []
    if arms != "both":
        lines += ["arms:", f"  {'right' if arms == 'left' else 'left'}: {{enabled: false}}"]
    config.write_text("\n".join(lines) + "\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    verb = ["sim-collect", "--workers", "1"] if bulk else ["collect"]
    command = [EXE, *verb, "--trials", str(trials), "--data", data, "--quiet"]
    for overlay in [*overlays, config]:
        command += ["--config", overlay]
    runner = subprocess.Popen(
        [*command, *learned], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seen: dict[int, tuple[str, float]] = {}
    while runner.poll() is None:
        node_cpu(runner.pid, seen)
        time.sleep(0.5)
    if runner.returncode != 0:
        raise subprocess.CalledProcessError(runner.returncode, command)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with TrialStore.open(data, readonly=True) as store:
        records = list(store.trials(labelled_only=False))
    labelled = [t for t in records if t.labelled]
    stamps = sorted(t.stamp for t in records)
    span = stamps[-1] - stamps[0]
    phases: dict[str, list[float]] = defaultdict(list)
    for t in labelled:
        for phase, seconds in t.timings.items():
            if phase != "ik_failures":
                phases[phase].append(seconds)
    by_node: dict[str, float] = defaultdict(float)
    for module, seconds in seen.values():
        by_node[module] += seconds
    return {
        "by_node": {k: v / len(records) for k, v in by_node.items()},
        "arms": arms,
        "labelled": len(labelled),
        "unlabelled": len(records) - len(labelled),
        "success": sum(t.success for t in labelled) / max(1, len(labelled)),
        "per_hour": 3600 * (len(records) - 1) / span if span > 0 else float("nan"),
        "cpu_per_trial": cpu / len(records),
        "startup": wall - span,
        "phases": {k: statistics.mean(v) for k, v in phases.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument(
        "--objects", default="", help="object folder (default: the configured set, random_urdfs)"
    )
    parser.add_argument(
        "--policy", default="random", choices=("random", "sample", "greedy"), help="the chooser"
    )
    parser.add_argument("--model", default="default", help="checkpoint of a learned --policy")
    parser.add_argument(
        "--bulk", action="store_true", help="through sim-collect (no ROS), one worker"
    )
    parser.add_argument(
        "--arms", default="both,left", help="runs, comma-separated: both, left or right"
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE",
        help="YAML overlaying the defaults in every run (repeatable), to compare settings",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_DOMAIN_ID", "77")
    learned = [] if args.policy == "random" else ["--policy", args.policy, "--model", args.model]
    path = "sim-collect (Python API, 1 worker)" if args.bulk else "collect (ROS 2 graph)"
    print(
        f"machine: {os.cpu_count()} cores; {args.trials} labelled trials per run; {path}; "
        f"policy {args.policy}"
        + (f" ({args.model})" if learned else "")
        + "".join(f"; --config {c}" for c in args.config)
    )
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            run(args.trials, arms, args.objects, Path(tmp), learned, args.bulk, args.config)
            for arms in args.arms.split(",")
        ]
    for r in results:
        print(
            f"\n{r['arms']} arm(s): {r['per_hour']:,.0f} trials/h wall, "
            f"{3600 / r['cpu_per_trial']:,.0f} trials per CPU-hour "
            f"({r['cpu_per_trial']:.2f} CPU s/trial, all processes); start-up {r['startup']:.1f} s"
        )
        print(
            f"  {r['labelled']} labelled (+{r['unlabelled']} unlabelled), "
            f"{args.policy} success {r['success']:.1%}"
        )
        nodes = sorted(r["by_node"].items(), key=lambda kv: -kv[1])
        rest = r["cpu_per_trial"] - sum(r["by_node"].values())
        print(
            "  CPU s/trial by process: "
            + ", ".join(f"{m} {s:.2f}" for m, s in nodes)
            + f", runner and rest {rest:.2f}"
        )
        total = r["phases"].pop("total", float("nan"))
        print(f"  simulated seconds per trial: {total:.2f}; by phase:")
        for phase, seconds in sorted(r["phases"].items(), key=lambda kv: -kv[1]):
            if seconds >= 0.005:
                print(f"    {phase:<24} {seconds:6.2f} s  {seconds / total:5.1%}")


if __name__ == "__main__":
    main()
