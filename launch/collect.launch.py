"""Autonomous random-grasp collection:
ros2 launch supersize_grasp collect.launch.py [config_file:=my.yaml] [simulated:=false]
(the number of trials and the stage are ROS parameters of trial_tree: num_trials, stage).
"""

from supersize_grasp.graph import launch_description


def generate_launch_description():
    return launch_description("collect")
