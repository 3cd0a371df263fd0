"""The scene camera: the paper's Kinect v2 on Baxter's head (iai_kinect2 topic names)."""

from pydantic import Field

from .base import StrictModel


class CameraConfig(StrictModel):
    image_topic: str = "/kinect2/hd/image_color_rect"
    depth_topic: str = "/kinect2/hd/image_depth_rect"
    info_topic: str = "/kinect2/hd/camera_info"
    pose_topic: str = Field(
        "/kinect2/hd/camera_pose",
        description="PoseStamped of the optical frame in the robot base frame (calibration)",
    )
    capture_timeout: float = Field(
        15.0,
        gt=0.0,
        description="s to wait for a fresh image, on the robot clock and the wall clock both (the "
        "capture subscribes anew each time: on a loaded machine DDS takes seconds to match it)",
    )
    max_clock_skew: float = Field(
        0.5,
        ge=0.0,
        description="s the camera computer's clock may be behind the robot clock: a frame "
        "stamped that much before the capture began still counts (a camera further behind "
        "delays every capture by the difference; `check --robot` measures it)",
    )
