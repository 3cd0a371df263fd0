"""Labelled grasp patches cut from a trial store, cached next to it.

Every labelled trial becomes one sample: the unrotated context square around its grasp pixel
(RGB, and heights above the table from depth for the geometric baseline and rgbd networks), its
image angle and bin, and its label. Cutting reads each scene image once; the result is cached
under ``<store>/cache/`` keyed by the patch geometry and extended, never rebuilt, as trials are
added (trials are never changed once stored, so a trial id identifies its patch). Every sample
holds both channels, so one cache serves rgb and rgbd networks alike and the inputs need no
place in its key: the geometry is all its content depends on.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from supersize_grasp.config.learning import LearningConfig
from supersize_grasp.dataset.records import Trial
from supersize_grasp.dataset.store import TrialStore
from supersize_grasp.geometry import CameraModel, quaternion_to_matrix

from .patches import (
    SQRT2,
    cut_context,
    height_above_table,
    image_angle,
    image_angle_bin,
    patch_side_px,
)

CACHE_DIR = "cache"
_CACHE_VERSION = 1


@dataclass(frozen=True)
class PatchSamples:
    """N labelled grasp samples, column-wise (every field has N rows)."""

    trial_id: np.ndarray  # int64
    rgb: np.ndarray  # uint8 (N, C, C, 3): unrotated context, side sqrt(2) x the patch
    height: np.ndarray  # float16 (N, C, C): m above the table plane, 0 where depth is missing
    angle: np.ndarray  # float32: image angle of the closing axis in [0, pi)
    angle_bin: np.ndarray  # int64: its bin
    label: np.ndarray  # uint8: 1 success, 0 failure
    metres_per_px: np.ndarray  # float32: table metres per context pixel at the grasp
    stage: np.ndarray  # int64
    object_id: np.ndarray  # str: simulator ground truth ('' on the real robot)
    scene_id: np.ndarray  # str
    session_id: np.ndarray  # str

    def __len__(self) -> int:
        return len(self.trial_id)

    def subset(self, index) -> PatchSamples:
        index = np.asarray(index)
        return PatchSamples(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concatenate(cls, parts: Sequence[PatchSamples]) -> PatchSamples:
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    @property
    def context_px(self) -> int:
        return int(self.rgb.shape[1])


def camera_of(scene) -> CameraModel:
    i = scene.intrinsics
    position, quaternion = scene.camera_pose
    return CameraModel(
        i["fx"],
        i["fy"],
        i["cx"],
        i["cy"],
        int(i["width"]),
        int(i["height"]),
        np.asarray(position, dtype=float),
        quaternion_to_matrix(*quaternion),
    )


def cut_sample(scene, trial: Trial, config: LearningConfig, table_z: float, num_bins: int) -> dict:
    """One trial's sample fields from its stored scene."""
    camera = camera_of(scene)
    side = patch_side_px(camera, trial.grasp_position, config.gripper_opening, config.patch_scale)
    u, v = trial.grasp_pixel
    c = config.context_px
    rgb = cut_context(scene.rgb, u, v, side, c)
    heights = height_above_table(camera, scene.depth, table_z)
    height = cut_context(heights, u, v, side, c, border_value=0.0).astype(np.float16)
    phi = image_angle(camera, trial.grasp_position, trial.angle)
    return {
        "trial_id": trial.trial_id,
        "rgb": rgb,
        "height": height,
        "angle": phi,
        "angle_bin": int(image_angle_bin(phi, num_bins)),
        "label": int(trial.success),
        "metres_per_px": config.patch_scale * config.gripper_opening * SQRT2 / c,
        "stage": trial.stage,
        "object_id": trial.object_id,
        "scene_id": trial.scene_id,
        "session_id": trial.session_id,
    }


_DTYPES = {
    "trial_id": np.int64,
    "rgb": np.uint8,
    "height": np.float16,
    "angle": np.float32,
    "angle_bin": np.int64,
    "label": np.uint8,
    "metres_per_px": np.float32,
    "stage": np.int64,
    "object_id": str,
    "scene_id": str,
    "session_id": str,
}


def _stack(rows: list[dict], context_px: int) -> PatchSamples:
    columns = {}
    for name, dtype in _DTYPES.items():
        if rows:
            columns[name] = np.array([r[name] for r in rows], dtype=dtype)
        elif name == "rgb":
            columns[name] = np.zeros((0, context_px, context_px, 3), np.uint8)
        elif name == "height":
            columns[name] = np.zeros((0, context_px, context_px), np.float16)
        else:
            columns[name] = np.zeros(0, dtype=dtype if dtype is not str else "<U1")
    return PatchSamples(**columns)


def cache_key(config: LearningConfig, table_z: float, num_bins: int) -> str:
    geometry = {
        "version": _CACHE_VERSION,
        "patch_scale": config.patch_scale,
        "gripper_opening": config.gripper_opening,
        "context_px": config.context_px,
        "table_z": table_z,
        "num_bins": num_bins,
    }
    return hashlib.sha256(json.dumps(geometry, sort_keys=True).encode()).hexdigest()[:16]


def load_samples(
    store_path: str | Path,
    config: LearningConfig,
    table_z: float,
    num_bins: int,
    *,
    stage: int | Sequence[int] | None = None,
    use_cache: bool = True,
    progress: bool = False,
) -> PatchSamples:
    """Samples of every labelled trial (of ``stage``) in the store, in trial id order."""
    store_path = Path(store_path)
    with TrialStore.open(store_path, create=False, readonly=True) as store:
        trials = list(store.trials(stage=stage))
        folder = store_path / CACHE_DIR / f"patches-{cache_key(config, table_z, num_bins)}"
        cached = _read_cache(folder) if use_cache else None
        have = set(cached.trial_id.tolist()) if cached is not None else set()
        missing = [t for t in trials if t.trial_id not in have]
        if missing:
            new = _cut(store, missing, config, table_z, num_bins, progress)
            cached = new if cached is None else PatchSamples.concatenate([cached, new])
            if use_cache:
                _write_cache(folder, cached)
    if cached is None:
        return _stack([], config.context_px)
    order = np.argsort(cached.trial_id)
    cached = cached.subset(order)
    wanted = np.isin(cached.trial_id, [t.trial_id for t in trials])
    return cached.subset(np.nonzero(wanted)[0])


def _cut(store, trials, config, table_z, num_bins, progress) -> PatchSamples:
    def one(trial: Trial) -> dict:
        return cut_sample(store.scene(trial.scene_id), trial, config, table_z, num_bins)

    rows: list[dict] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(trials), unit="patch", desc="cutting patches", dynamic_ncols=True)
    # OpenCV's PNG decoder and the checksums release the GIL; the store serialises its queries.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for row in pool.map(one, trials):
            rows.append(row)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return _stack(rows, config.context_px)


def _read_cache(folder: Path) -> PatchSamples | None:
    if not (folder / "complete").exists():
        return None
    try:
        return PatchSamples(**{name: np.load(folder / f"{name}.npy") for name in _DTYPES})
    except (OSError, ValueError):
        return None  # a damaged cache is only a cache: cut again


def _write_cache(folder: Path, samples: PatchSamples) -> None:
    """Write beside, then swap in: a kill leaves the old cache or the new one, never half."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for f in fields(samples):
        np.save(tmp / f"{f.name}.npy", getattr(samples, f.name), allow_pickle=False)
    (tmp / "complete").write_text("ok\n")
    old = folder.with_name(folder.name + f".old{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
