"""Clutter removal with the learned grasp policy:
ros2 launch supersize_grasp clear_table.launch.py config_file:=my.yaml [simulated:=false]
(my.yaml sets learning.checkpoint, the model to grasp with; clear_table.max_interactions).
"""

from supersize_grasp.graph import launch_description


def generate_launch_description():
    return launch_description("clear_table")
