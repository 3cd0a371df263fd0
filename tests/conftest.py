"""Shared test set-up: an isolated ROS 2 domain on localhost and headless rendering."""

import os
import random

# Before rclpy or mujoco are imported by any test module.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 100)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("MUJOCO_GL", "egl")
