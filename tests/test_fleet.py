"""A fleet on one ROS domain: robots in their own namespaces, their trials in one store.

The spool tests use real trial stores on disk; the graph tests start real simulated Baxters, trees
and the dataset writer over DDS, kill some with SIGKILL and check the one store they fill."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from supersize_grasp.cli import main as cli_main
from supersize_grasp.config import flatten, load_config, overlay
from supersize_grasp.dataset.merge import MergeRefusedError, merge_stores
from supersize_grasp.dataset.spool import ingest, pack, pending, spool_id, unpack
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.fleet import namespaced, namespaced_names, robot_names, robot_namespace
from supersize_grasp.graph import collect_graph, writer_graph
from supersize_grasp.launcher import GraphProcess
from supersize_grasp.runs import fleet_robot, fleet_writer, spool_path
from tests.fakes import INTRINSICS, POSE, images, same, trial
from tests.test_merge import CONFIG, collected

EXE = Path(sys.prefix, "bin", "supersize-grasp")


def spooled(spool_root, after: int = 0, limit: int = 100):
    with TrialStore.open(spool_root, create=False, readonly=True) as spool:
        name = spool_id(spool)
        return [unpack(pack(spool, name, prev, t)) for prev, t in pending(spool, after, limit)]


def test_a_spool_reaches_the_writer_once_however_often_or_out_of_order_it_is_sent(tmp_path):
    collected(tmp_path / "robot", 4, seed=1)
    sent = spooled(tmp_path / "robot")
    with TrialStore.open(tmp_path / "fleet") as store:
        assert ingest(store, sent[1]) is None  # not the next of the chain: the cursor is at 0
        assert [ingest(store, s) for s in sent[:2]] == [True, True]
        assert [ingest(store, s) for s in sent] == [None, None, True, True]
        assert ingest(store, sent[3]) is None  # resent after its ack was lost
        assert store.cursor(sent[0].spool) == sent[3].trial_id
        assert store.check_integrity() == []
        fleet = list(store.trials(labelled_only=False))
    with TrialStore.open(tmp_path / "robot", readonly=True) as robot:
        assert all(
            same(f, r) for f, r in zip(fleet, robot.trials(labelled_only=False), strict=True)
        )


def test_a_trial_committed_before_its_cursor_moved_is_not_added_again(tmp_path):
    """The scene and the trial of a spooled trial may be in the store from a merge (or the
    writer's own earlier life) without the cursor: the chain moves on, nothing twice."""
    collected(tmp_path / "robot", 2, seed=1)
    merge_stores([tmp_path / "robot"], tmp_path / "fleet")
    with TrialStore.open(tmp_path / "fleet") as store:
        assert [ingest(store, s) for s in spooled(tmp_path / "robot")] == [False, False]
        assert store.count() == 2 and store.cursor(spool_id(store)) == 2


def test_a_replaced_spool_starts_a_new_chain(tmp_path):
    collected(tmp_path / "robot", 2, seed=1)
    with TrialStore.open(tmp_path / "fleet") as store:
        for s in spooled(tmp_path / "robot"):
            ingest(store, s)
    shutil.rmtree(tmp_path / "robot")
    collected(tmp_path / "robot", 1, seed=2)
    with TrialStore.open(tmp_path / "fleet") as store:
        assert [ingest(store, s) for s in spooled(tmp_path / "robot")] == [True]
        assert store.count() == 3


def test_a_scene_from_another_store_names_its_files_inside_it_and_only_known_columns(tmp_path):
    collected(tmp_path / "robot", 1, seed=1)
    (sent,) = spooled(tmp_path / "robot")
    scene = {**sent.scene, "rgb_file": "../outside.png"}
    files = {"../outside.png": sent.files[sent.scene["rgb_file"]], **sent.files}
    with TrialStore.open(tmp_path / "fleet") as store:
        store.import_session(sent.session)
        with pytest.raises(ValueError, match="scene file: expected a name under scenes/"):
            store.import_scene_data(scene, files)
        with pytest.raises(ValueError, match=r"scene: expected the columns \['scene_id'"):
            store.import_scene_data({**sent.scene, "stamp) VALUES (1); --": 0}, sent.files)
    assert not (tmp_path / "outside.png").exists()


def test_trials_carry_their_robots_name_through_their_session(tmp_path):
    with TrialStore.open(tmp_path / "store") as store:
        for robot in ("baxter_0", "baxter_1"):
            session = store.begin_session(robot, CONFIG, seed=0)
            rgb, depth = images(1)
            scene = store.add_scene(session, rgb, depth, INTRINSICS, POSE, stamp=0.0)
            store.add_trial(trial(session, scene, outcome="success", seed=0, stamp=1.0))
        assert store.count(robot="baxter_1") == 1
        first = store.sessions()[0]
        assert first.robot == "baxter_0"
        assert {t.session_id for t in store.trials(robot="baxter_0")} == {first.session_id}


def test_a_robots_names_move_under_its_namespace_and_the_single_robot_keeps_the_sdks():
    assert robot_names(2) == ["baxter_0", "baxter_1"]
    assert robot_namespace("") == "/" and robot_namespace("baxter_0") == "/baxter_0"
    with pytest.raises(ValueError, match="robot: expected a name"):
        robot_namespace("0/x")
    assert namespaced("/robot/state", "/") == "/robot/state"
    assert namespaced("/robot/state", "/baxter_0") == "/baxter_0/robot/state"
    assert namespaced("~/snapshots", "/baxter_0") == "~/snapshots"
    config = load_config()
    moved = overlay(config, namespaced_names(flatten(config), "/baxter_1"))
    assert moved.robot.state_topic == "/baxter_1/robot/state"
    assert moved.camera.image_topic == "/baxter_1/kinect2/hd/image_color_rect"
    assert moved.learning.oracle_service == "/baxter_1/sim_baxter/oracle"
    assert "/baxter_1/trials" in moved.storage.recorder.topics
    assert namespaced_names(flatten(config), "/") == {}


def test_the_graphs_take_a_robot_and_the_default_has_none():
    assert {s.namespace for s in collect_graph()} == {""}
    assert {s.namespace for s in collect_graph(robot="baxter_3")} == {"/baxter_3"}
    assert [s.executable for s in writer_graph()] == ["dataset_writer"]


FLEET_CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
storage: {record_mcap: false}
"""


def trial_keys(root) -> Counter:
    """Each trial by what makes it itself (session, scene, arm, end time), counted."""
    with TrialStore.open(root, create=False, readonly=True) as store:
        assert store.check_integrity() == [], root
        return Counter(
            (t.session_id, t.scene_id, t.arm, t.stamp) for t in store.trials(labelled_only=False)
        )


def wait_for(what: str, condition, graphs, timeout: float = 150.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for graph in graphs:
            assert graph.poll() is None, f"a graph ended before {what}: {graph.poll()}"
        time.sleep(0.5)


def count(root, **filters) -> int:
    if not (Path(root) / "trials.sqlite").exists():
        return 0
    with TrialStore.open(root, create=False, readonly=True) as store:
        return store.count(**filters)


def sigkill(graph: GraphProcess) -> None:
    for process in graph.processes.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    for process in graph.processes.values():
        process.wait()
    graph.shutdown()


@pytest.mark.ros
@pytest.mark.slow
def test_a_fleet_loses_no_trial_and_keeps_none_twice_when_a_robot_and_the_writer_are_killed(
    tmp_path,
):
    """Two simulated robots on one domain into one store; robot 1's graph and the writer die by
    SIGKILL mid-run and start again: every trial committed anywhere is in the store once."""
    (tmp_path / "fleet.yaml").write_text(FLEET_CONFIG)
    config = load_config([tmp_path / "fleet.yaml"])
    root = tmp_path / "fleet"
    spools = [spool_path(root, robot) for robot in robot_names(2)]
    writer = fleet_writer(config, root)
    robots = [
        fleet_robot(config, root, "baxter_0", 0, 8),
        fleet_robot(config, root, "baxter_1", 1, 1000),
    ]
    try:
        wait_for(
            "robot 1's trials in its spool and in the store",
            lambda: count(spools[1]) >= 4 and count(root, robot="baxter_1") >= 2,
            [writer, *robots],
        )
        sigkill(robots[1])
        sigkill(writer)
        killed_with = count(spools[1])
        writer = fleet_writer(config, root)
        robots[1] = fleet_robot(config, root, "baxter_1", 1, 3)
        watch = [EXE, "watch", "--once", "--no-color", "--robot", "baxter_1", "--timeout", "60"]
        shown = subprocess.run(watch, capture_output=True, text=True, timeout=90)
        assert shown.returncode == 0 and "Statistics" in shown.stdout, shown.stderr
        deadline = time.monotonic() + 150
        for robot in robots:  # a robot's graph ends once the writer holds all its trials
            while robot.poll() is None:
                assert time.monotonic() < deadline, "the robots did not finish"
                assert writer.poll() is None, f"the writer ended: {writer.poll()}"
                time.sleep(0.5)
            assert robot.poll()[1] == 0, robot.poll()
    finally:
        for graph in (writer, *robots):
            graph.shutdown()
    spooled = trial_keys(spools[0]) + trial_keys(spools[1])
    stored = trial_keys(root)
    assert count(spools[1]) >= killed_with + 3
    assert set(spooled.values()) == {1} and stored == spooled  # every trial once, none twice
    with TrialStore.open(root, readonly=True) as store:
        assert {s.robot for s in store.sessions()} == {"baxter_0", "baxter_1"}
        assert len(store.sessions()) == 3  # robot 1's killed session and its resumed one
        for spool, robot in zip(spools, robot_names(2), strict=True):
            assert store.count(robot=robot) == count(spool)


@pytest.mark.ros
@pytest.mark.slow
def test_collect_with_robots_fills_one_store_from_each_robot(tmp_path):
    (tmp_path / "fleet.yaml").write_text(FLEET_CONFIG)
    command = [EXE, "collect", "--robots", "2", "--trials", "2", "--data", tmp_path / "fleet"]
    result = subprocess.run(
        [*command, "--quiet", "--config", tmp_path / "fleet.yaml"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    spooled = sum(
        (trial_keys(spool_path(tmp_path / "fleet", r)) for r in robot_names(2)), Counter()
    )
    assert trial_keys(tmp_path / "fleet") == spooled
    with TrialStore.open(tmp_path / "fleet", readonly=True) as store:
        sessions = store.sessions()
        assert sorted(s.robot for s in sessions) == ["baxter_0", "baxter_1"]
        assert all(s.ended is not None for s in sessions)
        assert all(store.count(robot=r, labelled_only=True) >= 2 for r in robot_names(2))


@pytest.mark.parametrize("verb", ["watch", "view"])
def test_watch_and_view_refuse_a_robot_name_that_is_no_namespace(verb, capsys):
    assert cli_main([verb, "--robot", "0/baxter"]) == 2
    assert "--robot: robot: expected a name of letters" in capsys.readouterr().err


@pytest.mark.ros
@pytest.mark.slow
def test_a_robot_started_on_its_own_joins_the_fleet_by_its_name(tmp_path):
    """As a robot on another machine would: `collect --robot NAME` with its own store, on the
    domain of a writer it never heard of; it ends once the writer holds its trials."""
    (tmp_path / "fleet.yaml").write_text(FLEET_CONFIG)
    writer = fleet_writer(load_config([tmp_path / "fleet.yaml"]), tmp_path / "fleet")
    try:
        command = [EXE, "collect", "--robot", "baxter_7", "--trials", "2", "--quiet"]
        command += ["--data", tmp_path / "spool7", "--config", tmp_path / "fleet.yaml"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    finally:
        writer.shutdown()
    assert trial_keys(tmp_path / "fleet") == trial_keys(tmp_path / "spool7")
    with TrialStore.open(tmp_path / "fleet", readonly=True) as store:
        ((robot, ended),) = [(s.robot, s.ended) for s in store.sessions()]
        assert robot == "baxter_7" and ended is not None


def test_a_robot_with_another_object_set_is_refused_and_keeps_its_trials(tmp_path):
    """The writer refuses, by name, a session of another object set (as ``dataset merge``
    does): nothing of it is taken, the cursor stays, the robot's spool still holds it."""
    collected(tmp_path / "robot", 2, seed=1)
    collected(tmp_path / "other", 2, seed=2, config=CONFIG.replace("seed: 0", "seed: 5"))
    with TrialStore.open(tmp_path / "fleet") as store:
        assert [ingest(store, s) for s in spooled(tmp_path / "robot")] == [True, True]
        other = spooled(tmp_path / "other")
        with pytest.raises(MergeRefusedError, match=r"robot sim: .*simulator\.objects\.seed = 5"):
            ingest(store, other[0])
        assert store.count() == 2 and store.cursor(other[0].spool) == 0
        assert len(store.sessions()) == 1
