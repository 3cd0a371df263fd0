"""Check the installation end to end over real DDS.

Starts the interface echo node in a second process, then sends it one request of every custom
service and action type and one message of every custom message type (baxter_core_msgs and
supersize_grasp_interfaces), and prints what came back and how long it took.
Isolate it from other ROS 2 graphs with ROS_DOMAIN_ID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def add_arguments(parser) -> None:
    parser.add_argument("--timeout", type=float, default=15.0, help="s per check (default 15)")


def run(args, config) -> int:
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
