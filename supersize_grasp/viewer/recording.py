"""A recorded session (the recorder node's MCAP file) loaded into a :class:`Timeline` for replay.

The file is read once, in record order (the order the recorder received the messages): trial
views and trials fall between the snapshots they belong to. An unfinished file (a recorder killed
mid-session) replays up to its last complete chunk, as ``dataset.recorder.read_messages`` reads.
"""

from __future__ import annotations

from pathlib import Path

from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CompressedImage
from supersize_grasp_interfaces.msg import TreeSnapshot, TrialRecord

from supersize_grasp.dataset.recorder import read_messages

from .model import Timeline

__all__ = ["MCAP_MAGIC", "RecordingError", "load_recording"]

MCAP_MAGIC = b"\x89MCAP0\r\n"


class RecordingError(ValueError):
    """The file cannot be replayed; the message says why, naming the file."""


def load_recording(
    path: Path,
    snapshot_topic: str = "/trial_tree/snapshots",
    trial_view_topic: str = "/trial_tree/trial_view",
    trials_topic: str = "/trials",
) -> Timeline:
    """Every snapshot of ``snapshot_topic`` as a frame, with the trial views and trials.

    Raises:
        RecordingError: no such file, not MCAP, no snapshot on ``snapshot_topic``, or a topic
            recorded with another type than the viewer reads.
    """
    try:
        with open(path, "rb") as f:
            magic = f.read(len(MCAP_MAGIC))
    except OSError as e:
        raise RecordingError(f"{path}: {e.strerror or e}") from e
    if magic != MCAP_MAGIC:
        raise RecordingError(f"{path}: not an MCAP file")
    expected = {
        snapshot_topic: TreeSnapshot,
        trial_view_topic: CompressedImage,
        trials_topic: TrialRecord,
    }
    timeline = Timeline()
    topics: dict[str, str] = {}
    for schema, channel, message in read_messages(path):
        type_name = schema.name if schema is not None else ""
        topics.setdefault(channel.topic, type_name)
        msg_type = expected.get(channel.topic)
        if msg_type is None:
            continue
        wanted = _type_name(msg_type)
        if type_name != wanted:
            raise RecordingError(
                f"{path}: {channel.topic} is recorded as {type_name or 'an unknown type'}, "
                f"the viewer reads {wanted}"
            )
        msg = deserialize_message(message.data, msg_type)
        if msg_type is TreeSnapshot:
            timeline.add_snapshot(msg)
        elif msg_type is CompressedImage:
            timeline.add_trial_view(bytes(msg.data))
        else:
            timeline.add_trial(msg)
    if not len(timeline):
        recorded = ", ".join(sorted(topics)) or "no messages"
        raise RecordingError(f"{path}: no snapshot on {snapshot_topic} (recorded: {recorded})")
    return timeline


def _type_name(msg_type: type) -> str:
    """``pkg/msg/Type``, as MCAP's ros2 profile names schemas."""
    package = msg_type.__module__.split(".")[0]
    return f"{package}/msg/{msg_type.__name__}"
