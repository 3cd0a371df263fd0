"""The dataset writer of a fleet: ros2 launch supersize_grasp writer.launch.py config_file:=my.yaml
(my.yaml's storage.data_dir is the one store; every robot's trials reach it, each once).
"""

from supersize_grasp.graph import launch_description


def generate_launch_description():
    return launch_description("writer")
