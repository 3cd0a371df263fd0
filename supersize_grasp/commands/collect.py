"""Autonomous self-supervised collection: random grasp trials, labelled by the robot itself.

Starts the node graph of `ros2 launch supersize_grasp collect.launch.py`: the simulated Baxter
(unless --real), the behaviour-tree node that runs both arms' trial loops, and shows the progress.
Trials are committed one by one to the store in --data; stop at any time (Ctrl-C, or even kill -9)
and run the same command again to continue.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from supersize_grasp.config import overlay
from supersize_grasp.dataset.store import new_session_id
from supersize_grasp.graph import collect_graph
from supersize_grasp.launcher import GraphProcess


def add_arguments(parser) -> None:
    parser.add_argument("--trials", type=int, default=100, help="labelled trials to collect")
    parser.add_argument("--data", type=Path, help="trial store (default: storage.data_dir)")
    parser.add_argument("--stage", type=int, default=0, help="0: random trials (default)")
    parser.add_argument(
        "--real", action="store_true", help="drive the real Baxter (no simulator is started)"
    )
    parser.add_argument(
        "--seed", type=int, help="scene and grasp seed (simulator.seed, trial.seed)"
    )
    parser.add_argument(
        "--policy",
        choices=("random", "sample", "greedy"),
        default="random",
        help="random: the paper's random trials; sample/greedy: the --model chooses the grasps",
    )
    parser.add_argument("--model", type=Path, help="grasp-network checkpoint for --policy")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args, config) -> int:
    overrides = {}
    if args.data is not None:
        overrides["storage.data_dir"] = str(args.data.resolve())
    if args.seed is not None:
        overrides["simulator.seed"] = overrides["trial.seed"] = args.seed
    if args.real:
        overrides["robot.use_sim_time"] = False
    config = overlay(config, overrides, "<command line>") if overrides else config
    session = new_session_id()
    if (args.policy == "random") != (args.model is None):
        print(
            "supersize-grasp collect: --model goes with --policy sample or greedy", file=sys.stderr
        )
        return 2
    specs = collect_graph(
        num_trials=args.trials,
        stage=args.stage,
        session=session,
        policy=args.policy,
        checkpoint=str(args.model.resolve()) if args.model else "",
    )
    if not config.storage.record_mcap:
        specs = [s for s in specs if s.executable != "recorder"]
    with GraphProcess(specs, config=config, arguments={"simulated": not args.real}) as graph:
        progress = None if args.quiet else Progress(args.trials)
        try:
            return graph.wait()
        finally:
            if progress is not None:
                progress.close()


class Progress:
    """A progress bar fed by the ``/trials`` topic: trials, success rate, trials per hour."""

    def __init__(self, total: int) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from supersize_grasp_interfaces.msg import TrialRecord
        from tqdm import tqdm

        from supersize_grasp.nodes.trial_tree import TRIALS_QOS

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
