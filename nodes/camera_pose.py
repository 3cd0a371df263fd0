"""Publishes the head camera's calibrated pose, latched, where nothing else does (a real robot).

The simulated Baxter publishes its camera's true pose itself; on a real robot this node reads
the file ``supersize-grasp calibrate-camera`` wrote and publishes it once, latched, for the tree
and the scorer. A missing or malformed file stops the node with a message naming the file: a
tree without a camera pose would wait for ever.

Node name: ``camera_pose``.
Publishers: ``camera.pose_topic`` (``/kinect2/hd/camera_pose``, PoseStamped of the optical frame
    in the file's ``frame_id``, latched).
Parameters: ``config_file``; the ``camera``, ``robot`` and ``calibration`` sections
    (``calibration.file``: the calibration file).
"""

from __future__ import annotations

import sys

from geometry_msgs.msg import PoseStamped
from rclpy.node import Node

from supersize_grasp.calibration.result import CalibrationFileError, load_camera_pose
from supersize_grasp.nodes.parameters import load_node_config
from supersize_grasp.nodes.spin import run_node
from supersize_grasp.qos import LATCHED


class CameraPosePublisher(Node):
    def __init__(self) -> None:
        super().__init__("camera_pose")
        config = load_node_config(self, ["camera", "robot", "calibration"])
        path = config.calibration.file
        try:
            pose = load_camera_pose(path)
        except CalibrationFileError:
            self.destroy_node()
            raise
        msg = PoseStamped()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = pose.frame_id
        p, o = msg.pose.position, msg.pose.orientation
        p.x, p.y, p.z = pose.position
        o.x, o.y, o.z, o.w = pose.orientation
        self.publisher = self.create_publisher(PoseStamped, config.camera.pose_topic, LATCHED)
        self.publisher.publish(msg)
        self.get_logger().info(
            f"camera pose from {path} on {config.camera.pose_topic}: position "
            f"{[round(v, 4) for v in pose.position]} in {pose.frame_id}"
        )


def main(args=None) -> None:
    try:
        run_node(CameraPosePublisher, args)
    except CalibrationFileError as e:
        print(f"camera_pose: {e}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
