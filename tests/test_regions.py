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
