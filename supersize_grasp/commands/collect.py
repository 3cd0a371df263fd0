"""Autonomous self-supervised collection: random grasp trials, labelled by the robot itself.

Starts the node graph of `ros2 launch supersize_grasp collect.launch.py`: the simulated Baxter
(unless --real), the behaviour-tree node that runs both arms' trial loops, and shows the progress.
Trials are committed one by one to the store in --data; stop at any time (Ctrl-C, or even kill -9)
and run the same command again to continue.

--robots N starts a fleet on one ROS domain: N simulated Baxters, each in its own namespace
(/baxter_0, ...) collecting --trials into its own store (<data>/spools/<robot>), and the dataset
writer that takes every robot's trials into the one store in --data, each once. --robot NAME runs
this one robot (a real one with --real) as a member of a fleet whose writer runs elsewhere on the
same domain.
"""

from __future__ import annotations

import sys
from pathlib import Path

from supersize_grasp.models.weights import model_argument


def add_arguments(parser) -> None:
    parser.add_argument(
        "--trials", type=int, default=100, help="labelled trials to collect (0: until stopped)"
    )
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
        choices=("random", "sample", "greedy", "oracle"),
        default="random",
        help="random: the paper's random trials; sample/greedy: the --model chooses the grasps; "
        "oracle: the simulator's ground truth does (the ceiling)",
    )
    parser.add_argument(
        "--model",
        type=model_argument,
        help="grasp-network checkpoint for --policy (a file, or shipped weights: default)",
    )
    parser.add_argument(
        "--robots",
        type=int,
        default=0,
        help="a fleet: this many simulated robots and the dataset writer (0: one robot, no fleet)",
    )
    parser.add_argument(
        "--robot",
        default="",
        help="this robot's name in a fleet: its graph in /<robot>, its trials spooled to the "
        "fleet's writer",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args, config) -> int:
    from supersize_grasp.fleet import robot_names, robot_namespace
    from supersize_grasp.graph import LEARNED
    from supersize_grasp.launcher import exit_on_sigterm
    from supersize_grasp.runs import collect_fleet, collect_trials

    exit_on_sigterm()

    if (args.policy in LEARNED) != (args.model is not None):
        print(
            "supersize-grasp collect: --model goes with --policy sample or greedy", file=sys.stderr
        )
        return 2
    if args.policy == "oracle" and args.real:
        print(
            "supersize-grasp collect: the oracle needs the simulator, not --real", file=sys.stderr
        )
        return 2
    try:
        robot_namespace(args.robot)
    except ValueError as e:
        print(f"supersize-grasp collect: --robot: {e}", file=sys.stderr)
        return 2
    if args.robots:
        if args.robots < 0 or args.real or args.robot or args.policy != "random" or args.stage:
            print(
                "supersize-grasp collect: --robots N starts N simulated robots collecting random "
                "trials (stage 0); a real robot joins a fleet with --real --robot NAME",
                file=sys.stderr,
            )
            return 2
        return collect_fleet(
            config,
            args.trials,
            robot_names(args.robots),
            data=args.data,
            seed=args.seed,
            progress=not args.quiet,
        )
    return collect_trials(
        config,
        args.trials,
        data=args.data,
        stage=args.stage,
        policy=args.policy,
        model=args.model,
        seed=args.seed,
        real=args.real,
        robot=args.robot,
        progress=not args.quiet,
    )
