"""Autonomous random-grasp collection:
ros2 launch supersize_grasp collect.launch.py [config_file:=my.yaml] [simulated:=false]
    [robot:=baxter_7]
(the number of trials and the stage are ROS parameters of trial_tree: num_trials, stage; a robot
of a fleet runs in /<robot> and spools its trials to the fleet's dataset writer).
"""

from supersize_grasp.graph import launch_description


def generate_launch_description():
    return launch_description("collect")
