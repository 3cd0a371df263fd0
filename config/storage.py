"""Where trials, recordings and checkpoints are kept."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .base import StrictModel

# Recording the 100 Hz state streams costs about a third of the collection speed on 2 cores
# (30 trials: 42.6 s instead of 31.8 s); drop them here when speed matters more than the record.
DEFAULT_RECORDED_TOPICS = [
    "/trials",
    "/robot/state",
    "/robot/joint_states",
    "/robot/limb/left/endpoint_state",
    "/robot/limb/right/endpoint_state",
    "/robot/limb/left/joint_command",
    "/robot/limb/right/joint_command",
    "/robot/end_effector/left_gripper/state",
    "/robot/end_effector/right_gripper/state",
    "/robot/end_effector/left_gripper/command",
    "/robot/end_effector/right_gripper/command",
    "/kinect2/hd/camera_info",
    "/kinect2/hd/camera_pose",
    "/trial_tree/snapshots",
    "/trial_tree/trial_view",
]


# "/name" or "/name:pkg/msg/Type"
RecordedTopic = Annotated[
    str, StringConstraints(pattern=r"^/[A-Za-z0-9_/~]+(:[A-Za-z]\w*/(msg/)?[A-Za-z]\w*)?$")
]


class RecorderConfig(StrictModel):
    """The recorder node: raw topics of a session to ``<data_dir>/<output_dir>/<session>.mcap``."""

    topics: list[RecordedTopic] = Field(
        DEFAULT_RECORDED_TOPICS,
        description="'/name' (type found in the graph) or '/name:pkg/msg/Type'; camera images "
        "are left out by default (the trial store keeps each scene once; the small annotated "
        "trial views are in, for the viewer's replay)",
    )
    output_dir: Path = Field(Path("sessions"), description="MCAP files; relative to data_dir")
    chunk_size: int = Field(
        1 << 20, ge=1024, description="bytes per compressed chunk; a crash loses the open chunk"
    )
    flush_interval: float = Field(
        2.0, gt=0.0, description="s: the open chunk is written to the file at least this often"
    )
    compression: Literal["zstd", "lz4", "none"] = "zstd"
    queue_depth: int = Field(
        1000,
        ge=1,
        description="messages queued per topic subscription between two takes (keep-last: more "
        "are lost); the robot's states come at most simulator.ros.max_state_rate_wall (300) a "
        "wall second, 15 a take_period: 1000 holds ~3 s of a recorder starved by a loaded machine",
    )
    take_period: float = Field(
        0.05,
        gt=0.0,
        le=0.2,
        description="s (wall) between takes of every topic's waiting messages: no executor "
        "callback for each message (of ~1,500 a wall second while collecting, which cost the "
        "recorder most of its CPU)",
    )


class StorageConfig(StrictModel):
    data_dir: Path = Field(Path("data"), description="trial store; relative to the working dir")
    record_mcap: bool = Field(True, description="record the raw ROS topics per session (MCAP)")
    checkpoint_dir: Path = Path("checkpoints")
    recorder: RecorderConfig = Field(RecorderConfig(), description="session recordings (MCAP)")
