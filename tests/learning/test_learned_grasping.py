"""Learned grasping through the whole graph (simulator, grasp-scoring node, tree) with an untrained
network: the sample policy choosing each grasp, and the robot tests end to end on small data
(oracle, greedy and random tries on seen objects, all on one clutter, one clutter-removal run,
the report; a second run finds every store complete and collects nothing)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from supersize_grasp.bulk.oracle import NO_LIFT
from supersize_grasp.commands.robot_test import first_seed
from supersize_grasp.config import load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.models.checkpoint import Checkpoint, save_checkpoint
from supersize_grasp.models.network import GraspNet

EXE = Path(sys.prefix, "bin", "supersize-grasp")
ORACLE_CHECKS = load_config([]).simulator.ros.oracle_checks
CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
  ros: {oracle_budget: 4}
storage: {record_mcap: false}
clear_table: {max_interactions: 2}
"""


def untrained(tmp_path, profile: str = "cpu", inputs: str = "rgb") -> tuple[Path, Path]:
    """The test configuration file and a checkpoint of an untrained network."""
    config_file = tmp_path / "test.yaml"
    config_file.write_text(CONFIG + f"learning: {{num_patch_samples: 200, inputs: {inputs}}}\n")
    torch.manual_seed(0)
    learning = load_config([config_file]).learning.model_dump(mode="json")
    model = tmp_path / "model.pt"
    net = GraspNet(profile, inputs=inputs)
    save_checkpoint(
        model, Checkpoint(profile, 18, net.state_dict(), learning, "t", "-", inputs=inputs)
    )
    return config_file, model


@pytest.mark.slow
@pytest.mark.parametrize(("profile", "inputs"), [("cpu", "rgb"), ("resnet", "rgbd")])
def test_the_sample_policy_chooses_the_grasps(tmp_path, profile, inputs):
    """rgbd: the chooser's request carries the depth the scorer needs."""
    config_file, model = untrained(tmp_path, profile, inputs)
    data = tmp_path / "data"
    command = [EXE, "collect", "--trials", "2", "--data", data, "--policy", "sample"]
    command += ["--model", model, "--quiet", "--config", config_file]
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with TrialStore.open(data, readonly=True) as store:
        trials = list(store.trials())
    assert len(trials) >= 2
    for trial in trials:
        assert trial.chooser == "sample"
        assert 0.0 < trial.score < 1.0 and math.isfinite(trial.score)
        x, y, w, h = trial.roi
        u, v = trial.grasp_pixel
        assert x - 4 <= u <= x + w + 4 and y - 4 <= v <= y + h + 4  # snapped to the 4 px grid


@pytest.mark.slow
def test_robot_tests_collect_resume_and_report(tmp_path):
    config_file, model = untrained(tmp_path)
    out = tmp_path / "robot"
    command = [EXE, "robot-test", "--model", model, "--out", out, "--objects", "seen"]
    command += ["--tries", "2", "--tries-per-scene", "2"]
    command += ["--clutter-runs", "1", "--clutter-objects", "2"]
    command += ["--seed", "5", "--quiet", "--config", config_file]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    for policy in ("oracle", "greedy", "random"):
        with TrialStore.open(out / f"{policy}-seen", readonly=True) as store:
            trials = list(store.trials())
            seeds = {yaml.safe_load(s.config_yaml)["simulator"]["seed"] for s in store.sessions()}
        assert len(trials) >= 2 and {t.chooser for t in trials} == {policy}
        assert seeds == {5}  # every policy on the same clutter
        assert all(math.isfinite(t.score) == (policy != "random") for t in trials)
        if policy == "oracle":  # the share of its (1 + checks) tries that lifted, else NO_LIFT
            lifts = {round(k / (1 + ORACLE_CHECKS), 4) for k in range(1, 2 + ORACLE_CHECKS)}
            assert {round(t.score, 4) for t in trials} <= lifts | {NO_LIFT}
    with TrialStore.open(out / "clear-table", readonly=True) as store:
        (session,) = store.sessions()
        clutter = list(store.trials())
    # the limit (2) may be passed by the other arm's attempt already under way
    assert session.ended is not None and 1 <= len(clutter) <= 3
    for i, missed in enumerate(clutter):  # a miss is not tried again (clear_table.retry_*)
        for later in clutter[i + 1 :] if missed.outcome == "failure" else ():
            turn = abs(later.angle - missed.angle) % math.pi
            assert math.dist(later.grasp_position[:2], missed.grasp_position[:2]) > 0.025 or min(
                turn, math.pi - turn
            ) > math.radians(5), (missed, later)

    results = json.loads((out / "results.json").read_text())
    assert [(t["policy"], t["objects"]) for t in results["tries"]] == [
        ("oracle", "seen"),
        ("greedy", "seen"),
        ("random", "seen"),
    ]
    assert results["clutter"][0]["seed"] == 5 + 2000
    assert results["clutter"][0]["interactions"] == len(clutter)
    report = (out / "report.md").read_text()
    assert "| greedy - random |" in report and "## Clutter removal" in report
    assert "| greedy / oracle (share of the achievable) |" in report
    assert "## Seen objects that fail most" in report
    for t in results["tries"]:  # every try, success or not, names its object
        assert sum(tries for _, tries in t["per_object"].values()) == t["tries"]

    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "on seen objects:" not in again.stdout and "clutter run" not in again.stdout

    one = [EXE, "robot-test", "--model", model, "--out", out, "--policies", "greedy"]
    one += ["--objects", "seen", "--tries", "2", "--clutter-runs", "0", "--config", config_file]
    only = subprocess.run(one, capture_output=True, text=True, timeout=120)
    assert only.returncode == 0, only.stderr[-3000:]
    rows = json.loads((out / "results.json").read_text())["tries"]  # the other policies' stay
    assert [t["policy"] for t in rows] == ["oracle", "greedy", "random"]


def test_an_object_set_meets_the_same_clutters_asked_alone_or_with_the_other():
    """Novel clutters start at --seed + 1000 also when only novel objects are asked for, so a
    row measured on its own is comparable with one measured beside seen objects."""
    assert [first_seed(1000, o) for o in ("seen", "novel")] == [1000, 2000]
