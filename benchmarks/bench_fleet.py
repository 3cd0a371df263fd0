"""Fleet scaling: trials per hour and CPU per trial for N simulated robots on this machine.

Runs `supersize-grasp collect --robots N` (N simulated Baxters, their trees, their recorders and
the dataset writer, over DDS on one domain) for each N, and prints:
  - trials per wall hour, from the first trial committed to the last (start-up excluded),
  - CPU seconds per trial, all processes, start-up included, and the cores kept busy,
  - where the CPU went: the share of each node (sim_baxter, trial_tree, recorder,
    dataset_writer) and of the runner.
With every robot's physics, rendering and tree on the same cores, trials per hour stop growing
once the CPU is saturated: compare "cores busy" with `os.cpu_count()`.

    python benchmarks/bench_fleet.py --robots 1 2 4 --trials 10
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from supersize_grasp.dataset.store import TrialStore

EXE = Path(sys.prefix, "bin", "supersize-grasp")
NODE_MODULE = "supersize_grasp.nodes."
TICK = os.sysconf("SC_CLK_TCK")


def node_cpu(runner: int, seen: dict[int, tuple[str, float]]) -> None:
    """CPU seconds so far of each node process the ``runner`` started, by pid, into ``seen``."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path("/proc", pid, "cmdline").read_bytes().split(b"\0")
            stat = Path("/proc", pid, "stat").read_text()
        except OSError:
            continue
        modules = [a.decode() for a in cmdline if a.startswith(NODE_MODULE.encode())]
        fields = stat.rsplit(")", 1)[1].split()  # state, ppid, ...; utime and stime at 11, 12
        if modules and int(fields[1]) == runner:
            cpu = (int(fields[11]) + int(fields[12])) / TICK
            seen[int(pid)] = (modules[0].removeprefix(NODE_MODULE), cpu)


def spooled(data: Path) -> int:
    total = 0
    for spool in (data / "spools").glob("*"):
        if (spool / "trials.sqlite").exists():
            with TrialStore.open(spool, create=False, readonly=True) as store:
                total += store.count()
    return total


def run(robots: int, trials: int, config: Path, workdir: Path) -> dict:
    data = workdir / f"fleet-{robots}"
    command = [EXE, "collect", "--robots", str(robots), "--trials", str(trials), "--data", data]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    runner = subprocess.Popen(
        [*command, "--quiet", "--config", config],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: dict[int, tuple[str, float]] = {}
    counts: list[tuple[float, int]] = []
    while runner.poll() is None:
        node_cpu(runner.pid, seen)
        counts.append((time.monotonic(), spooled(data)))
        time.sleep(1.0)
    wall = time.monotonic() - start
    if runner.returncode != 0:
        raise SystemExit(f"collect --robots {robots} exited with {runner.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with TrialStore.open(data, readonly=True) as store:
        stored, labelled = store.count(), store.count(labelled_only=True)
        by_robot = {s.robot for s in store.sessions()}
    first = next(t for t, n in counts if n >= 1)
    last_n = counts[-1][1]
    last = next(t for t, n in counts if n == last_n)
    by_node: dict[str, float] = defaultdict(float)
    for module, seconds in seen.values():
        by_node[module] += seconds
    return {
        "robots": robots,
        "stored": stored,
        "labelled": labelled,
        "robot_names": len(by_robot),
        "per_hour": 3600 * (last_n - 1) / (last - first) if last > first else float("nan"),
        "cpu_per_trial": cpu / stored,
        "busy": cpu / wall,
        "startup": first - start,
        "by_node": dict(by_node),
        "cpu": cpu,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--robots", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--trials", type=int, default=10, help="labelled trials per robot")
    parser.add_argument("--objects", default="builtin:primitives", help="object folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_DOMAIN_ID", "77")
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load {load:.1f} before; {args.trials} trials/robot")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "bench.yaml")
        config.write_text(f"simulator:\n  objects: {{folder: {args.objects!r}}}\n")
        for robots in args.robots:
            r = run(robots, args.trials, config, Path(tmp))
            print(
                f"\nN = {r['robots']}: {r['per_hour']:,.0f} trials/h wall, "
                f"{r['cpu_per_trial']:.2f} CPU s/trial (all processes, start-up included), "
                f"{r['busy']:.2f} cores busy; start-up {r['startup']:.1f} s"
            )
            print(
                f"  {r['stored']} trials in the one store ({r['labelled']} labelled) "
                f"from {r['robot_names']} robots"
            )
            shares = sorted(r["by_node"].items(), key=lambda kv: -kv[1])
            nodes = sum(r["by_node"].values())
            print(
                "  CPU by node: "
                + ", ".join(f"{m} {s / r['cpu']:.0%}" for m, s in shares)
                + f", runner and rest {1 - nodes / r['cpu']:.0%}"
            )


if __name__ == "__main__":
    main()
