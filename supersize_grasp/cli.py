"""``supersize-grasp <verb>``: the one command-line entry point.

Each verb lives in ``supersize_grasp.commands.<module>`` with ``add_arguments(parser)`` and
``run(args, config) -> int``; its module is imported only when the verb runs, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from supersize_grasp import __version__

# verb -> (module, one-line help); a new verb: a module in supersize_grasp/commands/, a line here.
VERBS: dict[str, tuple[str, str]] = {
    "check": ("check", "check the installation: two ROS 2 nodes round-trip every interface type"),
    "bridge": ("bridge", "write the ros1_bridge topic list for the real Baxter (parameter_bridge)"),
    "config": ("config", "print the effective configuration (defaults + --config files) as YAML"),
    "dataset": ("dataset", "summarise a trial store (counts, success rates) and check it"),
    "sim": ("sim", "start the simulated Baxter alone (Baxter SDK interface over ROS 2)"),
    "collect": ("collect", "autonomous random grasp trials on the (simulated) Baxter, both arms"),
    "sim-collect": (
        "sim_collect",
        "bulk random trials through the simulator's Python API (no ROS), for learning data",
    ),
    "graspability": ("graspability", "measure which objects the gripper can hold at all"),
    "train": ("train", "train the grasp network on stored trials (resumable, TensorBoard logs)"),
    "report": ("report", "score models and baselines on seen and novel objects; write the report"),
    "stages": ("stages", "staged learning: collect with the model, aggregate (Gamma), fine-tune"),
    "clear-table": ("clear_table", "clear a clutter: grasp objects one by one into a bin"),
    "robot-test": (
        "robot_test",
        "the paper's robot tests: learned vs random grasping, seen and novel; clutter removal",
    ),
    "calibrate-camera": (
        "calibrate_camera",
        "eye-to-hand calibration of the head camera with a board held by a gripper",
    ),
    "watch": ("watch", "watch a behaviour tree live: render its snapshots in the terminal"),
    "view": ("view", "watch a behaviour tree in the browser, live or replaying a recorded session"),
}

DESCRIPTION = """\
Self-supervised grasp learning after Pinto & Gupta, "Supersizing Self-supervision" (ICRA 2016).

A behaviour tree makes random planar grasp trials on a (simulated) Baxter, labels each one from
the gripper, and a CNN learns to predict graspability for 18 angle bins.

Every verb takes --config FILE (YAML overlaying the defaults; repeat to stack files) and --help.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supersize-grasp",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'supersize-grasp <verb> --help' for the options of a verb.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", title="verbs")
    for name, (module, help_text) in VERBS.items():
        command = _command(module)
        sub = verbs.add_parser(
            name,
            help=help_text,
            description=(command.__doc__ or help_text).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--config",
            metavar="FILE",
            type=Path,
            action="append",
            default=[],
            help="YAML file overlaying the defaults (repeatable; later files win)",
        )
        command.add_arguments(sub)
        sub.set_defaults(_command=command)
    return parser


def _command(module: str):
    return importlib.import_module(f"supersize_grasp.commands.{module}")


def main(argv: list[str] | None = None) -> int:
    from supersize_grasp.config import ConfigError, load_config
    from supersize_grasp.launcher import node_environment

    os.environ.update(node_environment(os.environ))  # a verb's own rclpy nodes are nodes of ours

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"supersize-grasp {args.verb}: {e}", file=sys.stderr)
        return 2
    try:
        return int(args._command.run(args, config) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
