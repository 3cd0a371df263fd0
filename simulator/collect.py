"""Bulk random grasp trials straight through the simulator's Python API, in worker processes.

Learning needs tens of thousands of trials; the full ROS graph makes about 3,000 an hour on two
cores, the Python API about 10,000 per core. Each worker owns a world and runs the paper's random
trial as the behaviour tree does (capture, MOG regions in one arm's half, a pixel uniform in a
random region, theta uniform, approach, grasp, lift 20 cm, label from the gripper); the parent
process alone writes the trial store, one committed trial at a time, so a kill loses at most the
trials in flight and the same command resumes.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing as mp
import queue
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from supersize_grasp.config import Config, to_yaml
from supersize_grasp.dataset.store import Trial, TrialStore
from supersize_grasp.geometry import angle_bin, matrix_to_quaternion, top_down_quaternion

CHOOSER = "random"
ROBOT = "simulated Baxter (Python API)"
_SEED_STRIDE = 1_000_003  # worker seeds of successive runs never overlap


@dataclass(frozen=True)
class Job:
    """What one worker needs: everything picklable, nothing that holds a GL context."""

    config: Config
    split: str
    stage: int
    seed: int
    worker: int


def _die_with_parent() -> None:
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphaned workers


def _worker(job: Job, results: mp.Queue, stop: mp.Event) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        for record in run_trials(job, stop.is_set):
            results.put(record)
    except Exception as e:  # reported to the parent, which stops the run
        results.put({"error": f"worker {job.worker}: {type(e).__name__}: {e}"})
    results.put({"done": job.worker})


def run_trials(job: Job, should_stop: Callable[[], bool]):
    """Yield one dict per trial (scene images, camera and the trial's fields) until stopped."""
    from supersize_grasp.behaviors.regions import RegionFinder
    from supersize_grasp.simulator.trial import run_grasp_trial
    from supersize_grasp.simulator.world import BaxterWorld

    config = job.config
    t = config.trial
    rng = np.random.default_rng(job.seed)
    world = BaxterWorld(config.simulator, seed=job.seed)
    try:
        world.reset_scene(split=job.split)
        finder = RegionFinder(t.roi, t.table_z)
        sides = config.arms.active()
        while not should_stop():
            world.refill_if_needed(split=job.split)
            frame = world.render_head_camera()
            camera = frame.model
            side = sides[int(rng.integers(len(sides)))]
            workspace = getattr(config.arms, side).workspace
            regions, _ = finder.find(frame.rgb, frame.depth, camera, workspace)
            if not regions:
                world.reset_scene(split=job.split)
                continue
            region = regions[int(rng.integers(len(regions)))]
            u, v = region.sample_pixel(rng, t.roi.sample_on_foreground)
            x, y, _ = camera.pixel_to_plane(u, v, t.table_z)
            theta = float(rng.uniform(0.0, math.pi))
            started = time.perf_counter()
            result = run_grasp_trial(
                world, side, float(x), float(y), theta, grasp_height=t.grasp_depth
            )
            row, col = min(round(v), camera.height - 1), min(round(u), camera.width - 1)
            label = int(frame.segmentation[row, col])
            aimed = world.objects()[label - 1].object_id if label > 0 else ""
            if not result.ik_ok:
                outcome, message = "ik_failed", "no IK solution for the grasp"
            else:
                outcome, message = ("success" if result.success else "failure"), ""
            yield {
                "rgb": frame.rgb,
                "depth": frame.depth,
                "intrinsics": {
                    "fx": camera.fx,
                    "fy": camera.fy,
                    "cx": camera.cx,
                    "cy": camera.cy,
                    "width": camera.width,
                    "height": camera.height,
                },
                "camera_pose": (tuple(camera.position), matrix_to_quaternion(camera.rotation)),
                "scene_stamp": frame.time,
                "trial": {
                    "stage": job.stage,
                    "arm": side,
                    "chooser": CHOOSER,
                    "outcome": outcome,
                    "roi": (region.x, region.y, region.width, region.height),
                    "grasp_pixel": (u, v),
                    "angle": theta,
                    "angle_bin": angle_bin(theta, t.num_angle_bins),
                    "grasp_position": (float(x), float(y), t.table_z + t.grasp_depth),
                    "grasp_orientation": top_down_quaternion(theta),
                    "force": result.force,
                    "gripper_position": result.gripper_position,
                    "timings": {"total": result.sim_time, "wall": time.perf_counter() - started},
                    "seed": job.seed,
                    "object_id": _object_id(world, result.lifted_object) or aimed,
                    "message": message,
                    "stamp": time.time(),
                },
            }
    finally:
        world.close()


def _object_id(world, body_name: str | None) -> str:
    for state in world.objects():
        if state.body_name == body_name:
            return state.object_id
    return ""


@dataclass
class Progress:
    labelled: int = 0
    successes: int = 0
    written: int = 0


def collect(
    config: Config,
    store_path,
    target: int,
    *,
    split: str = "train",
    stage: int = 0,
    workers: int = 1,
    seed: int = 0,
    on_trial: Callable[[Progress, dict[str, Any]], None] | None = None,
) -> Progress:
    """Collect until the store holds ``target`` labelled trials of this split and stage.

    Resumable: the trials already stored count, and the seeds move past those of earlier runs.
    """
    if split not in ("train", "novel"):
        raise ValueError(f"split must be 'train' or 'novel', got {split!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    with TrialStore.open(store_path) as store:
        progress = Progress()
        progress.labelled = store.count(stage=stage, labelled_only=True)
        if progress.labelled >= target:
            return progress
        runs = len(store.sessions())
        session = store.begin_session(
            ROBOT,
            to_yaml(config),
            seed,
            notes=f'{{"collector": "sim-collect", "split": "{split}"}}',
        )
        context = mp.get_context("spawn")  # a forked child would share the parent's GL state
        results: mp.Queue = context.Queue(maxsize=4 * workers)
        stop = context.Event()
        procs = [
            context.Process(
                target=_worker,
                args=(Job(config, split, stage, seed + _SEED_STRIDE * runs + w, w), results, stop),
                daemon=True,
            )
            for w in range(workers)
        ]
        for p in procs:
            p.start()
        running, error = len(procs), None
        try:
            while running and progress.labelled < target:
                try:
                    item = results.get(timeout=5.0)
                except queue.Empty:
                    if not any(p.is_alive() for p in procs):
                        error = error or "every worker died"
                        break
                    continue
                if "done" in item:
                    running -= 1
                    continue
                if "error" in item:
                    error = item["error"]
                    break
                _write(store, session, item)
                progress.written += 1
                if item["trial"]["outcome"] in ("success", "failure"):
                    progress.labelled += 1
                    progress.successes += item["trial"]["outcome"] == "success"
                if on_trial is not None:
                    on_trial(progress, item)
        finally:
            stop.set()
            for p in procs:
                p.join(timeout=10.0)
                if p.is_alive():
                    p.kill()
            store.end_session(session)
        if error:
            raise RuntimeError(f"simulated collection stopped: {error}")
        return progress


def _write(store: TrialStore, session: str, item: dict[str, Any]) -> int:
    scene_id = store.add_scene(
        session,
        item["rgb"],
        item["depth"],
        item["intrinsics"],
        item["camera_pose"],
        stamp=item["scene_stamp"],
    )
    return store.add_trial(Trial(session_id=session, scene_id=scene_id, **item["trial"]))
