"""Real random trials for the learning tests, collected once per run: the simulator's Python API
on the primitive shapes, 6 objects a scene. A test that adds to a store works on its own copy."""

import shutil
from pathlib import Path

import pytest

from supersize_grasp.bulk.collect import collect
from supersize_grasp.config import load_config

COLLECT_CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
"""


@pytest.fixture(scope="session")
def random_trials(tmp_path_factory) -> Path:
    """A store of 60 labelled random trials on the train split (seed 1); read it, or change a
    copy (:func:`copy_random_trials`)."""
    root = tmp_path_factory.mktemp("random-trials")
    config_file = root / "collect.yaml"
    config_file.write_text(COLLECT_CONFIG)
    collect(load_config([config_file]), root / "train", 60, split="train", seed=1)
    return root / "train"


@pytest.fixture(scope="session")
def copy_random_trials(random_trials):
    """``copy(to)``: a copy of :func:`random_trials` (its patch cache left behind) at ``to``,
    for a test that adds trials."""

    def copy(to: Path) -> Path:
        shutil.copytree(random_trials, to, ignore=shutil.ignore_patterns("cache"))
        return to

    return copy
