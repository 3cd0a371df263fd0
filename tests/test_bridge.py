"""The ros1_bridge parameter_bridge file: the shipped one is the generation, and it lists what
our nodes use on a real robot (tests/test_ros1_pairing.py checks that its types pair)."""

import re

import yaml

from supersize_grasp import cli
from supersize_grasp.bridge import PROFILE, SHIPPED, SHIPPED_COMMAND, parameter_bridge_yaml
from supersize_grasp.config import load_config
from supersize_grasp.config.storage import DEFAULT_RECORDED_TOPICS


def shipped():
    return yaml.safe_load(SHIPPED.read_text())


def test_shipped_file_is_the_generation():
    generated = parameter_bridge_yaml(load_config([PROFILE]))
    assert SHIPPED.read_text() == generated, (
        f"{SHIPPED.name} and its generation differ: run `{SHIPPED_COMMAND}` and commit the file"
    )


def test_the_verb_prints_the_same_file(capsys):
    assert cli.main(["bridge", "--config", "config/real_baxter.yaml"]) == 0
    printed = capsys.readouterr().out
    shipped_output = "--output config/ros1_bridge/parameter_bridge.yaml"
    assert printed.replace("> FILE", shipped_output) == SHIPPED.read_text()


def test_entries_have_what_parameter_bridge_reads():
    data = shipped()
    assert set(data) == {"topics", "services_1_to_2", "services_2_to_1"}
    assert data["services_1_to_2"] == data["services_2_to_1"] == []
    names = [entry["topic"] for entry in data["topics"]]
    assert len(names) == len(set(names))
    for entry in data["topics"]:
        assert set(entry) == {"topic", "type", "queue_size"}, entry
        assert re.fullmatch(r"/[\w/]+", entry["topic"]), entry
        assert re.fullmatch(r"\w+/msg/\w+", entry["type"]), entry
        assert isinstance(entry["queue_size"], int) and entry["queue_size"] > 0


def test_robot_and_camera_topics_of_both_arms_and_no_camera_pose():
    config = load_config([PROFILE])
    robot, camera = config.robot, config.camera
    types = {entry["topic"]: entry["type"] for entry in shipped()["topics"]}
    expected = {
        robot.state_topic: "baxter_core_msgs/msg/AssemblyState",
        robot.joint_states_topic: "sensor_msgs/msg/JointState",
        robot.enable_topic: "std_msgs/msg/Bool",
        camera.image_topic: "sensor_msgs/msg/Image",
        camera.depth_topic: "sensor_msgs/msg/Image",
        camera.info_topic: "sensor_msgs/msg/CameraInfo",
    }
    for side in ("left", "right"):
        expected |= {
            robot.topic(robot.joint_command_topic, side): "baxter_core_msgs/msg/JointCommand",
            robot.topic(robot.endpoint_state_topic, side): "baxter_core_msgs/msg/EndpointState",
            robot.topic(
                robot.gripper_command_topic, side
            ): "baxter_core_msgs/msg/EndEffectorCommand",
            robot.topic(robot.gripper_state_topic, side): "baxter_core_msgs/msg/EndEffectorState",
        }
    assert types == expected
    # Published on the ROS 2 side by the calibration node: never bridged, but said so.
    assert camera.pose_topic not in types
    assert f"# - {camera.pose_topic}: nothing publishes it on a real robot" in SHIPPED.read_text()


def test_every_recorded_robot_and_camera_topic_is_bridged_but_the_camera_pose():
    bridged = {entry["topic"] for entry in shipped()["topics"]}
    ours = {"/trials", "/trial_tree/snapshots", "/trial_tree/trial_view"}
    missing = set(DEFAULT_RECORDED_TOPICS) - ours - bridged
    assert missing == {"/kinect2/hd/camera_pose"}


def test_names_and_arms_come_from_the_configuration(tmp_path):
    overlay = tmp_path / "lab.yaml"
    overlay.write_text(
        "arms: {right: {enabled: false}}\n"
        "camera: {image_topic: /lab_camera/rgb}\n"
        "robot: {joint_command_topic: '/lab/{side}/command'}\n"
    )
    text = parameter_bridge_yaml(load_config([PROFILE, overlay]))
    topics = [entry["topic"] for entry in yaml.safe_load(text)["topics"]]
    assert "/lab_camera/rgb" in topics and "/kinect2/hd/image_color_rect" not in topics
    assert "/lab/left/command" in topics
    assert not [t for t in topics if "right" in t]
