"""Graph runs to completion: the collection and clutter-removal runs that the verbs start.

``collect``, ``stages``, ``clear-table`` and ``robot-test`` all start the same graphs as the launch
files (``supersize_grasp.graph``) through the runner, wait for the tree to finish its quota and
read what it stored; this is the one place that does it.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

from .config import Config, overlay
from .dataset.records import new_session_id
from .fleet import ROBOT_SEED_STRIDE, namespaced, robot_namespace
from .graph import clear_table_graph, collect_graph, writer_graph
from .launcher import GraphProcess


def _graph(specs, config: Config, real: bool) -> GraphProcess:
    """The graph on the simulator (or the real robot), without the recorder if not recording."""
    if not config.storage.record_mcap:
        specs = [s for s in specs if s.executable != "recorder"]
    return GraphProcess(specs, config=config, arguments={"simulated": not real})


def collect_trials(
    config: Config,
    trials: int,
    *,
    data: Path | None = None,
    stage: int = 0,
    policy: str = "random",
    model: Path | None = None,
    seed: int | None = None,
    split: str | None = None,
    real: bool = False,
    robot: str = "",
    progress: bool = False,
) -> int:
    """Collect ``trials`` labelled trials into ``data`` (default: ``storage.data_dir``) with the
    collection graph; returns the graph's exit code (0: the quota was reached). A fleet's
    ``robot`` runs in its namespace and ends once the fleet's writer holds its trials."""
    overrides = {}
    if data is not None:
        overrides["storage.data_dir"] = str(Path(data).resolve())
    if seed is not None:
        overrides["simulator.seed"] = overrides["trial.seed"] = seed
    if split is not None:
        overrides["simulator.ros.split"] = split
    if real:
        overrides["robot.use_sim_time"] = False
    config = overlay(config, overrides, "<command line>") if overrides else config
    specs = collect_graph(
        num_trials=trials,
        stage=stage,
        session=new_session_id(),
        policy=policy,
        checkpoint=str(Path(model).resolve()) if model else "",
        robot=robot,
    )
    with _graph(specs, config, real) as graph:
        bar = Progress(trials, [robot]) if progress else None
        try:
            return graph.wait()
        finally:
            if bar is not None:
                bar.close()


def clear_clutter(
    config: Config,
    data: Path,
    *,
    objects: int,
    split: str,
    seed: int,
    policy: str = "greedy",
    model: Path | None = None,
    real: bool = False,
) -> tuple[int, str]:
    """Clear one clutter of ``objects`` objects of ``split`` (seeded) into the bin; returns the
    graph's exit code and the session id under which the store holds its grasp attempts."""
    overrides = {
        "storage.data_dir": str(Path(data).resolve()),
        "simulator.seed": seed,
        "trial.seed": seed,
        "simulator.scene.n_objects": objects,
        "simulator.ros.split": split,
        "simulator.ros.auto_refill": False,
    }
    if real:
        overrides["robot.use_sim_time"] = False
    config = overlay(config, overrides, "<command line>")
    session = new_session_id()
    specs = clear_table_graph(
        policy=policy, checkpoint=str(Path(model).resolve()) if model else "", session=session
    )
    with _graph(specs, config, real) as graph:
        code = graph.wait()
    return code, session


def collect_fleet(
    config: Config,
    trials: int,
    robots: list[str],
    *,
    data: Path | None = None,
    seed: int | None = None,
    progress: bool = False,
    poll_period: float = 0.2,
) -> int:
    """``robots`` simulated Baxters on one domain, each collecting ``trials`` labelled trials
    into its spool (``<data>/spools/<robot>``), and the dataset writer taking every robot's
    trials into the one store ``data`` (default: ``storage.data_dir``). Returns 0 when each
    robot reached its quota and the writer holds its trials, else the first failure's code.

    Robot i collects with the seeds + i * ``ROBOT_SEED_STRIDE``: its own scenes and grasps."""
    root = Path(data if data is not None else config.storage.data_dir).resolve()
    writer = fleet_writer(config, root)
    graphs: dict[str, GraphProcess] = {}
    bar = None
    try:
        for i, robot in enumerate(robots):
            graphs[robot] = fleet_robot(config, root, robot, i, trials, seed)
        bar = Progress(trials * len(robots), robots) if progress else None
        return _wait_fleet(writer, graphs, poll_period)
    finally:
        for graph in graphs.values():
            graph.shutdown()
        writer.shutdown()
        if bar is not None:
            bar.close()


def fleet_writer(config: Config, root: Path) -> GraphProcess:
    """The dataset writer of the fleet store ``root``."""
    return GraphProcess(
        writer_graph(), config=overlay(config, {"storage.data_dir": str(root)}, "<fleet>")
    )


def fleet_robot(
    config: Config, root: Path, robot: str, index: int, trials: int, seed: int | None = None
) -> GraphProcess:
    """Simulated ``robot``, the ``index``-th of the fleet whose store is ``root``, collecting
    ``trials`` into its spool ``root/spools/<robot>`` (resumed if there) with its own seeds."""
    base = {"simulator.seed": config.simulator.seed, "trial.seed": config.trial.seed}
    if seed is not None:
        base = dict.fromkeys(base, seed)
    overrides = {k: v + index * ROBOT_SEED_STRIDE for k, v in base.items()}
    overrides["storage.data_dir"] = str(spool_path(root, robot))
    specs = collect_graph(num_trials=trials, session=new_session_id(), robot=robot)
    return _graph(specs, overlay(config, overrides, f"<robot {robot}>"), False)


def spool_path(root: Path, robot: str) -> Path:
    """Where a simulated fleet robot keeps its own store."""
    return Path(root, "spools", robot)


def _wait_fleet(writer: GraphProcess, graphs: dict[str, GraphProcess], poll_period: float) -> int:
    """Until every robot's graph has ended (a robot's ends once the writer holds its trials),
    the writer ends, or we are interrupted; the first failure's exit code, else 0."""
    running, code = dict(graphs), 0
    try:
        while running:
            exited = writer.poll()
            if exited:
                print(f"[fleet] the dataset writer exited with {exited[1]}", file=sys.stderr)
                return exited[1] or 1
            for robot, graph in list(running.items()):
                exited = graph.poll()
                if exited:
                    del running[robot]
                    graph.shutdown()
                    name, status = exited
                    if status != 0:
                        print(f"[fleet] {robot}: {name} exited with {status}", file=sys.stderr)
                        code = code or status
            time.sleep(poll_period)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    return code


class Progress:
    """A progress bar fed by the ``/trials`` topic (each robot's, in a fleet): trials, success
    rate, trials per hour."""

    def __init__(self, total: int, robots: list[str] | None = None) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from supersize_grasp_interfaces.msg import TrialRecord
        from tqdm import tqdm

        from supersize_grasp.qos import TRIALS_QOS

        self.bar = tqdm(total=total or None, unit="trial", dynamic_ncols=True)
        self.successes = self.labelled = 0
        self.started = time.monotonic()
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node("collect_progress", context=self.context)
        for robot in robots or [""]:
            topic = namespaced("/trials", robot_namespace(robot))
            self.node.create_subscription(TrialRecord, topic, self._on_trial, TRIALS_QOS)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_trial(self, msg) -> None:
        if msg.outcome not in (msg.OUTCOME_SUCCESS, msg.OUTCOME_FAILURE):
            self.bar.set_postfix_str(f"last: {msg.arm} not labelled ({msg.message or 'aborted'})")
            return
        self.labelled += 1
        self.successes += msg.success
        hours = (time.monotonic() - self.started) / 3600.0
        self.bar.update(1)
        self.bar.set_postfix(
            success=f"{self.successes / self.labelled:.1%}",
            per_hour=f"{self.labelled / hours:.0f}",
        )

    def close(self) -> None:
        self.executor.shutdown()
        self.thread.join(timeout=5.0)
        self.node.destroy_node()
        self.context.try_shutdown()
        self.bar.close()
