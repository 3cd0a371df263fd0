"""How a learned policy picks from its scores (behaviors/grasp_policy): the sample and best
picks, greedy's re-ranking, and clutter removal's memory of missed grasps (on a camera looking
down at the table as the head camera does)."""

import math

import numpy as np

from supersize_grasp.behaviors.grasp_policy import (
    FailedGrasps,
    avoid,
    best_pick,
    rerank,
    sample_pick,
)
from supersize_grasp.behaviors.regions import Region
from supersize_grasp.config import load_config
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


def test_an_object_missed_give_up_after_times_is_left_alone_wherever_it_was_pushed():
    failed = FailedGrasps(radius=0.03, bins=1, give_up_after=3)
    first = Region(600, 300, 100, 80, 5000)
    failed.add(0.6, 0.1, 0.3, first)
    failed.add(0.7, 0.0, 0.3, Region(900, 200, 60, 60, 2000))  # another object
    failed.add(0.6, 0.1, 0.3)  # no region known: ruled out, not counted
    pushed = Region(630, 320, 100, 80, 5000)  # the miss pushed it ~3 cm
    assert failed.misses_of(pushed) == 1 and not failed.gives_up(pushed)
    failed.add(0.61, 0.1, 1.2, pushed)
    further = Region(665, 335, 100, 85, 5000)  # and again: 65 px from where it was first
    assert failed.misses_of(further) == 2
    failed.add(0.62, 0.1, 2.0, further)
    assert failed.gives_up(Region(690, 340, 95, 80, 5000))
    assert not failed.gives_up(first)  # its old place is empty now: so is the record there
    assert failed.misses_of(Region(900, 200, 60, 60, 2000)) == 1
    assert not failed.gives_up(Region(400, 100, 50, 50, 1500))  # never missed
    never = FailedGrasps(radius=0.03, bins=1, give_up_after=0)
    never.add(0.6, 0.1, 0.3, first)
    assert not never.gives_up(first)


def test_avoid_zeroes_what_is_ruled_out_unless_that_is_everything():
    scores = np.array([[0.9, 0.2], [0.5, 0.4]])
    some = np.array([[True, False], [False, False]])
    assert avoid(scores, some).tolist() == [[0.0, 0.2], [0.5, 0.4]]
    assert avoid(scores, np.ones_like(some)).tolist() == scores.tolist()


def test_sample_pick_follows_the_scores():
    rng = np.random.default_rng(0)
    scores = np.zeros((5, 18))
    scores[3, 7] = 0.2
    assert {sample_pick(rng, scores) for _ in range(20)} == {(3, 7)}
    scores[1, 2] = 0.6  # three times as likely
    picks = [sample_pick(rng, scores) for _ in range(4000)]
    assert 0.70 < picks.count((1, 2)) / len(picks) < 0.80
    flat = {sample_pick(rng, np.zeros((2, 3))) for _ in range(200)}
    assert flat == {(i, k) for i in range(2) for k in range(3)}  # all zero: uniform
    assert best_pick(scores) == (1, 2)


def test_rerank_keeps_the_pair_whose_neighbours_score_best():
    learning = load_config([]).learning.model_copy(
        update={"rerank_top": 3, "rerank_neighbours": 4, "rerank_radius_px": 5.0}
    )
    scores = np.zeros((4, 18))
    scores[0, 1], scores[1, 5], scores[2, 9] = 0.9, 0.8, 0.7  # candidate 3 is never in the top
    u, v = np.array([2.0, 50.0, 90.0, 10.0]), np.array([2.0, 40.0, 60.0, 10.0])
    second = rerank(np.random.default_rng(1), scores, u, v, learning, (100, 80))
    assert second.top == [(0, 1), (1, 5), (2, 9)]
    assert second.u.shape == second.v.shape == (12,)
    for j, (i, _) in enumerate(second.top):
        near_u, near_v = second.u[4 * j : 4 * j + 4], second.v[4 * j : 4 * j + 4]
        assert np.all(np.abs(near_u - u[i]) <= 5.0) and np.all(np.abs(near_v - v[i]) <= 5.0)
    assert second.u.min() >= 0 and second.v.min() >= 0  # clipped into the image
    neighbours = np.full((12, 18), 0.1)
    neighbours[4:8, 3] = 0.95  # the second-best pair is the robust one
    assert second.pick(neighbours) == (1, 5)
