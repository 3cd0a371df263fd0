"""MOG regions of interest on the simulator's head camera: every region is an object, also after
the objects moved (no ghosts where the background model was seeded), and grasp pixels sampled on
a region's foreground land on that object."""

import numpy as np
import pytest

from supersize_grasp.behaviors.regions import RegionFinder
from supersize_grasp.config import load_config
from supersize_grasp.simulator.world import BaxterWorld


@pytest.fixture(scope="module")
def world():
    config = load_config([], {"simulator.objects.folder": "builtin:primitives"})
    world = BaxterWorld(config.simulator, seed=4)
    yield world, config
    world.close()


def _object_fraction(region, segmentation) -> float:
    box = segmentation[region.y : region.y + region.height, region.x : region.x + region.width]
    return float((box[region.mask] > 0).mean())


def test_regions_follow_the_objects_after_they_moved(world):
    world, config = world
    finder = RegionFinder(config.trial.roi, config.trial.table_z)
    rng = np.random.default_rng(0)
    for seed in (1, 2, 3):  # the first scene seeds the background; later ones moved everything
        world.reset_scene(6, seed=seed)
        frame = world.render_head_camera()
        found = []
        for side in ("left", "right"):
            workspace = getattr(config.arms, side).workspace
            regions, _ = finder.find(frame.rgb, frame.depth, frame.model, workspace)
            found += regions
        assert found, f"scene {seed}: no region"
        for region in found:
            assert _object_fraction(region, frame.segmentation) > 0.9, (seed, region)
            u, v = region.sample_pixel(rng, on_foreground=True)
            assert frame.segmentation[round(v), round(u)] > 0


def test_heights_are_the_points_z_without_the_point_cloud(world):
    """``RegionFinder`` reads only the points' heights: ``CameraModel.heights`` gives the z of
    ``points`` (to the last bit or so: the same sums in another order), NaN where depth is 0."""
    world, _ = world
    world.reset_scene(6, seed=1)
    frame = world.render_head_camera()
    depth = frame.depth.copy()
    depth[::7, ::5] = 0.0
    z = frame.model.points(depth)[..., 2]
    heights = frame.model.heights(depth)
    assert heights.shape == depth.shape
    assert np.array_equal(np.isnan(heights), depth == 0)
    np.testing.assert_allclose(heights, z, rtol=0, atol=1e-12, equal_nan=True)


def test_every_object_of_a_clutter_is_found():
    """Small objects too: a 2 cm object covers only ~40 px of the 640 x 360 head image, so a
    speck filter sized for noisy Kinect depth would hide it and clutter removal would stop early."""
    config = load_config()  # the default object set: pybullet_data's random_urdfs
    world = BaxterWorld(config.simulator)
    missed, total = [], 0
    try:
        for seed in (3000, 3003):
            world.reset_scene(10, split="novel" if seed % 2 else "train", seed=seed)
            frame = world.render_head_camera()
            finder = RegionFinder(config.trial.roi, config.trial.table_z)
            found = set()
            for side in ("left", "right"):
                workspace = getattr(config.arms, side).workspace
                regions, _ = finder.find(frame.rgb, frame.depth, frame.model, workspace)
                for r in regions:
                    box = frame.segmentation[r.y : r.y + r.height, r.x : r.x + r.width][r.mask]
                    assert (box > 0).mean() > 0.5, (seed, r)  # a region is an object
                    found |= set(np.unique(box[box > 0]).tolist())
            labels = {int(v) for v in np.unique(frame.segmentation) if v > 0}
            total += len(labels)
            missed += [(seed, label) for label in sorted(labels - found)]
    finally:
        world.close()
    assert total >= 18 and not missed, f"{len(missed)} of {total} objects not found: {missed}"
