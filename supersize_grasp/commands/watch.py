"""Watch a behaviour tree live: redraw the terminal with each snapshot the tree publishes.

Subscribes to a tree's TreeSnapshot topic (latched, so the last snapshot shows at once, even from
a tree that is not ticking) and renders behaviours with their statuses and feedback messages, the
blackboard on the visited path and the tick statistics. --once prints one snapshot and exits
(status 1 if none arrived within --timeout), for scripts and tests. --robot NAME watches a fleet
robot's tree (/NAME/trial_tree/snapshots). Stop it with Ctrl-C.
Set ROS_DOMAIN_ID to the tree's domain.
"""

from __future__ import annotations

import os
import sys
import time
from typing import NoReturn

DEFAULT_TOPIC = "/trial_tree/snapshots"
WAIT_NOTICE_S = 1.0  # discovery takes a moment: only then say that no publisher is there
_CLEAR = "\033[H\033[2J"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--topic", help=f"snapshot topic (default {DEFAULT_TOPIC}, under /ROBOT with --robot)"
    )
    parser.add_argument(
        "--robot", default="", help="a fleet robot's tree: its topics under /ROBOT (default: none)"
    )
    parser.add_argument("--once", action="store_true", help="print one snapshot and exit")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="s to wait for a snapshot with --once (default 10)",
    )
    parser.add_argument(
        "--no-color", action="store_true", help="plain text (colours go only to a terminal anyway)"
    )
    parser.add_argument(
        "--no-blackboard", action="store_true", help="leave out the blackboard section"
    )


def run(args, config) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from supersize_grasp_interfaces.msg import TreeSnapshot

    from supersize_grasp.behaviors.ros.snapshots import SNAPSHOT_QOS, render_snapshot
    from supersize_grasp.fleet import namespaced, robot_namespace
    from supersize_grasp.rclpy_compat import initialized

    try:
        namespace = robot_namespace(args.robot)
    except ValueError as e:
        print(f"supersize-grasp watch: --robot: {e}", file=sys.stderr)
        return 2
    args.topic = args.topic or namespaced(DEFAULT_TOPIC, namespace)
    tty = sys.stdout.isatty()
    encoding = sys.stdout.encoding or "ascii"

    def render(msg) -> str:
        return render_snapshot(
            msg,
            color=tty and not args.no_color,
            show_blackboard=not args.no_blackboard,
            unicode=_can_encode("✓✕", encoding),
        )

    received = []
    with initialized():
        node = rclpy.create_node(f"watch_{os.getpid()}")
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        try:
            try:
                node.create_subscription(TreeSnapshot, args.topic, received.append, SNAPSHOT_QOS)
            except rclpy.exceptions.InvalidTopicNameException as e:
                print(f"supersize-grasp watch: {e}", file=sys.stderr)
                return 2
            if args.once:
                return _once(node, executor, args, received, render)
            return _stream(node, executor, args.topic, received, render)
        except (KeyboardInterrupt, ExternalShutdownException):
            print()
            return 130 if args.once else 0  # a script's --once got nothing; a watcher is done
        finally:
            executor.shutdown()
            node.destroy_node()


def _can_encode(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _once(node, executor, args, received, render) -> int:
    """Print the first snapshot that arrives; 1 with a reason if none does in time."""
    start = time.monotonic()
    deadline = start + args.timeout
    waiting_said = False
    while not received:
        now = time.monotonic()
        remaining = deadline - now
        if remaining <= 0:
            if node.count_publishers(args.topic) == 0:
                reason = "no publisher on it"
            else:
                reason = "a publisher is there, but sent no snapshot (QoS or type mismatch?)"
            print(
                f"supersize-grasp watch: no snapshot on {args.topic} within {args.timeout:g} s: "
                f"{reason}",
                file=sys.stderr,
            )
            return 1
        if not waiting_said and now - start > WAIT_NOTICE_S:
            waiting_said = True
            if not node.count_publishers(args.topic):
                print(f"waiting for a publisher on {args.topic} ...", file=sys.stderr, flush=True)
        executor.spin_once(timeout_sec=min(0.1, remaining))
    sys.stdout.write(render(received[-1]))
    sys.stdout.flush()
    return 0


def _stream(node, executor, topic, received, render) -> NoReturn:
    """Redraw on each snapshot until Ctrl-C; say so while no publisher is there."""
    tty = sys.stdout.isatty()
    start = time.monotonic()
    waiting_said = False
    while True:
        executor.spin_once(timeout_sec=0.2)
        if received:
            msg = received[-1]
            received.clear()
            header = f"{topic}  (Ctrl-C to quit)\n\n" if tty else ""
            sys.stdout.write((_CLEAR if tty else "\n") + header + render(msg))
            sys.stdout.flush()
            waiting_said = False
        elif (
            not waiting_said
            and time.monotonic() - start > WAIT_NOTICE_S
            and node.count_publishers(topic) == 0
        ):
            print(f"waiting for a publisher on {topic} (Ctrl-C to quit) ...", flush=True)
            waiting_said = True
