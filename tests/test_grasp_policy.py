"""Clutter removal's memory of missed grasps (behaviors/grasp_policy.FailedGrasps), on a camera
looking down at the table as the head camera does."""

import math

import numpy as np

from supersize_grasp.behaviors.grasp_policy import FailedGrasps, avoid
from supersize_grasp.models.patches import image_angle, image_angle_bin
from tests import fakes

TABLE_Z = -0.155
BINS = 18


def pixels(*points):
    uv = fakes.CAMERA.project(np.array([(x, y, TABLE_Z) for x, y in points]))
    return uv[:, 0], uv[:, 1]


def test_a_miss_rules_out_its_spot_and_neighbouring_angles_and_nothing_else():
    failed = FailedGrasps(radius=0.03, bins=1)
    assert not failed.ruled_out(fakes.CAMERA, *pixels((0.6, 0.1)), BINS, TABLE_Z).any()
    theta = 0.3
    failed.add(0.6, 0.1, theta)
    k = int(image_angle_bin(image_angle(fakes.CAMERA, (0.6, 0.1, TABLE_Z), theta), BINS))
    u, v = pixels((0.6, 0.1), (0.61, 0.1), (0.6, 0.125), (0.7, 0.1), (0.6, 0.0))
    mask = failed.ruled_out(fakes.CAMERA, u, v, BINS, TABLE_Z)
    expected = {(k - 1) % BINS, k, (k + 1) % BINS}
    for row in range(3):  # the spot itself, 1 cm and 2.5 cm off (the object was nudged)
        assert set(np.flatnonzero(mask[row])) == expected
    assert not mask[3:].any()  # 10 cm away: another spot


def test_bins_wrap_around_and_radius_0_retries_freely():
    theta = next(  # a table angle that the camera sees in bin 0
        t
        for t in np.linspace(0, math.pi, 720, endpoint=False)
        if image_angle_bin(image_angle(fakes.CAMERA, (0.6, 0.1, TABLE_Z), t), BINS) == 0
    )
    wide = FailedGrasps(radius=0.03, bins=2)
    wide.add(0.6, 0.1, theta)
    mask = wide.ruled_out(fakes.CAMERA, *pixels((0.6, 0.1)), BINS, TABLE_Z)
    assert set(np.flatnonzero(mask[0])) == {16, 17, 0, 1, 2}
    free = FailedGrasps(radius=0.0, bins=2)
    free.add(0.6, 0.1, theta)
    assert not free.ruled_out(fakes.CAMERA, *pixels((0.6, 0.1)), BINS, TABLE_Z).any()


def test_avoid_zeroes_what_is_ruled_out_unless_that_is_everything():
    scores = np.array([[0.9, 0.2], [0.5, 0.4]])
    some = np.array([[True, False], [False, False]])
    assert avoid(scores, some).tolist() == [[0.0, 0.2], [0.5, 0.4]]
    assert avoid(scores, np.ones_like(some)).tolist() == scores.tolist()
