"""The browser viewer: its plain parts (assets, frames, timeline, transitions, recordings, trial
views) without a browser; the server over WebSockets; and the page in headless Chromium, live on
the simulator and replaying the session that run recorded."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import py_trees
import pytest
import rclpy
from builtin_interfaces.msg import Time
from py_trees.common import Status
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage
from supersize_grasp_interfaces.msg import TreeStatistics, TrialRecord
from websockets.sync.client import connect

from supersize_grasp.behaviors.regions import Region
from supersize_grasp.behaviors.ros.snapshots import SnapshotPublisher, snapshot_message
from supersize_grasp.behaviors.ros.trial_view import grasp_corners, trial_view_image
from supersize_grasp.behaviors.scene import Scene
from supersize_grasp.behaviors.trial_state import Grasp
from supersize_grasp.config import load_config
from supersize_grasp.dataset.recorder import McapRecorder
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.scores import GraspScores
from supersize_grasp.viewer.assets import (
    AssetError,
    page_includes,
    py_trees_js_assets,
    read_qt_resources,
)
from supersize_grasp.viewer.model import Timeline, snapshot_frame
from supersize_grasp.viewer.recording import RecordingError, load_recording

from .browser import UNAVAILABLE, Browser
from .test_snapshots import Puppet

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CLI = Path(sys.prefix, "bin", "supersize-grasp")
COLLECT_CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
"""
# What the page draws, read from py_trees_js' model (status) and its HTML overlay (names)
PAGE_TREE = (
    "JSON.stringify(canvas_graph.getElements().map(e => [e.get('behaviour_id'), "
    "e.get('name'), e.get('status')]))"
)
PAGE_NAMES = (
    "JSON.stringify(Array.from(document.querySelectorAll('#canvas .html-name'),"
    " e => e.textContent))"
)


@pytest.fixture(autouse=True)
def clean_blackboard():
    py_trees.blackboard.Blackboard.clear()
    yield
    py_trees.blackboard.Blackboard.clear()


# ---------------------------------------------------------------------------- plain parts


def test_py_trees_js_files_come_out_of_the_wheel():
    assets = py_trees_js_assets()
    scripts, styles = page_includes(assets)
    assert [Path(p).name.split("-")[0] for p in scripts] == [
        "dagre", "graphlib", "jquery", "lodash", "backbone", "joint", "py_trees"
    ]  # fmt: skip
    assert b"var py_trees = (function()" in assets[scripts[-1]]
    assert [Path(p).name.split("-")[0] for p in styles] == ["joint", "py_trees"]
    with pytest.raises(AssetError, match="no qt_resource_data"):
        read_qt_resources("x = 1\n")
    with pytest.raises(AssetError, match="ships no dagre"):
        page_includes({"js/py_trees-0.6.js": b""})


class Arm:
    """Sequence(Capture, Choose <b>grasp</b>) beside a keyed leaf: statuses set by the test."""

    def __init__(self):
        self.capture = Puppet("Capture scene", Status.SUCCESS, key="/left/scene")
        self.choose = Puppet("Choose <b>grasp</b>", Status.RUNNING)
        self.trial = py_trees.composites.Sequence(
            "Trial left", memory=False, children=[self.capture, self.choose]
        )
        self.tree = py_trees.trees.BehaviourTree(self.trial)
        self.visitor = py_trees.visitors.SnapshotVisitor()
        self.tree.add_visitor(self.visitor)

    def snapshot(self):
        """After a tick; the n-th is stamped n s."""
        self.tree.tick()
        stamp = Time(sec=self.tree.count)
        statistics = TreeStatistics(count=self.tree.count, stamp=stamp)
        return snapshot_message(self.tree, statistics, visitor=self.visitor)


def test_frames_follow_py_trees_js_spec_and_escape_text():
    arm = Arm()
    arm.choose.next_message = "score <0.5> & rising"
    frame = snapshot_frame(arm.snapshot(), trial_view=3)
    tree = frame["tree"]
    root = tree["behaviours"][str(arm.trial.id)]
    assert root["name"] == "Trial left" and root["status"] == "RUNNING"
    assert root["children"] == [str(arm.capture.id), str(arm.choose.id)]
    assert root["colour"] == "#FFA500"  # a sequence
    choose = tree["behaviours"][str(arm.choose.id)]
    assert choose["name"] == "Choose &lt;b&gt;grasp&lt;/b&gt;"  # py_trees_js writes HTML
    assert choose["details"] == "score &lt;0.5&gt; &amp; rising"
    assert choose["data"]["Type"].endswith("Puppet")
    assert set(tree["visited_path"]) == {str(b.id) for b in (arm.trial, arm.capture, arm.choose)}
    assert frame["blackboard"] == [["/left/scene", "0"]]  # plain text for the page's own panel
    assert frame["statistics"]["count"] == 1 and frame["stamp"] == 1.0
    assert frame["trial_view"] == 3
    json.dumps(frame)


def test_timeline_transitions_trials_and_eviction():
    arm = Arm()
    timeline = Timeline(limit=3)
    assert (timeline.first, timeline.last, len(timeline)) == (0, -1, 0)
    timeline.add_snapshot(arm.snapshot())
    view = timeline.add_trial_view(b"jpeg 0")
    arm.choose.next_status = Status.FAILURE
    frame = timeline.add_snapshot(arm.snapshot())  # the choice failed: the sequence too
    assert frame["index"] == 1 and frame["trial_view"] == view
    assert {(t["name"], t["from"], t["to"]) for t in frame["transitions"]} == {
        ("Choose <b>grasp</b>", "RUNNING", "FAILURE"),
        ("Trial left", "RUNNING", "FAILURE"),
    }
    arm.choose.next_status = Status.SUCCESS
    timeline.add_snapshot(arm.snapshot())
    rows = timeline.transitions(name="Trial left")
    assert [(r["frame"], r["from"], r["to"]) for r in rows] == [
        (1, "RUNNING", "FAILURE"),
        (2, "FAILURE", "SUCCESS"),
    ]
    assert rows[0]["path"] == "Trial left"
    assert timeline.transitions(name="Choose <b>grasp</b>")[0]["path"] == (
        "Trial left / Choose <b>grasp</b>"
    )
    assert [r["frame"] for r in timeline.transitions(around=1, limit=2)] == [1, 1]
    assert len(timeline.transitions()) == 4
    assert timeline.behaviour_names == {"Trial left", "Capture scene", "Choose <b>grasp</b>"}

    assert [timeline.frame(i)["stamp"] for i in range(3)] == [1.0, 2.0, 3.0]
    record = TrialRecord(arm="left", outcome=TrialRecord.OUTCOME_FAILURE, duration=1.5)
    record.grasp.score = math.nan
    record.header.stamp.sec = 3  # ended at frame 2, chosen 1.5 s before: from frame 1 on
    trial = timeline.add_trial(record)
    assert trial["frame"] == 1 and trial["outcome"] == "failure" and trial["score"] is None

    timeline.add_trial_view(b"jpeg 1")
    arm.choose.next_status = Status.RUNNING
    timeline.add_snapshot(arm.snapshot())  # frame 3: frame 0 goes, with its transitions
    assert (timeline.first, timeline.last) == (1, 3)
    assert timeline.frame(0) is None and timeline.frame_json(4) is None
    assert timeline.trial_view(view) == b"jpeg 0"  # frame 1 still shows it
    timeline.add_snapshot(arm.snapshot())  # frame 4: frame 1 goes; frame 2 shows view 0
    assert timeline.trial_view(view) == b"jpeg 0"
    timeline.add_snapshot(arm.snapshot())  # frame 5: frame 2 goes, and view 0 with it
    assert timeline.trial_view(view) is None and timeline.trial_view(view + 1) == b"jpeg 1"
    assert all(r["frame"] >= 3 for r in timeline.transitions())


def write_mcap(path: Path, topics: dict[str, str], messages=()) -> Path:
    with McapRecorder(path) as recorder:
        for topic, type_name in topics.items():
            recorder.add_topic(topic, type_name)
        for i, (topic, msg) in enumerate(messages):
            recorder.write(topic, rclpy.serialization.serialize_message(msg), i + 1)
    return path


def test_recordings_that_cannot_be_replayed_say_why(tmp_path):
    with pytest.raises(RecordingError, match=r"missing\.mcap: No such file"):
        load_recording(tmp_path / "missing.mcap")
    garbage = tmp_path / "garbage.mcap"
    garbage.write_bytes(b"not an mcap file at all")
    with pytest.raises(RecordingError, match=r"garbage\.mcap: not an MCAP file"):
        load_recording(garbage)
    trials_only = write_mcap(
        tmp_path / "trials.mcap",
        {"/trials": "supersize_grasp_interfaces/msg/TrialRecord"},
        [("/trials", TrialRecord())],
    )
    with pytest.raises(
        RecordingError, match=r"no snapshot on /trial_tree/snapshots \(recorded: /trials\)"
    ):
        load_recording(trials_only)
    wrong = write_mcap(
        tmp_path / "wrong.mcap",
        {"/trial_tree/snapshots": "sensor_msgs/msg/CompressedImage"},
        [("/trial_tree/snapshots", CompressedImage())],
    )
    with pytest.raises(RecordingError, match="recorded as sensor_msgs/msg/CompressedImage"):
        load_recording(wrong)


def test_trial_view_draws_roi_grasp_at_its_angle_and_heat_map():
    camera = CameraModel(
        fx=500.0, fy=500.0, cx=640.0, cy=360.0, width=1280, height=720,
        position=np.array([0.0, 0.0, 1.0]), rotation=np.diag([1.0, -1.0, -1.0]),
    )  # fmt: skip  # looking straight down from 1 m: table x right, y up in the image
    scene = Scene(
        np.full((720, 1280, 3), 90, np.uint8), np.ones((720, 1280), np.float32), camera, 1.5
    )
    u, v = 740.0, 260.0
    x, y, _ = camera.pixel_to_plane(u, v, 0.0)
    grasp = Grasp(u, v, x, y, math.radians(30), Region(700, 220, 80, 80, 3000))
    corners = grasp_corners(scene, grasp, 0.0, 0.08)
    axis = corners[0] - corners[3]  # along the closing axis: 8 cm at 500 px/m
    assert np.linalg.norm(axis) == pytest.approx(40.0, abs=0.5)
    assert math.degrees(math.atan2(-axis[1], axis[0])) == pytest.approx(30.0, abs=0.5)

    plain = trial_view_image(scene, grasp, "left arm", 0.0, 0.08)
    assert plain.shape == (360, 640, 3)  # downscaled to 640 wide
    assert (plain[110, 375] != 90).any()  # the ROI's top edge (700..780 x 220 -> halved)
    grasp.scores = GraspScores(np.array([720.0, 760.0]), np.array([240.0, 280.0]),
                               np.array([[0.0, 0.1], [0.9, 1.0]]))  # fmt: skip
    heat = trial_view_image(scene, grasp, "left arm", 0.0, 0.08)
    low, high = heat[120, 360].astype(int), heat[140, 380].astype(int)  # BGR
    assert low[0] > low[2] and high[2] > high[0]  # score 0.1 blue, 1.0 red
    assert cv2.imencode(".jpg", heat)[0]


# ---------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_viewer(*args: str) -> tuple[subprocess.Popen, str]:
    """``supersize-grasp view ARGS --port 0``; returns the process and the page's URL."""
    process = subprocess.Popen(
        [str(CLI), "view", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in process.stdout:  # its first line, after any log line
        lines.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if match is not None:
            return process, match.group(1)
    process.wait()
    raise AssertionError(f"the viewer did not start: {''.join(lines)}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_bad_input_is_refused_clearly(tmp_path):
    missing = subprocess.run(
        [str(CLI), "view", "--replay", str(tmp_path / "none.mcap")], capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert (
        "supersize-grasp view: " in missing.stderr and "none.mcap: No such file" in missing.stderr
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [str(CLI), "view", "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert busy.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in busy.stderr


def receive(ws, kind: str, timeout: float = 20.0, where=lambda m: True) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == kind and where(message):
            return message


def test_several_browsers_follow_a_tree_node_that_restarts():
    """Two WebSocket clients get the same frames; a restarted tree (a new node and publisher,
    new behaviour ids) reaches them by itself; a cross-origin page is refused."""
    namespace = f"/viewer_test_{os.getpid()}"
    viewer, url = start_viewer("--topic", f"{namespace}/trial_tree/snapshots")
    ws_url = url.replace("http://", "ws://") + "ws"
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        with connect(ws_url) as first, connect(ws_url) as second:
            for ws in (first, second):
                hello = receive(ws, "hello")
                assert hello["mode"] == "live" and hello["last"] == -1
            ids = []
            for _ in range(2):  # the tree node, then the restarted tree node
                node = Node("trial_tree", namespace=namespace, context=context)
                arm = Arm()
                publisher = SnapshotPublisher(arm.tree, node)
                root = str(arm.trial.id)
                for ws in (first, second):
                    frame = receive(
                        ws, "frame", where=lambda m, r=root: r in m["frame"]["tree"]["behaviours"]
                    )["frame"]
                    assert frame["tree"]["behaviours"][root]["name"] == "Trial left"
                ids.append(root)
                publisher.close()
                node.destroy_node()
            assert ids[0] != ids[1]
            first.send(json.dumps({"op": "get", "index": 0}))
            assert receive(first, "frame")["frame"]["index"] == 0
            first.send(json.dumps({"op": "nonsense"}))
            assert "unknown op" in receive(first, "error")["message"]
        with pytest.raises(Exception, match="403"):
            connect(ws_url, origin="http://evil.example")
    finally:
        rclpy.shutdown(context=context)
        stop(viewer)


# ---------------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def live_session(tmp_path_factory):
    """The real graph (simulator, tree node, recorder) collecting while the viewer and headless
    Chromium watch; what the page showed, a screenshot, and the recorded session.

    The collection runs until the page has shown all that is checked and is then stopped with
    Ctrl-C: a run of a fixed number of trials could end, and its tree stop changing, before a
    loaded machine had drawn the page."""
    if UNAVAILABLE:
        pytest.skip(UNAVAILABLE)
    tmp = tmp_path_factory.mktemp("viewer_live")
    config = tmp / "config.yaml"
    config.write_text(COLLECT_CONFIG)
    viewer, url = start_viewer()
    collect = None
    seen: dict = {"names": [], "statuses": []}
    try:
        with Browser() as browser, open(tmp / "collect.log", "w") as log:
            browser.open(url)
            browser.wait_for("document.getElementById('connection').textContent === "
                             "'waiting for the tree node'", what="the page to connect")  # fmt: skip
            collect = subprocess.Popen(
                [str(CLI), "collect", "--trials", "0", "--data", str(tmp / "data"), "--quiet",
                 "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            browser.wait_for(
                "document.querySelectorAll('#canvas .html-name').length > 20",
                timeout=120, what="the tree to be drawn",
            )  # fmt: skip
            browser.wait_for(
                "document.getElementById('connection').textContent === 'tree node connected'",
                timeout=60, what="the page to see the tree node",
            )  # fmt: skip
            seen["names"] = json.loads(browser.evaluate(PAGE_NAMES))
            first = json.loads(browser.evaluate(PAGE_TREE))
            changed = browser.wait_for(
                f"(() => {{ const before = new Map({json.dumps([[i, s] for i, _, s in first])});"
                f" const now = {PAGE_TREE.replace('JSON.stringify(', '(', 1)};"
                " return now.filter(([i, n, s]) => before.has(i) && before.get(i) !== s); })()",
                timeout=120, what="a status change to reach the page",
            )  # fmt: skip
            seen["statuses"] = changed
            # One read of a decoded image: a newer trial view may replace it (its size reads
            # 0 x 0 while it loads) between two separate reads on a loaded machine.
            seen["trial_view"] = browser.wait_for(
                "(() => { const v = document.getElementById('trial-view');"
                " return v.naturalWidth > 0 ? [v.naturalWidth, v.naturalHeight] : null; })()",
                timeout=120, what="a trial view",
            )  # fmt: skip
            seen["blackboard"] = browser.evaluate(
                "document.querySelectorAll('#blackboard tr').length"
            )
            browser.wait_for(  # the first option is the list's title
                "document.getElementById('trials').options.length > 2",
                timeout=240, what="two trials in the page's list",
            )  # fmt: skip
            seen["screenshot"] = browser.screenshot(ARTIFACTS / "viewer_live.png")
        collect.send_signal(signal.SIGINT)
        collect.wait(timeout=60)
        assert collect.returncode == 128 + signal.SIGINT, (tmp / "collect.log").read_text()[-3000:]
    finally:
        if collect is not None and collect.poll() is None:
            collect.kill()
            collect.wait()
        stop(viewer)
    (recording,) = (tmp / "data" / "sessions").glob("*.mcap")
    seen["recording"] = recording
    return seen


@pytest.mark.slow
@pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")
def test_live_tree_on_the_simulator_reaches_the_page(live_session):
    names = live_session["names"]
    for behaviour in ("Collect", "Trial left", "Trial right", "Capture scene", "Lift 20 cm"):
        assert behaviour in names
    assert live_session["statuses"], "no status changed on the page"
    _, _, width, height = load_config().simulator.camera.crop_window  # shown 640 px wide
    assert live_session["trial_view"] == [640, round(height * 640 / width)]
    assert live_session["blackboard"] > 0
    assert live_session["screenshot"].stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")
def test_replay_steps_through_the_recorded_session(live_session):
    timeline = load_recording(live_session["recording"])
    assert len(timeline) > 10 and len(timeline.trials) >= 2
    viewer, url = start_viewer("--replay", str(live_session["recording"]))
    try:
        with Browser() as browser:
            browser.open(url)
            browser.wait_for("document.body.dataset.frame === '0'", what="the first snapshot")
            assert browser.evaluate("document.getElementById('mode').textContent") == "replay"
            shown = json.loads(browser.evaluate(PAGE_TREE))
            changed_at = None
            for step in range(1, 40):  # step forward until a status changes on the page
                browser.evaluate("document.getElementById('forward').click()")
                browser.wait_for(f"document.body.dataset.frame === '{step}'", what=f"frame {step}")
                now = json.loads(browser.evaluate(PAGE_TREE))
                if now != shown:
                    changed_at = step
                    break
            assert changed_at is not None, "stepping through 40 snapshots changed no status"
            expected = timeline.frame(changed_at)["tree"]["behaviours"]
            assert {i: s for i, _, s in now} == {i: b["status"] for i, b in expected.items()}
            browser.evaluate("document.getElementById('back').click()")
            browser.wait_for(f"document.body.dataset.frame === '{changed_at - 1}'")
            assert json.loads(browser.evaluate(PAGE_TREE)) == shown  # as before the change

            browser.evaluate("document.getElementById('play').click()")  # plays on by itself
            browser.wait_for(f"Number(document.body.dataset.frame) >= {changed_at + 2}")
            browser.evaluate("document.getElementById('play').click()")
            assert browser.evaluate("document.getElementById('play').textContent") == "play"

            # the transitions table, filtered by one behaviour
            browser.evaluate(
                "const f = document.getElementById('filter'); f.value = 'Capture scene';"
                " f.dispatchEvent(new Event('change'))"
            )
            rows = browser.wait_for(
                "(() => { const r = Array.from(document.querySelectorAll('#transitions tr'),"
                " tr => tr.children[2].textContent); return r.length && r.every(n => n === "
                "'Capture scene') ? r : null })()",
                what="transitions of 'Capture scene' only",
            )  # fmt: skip
            assert len(rows) >= 2

            # jump to the last trial
            last = timeline.trials[-1]
            browser.evaluate(
                f"const t = document.getElementById('trials'); t.value = '{last['number']}';"
                " t.dispatchEvent(new Event('change'))"
            )
            browser.wait_for(f"document.body.dataset.frame === '{last['frame']}'", what="the trial")
            browser.screenshot(ARTIFACTS / "viewer_replay.png")
    finally:
        stop(viewer)
