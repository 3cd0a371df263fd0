"""World-level behaviour: time, scene resets and refills, determinism, random pixel grasps."""

import numpy as np
import pytest

from supersize_grasp.bulk.trial import run_grasp_trial, sample_object_pixel_grasp
from supersize_grasp.config import load_config
from supersize_grasp.simulator.world import BaxterWorld

CONFIG = load_config()  # the trial's heights, timeouts and labelling rule


def test_time_advances_in_control_periods(world):
    assert world.timestep == pytest.approx(0.002)
    t0 = world.time
    world.step(0.1)
    assert world.time - t0 == pytest.approx(0.1)
    with pytest.raises(ValueError):
        world.step(-1.0)
    world.reset_scene(2)
    assert world.time > t0 + 0.1  # monotonic across a scene reset (it settles 1 s)


def test_reset_scene_drops_objects_on_table(world):
    world.reset_scene(6, split="novel", seed=4)
    objects = world.objects()
    assert len(objects) == 6
    assert all(o.object_id.endswith("0") for o in objects)  # novel split: ids ending in 0
    assert len(world.objects_on_table()) >= 5
    assert world.warnings() == {}
    with pytest.raises(ValueError, match="split"):
        world.reset_scene(2, split="test")


def test_fallen_object_triggers_refill(world, make_box, top):
    world.place_objects([(make_box(), (0.6, 0.1, top + 0.025), (0, 0, 0, 1))])
    assert not world.refill_if_needed()
    world.place_objects(
        [
            (make_box(), (0.6, 0.1, top + 0.025), (0, 0, 0, 1)),
            (make_box(), (0.6, 0.9, top + 0.025), (0, 0, 0, 1)),
        ]
    )
    world.step(0.5)
    assert [o.body_name for o in world.objects_fell_off()] == ["object_1"]
    assert world.refill_if_needed(n_objects=3)
    assert len(world.objects()) == 3 and not world.objects_fell_off()
    world.place_objects([])
    assert world.refill_if_needed()  # empty table
    assert len(world.objects()) == world.config.scene.n_objects


def test_a_run_of_empty_grips_triggers_refill(make_config, make_box, top):
    world = BaxterWorld(make_config(scene={"refill_after_empty_grips": 3}))
    world.enable()
    world.place_objects([(make_box(), (0.6, 0.1, top + 0.025), (0, 0, 0, 1))])
    gripper = world.gripper("left")
    gripper.calibrate()
    for attempt in range(3):
        assert not world.refill_if_needed(), f"refilled after {attempt} empty grips"
        gripper.grip()
        world.step_until(lambda: not gripper.moving, 1.5)
        assert gripper.missed
        gripper.release()
        world.step_until(lambda: not gripper.moving, 1.0)
    assert gripper.empty_grips == 3
    assert world.refill_if_needed(n_objects=2)
    assert len(world.objects()) == 2 and world.gripper("left").empty_grips == 0
    world.close()


def _episode(make_config, seed):
    world = BaxterWorld(make_config(), seed=seed)
    world.reset_scene(5)
    rng = np.random.default_rng(seed)
    outcomes = []
    for _ in range(3):
        grasp = sample_object_pixel_grasp(world.render_head_camera(), rng)
        side = "left" if grasp.y > 0 else "right"
        result = run_grasp_trial(world, CONFIG, side, grasp.x, grasp.y, grasp.theta)
        outcomes.append((grasp, result))
    poses = np.array([o.pose.position for o in world.objects()])
    world.close()
    return outcomes, poses


def test_same_seed_same_scene_and_outcomes(make_config):
    first, poses_a = _episode(make_config, 3)
    second, poses_b = _episode(make_config, 3)
    assert first == second
    np.testing.assert_array_equal(poses_a, poses_b)
    other, _ = _episode(make_config, 4)
    assert other != first


def test_pixel_grasp_lands_on_its_object(world):
    world.reset_scene(4, seed=2)
    frame = world.render_head_camera()
    rng = np.random.default_rng(0)
    for _ in range(10):
        grasp = sample_object_pixel_grasp(frame, rng)
        assert frame.segmentation[grasp.v, grasp.u] == grasp.object_label
        assert 0.0 <= grasp.theta < np.pi
        centre = world.objects()[grasp.object_label - 1].pose.position
        assert np.linalg.norm(np.array([grasp.x, grasp.y]) - centre[:2]) < 0.12
    world.place_objects([])
    assert sample_object_pixel_grasp(world.render_head_camera(), rng) is None
