"""The trial log: each finished trial becomes a record in the store (off the tick) and on
``/trials``, with the gripper's history around it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import py_trees
from supersize_grasp_interfaces.msg import TrialRecord

from supersize_grasp.config import Config
from supersize_grasp.dataset.records import Trial

from .robot import (
    READ,
    WRITE,
    Status,
    gripper_key,
)
from .scene import Scene
from .trial_plan import (
    camera_record,
    trial_record,
)
from .trial_state import Grasp, TrialBehaviour, TrialState, key

PATHS = ("above", "down", "up")  # every plan: move above, go down, come back up


class TrialLog:
    """Where finished trials go: the crash-safe store (on a writer thread) and ``/trials``.

    Counts the labelled trials of this run against ``quota`` (0: no limit).
    """

    def __init__(self, store, session_id: str, stage: int, quota: int, publish=None) -> None:
        self.store, self.session_id, self.stage, self.quota = store, session_id, stage, quota
        self.publish = publish
        self.labelled = self.successes = self.unlabelled = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trial-writer")

    def done(self) -> bool:
        return self.quota > 0 and self.labelled >= self.quota

    def submit(self, record_fn: Callable[[], int]) -> Future:
        return self._writer.submit(record_fn)

    def count(self, outcome: str) -> None:
        if outcome in ("success", "failure"):
            self.labelled += 1
            self.successes += outcome == "success"
        else:
            self.unlabelled += 1

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    def __str__(self) -> str:
        rate = self.successes / self.labelled if self.labelled else 0.0
        return f"{self.labelled}/{self.quota or 'inf'} trials, {rate:.1%} success"


class GripperHistory(py_trees.behaviour.Behaviour):
    """Keeps the last ``seconds`` of one gripper's (time, position, force), one sample per tick.

    Ticked in the topics-to-blackboard branch after the gripper state's ``ToBlackboard``.
    """

    def __init__(self, side: str, config: Config, seconds: float = 60.0) -> None:
        super().__init__(f"Gripper history {side}")
        self.side = side
        ticks = seconds / config.trial.tick_period
        self.samples: deque[tuple[float, float, float]] = deque(maxlen=int(ticks) + 1)
        self.bb = self.attach_blackboard_client(self.name)
        self.bb.register_key(gripper_key(side), access=READ)
        self.bb.register_key(key(side, "gripper_history"), access=WRITE)
        self.bb.set(key(side, "gripper_history"), self.samples, overwrite=True)

    def update(self) -> Status:
        state = (
            self.bb.get(gripper_key(self.side)) if self.bb.exists(gripper_key(self.side)) else None
        )
        if state is None:
            self.feedback_message = "no gripper state"
            return Status.RUNNING
        t = state.timestamp.sec + state.timestamp.nanosec * 1e-9
        if self.samples and t < self.samples[-1][0]:  # a restarted robot's clock starts again
            self.samples.clear()
        if not self.samples or self.samples[-1][0] < t:
            self.samples.append((t, float(state.position), float(state.force)))
        self.feedback_message = "recording"
        return Status.SUCCESS


class LogTrial(TrialBehaviour):
    """Writes the trial (and its scene capture) to the store, then publishes it on ``/trials``.

    The write runs on the log's writer thread; RUNNING until it is committed. Only trials that
    reached a label (or ran out of reachable samples, ``ik_failed``) are logged, once each.
    """

    def __init__(
        self,
        side: str,
        config: Config,
        log: TrialLog,
        chooser: str,
        seed: int,
        outcome: str | None = None,
        name: str = "Log trial",
    ) -> None:
        super().__init__(
            name,
            side,
            config,
            read=[key(side, "scene"), key(side, "grasp"), key(side, "gripper_history")],
        )
        self.log, self.chooser, self.seed, self.outcome = log, chooser, seed, outcome
        self.future: Future | None = None

    def initialise(self) -> None:
        super().initialise()
        self.future = None

    def update(self) -> Status:
        trial: TrialState = self.read(key(self.side, "trial"))
        if self.future is None and self.read(key(self.side, "grasp")) is None:
            self.feedback_message = "no grasp was chosen: no trial to log"
            return Status.FAILURE
        if self.future is None:
            if self.outcome is not None:
                trial.outcome = self.outcome
                last_step = next(reversed(trial.timings), "start")
                trial.message = {
                    "ik_failed": f"no reachable grasp in {trial.ik_failures} samples",
                    "aborted": f"aborted after '{last_step}'",
                }.get(self.outcome, self.outcome)
            self.future = self.log.submit(self._writer(trial))
        if not self.future.done():
            self.feedback_message = "writing"
            return Status.RUNNING
        error = self.future.exception()
        if error is not None:
            self.feedback_message = f"could not store the trial: {error}"
            self.node.get_logger().error(self.feedback_message)
            return Status.FAILURE
        trial_id = self.future.result()
        self.log.count(trial.outcome)
        if self.log.publish is not None:
            self.log.publish(self._message(trial_id, trial))
        self.feedback_message = f"trial {trial_id}: {trial.outcome} ({self.log})"
        return Status.SUCCESS

    def _writer(self, trial: TrialState) -> Callable[[], int]:
        """Everything copied now, in the tick; the returned function runs on the writer thread."""
        scene: Scene = self.read(key(self.side, "scene"))
        grasp: Grasp = self.read(key(self.side, "grasp"))
        log, stamp = self.log, self.now()
        samples = self.read(key(self.side, "gripper_history")) or []
        # No upper bound: a gripper state may be stamped ahead of the /clock this node has seen
        # (GripperHistory itself starts again when a restarted robot's clock goes back).
        history = [s for s in samples if s[0] >= trial.started]
        intrinsics, pose = camera_record(scene.camera)
        self.record = record = dict(
            session_id=log.session_id,
            **trial_record(
                self.config,
                stage=log.stage,
                arm=self.side,
                chooser=self.chooser,
                outcome=trial.outcome,
                roi=grasp.roi,
                pixel=(grasp.u, grasp.v),
                grasp=(grasp.x, grasp.y, grasp.theta),
                force=trial.force,
                gripper_position=trial.gripper_position,
                gripper_history=history,
                timings={
                    **trial.timings,
                    "total": stamp - trial.started,
                    "ik_failures": trial.ik_failures,
                },
                seed=self.seed,
                object_id=trial.object_id,
                message=trial.message,
                score=grasp.score,
            ),
        )

        def write() -> int:
            scene_id = log.store.add_scene(
                log.session_id, scene.rgb, scene.depth, intrinsics, pose, stamp=scene.stamp
            )
            return log.store.add_trial(Trial(scene_id=scene_id, **record))

        return write

    def _message(self, trial_id: int, trial: TrialState) -> TrialRecord:
        """The stored record, as a message for ``/trials`` (and the session recording)."""
        r = self.record
        msg = TrialRecord(
            trial_id=trial_id,
            session_id=r["session_id"],
            stage=r["stage"],
            arm=r["arm"],
            chooser=r["chooser"],
            success=trial.success,
            force=r["force"],
            gripper_position=r["gripper_position"],
            object_id=r["object_id"],
            seed=r["seed"],
            duration=r["timings"]["total"],
            message=r["message"],
        )
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.header.frame_id = self.config.robot.base_frame
        msg.outcome = {
            "success": msg.OUTCOME_SUCCESS,
            "failure": msg.OUTCOME_FAILURE,
            "ik_failed": msg.OUTCOME_IK_FAILED,
        }.get(r["outcome"], msg.OUTCOME_ABORTED)
        msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height = r["roi"]
        msg.grasp.u, msg.grasp.v = r["grasp_pixel"]
        msg.grasp.angle, msg.grasp.angle_bin, msg.grasp.score = (
            r["angle"],
            r["angle_bin"],
            r["score"],
        )
        msg.grasp.position.header.frame_id = self.config.robot.base_frame
        p = msg.grasp.position.point
        p.x, p.y, p.z = r["grasp_position"]
        msg.grasp_pose.position = p
        o = msg.grasp_pose.orientation
        o.x, o.y, o.z, o.w = r["grasp_orientation"]
        return msg
