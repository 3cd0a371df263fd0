"""The real collection graph (simulator + tree node over DDS) writes complete trials, and a
collector killed with SIGKILL resumes with every committed trial intact."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from supersize_grasp.dataset.store import TrialStore

pytestmark = pytest.mark.ros

EXE = Path(sys.prefix, "bin", "supersize-grasp")
CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
"""
PHASES = ("Capture scene", "Move 25 cm above", "Descend", "Grip", "Lift 20 cm")


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "test.yaml"
    path.write_text(CONFIG)
    return path


def collect(config_file, data, trials, **popen):
    command = [EXE, "collect", "--trials", str(trials), "--data", data, "--quiet"]
    return [*command, "--config", config_file], popen


@pytest.mark.slow
def test_collection_graph_stores_complete_trials(tmp_path, config_file):
    data = tmp_path / "data"
    command, _ = collect(config_file, data, 4)
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with TrialStore.open(data, readonly=True) as store:
        trials = list(store.trials())
        assert len(trials) >= 4
        assert {t.arm for t in trials} == {"left", "right"}
        (session,) = store.sessions()
        assert session.ended is not None
        for trial in trials:
            assert trial.outcome in ("success", "failure")
            scene = store.scene(trial.scene_id)
            h, w = scene.rgb.shape[:2]
            assert scene.depth.shape == (h, w) and np.nanmax(scene.depth) > 0.5
            x, y, rw, rh = trial.roi
            u, v = trial.grasp_pixel
            assert x <= u <= x + rw and y <= v <= y + rh and 0 <= u < w and 0 <= v < h
            assert 0.0 <= trial.angle < math.pi
            assert trial.angle_bin == int(trial.angle / (math.pi / 18))
            assert trial.grasp_position[2] == pytest.approx(-0.155 + 0.015)
            assert len(trial.gripper_history) > 10
            assert all(phase in trial.timings for phase in PHASES)
            if trial.outcome == "success":
                assert trial.object_id.startswith("primitives/")
        # On a loaded machine a try may also end unlabelled (no reachable grasp, a motion
        # that timed out): the report counts every trial and the labelled ones apart.
        total = store.count(labelled_only=False)
    report = subprocess.run([EXE, "dataset", data], capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stdout + report.stderr
    assert f"{total} trials" in report.stdout
    assert f"{len(trials)} labelled" in report.stdout


@pytest.mark.slow
def test_sigkill_mid_run_loses_nothing_and_resumes(tmp_path, config_file):
    data = tmp_path / "data"
    command, _ = collect(config_file, data, 1000)
    runner = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 300
        committed = 0
        while committed < 3:
            assert time.monotonic() < deadline, "no trials were committed"
            assert runner.poll() is None, runner.stderr.read().decode()[-3000:]
            time.sleep(0.5)
            if (data / "trials.sqlite").exists():
                with TrialStore.open(data, readonly=True) as store:
                    committed = store.count()
    finally:
        # The runner and every node it started share its process group: kill them all at once.
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
    time.sleep(1.0)
    with TrialStore.open(data, readonly=True) as store:
        before = {t.trial_id: t for t in store.trials(labelled_only=False)}
    assert len(before) >= 3

    command, _ = collect(config_file, data, 2)
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with TrialStore.open(data, readonly=True) as store:
        after = {t.trial_id: t for t in store.trials(labelled_only=False)}
        assert store.check_integrity() == []
        for trial_id, trial in before.items():
            assert after[trial_id] == trial
            store.scene(trial.scene_id)  # checksums verified
        assert len(after) >= len(before) + 2
        assert min(set(after) - set(before)) > max(before)
        assert len(store.sessions()) == 2
