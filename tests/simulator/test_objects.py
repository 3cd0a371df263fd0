"""Object sets: split, scaling, broken objects, and sampled objects settle in MuJoCo."""

from __future__ import annotations

import struct
from pathlib import Path

import mujoco
import numpy as np
import pydantic
import pytest

from supersize_grasp.config.objects import GRIPPER_MAX_OPENING, ObjectSetConfig
from supersize_grasp.simulator.objects import ObjectLibrary, ObjectModel, ObjectSetError
from tests.fakes import cube_obj

pytest.importorskip("pybullet_data")

# random_urdfs in pybullet 3.2.7: 1,000 objects, 168 has NaN vertices, four are flat sheets.
EXPECTED_SKIPPED = {"168", "295", "297", "602", "824"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("object_cache")


@pytest.fixture(scope="module")
def library(cache_dir: Path) -> ObjectLibrary:
    """The default set, scanned once (cold cache) for the whole module."""
    return ObjectLibrary.from_config(ObjectSetConfig(cache_dir=cache_dir))


def _flat_quat(extents: tuple[float, float, float]) -> tuple[float, float, float, float]:
    """Orientation that puts the object's thinnest side vertical, as it would come to rest."""
    h = float(np.sqrt(0.5))
    return {0: (h, 0.0, h, 0.0), 1: (h, h, 0.0, 0.0), 2: (1.0, 0.0, 0.0, 0.0)}[
        int(np.argmin(extents))
    ]


def _settle(lib: ObjectLibrary, obj: ObjectModel, seconds: float = 1.0) -> list[str]:
    """Drop one object on a plane, step, and return what went wrong (empty = fine)."""
    spec = mujoco.MjSpec()
    spec.option.timestep = 0.002
    spec.worldbody.add_geom(
        name="table", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[1, 1, 0.1], rgba=[0.9, 0.9, 0.9, 1]
    )
    lib.add_to_spec(
        spec, obj, "obj0", (0.0, 0.0, min(obj.extents) / 2 + 0.005), _flat_quat(obj.extents)
    )
    model = spec.compile()
    data = mujoco.MjData(model)
    for _ in range(round(seconds / model.opt.timestep)):
        mujoco.mj_step(model, data)
    problems = []
    warnings = {mujoco.mjtWarning(i).name: w.number for i, w in enumerate(data.warning) if w.number}
    if warnings:
        problems.append(f"MuJoCo warnings {warnings}")
    if not (np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()):
        problems.append("non-finite state")
        return problems
    speed = float(np.linalg.norm(data.qvel[:3]))
    if speed > 0.1:
        problems.append(f"still moving at {speed:.3f} m/s")
    if data.ncon == 0:
        problems.append("not touching the table")
    elif min(c.dist for c in data.contact[: data.ncon]) < -0.002:
        problems.append("sinks more than 2 mm into the table")
    if np.linalg.norm(data.qpos[:2]) > 0.3:
        problems.append("left the table")
    return problems


@pytest.mark.slow
def test_default_split_is_pybullet_convention_and_disjoint(library: ObjectLibrary) -> None:
    train = {o.object_id for o in library.objects("train")}
    novel = {o.object_id for o in library.objects("novel")}
    assert not train & novel
    assert train | novel == {o.object_id for o in library.objects("all")}
    assert all(i.endswith("0") for i in novel) and not any(i.endswith("0") for i in train)
    assert set(library.skipped) == EXPECTED_SKIPPED
    assert (len(library), len(train), len(novel)) == (995, 895, 100)
    assert library.get("random_urdfs/042").split == "train"
    with pytest.raises(KeyError, match="168"):
        library.get("random_urdfs/168")


def test_split_and_sizes_are_deterministic_and_cached(
    library: ObjectLibrary, cache_dir: Path
) -> None:
    again = ObjectLibrary.from_config(ObjectSetConfig(cache_dir=cache_dir))
    assert again.from_cache and not library.from_cache
    assert again.objects("all") == library.objects("all")
    reseeded = ObjectLibrary.from_config(ObjectSetConfig(cache_dir=cache_dir, seed=1))
    assert [o.split for o in reseeded] == [o.split for o in library]
    assert [o.scale for o in reseeded] != [o.scale for o in library]


def test_scaling_rule_keeps_extents_in_range(library: ObjectLibrary) -> None:
    cfg = ObjectSetConfig()
    lo, hi = cfg.grasp_width_range
    for obj in library:
        thickness, width, length = sorted(obj.extents)
        assert length <= cfg.max_extent + 1e-9, obj.object_id
        if length < cfg.max_extent - 1e-9:  # not capped by max_extent
            assert lo - 1e-9 <= width <= hi + 1e-9, obj.object_id
        else:
            assert width <= hi + 1e-9, obj.object_id
        assert thickness / width >= cfg.min_flatness
        assert cfg.mass_range[0] <= obj.mass <= cfg.mass_range[1]
    graspable = np.mean([o.graspable for o in library])
    assert 0.6 < graspable < 0.95  # mostly graspable, some too wide for 7.5 cm
    assert any(o.grasp_width > GRIPPER_MAX_OPENING for o in library.objects("novel"))


def test_colours_vary_and_contrast_with_white(library: ObjectLibrary) -> None:
    colours = {o.rgba for o in library}
    assert len(colours) > 0.95 * len(library)
    assert all(min(c[:3]) < 0.6 for c in colours)


@pytest.mark.parametrize("split", ["train", "novel"])
def test_sample_of_each_split_compiles_and_settles(library: ObjectLibrary, split: str) -> None:
    objs = library.objects(split)  # type: ignore[arg-type]
    sample = objs[:: max(1, len(objs) // 20)][:20]
    assert len(sample) == 20
    failures = {o.object_id: p for o in sample if (p := _settle(library, o))}
    assert not failures


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_objects"
    with pytest.raises(pydantic.ValidationError, match="no_such_objects"):
        ObjectSetConfig(folder=str(missing))
    empty = tmp_path / "empty_objects"
    empty.mkdir()
    with pytest.raises(pydantic.ValidationError, match="empty_objects"):
        ObjectSetConfig(folder=str(empty))
    with pytest.raises(pydantic.ValidationError):
        ObjectSetConfig(folder="builtin:spheres")
    with pytest.raises(pydantic.ValidationError):
        ObjectSetConfig(unknown_key=1)


def test_folder_of_two_obj_files(tmp_path: Path) -> None:
    folder = tmp_path / "my_objects"
    folder.mkdir()
    (folder / "block0.obj").write_text(cube_obj(0.04))
    # an L shape in two convex groups; 'o' lines start the pieces
    (folder / "ell.obj").write_text(
        "o leg\n" + cube_obj(0.03) + "o foot\n" + cube_obj(0.03, (0.03, 0, 0), first=9)
    )
    (folder / "broken.obj").write_text("v nan nan nan\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\n")
    cfg = ObjectSetConfig(folder=str(folder), cache_dir=tmp_path / "cache")
    lib = ObjectLibrary.from_config(cfg)
    assert len(lib) == 2 and set(lib.skipped) == {"broken"}
    block, ell = lib.get("my_objects/block0"), lib.get("my_objects/ell")
    assert (block.split, ell.split) == ("novel", "train")
    assert len(block.pieces) == 1 and len(ell.pieces) == 2
    assert ell.extents[0] == pytest.approx(2 * ell.extents[1])
    for obj in lib:
        assert not _settle(lib, obj)


def test_only_broken_objects_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "all_broken"
    folder.mkdir()
    (folder / "nan.obj").write_text("v nan 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 3 4\n")
    with pytest.raises(ObjectSetError, match="all_broken"):
        ObjectLibrary.from_config(ObjectSetConfig(folder=str(folder), use_cache=False))


def test_mjcf_and_stl_folders(tmp_path: Path) -> None:
    mjcf = tmp_path / "mjcf_set"
    mjcf.mkdir()
    (mjcf / "mug.xml").write_text(
        """<mujoco><worldbody><body name="mug" pos="0.3 0 0.1">
        <geom type="cylinder" size="0.03 0.05"/>
        <geom type="box" size="0.005 0.01 0.03" pos="0.04 0 0"/>
        <geom type="sphere" size="0.01" pos="0 0 0.2" contype="0" conaffinity="0"/>
        </body></worldbody></mujoco>"""
    )
    lib = ObjectLibrary.from_config(
        ObjectSetConfig(folder=str(mjcf), scaling="source", use_cache=False)
    )
    mug = lib.get("mjcf_set/mug")
    assert [p.kind for p in mug.pieces] == ["cylinder", "box"]  # the visual-only sphere is left
    assert mug.extents == pytest.approx((0.075, 0.06, 0.1))
    assert not _settle(lib, mug)

    stl = tmp_path / "stl_set"
    stl.mkdir()
    v = np.array([[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0, 0, 0.05]], dtype="<f4")
    tris = [(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)]
    body = b"".join(struct.pack("<3f", 0, 0, 0) + v[list(t)].tobytes() + b"\0\0" for t in tris)
    (stl / "tet.stl").write_bytes(b"\0" * 80 + struct.pack("<I", len(tris)) + body)
    lib = ObjectLibrary.from_config(ObjectSetConfig(folder=str(stl), use_cache=False))
    assert not _settle(lib, lib.get("stl_set/tet"))


def test_builtin_primitives_are_seeded() -> None:
    cfg = ObjectSetConfig(folder="builtin:primitives", primitive_count=30, seed=3)
    a, b = ObjectLibrary.from_config(cfg), ObjectLibrary.from_config(cfg)
    assert a.objects() == b.objects() and len(a) == 30
    assert {p.kind for o in a for p in o.pieces} == {"box", "cylinder", "capsule"}
    assert len(a.objects("novel")) == 3
    for obj in a.objects()[:6]:
        assert not _settle(a, obj)


def test_explicit_novel_ids_file(tmp_path: Path) -> None:
    ids = tmp_path / "novel.txt"
    ids.write_text("# held out\n001\nprimitives/002\n")
    cfg = ObjectSetConfig(
        folder="builtin:primitives", primitive_count=10, split_rule="explicit", novel_ids_file=ids
    )
    lib = ObjectLibrary.from_config(cfg)
    assert [o.name for o in lib.objects("novel")] == ["001", "002"]


def test_add_and_remove_in_one_spec(library: ObjectLibrary) -> None:
    obj = library.get("random_urdfs/042")
    spec = mujoco.MjSpec()
    library.add_to_spec(spec, obj, "a", (0, 0, 0.1))
    library.add_to_spec(spec, obj, "b", (0.2, 0, 0.1), rgba=(1, 0, 0, 1))
    with pytest.raises(ValueError, match="already"):
        library.add_to_spec(spec, obj, "a", (0, 0, 0.1))
    model = spec.compile()
    assert model.nmesh == 2 * len(obj.pieces)
    assert model.body("a").mass[0] == pytest.approx(obj.mass)
    ObjectLibrary.remove_from_spec(spec, "a")
    library.add_to_spec(spec, library.get("random_urdfs/050"), "a", (0, 0, 0.1))
    model = spec.compile()
    assert model.nbody == 3
    assert model.nmesh == len(obj.pieces) + len(library.get("random_urdfs/050").pieces)
