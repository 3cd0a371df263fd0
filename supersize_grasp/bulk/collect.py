"""Bulk grasp trials straight through the simulator's Python API, in worker processes.

Learning needs tens of thousands of trials; the full ROS graph makes about 3,000 an hour on two
cores, the Python API about 10,000 per core. Each worker owns a world and runs the trial of
``behaviors/trial_plan.py``, the one the behaviour tree runs (capture, MOG regions in one arm's
half, the grasp, above, down, grip, lift, label, one record); the grasp is the paper's random one,
or a learned policy's (``bulk/learned.py``: a stage's collection). The parent process alone writes
the trial store, one committed trial at a time, so a kill loses at most the trials in flight and
the same command resumes.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import multiprocessing as mp
import queue
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supersize_grasp.behaviors.trial_plan import (
    RandomGrasp,
    camera_record,
    label_message,
    put_down_spot,
    sample_random_grasp,
    trial_record,
)
from supersize_grasp.config import Config, to_yaml
from supersize_grasp.dataset.records import Trial
from supersize_grasp.dataset.store import TrialStore

from .learned import POLICIES, LearnedGrasp
from .trial import capture, run_grasp_trial

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
    policy: str = CHOOSER
    model: str = ""


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
    """Yield one dict per trial (scene images, camera and the trial's record) until stopped."""
    from supersize_grasp.behaviors.regions import RegionFinder
    from supersize_grasp.simulator.world import BaxterWorld

    config = job.config
    rng = np.random.default_rng(job.seed)
    chooser = None
    if job.policy != CHOOSER:
        import torch

        from .learned import LearnedChooser

        torch.set_num_threads(1)  # one core per worker; two threads per process thrash
        chooser = LearnedChooser(config, job.model, job.policy)
    world = BaxterWorld(config.simulator, seed=job.seed)
    try:
        world.reset_scene(split=job.split)
        finder = RegionFinder(config.trial.roi, config.trial.table_z)
        sides = config.arms.active()
        while not should_stop():
            world.refill_if_needed(split=job.split)
            side = sides[int(rng.integers(len(sides)))]
            frame, regions = capture(world, config, finder, side)
            if not regions:
                world.reset_scene(split=job.split)
                continue
            if chooser is None:
                grasp = sample_random_grasp(rng, regions, frame.model, config.trial)
            else:
                grasp = chooser.choose(rng, frame, regions)
            spot = put_down_spot(rng, getattr(config.arms, side).workspace)
            record = run_trial(
                world,
                config,
                frame,
                side,
                grasp,
                stage=job.stage,
                seed=job.seed,
                put_down=spot,
                chooser=job.policy,
            )
            if record is not None:
                yield record
    finally:
        world.close()


def run_trial(
    world,
    config: Config,
    frame,
    side: str,
    grasp: RandomGrasp | LearnedGrasp,
    *,
    stage: int,
    seed: int,
    put_down: tuple[float, float, float] | None = None,
    chooser: str = CHOOSER,
) -> dict[str, Any] | None:
    """One trial of ``grasp`` in the captured ``frame``: its scene and its record, ready for
    :func:`_write`; None when it stopped before the approach pose (the tree logs nothing then).
    ``chooser``: the policy that chose the grasp (a learned grasp's score is recorded)."""
    started = time.perf_counter()
    result = run_grasp_trial(world, config, side, grasp.x, grasp.y, grasp.theta, put_down=put_down)
    if not result.ik_ok:
        outcome, message = "ik_failed", "no IK solution for the grasp"
    elif not result.executed:
        return None
    elif result.aborted_after:
        outcome, message = "aborted", f"aborted after '{result.aborted_after}'"
    else:
        outcome = "success" if result.success else "failure"
        message = label_message(outcome, result.force, result.gripper_position)
    intrinsics, pose = camera_record(frame.model)
    return {
        "rgb": frame.rgb,
        "depth": frame.depth,
        "intrinsics": intrinsics,
        "camera_pose": pose,
        "scene_stamp": frame.time,
        "trial": trial_record(
            config,
            stage=stage,
            arm=side,
            chooser=chooser,
            outcome=outcome,
            roi=grasp.region,
            pixel=(grasp.u, grasp.v),
            grasp=(grasp.x, grasp.y, grasp.theta),
            force=result.force,
            gripper_position=result.gripper_position,
            timings={"total": result.sim_time, "wall": time.perf_counter() - started},
            seed=seed,
            object_id=result.object_id,
            message=message,
            score=getattr(grasp, "score", math.nan),
        ),
    }


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
    policy: str = CHOOSER,
    model: str | Path = "",
    on_trial: Callable[[Progress, dict[str, Any]], None] | None = None,
) -> Progress:
    """Collect until the store holds ``target`` labelled trials of this split and stage, chosen
    by ``policy`` (``random``, or ``sample``/``greedy`` with the grasp network ``model``).

    Resumable: the trials already stored count, and the seeds move past those of earlier runs.
    """
    if split not in ("train", "novel"):
        raise ValueError(f"split must be 'train' or 'novel', got {split!r}")
    if policy != CHOOSER:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; one of {(CHOOSER, *POLICIES)}")
        from supersize_grasp.models.checkpoint import checkpoint_file
        from supersize_grasp.models.scoring import GraspScorer

        GraspScorer.load(model, inputs=config.learning.inputs)  # refused here, not in a worker
        model = str(checkpoint_file(model).resolve())
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
            notes=json.dumps(
                {"collector": "sim-collect", "split": split, "policy": policy, "model": str(model)}
            ),
        )
        context = mp.get_context("spawn")  # a forked child would share the parent's GL state
        results: mp.Queue = context.Queue(maxsize=4 * workers)
        stop = context.Event()
        procs = [
            context.Process(
                target=_worker,
                args=(
                    Job(config, split, stage, seed + _SEED_STRIDE * runs + w, w, policy, model),
                    results,
                    stop,
                ),
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
