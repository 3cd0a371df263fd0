"""Clutter removal through the whole graph: the tree picks the objects one by one and drops them
in the bin beside the table until its halves are clear (random chooser here: the learned
choosers are tested in tests/learning)."""

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.models.robot_tests import removed_objects
from tests.fakes import cube_obj

EXE = Path(sys.prefix, "bin", "supersize-grasp")
CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {drop_x: [0.55, 0.65], drop_y: [0.42, 0.5]}
storage: {record_mcap: false}
clear_table: {max_interactions: 30}
arms:
  right: {enabled: false}
"""


@pytest.mark.slow
def test_clear_table_empties_the_table_into_the_bin(tmp_path):
    """The object lies outside the left arm's workspace (y <= 0.35 m), where random trials keep
    to, but in its reach: clearing the table still picks it."""
    config_file = tmp_path / "test.yaml"
    config_file.write_text(CONFIG)
    data = tmp_path / "data"
    command = [
        EXE,
        "clear-table",
        "--policy",
        "random",
        "--objects",
        "1",
        "--split",
        "train",
        "--data",
        data,
        "--seed",
        "2",
        "--config",
        config_file,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = re.search(r"removed (\d+)/1 in (\d+) interactions \((.*?)\)", result.stdout)
    assert line, result.stdout
    removed, interactions, ending = int(line[1]), int(line[2]), line[3]
    # a failed drop leaves objects
    assert ending == "nothing left in reach that it would try", result.stdout
    assert removed == 1 and interactions < 30
    with TrialStore.open(data, readonly=True) as store:
        trials = list(store.trials())
    assert len(trials) == interactions and any(t.success for t in trials)
    assert len({t.object_id for t in trials if t.success}) == removed  # lifted twice: once
    assert {t.arm for t in trials} == {"left"}


@pytest.mark.slow
def test_an_object_too_wide_for_the_gripper_is_left_alone(tmp_path):
    """Every grasp of a 1 cm thin plate misses (the fingertips stop 1.5 cm above the table, and
    the plate is too wide to take from its edges, so it stays where it is): after
    clear_table.give_up_after misses on its region the arm leaves it, well before the attempt
    limit."""
    folder = tmp_path / "wide"
    folder.mkdir()
    (folder / "plate.obj").write_text(cube_obj((0.12, 0.12, 0.025)))
    config_file = tmp_path / "test.yaml"
    config_file.write_text(CONFIG)
    (tmp_path / "give_up.yaml").write_text(
        "simulator:\n  objects: {graspable_only: false, min_flatness: 0.0}\n"
        "  scene: {drop_x: [0.55, 0.65], drop_y: [0.15, 0.25]}\n"
        "clear_table: {max_interactions: 12, give_up_after: 3}\n"
    )
    data = tmp_path / "data"
    command = [EXE, "clear-table", "--policy", "random", "--objects", "1", "--split", "novel"]
    command += ["--test-objects", folder, "--real-size", "--data", data, "--seed", "2"]
    command += ["--config", config_file, "--config", tmp_path / "give_up.yaml"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = re.search(r"removed (\d+)/1 in (\d+) interactions \((.*?)\)", result.stdout)
    assert line, result.stdout
    assert (int(line[1]), int(line[2])) == (0, 3), result.stdout
    assert line[3] == "nothing left in reach that it would try", result.stdout
    with TrialStore.open(data, readonly=True) as store:
        assert [t.outcome for t in store.trials()] == ["failure"] * 3


def test_an_object_is_removed_when_its_last_try_lifted_it():
    """One that slips back onto the table on its way to the bin is tried again: it is removed
    once if that lifts it, not at all if the arm then misses it and gives up."""
    outcomes = [(True, "a"), (False, "b"), (True, "a"), (True, "b"), (True, ""), (True, "")]
    outcomes += [(True, "c"), (False, "c"), (False, "")]
    tries = [SimpleNamespace(success=s, object_id=o) for s, o in outcomes]
    assert removed_objects(tries) == 4  # a, b and two lifts that named no object; not c
