"""The simulated Baxter alone: ros2 launch supersize_grasp sim.launch.py [config_file:=my.yaml]."""

from supersize_grasp.graph import launch_description


def generate_launch_description():
    return launch_description("sim")
