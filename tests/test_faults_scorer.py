"""Faults: the grasp scorer missing at start-up, and killed (SIGKILL) during a query.

Real parts throughout: the grasp_scorer node in its own process over DDS, the learned chooser in a
small py_trees tree ticked by an rclpy timer, LogTrial writing to a real trial store. The scene
and regions that the capture and region finder would write are put on the blackboard by the test.
"""

import os
import signal
from pathlib import Path

import numpy as np
import py_trees
import pytest

from supersize_grasp.behaviors.learned import ChooseLearnedGrasp
from supersize_grasp.behaviors.regions import Region
from supersize_grasp.behaviors.scene import Scene
from supersize_grasp.behaviors.trial import StartTrial
from supersize_grasp.behaviors.trial_log import LogTrial, TrialLog
from supersize_grasp.behaviors.trial_state import key
from supersize_grasp.config import load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.graph import NodeSpec
from supersize_grasp.launcher import GraphProcess
from tests.fakes import CAMERA, checkpoint
from tests.tree_runner import TreeRunner

SERVICE = "/grasp_scorer/score"
Status = py_trees.common.Status


def scorer(config, model: str, fast: bool) -> GraphProcess:
    return GraphProcess(
        [NodeSpec("grasp_scorer", "grasp_scorer", {"checkpoint": model, "fast": fast})],
        config=config,
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def store(tmp_path):
    store = TrialStore.open(tmp_path / "data")
    yield store
    store.close()


def one_learned_trial(config, log: TrialLog, blackboard_ready) -> py_trees.behaviour.Behaviour:
    """Start a trial, choose a learned grasp, log it; a failed try starts over, as the subtree
    does after recovering. The chooser's failure falls through a 'Log unreachable' as there."""
    choose = ChooseLearnedGrasp("left", config, "sample", seed=0)
    unreachable = LogTrial("left", config, log, "sample", 0, "ik_failed", "Log unreachable")
    trial = py_trees.composites.Sequence(
        "Trial",
        memory=True,
        children=[
            StartTrial("left", config),
            blackboard_ready,
            py_trees.composites.Selector(
                "Grasp chosen",
                memory=True,
                children=[choose, py_trees.decorators.SuccessIsFailure("Unreachable", unreachable)],
            ),
            LogTrial("left", config, log, "sample", 0, "aborted"),  # no robot to label it
        ],
    )
    return py_trees.decorators.Retry("Until one trial", trial, num_failures=50)


class PutScene(py_trees.behaviour.Behaviour):
    """What CaptureScene and FindRegions write: a scene with one region in it."""

    def __init__(self) -> None:
        super().__init__("Scene and regions")
        self.bb = self.attach_blackboard_client(self.name)
        for name in ("scene", "regions"):
            self.bb.register_key(key("left", name), access=py_trees.common.Access.WRITE)

    def update(self) -> Status:
        rgb = np.full((360, 640, 3), 235, np.uint8)
        rgb[150:210, 280:360] = (200, 40, 40)
        depth = np.zeros((360, 640), np.float32)
        self.bb.set(key("left", "scene"), Scene(rgb, depth, CAMERA, 0.0), overwrite=True)
        self.bb.set(key("left", "regions"), [Region(280, 150, 80, 60, 80 * 60)], overwrite=True)
        return Status.SUCCESS


@pytest.mark.slow
def test_scorer_killed_mid_query_then_back(tmp_path, store, capfd):
    """The scorer is killed while it scores 20,000 patches one by one: the try fails naming the
    service, no trial is logged, the next try waits for the scorer and says so; the scorer
    restarted, the next try is logged. (A scorer missing when the tree is set up stops it:
    tests/test_robot_behaviours.py.)"""
    config = load_config(
        overrides={"learning.num_patch_samples": 20000, "learning.scorer_timeout": 300.0}
    )
    model = checkpoint(tmp_path / "model.pt", config)
    session = store.begin_session("sim", "", seed=0)
    log = TrialLog(store, session, stage=0, quota=0)
    graphs = [scorer(config, model, fast=False)]
    slow = graphs[-1].processes["grasp_scorer"]
    runner = None
    try:
        runner = TreeRunner(one_learned_trial(config, log, PutScene()))  # waits for the scorer
        choose = "Choose grasp (sample)"
        runner.wait_for(
            lambda: runner.shown(choose, Status.RUNNING, "scoring 20000 patches"),
            60,
            "the request was never sent",
        )
        busy = cpu_seconds(slow.pid) + 1.0
        runner.wait_for(lambda: cpu_seconds(slow.pid) > busy, 60, "the scorer never scored")
        assert slow.poll() is None, "the scorer finished before it was killed"
        os.killpg(slow.pid, signal.SIGKILL)

        runner.wait_for(
            lambda: runner.shown(choose, Status.FAILURE, f"{SERVICE} went away while scoring"),
            60,
            "the chooser never noticed the scorer died",
        )
        failed = len(runner.seen)
        runner.wait_for(
            lambda: runner.shown(choose, Status.RUNNING, f"waiting for {SERVICE}", failed),
            10,
            "the next try does not wait for the scorer",
        )
        assert store.count(labelled_only=False) == 0
        assert log.unlabelled == 0
        err = capfd.readouterr().err
        assert "went away while scoring" in err and f"waiting for {SERVICE}" in err

        graphs.append(scorer(config, model, fast=True))
        runner.wait_for(
            lambda: runner.tree.root.status == Status.SUCCESS, 120, "no trial after the restart"
        )
        (trial,) = store.trials(labelled_only=False)
        assert trial.chooser == "sample" and 0.0 < trial.score < 1.0
        assert f"{SERVICE} is back" in capfd.readouterr().err
    finally:
        if runner is not None:
            runner.close()
        log.close()
        for graph in graphs:
            graph.shutdown()
