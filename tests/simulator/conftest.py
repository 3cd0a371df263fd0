"""Shared fixtures: a world on the built-in primitive set and a test box factory.

``tests/conftest.py`` sets ``MUJOCO_GL=egl`` before anything imports mujoco.
"""

import numpy as np
import pytest

from supersize_grasp.config.simulator import SimulatorConfig
from supersize_grasp.simulator.objects import ObjectModel, ObjectPiece
from supersize_grasp.simulator.world import BaxterWorld


def _make_config(**sections) -> SimulatorConfig:
    """Defaults with the file-free primitive object set (tests must not need pybullet data)."""
    return SimulatorConfig(objects={"folder": "builtin:primitives"}, **sections)


def _make_box(half=(0.025, 0.025, 0.025), mass=0.2, object_id="test/box") -> ObjectModel:
    """A box object with exact, known dimensions."""
    return ObjectModel(
        object_id=object_id,
        name=object_id.rsplit("/", 1)[-1],
        split="train",
        format="primitive",
        source_files=(),
        pieces=(ObjectPiece(kind="box", size=tuple(half), volume=8 * float(np.prod(half))),),
        center=(0.0, 0.0, 0.0),
        scale=1.0,
        mass=mass,
        extents=tuple(2 * h for h in half),
        rgba=(0.2, 0.4, 0.8, 1.0),
        friction=(0.8, 0.005, 0.0001),
        condim=4,
        solref=(0.01, 1.0),
        solimp=(0.95, 0.99, 0.001, 0.5, 2.0),
    )


@pytest.fixture
def make_config():
    return _make_config


@pytest.fixture
def make_box():
    return _make_box


@pytest.fixture
def top():
    """Table top height in the base frame."""
    return _make_config().table.top_z


@pytest.fixture
def world():
    w = BaxterWorld(_make_config(), seed=99)
    yield w
    w.close()
