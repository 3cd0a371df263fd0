"""Graph runs to completion: the collection and clutter-removal runs that the verbs start.

``collect``, ``stages``, ``clear-table`` and ``robot-test`` all start the same graphs as the launch
files (``supersize_grasp.graph``) through the runner, wait for the tree to finish its quota and
read what it stored; this is the one place that does it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .config import Config, overlay
from .dataset.records import new_session_id
from .graph import clear_table_graph, collect_graph
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
    progress: bool = False,
) -> int:
    """Collect ``trials`` labelled trials into ``data`` (default: ``storage.data_dir``) with the
    collection graph; returns the graph's exit code (0: the quota was reached)."""
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
    )
    with _graph(specs, config, real) as graph:
        bar = Progress(trials) if progress else None
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


class Progress:
    """A progress bar fed by the ``/trials`` topic: trials, success rate, trials per hour."""

    def __init__(self, total: int) -> None:
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
        self.node.create_subscription(TrialRecord, "/trials", self._on_trial, TRIALS_QOS)
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
