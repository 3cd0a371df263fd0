"""Any object folder as the test set: every object in it is novel, at its real size when asked,
in the world and in the verbs; a folder with a file that cannot be used is refused by name."""

import subprocess
import sys
from pathlib import Path

import pytest

from supersize_grasp.config import load_config
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.simulator.world import BaxterWorld
from tests.fakes import cube_obj

EXE = Path(sys.prefix, "bin", "supersize-grasp")


@pytest.fixture
def two_meshes(tmp_path) -> Path:
    """A scanned-looking set: two OBJ meshes in metres, 3 cm and 5 cm cubes."""
    folder = tmp_path / "held_out"
    folder.mkdir()
    (folder / "small.obj").write_text(cube_obj(0.03))
    (folder / "large.obj").write_text(cube_obj(0.05))
    return folder


def config_file(tmp_path, folder: Path, real_size: bool) -> Path:
    path = tmp_path / "test.yaml"
    cache, size = tmp_path / "cache", str(real_size).lower()
    objects = f"folder: 'builtin:primitives', cache_dir: '{cache}', graspable_only: false"
    path.write_text(
        "simulator:\n"
        f"  objects: {{{objects}}}\n"
        f"  test_objects: {{folder: '{folder}', real_size: {size}}}\n"
        "  scene: {n_objects: 2}\n"
    )
    return path


@pytest.mark.parametrize("real_size", [True, False])
def test_a_folder_of_two_meshes_is_the_novel_set(tmp_path, two_meshes, real_size):
    config = load_config([config_file(tmp_path, two_meshes, real_size)])
    world = BaxterWorld(config.simulator)
    try:
        world.reset_scene(split="novel", seed=1)
        novel = {o.object_id for o in world.objects()}
        assert novel == {"held_out/small", "held_out/large"}
        sizes = {o.object_id: max(o.extents) for o in world.library("novel")}
        if real_size:
            assert sizes == pytest.approx({"held_out/small": 0.03, "held_out/large": 0.05})
        else:  # rescaled into grasp_width_range, as the training objects are
            low, high = config.simulator.objects.grasp_width_range
            assert all(low - 1e-9 <= s <= high + 1e-9 for s in sizes.values())
            assert sizes["held_out/small"] != pytest.approx(0.03)
        world.reset_scene(split="train", seed=1)
        assert all(o.object_id.startswith("primitives/") for o in world.objects())
    finally:
        world.close()


@pytest.mark.slow
def test_sim_collect_takes_a_test_folder_from_the_command_line(tmp_path, two_meshes):
    config = tmp_path / "plain.yaml"
    config.write_text(
        "simulator: {objects: {folder: 'builtin:primitives'}, scene: {n_objects: 2}}\n"
    )
    data = tmp_path / "data"
    command = [EXE, "sim-collect", "--trials", "2", "--data", data, "--quiet", "--config", config]
    command += ["--test-objects", two_meshes, "--real-size"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    with TrialStore.open(data, readonly=True) as store:
        ids = {t.object_id for t in store.trials()}
    assert ids and ids <= {"held_out/small", "held_out/large", ""}


def test_a_bad_test_folder_is_refused_by_name(tmp_path, two_meshes):
    (two_meshes / "scan_042.obj").write_text("v nan 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\n")
    data = tmp_path / "data"
    for verb in (["sim-collect", "--trials", "1"], ["robot-test", "--out", tmp_path / "rt"]):
        command = [EXE, *verb, "--data", data, "--test-objects", two_meshes]
        if verb[0] == "robot-test":
            command = [EXE, *verb, "--policies", "random", "--test-objects", two_meshes]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "scan_042" in result.stderr and "non-finite" in result.stderr, result.stderr
    missing = tmp_path / "no_such_folder"
    result = subprocess.run(
        [EXE, "clear-table", "--policy", "random", "--test-objects", missing],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "no_such_folder" in result.stderr, result.stderr
    assert not data.exists()
