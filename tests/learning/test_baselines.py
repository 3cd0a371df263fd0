"""Table II baselines on synthetic grasp samples: boxes of known size and orientation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from supersize_grasp.models.baselines import (
    CommonSenseHeuristic,
    HogKnn,
    HogSvm,
    hog_features,
    object_geometry,
)
from supersize_grasp.models.patches import image_angle_bin
from supersize_grasp.models.samples import PatchSamples

C = 96
MPP = 0.0017  # m per context pixel: the context is 0.163 m wide
TABLE_RGB = (190, 186, 178)
GRIPPER = {"min_width": 0.01, "max_width": 0.075}


def box_mask(length, width, long_angle, offset=(0.0, 0.0)) -> np.ndarray:
    """(C, C) mask indexed [v, u] of a length x width (m) box whose long axis has image angle
    long_angle = atan2(dv, du), centred ``offset`` px (du, dv) from the context's centre."""
    centre = (C - 1) / 2.0
    v, u = np.mgrid[0:C, 0:C].astype(float)
    du, dv = u - centre - offset[0], v - centre - offset[1]
    along = du * math.cos(long_angle) + dv * math.sin(long_angle)
    across = -du * math.sin(long_angle) + dv * math.cos(long_angle)
    return (np.abs(along) <= length / (2 * MPP)) & (np.abs(across) <= width / (2 * MPP))


def make_samples(masks, angles, labels, seed: int = 0) -> PatchSamples:
    """Samples whose contexts show ``masks`` (None: bare table) as 4 cm high coloured boxes."""
    rng = np.random.default_rng(seed)
    n = len(masks)
    rgb = np.empty((n, C, C, 3), np.uint8)
    height = np.zeros((n, C, C), np.float16)
    for i, mask in enumerate(masks):
        image = np.array(TABLE_RGB, float) + rng.normal(0.0, 4.0, (C, C, 3))
        if mask is not None:
            image[mask] = rng.uniform(20, 120, 3) + rng.normal(0.0, 4.0, (int(mask.sum()), 3))
            height[i][mask] = 0.04
        rgb[i] = np.clip(image, 0, 255).astype(np.uint8)
    angles = np.asarray(angles, np.float32) % np.float32(math.pi)
    return PatchSamples(
        trial_id=np.arange(n, dtype=np.int64),
        rgb=rgb,
        height=height,
        angle=angles,
        angle_bin=image_angle_bin(angles, 18).astype(np.int64),
        label=np.asarray(labels, np.uint8),
        metres_per_px=np.full(n, MPP, np.float32),
        stage=np.zeros(n, np.int64),
        object_id=np.array(["box"] * n),
        scene_id=np.array([f"scene{i}" for i in range(n)]),
        session_id=np.array(["test"] * n),
    )


def test_box_mask_follows_the_image_angle_convention():
    flat = box_mask(0.12, 0.04, 0.0)
    vs, us = np.nonzero(flat)
    assert np.ptp(us) > 2.5 * np.ptp(vs)  # long axis along u (right)
    diagonal = box_mask(0.12, 0.02, math.radians(45))
    c = (C - 1) / 2.0
    assert diagonal[round(c + 15), round(c + 15)]  # v down: +45 deg points right and down
    assert not diagonal[round(c - 15), round(c + 15)]


@pytest.mark.parametrize("long_deg", [0.0, 30.0, 75.0, 120.0, 160.0])
def test_heuristic_grasps_a_box_across_its_narrow_side(long_deg):
    long_angle = math.radians(long_deg)
    mask = box_mask(0.12, 0.04, long_angle)
    across, along = long_angle + math.pi / 2, long_angle
    samples = make_samples(
        [mask] * 4, [across, along, across + math.radians(15), across + math.radians(30)], [1] * 4
    )
    width, phi_minor = object_geometry(samples)
    assert width == pytest.approx(np.full(4, 0.04), abs=2 * MPP)
    assert np.degrees(phi_minor[0]) == pytest.approx((long_deg + 90) % 180, abs=1.0)
    predicted = CommonSenseHeuristic(**GRIPPER, angle_tolerance_deg=20.0).predict(samples)
    assert predicted.tolist() == [1, 0, 1, 0]
    assert predicted.dtype == np.uint8


def test_heuristic_rejects_no_object_and_objects_the_gripper_cannot_hold():
    thin = box_mask(0.10, 0.005, 0.0)  # a 5 mm rod: the closed fingers would miss it
    wide = box_mask(0.12, 0.09, 0.0)  # 9 cm: wider than the 7.5 cm opening
    across = math.pi / 2
    samples = make_samples([None, thin, wide], [across] * 3, [0, 0, 0])
    assert CommonSenseHeuristic(**GRIPPER).predict(samples).tolist() == [0, 0, 0]
    # The same objects do count as found, so the rejections above come from the widths.
    assert CommonSenseHeuristic(0.0, 0.1).predict(samples).tolist() == [0, 1, 1]


def test_heuristic_takes_an_object_just_beside_the_grasp_point_but_not_a_far_one():
    near = box_mask(0.12, 0.04, 0.0, offset=(0.0, 13.0))  # its edge 1.5 px from the centre
    far = box_mask(0.12, 0.04, 0.0, offset=(0.0, 20.0))  # 8.5 px away
    low = box_mask(0.12, 0.04, 0.0)
    samples = make_samples([near, far, low], [math.pi / 2] * 3, [1, 1, 1])
    samples.height[2] = np.where(low, 0.003, 0.0)  # below min_height: flat, like paper
    assert CommonSenseHeuristic(**GRIPPER).predict(samples).tolist() == [1, 0, 0]


def test_heuristic_fit_learns_nothing_and_checks_its_input():
    model = CommonSenseHeuristic(**GRIPPER)
    samples = make_samples([box_mask(0.12, 0.04, 0.0)], [0.0], [0])
    assert model.fit(samples) is model
    assert model.predict(samples).tolist() == [0]  # a negative label does not change the rule
    with pytest.raises(ValueError, match="empty"):
        model.fit(samples.subset(np.arange(0)))
    with pytest.raises(ValueError, match="min_width"):
        CommonSenseHeuristic(0.08, 0.075)
    assert model.predict(samples.subset(np.arange(0))).shape == (0,)


BINS = (0, 9, 13)  # 0 and 9 see the same boxes with opposite labels: bins matter


def separable_set(per_bin: int, seed: int) -> PatchSamples:
    """Per bin: one third successes (box across the closing axis), the rest failures (bare
    table, or the box along the closing axis); sizes, colours and positions vary."""
    rng = np.random.default_rng(seed)
    masks, angles, labels = [], [], []
    for k in BINS:
        for j in range(per_bin):
            phi = (k + rng.uniform(0.05, 0.95)) * math.pi / 18
            length, width = rng.uniform(0.06, 0.10), rng.uniform(0.025, 0.045)
            offset = rng.uniform(-2.0, 2.0, 2)
            kind = j % 3
            if kind == 0:
                masks.append(box_mask(length, width, phi + math.pi / 2, offset))
            elif kind == 1:
                masks.append(None)
            else:
                masks.append(box_mask(length, width, phi, offset))
            angles.append(phi)
            labels.append(int(kind == 0))
    return make_samples(masks, angles, labels, seed=seed)


@pytest.fixture(scope="module")
def train_test():
    train, test = separable_set(30, seed=1), separable_set(15, seed=2)
    return train, hog_features(train), test, hog_features(test)


@pytest.mark.parametrize("model_class", [HogKnn, HogSvm])
def test_hog_models_learn_a_separable_set(train_test, model_class):
    train, train_x, test, test_x = train_test
    model = model_class().fit(train, features=train_x)
    predicted = model.predict(test, features=test_x)
    assert predicted.dtype == np.uint8 and predicted.shape == (len(test),)
    assert np.mean(predicted == test.label) > 0.8
    positives = test.label == 1
    assert np.mean(predicted[positives] == 1) > 0.8  # not merely predicting the majority
    assert isinstance(model.name, str) and model.name


def test_hog_knn_balances_each_bin(train_test):
    train, train_x, _, _ = train_test
    model = HogKnn(k=3).fit(train, features=train_x)
    for k in BINS:
        assert model.models_[k].n_samples_fit_ == 2 * 10  # 10 successes of 30, as many failures
    again = HogKnn(k=3).fit(train, features=train_x)
    other_seed = HogKnn(k=3, seed=5).fit(train, features=train_x)
    assert np.array_equal(model.models_[0]._fit_X, again.models_[0]._fit_X)
    assert not np.array_equal(model.models_[0]._fit_X, other_seed.models_[0]._fit_X)


@pytest.mark.parametrize("model_class", [HogKnn, HogSvm])
def test_hog_models_fall_back_on_bins_with_one_class_or_none(train_test, model_class):
    train, train_x, test, test_x = train_test
    only_positive = np.flatnonzero((train.angle_bin == 9) & (train.label == 1))
    keep = np.concatenate([np.flatnonzero(train.angle_bin != 9), only_positive])
    model = model_class().fit(train.subset(keep), features=train_x[keep])
    predicted = model.predict(test, features=test_x)
    in_bin9 = test.angle_bin == 9
    assert np.all(predicted[in_bin9] == 1)  # even for its bare-table failures
    assert np.any(test.label[in_bin9] == 0)
    unseen = make_samples([box_mask(0.08, 0.03, 0.0)], [math.radians(175)], [1])
    assert unseen.angle_bin[0] == 17
    assert model.predict(unseen).tolist() == [0]


def test_hog_models_reject_bad_input(train_test):
    train, train_x, test, _ = train_test
    with pytest.raises(ValueError, match="empty"):
        HogSvm().fit(train.subset(np.arange(0)))
    with pytest.raises(ValueError, match="features"):
        HogKnn().fit(train, features=train_x[:, :10])
    with pytest.raises(ValueError, match="before predict"):
        HogSvm().predict(test)
    with pytest.raises(ValueError, match="out_px"):
        hog_features(test, out_px=8)
    bad = PatchSamples(**{**train.__dict__, "label": np.full(len(train), 2, np.uint8)})
    with pytest.raises(ValueError, match="label"):
        HogKnn().fit(bad, features=train_x)
    assert train_x.dtype == np.float32 and train_x.shape == (len(train), 1764)
