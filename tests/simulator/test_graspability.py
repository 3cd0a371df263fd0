"""Which objects the gripper can hold at all: measured with the trial (real physics), kept in a
table with the object cache, and used to keep the others off the table."""

import json

import pytest

from supersize_grasp.bulk.graspability import ensure_measured, lifted_at
from supersize_grasp.config import load_config
from supersize_grasp.simulator.graspability import GraspabilityTable, fingerprints
from supersize_grasp.simulator.objects import ObjectSetError
from supersize_grasp.simulator.world import BaxterWorld, object_libraries


def config(tmp_path, **objects):
    settings = {
        "simulator.objects.folder": "builtin:primitives",
        "simulator.objects.primitive_count": 6,
        "simulator.objects.cache_dir": str(tmp_path),
        "simulator.objects.graspability_angles": 2,
        **{f"simulator.objects.{k}": v for k, v in objects.items()},
    }
    return load_config(overrides=settings)


@pytest.mark.parametrize(
    ("half", "graspable"),
    [
        ((0.025, 0.025, 0.025), True),  # 50 mm: between the pads' 35 and 77 mm
        ((0.05, 0.05, 0.02), False),  # 100 mm across either way: wider than the opening
        ((0.008, 0.008, 0.03), False),  # 16 mm: the pads close to 35 mm and miss it
    ],
)
def test_a_box_is_graspable_when_the_pads_can_close_on_it(
    tmp_path, world, make_box, half, graspable
):
    box = make_box(half=half, mass=0.1)
    assert (lifted_at(world, config(tmp_path), box) > 0) == graspable


@pytest.mark.slow
def test_measured_once_kept_with_the_cache_and_used_to_keep_objects_off_the_table(tmp_path):
    cfg = config(tmp_path, graspable_only=True)
    with pytest.raises(ObjectSetError, match="supersize-grasp graspability"):
        BaxterWorld(cfg.simulator)

    assert ensure_measured(cfg) == (6, 0)
    assert ensure_measured(cfg) == (0, 6)
    table = GraspabilityTable(tmp_path, shipped=None)
    (everything, _) = object_libraries(cfg.simulator, graspable_only=False)
    entries = {i: table.get(key) for i, key in fingerprints(everything, cfg.simulator).items()}
    assert all(e is not None and e.angles == 2 for e in entries.values())
    held = {i for i, e in entries.items() if e.graspable}
    assert 0 < len(held) < 6, entries  # the seeded set has objects too wide or too narrow
    stored = json.loads((tmp_path / "graspability.json").read_text())
    assert len(stored["objects"]) == 6

    world = BaxterWorld(cfg.simulator)
    try:
        library = world.library()
        assert {o.object_id for o in library} == held
        assert set(library.excluded) == set(entries) - held
        assert all("not graspable" in why for why in library.excluded.values())
        world.reset_scene(n_objects=4)
        assert {o.object_id for o in world.objects()} <= held
    finally:
        world.close()

    firmer = config(tmp_path, graspable_only=True, graspability_angles=3)
    assert ensure_measured(firmer) == (6, 0)  # another rule: measured again, not trusted


def test_the_shipped_table_keeps_its_keys_until_no_slip_is_on(tmp_path):
    """The no-slip setting came after the shipped measurements: off, the keys are as they were
    measured (the default set needs no new measuring); on, every object is measured anew."""
    cfg = config(tmp_path)
    (everything, _) = object_libraries(cfg.simulator, graspable_only=False)
    keys = fingerprints(everything, cfg.simulator)
    physics = cfg.simulator.physics.model_copy(update={"noslip_iterations": 5})
    noslip = fingerprints(everything, cfg.simulator.model_copy(update={"physics": physics}))
    assert set(keys) == set(noslip) and not set(keys.values()) & set(noslip.values())
    world = BaxterWorld(load_config().simulator)  # the shipped table still covers the set
    try:
        assert len(world.library()) > 500
    finally:
        world.close()
