"""supersize_grasp.simulator: the MuJoCo Baxter, plain Python (no ROS).

Rendering is headless by default: MuJoCo picks its GL platform when it is first imported, so the
choice is made here, before any module of this package imports it (set MUJOCO_GL to override).
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
