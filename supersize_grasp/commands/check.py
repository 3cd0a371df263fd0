"""Check the installation end to end over real DDS, or, with --robot, the robot's side.

Without --robot it starts the interface echo node in a second process, then sends it one
request of every custom service and action type and one message of every custom message type
(baxter_core_msgs and supersize_grasp_interfaces), and prints what came back and how long it took.
Isolate it from other ROS 2 graphs with ROS_DOMAIN_ID.

With --robot (the preflight, before a collection run): every topic and service the collection
graph needs from the robot, the camera and the real robot's own nodes (camera_pose), with its
type and state (missing, rate, stale, clock skew), the robot E-stopped or not, the grippers, the
camera's intrinsics and pose, and the table height seen in depth against trial.table_z. One
line per problem; exit status 1 when there is any. On the real robot: --config
config/real_baxter.yaml (wall clock); without it, the simulator (simulated time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def add_arguments(parser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        help="s per check; --robot: s to wait for the topics and services (default 15)",
    )
    parser.add_argument(
        "--robot",
        action="store_true",
        help="preflight: check the robot's side of the collection graph instead",
    )


def run(args, config) -> int:
    if args.robot:
        from supersize_grasp import preflight
        from supersize_grasp.launcher import exit_on_sigterm

        exit_on_sigterm()
        return preflight.run(config, args.timeout)
    from supersize_grasp.nodes.interface_check import run_check
    from supersize_grasp.rclpy_compat import initialized

    domain = os.environ.get("ROS_DOMAIN_ID", "0")
    print(f"interface check on ROS_DOMAIN_ID={domain}: starting the echo node process")
    server = subprocess.Popen(
        [sys.executable, "-m", "supersize_grasp.nodes.interface_check"], start_new_session=True
    )
    try:
        with initialized():
            results = run_check(timeout=args.timeout)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    width = max(len(r.name) for r in results)
    for r in results:
        status = "ok  " if r.ok else "FAIL"
        print(f"  {status} {r.name:<{width}}  {r.seconds * 1000:7.1f} ms  {r.detail}")
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
