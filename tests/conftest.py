"""Shared test set-up: an isolated ROS 2 domain on localhost and headless rendering."""

import os
import random
import signal

from supersize_grasp.launcher import node_environment  # imports neither rclpy nor mujoco

# Before rclpy or mujoco are imported by any test module.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 100)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.update(node_environment(os.environ))  # the nodes' Fast DDS profile, as for every verb

# Triton's LLVM (torch imports it with its first optimizer) crashes the process when it loads
# after MuJoCo's EGL context (Mesa's LLVM) in the same process: load it first, so tests that
# render and tests that train may run in any order in one pytest process.
import torch._dynamo  # noqa: F401

# A shell starts background jobs (`make test &`, a CI step in the background) with SIGINT ignored,
# and children inherit that: a verb the tests stop with Ctrl-C would then never see it. Handled
# here, SIGINT reaches every child as SIG_DFL, as in a terminal's foreground job.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
