"""Session recordings: rosbag2's definition format, the recorder node over DDS, kill -9 safety."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rclpy
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import String
from supersize_grasp_interfaces.msg import TrialRecord

from supersize_grasp.dataset.recorder import (
    SEPARATOR,
    DefinitionNotFoundError,
    McapRecorder,
    is_finished,
    message_definition,
    read_messages,
    recover,
)
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.launcher import GraphProcess

pytestmark = pytest.mark.ros

SHARE = Path(sys.prefix, "share")
EXE = Path(sys.prefix, "bin", "supersize-grasp")
COLLECT_CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
"""


def read_ros2_messages(path: Path):
    """Decoded with mcap_ros2 (its ``reader`` module is deprecated in favour of this)."""
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        yield from reader.iter_decoded_messages()


def test_definition_is_rosbag2s_concatenated_msg_text():
    text = message_definition("supersize_grasp_interfaces/msg/TrialRecord")
    root = (SHARE / "supersize_grasp_interfaces" / "msg" / "TrialRecord.msg").read_text()
    assert text.startswith(root + f"\n{SEPARATOR}\nMSG: geometry_msgs/Pose\n")
    headers = [line for line in text.splitlines() if line.startswith("MSG: ")]
    assert headers == [  # depth first, sorted, each type once
        "MSG: geometry_msgs/Pose",
        "MSG: geometry_msgs/Point",
        "MSG: geometry_msgs/Quaternion",
        "MSG: sensor_msgs/RegionOfInterest",
        "MSG: std_msgs/Header",
        "MSG: builtin_interfaces/Time",
        "MSG: supersize_grasp_interfaces/PlanarGrasp",
        "MSG: geometry_msgs/PointStamped",
    ]
    assert message_definition("std_msgs/String") == (SHARE / "std_msgs/msg/String.msg").read_text()
    with pytest.raises(DefinitionNotFoundError, match="no_such_pkg"):
        message_definition("no_such_pkg/msg/Thing")
    with pytest.raises(DefinitionNotFoundError, match="NoSuchType"):
        message_definition("std_msgs/msg/NoSuchType")


def record_process(tmp_path: Path, topics: list[str], *extra: str) -> subprocess.Popen:
    topic_list = "[" + ", ".join(f"'{t}'" for t in topics) + "]"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "supersize_grasp.nodes.recorder",
            "--ros-args",
            "-p",
            f"storage.data_dir:={tmp_path}",
            "-p",
            f"storage.recorder.topics:={topic_list}",
            "-p",
            "session:=test",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


class Publishers:
    """Publishers in this process, on their own context; waits until the recorder subscribed."""

    def __init__(self, specs: dict[str, type]) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node("recorder_test_publisher", context=self.context)
        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        self.pubs = {t: self.node.create_publisher(m, t, qos) for t, m in specs.items()}

    def wait_for_subscribers(self, recorder: subprocess.Popen, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while any(p.get_subscription_count() == 0 for p in self.pubs.values()):
            assert recorder.poll() is None, recorder.stdout.read()
            assert time.monotonic() < deadline, "the recorder did not subscribe to every topic"
            time.sleep(0.05)

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def wait_until_recorded(path: Path, messages: int, recorder: subprocess.Popen | GraphProcess):
    """Until the file, read as it is on disk, holds ``messages`` messages (flushed chunks)."""
    deadline = time.monotonic() + 60.0
    while not path.exists() or sum(1 for _ in read_messages(path)) < messages:
        assert recorder.poll() is None, f"the recorder exited: {recorder.poll()}"
        assert time.monotonic() < deadline, f"{path}: fewer than {messages} messages recorded"
        time.sleep(0.05)


def test_recorder_node_records_topics_over_dds(tmp_path):
    topics = {"/rec/chatter": String, "/rec/image": Image, "/rec/trials": TrialRecord}
    recorder = record_process(
        tmp_path,
        ["/rec/chatter", "/rec/image:sensor_msgs/msg/Image", "/rec/trials"],
        "-p",
        "storage.recorder.flush_interval:=0.2",
    )
    pubs = Publishers(topics)
    try:
        pubs.wait_for_subscribers(recorder)
        for i in range(20):
            pubs.pubs["/rec/chatter"].publish(String(data=f"hello {i}"))
            image = Image(height=2, width=3, encoding="rgb8", step=9, data=bytes(range(18)))
            image.header.frame_id = f"camera {i}"
            pubs.pubs["/rec/image"].publish(image)
            trial = TrialRecord(trial_id=i, arm="left", outcome=TrialRecord.OUTCOME_FAILURE)
            trial.grasp.angle = 0.5
            trial.roi.width = 7
            pubs.pubs["/rec/trials"].publish(trial)
            time.sleep(0.01)
        wait_until_recorded(tmp_path / "sessions" / "test.mcap", 60, recorder)
    finally:
        pubs.close()
        recorder.send_signal(signal.SIGINT)
        output, _ = recorder.communicate(timeout=20)
    assert recorder.returncode == 0, output
    path = tmp_path / "sessions" / "test.mcap"
    assert is_finished(path)

    with open(path, "rb") as f:
        reader = make_reader(f)
        assert reader.get_header().profile == "ros2"
        summary = reader.get_summary()
        schemas = {s.name: s for s in summary.schemas.values()}
        assert set(schemas) == {"std_msgs/msg/String", "sensor_msgs/msg/Image",
                                "supersize_grasp_interfaces/msg/TrialRecord"}  # fmt: skip
        assert all(s.encoding == "ros2msg" for s in schemas.values())
        assert schemas["sensor_msgs/msg/Image"].data.decode() == message_definition(
            "sensor_msgs/msg/Image"
        )
        channels = {c.topic: c for c in summary.channels.values()}
        assert {c.message_encoding for c in channels.values()} == {"cdr"}
        metadata = channels["/rec/trials"].metadata
        assert "reliability: reliable" in metadata["offered_qos_profiles"]
        assert metadata["topic_type_hash"].startswith("RIHS01_")

    decoded: dict[str, list] = {t: [] for t in topics}
    for _, channel, message, ros_msg in read_ros2_messages(path):
        decoded[channel.topic].append(ros_msg)
        assert message.log_time > 0 and message.publish_time > 0
    assert [m.data for m in decoded["/rec/chatter"]] == [f"hello {i}" for i in range(20)]
    assert [m.header.frame_id for m in decoded["/rec/image"]] == [f"camera {i}" for i in range(20)]
    assert bytes(decoded["/rec/image"][0].data) == bytes(range(18))
    assert [m.trial_id for m in decoded["/rec/trials"]] == list(range(20))
    assert decoded["/rec/trials"][3].grasp.angle == pytest.approx(0.5)
    assert decoded["/rec/trials"][3].roi.width == 7


def test_kill_9_of_the_recorder_node_keeps_the_flushed_chunks(tmp_path):
    recorder = record_process(
        tmp_path,
        ["/rec/kill"],
        "-p",
        "storage.recorder.chunk_size:=2048",
        "-p",
        "storage.recorder.flush_interval:=0.2",
    )
    pubs = Publishers({"/rec/kill": String})
    try:
        pubs.wait_for_subscribers(recorder)
        for i in range(200):
            pubs.pubs["/rec/kill"].publish(String(data=f"message {i:04d} " + "x" * 100))
            time.sleep(0.001)
        wait_until_recorded(tmp_path / "sessions" / "test.mcap", 200, recorder)
        for i in range(200, 400):
            pubs.pubs["/rec/kill"].publish(String(data=f"message {i:04d} " + "x" * 100))
        os.killpg(recorder.pid, signal.SIGKILL)
    finally:
        pubs.close()
        if recorder.poll() is None:
            os.killpg(recorder.pid, signal.SIGKILL)
        recorder.communicate(timeout=10)
    assert recorder.returncode == -signal.SIGKILL
    path = tmp_path / "sessions" / "test.mcap"
    assert not is_finished(path)
    kept = [m.data for _, _, m in read_messages(path)]
    assert len(kept) >= 200
    messages = recover(path)
    assert messages == len(kept) and is_finished(path)
    numbers = [int(m.data.split()[1]) for *_, m in read_ros2_messages(path)]
    assert numbers[:200] == list(range(200))  # all flushed before the kill
    # of the burst, an in-order part (the subscription queue may drop some of a burst)
    assert numbers[200:] == sorted(set(numbers[200:])) and all(n < 400 for n in numbers)


# Writes String messages; after every finished chunk prints how many messages are in the file.
WRITER = """
import sys
from rclpy.serialization import serialize_message
from std_msgs.msg import String
from supersize_grasp.dataset.recorder import McapRecorder

recorder = McapRecorder(sys.argv[1], chunk_size=4096, flush_interval=3600.0)
recorder.add_topic("/numbers", "std_msgs/msg/String")
i = 0
while True:
    recorder.write("/numbers", serialize_message(String(data=f"n{i}")), log_time_ns=i + 1)
    i += 1
    if i % 25 == 0:
        recorder.flush()
        print(i, flush=True)
"""


def test_kill_9_keeps_everything_up_to_the_last_finished_chunk(tmp_path):
    rng = random.Random(7)
    for attempt in range(3):
        path = tmp_path / f"run{attempt}.mcap"
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        stop_after = rng.randint(2, 200)
        acknowledged = 0
        for line in writer.stdout:
            acknowledged = int(line)
            if acknowledged >= stop_after * 25:
                break
        time.sleep(rng.uniform(0.0, 0.01))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        for line in writer.stdout:
            acknowledged = int(line)
        writer.stdout.close()

        texts = [bytes(m.data) for _, _, m in read_messages(path)]
        assert len(texts) >= acknowledged
        assert recover(path) == len(texts)
        decoded = [m.data for *_, m in read_ros2_messages(path)]
        assert decoded == [f"n{i}" for i in range(len(texts))]


def test_recorder_refuses_unknown_topics_and_an_existing_file(tmp_path):
    path = tmp_path / "a.mcap"
    with McapRecorder(path) as recorder:
        recorder.add_topic("/a", "std_msgs/msg/String")
        with pytest.raises(ValueError, match="already recorded"):
            recorder.add_topic("/a", "std_msgs/msg/String")
        with pytest.raises(KeyError, match="/b"):
            recorder.write("/b", b"", 1)
    with pytest.raises(FileExistsError):
        McapRecorder(path)


@pytest.mark.slow
def test_recorder_started_by_the_runner_needs_no_sourced_shell(tmp_path):
    """``.venv/bin/supersize-grasp`` runs unsourced: the runner's nodes still find the
    message definitions in the venv's ament index, and the recording ends with its footer."""
    from supersize_grasp.config import load_config
    from supersize_grasp.graph import NodeSpec

    config = load_config(
        overrides={"storage.data_dir": str(tmp_path), "storage.recorder.topics": ["/rec3/chatter"]}
    )
    env = {k: v for k, v in os.environ.items() if k != "AMENT_PREFIX_PATH"}
    graph = GraphProcess(
        [NodeSpec("recorder", "recorder", {"session": "unsourced"})], config=config, env=env
    )
    pubs = Publishers({"/rec3/chatter": String})
    try:
        deadline = time.monotonic() + 30
        while pubs.pubs["/rec3/chatter"].get_subscription_count() == 0:
            assert graph.poll() is None, f"the recorder exited: {graph.poll()}"
            assert time.monotonic() < deadline, "the recorder never subscribed"
            time.sleep(0.05)
        for i in range(5):
            pubs.pubs["/rec3/chatter"].publish(String(data=f"hi {i}"))
        wait_until_recorded(tmp_path / "sessions" / "unsourced.mcap", 5, graph)
    finally:
        pubs.close()
        graph.shutdown()
    path = tmp_path / "sessions" / "unsourced.mcap"
    assert is_finished(path)
    assert [m.data for *_, m in read_ros2_messages(path)] == [f"hi {i}" for i in range(5)]


@pytest.mark.slow
def test_a_collection_session_is_recorded_from_its_first_snapshot_and_trial(tmp_path):
    """The real collection graph: the tree's first tick waits for the recorder's subscriptions,
    so the session's file starts with the snapshot from before any tick, then the first tick's,
    and holds the store's first trial of the session."""
    config = tmp_path / "collect.yaml"
    config.write_text(COLLECT_CONFIG)
    data = tmp_path / "data"
    command = [EXE, "collect", "--trials", "2", "--data", data, "--quiet", "--config", config]
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with TrialStore.open(data, readonly=True) as store:
        (session,) = store.sessions()
        first = next(store.trials(labelled_only=False, session_id=session.session_id))
    path = data / "sessions" / f"{session.session_id}.mcap"
    assert is_finished(path)
    recorded: dict[str, list] = {"/trial_tree/snapshots": [], "/trials": []}
    for _, channel, _, msg in read_ros2_messages(path):
        recorded.get(channel.topic, []).append(msg)
    ticks = [s.statistics.count for s in recorded["/trial_tree/snapshots"]]
    assert ticks[:2] == [0, 1], ticks[:10]  # before the first tick, then after it
    assert recorded["/trials"], "no trial was recorded"
    assert recorded["/trials"][0].trial_id == first.trial_id


def test_the_tree_waits_for_the_recorder_by_name_and_names_what_it_missed():
    """Another node's subscription does not stand in for the recorder's: without the recorder
    the wait ends in TimedOutError naming the topic; once it subscribes, the wait returns."""
    from supersize_grasp.behaviors.ros.exceptions import TimedOutError
    from supersize_grasp.nodes.trial_tree import wait_for_recorder
    from supersize_grasp.qos import TRIALS_QOS

    pubs = Publishers({"/rec4/trials": TrialRecord})
    publishers = {pubs.pubs["/rec4/trials"]: TRIALS_QOS}
    recorder = None
    try:
        pubs.node.create_subscription(TrialRecord, "/rec4/trials", lambda _: None, TRIALS_QOS)
        with pytest.raises(TimedOutError, match="'recorder' did not subscribe to /rec4/trials"):
            wait_for_recorder(pubs.node, "recorder", publishers, timeout=1.0)
        recorder = Node("recorder", context=pubs.context)
        recorder.create_subscription(TrialRecord, "/rec4/trials", lambda _: None, TRIALS_QOS)
        wait_for_recorder(pubs.node, "recorder", publishers, timeout=30.0)
        assert pubs.pubs["/rec4/trials"].get_subscription_count() == 2
    finally:
        if recorder is not None:
            recorder.destroy_node()
        pubs.close()
