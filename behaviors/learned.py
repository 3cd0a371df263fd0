"""Learned grasp choosers: the grasp network, via the scoring node, picks the trial's grasp.

Both plug into ``trial_subtree(..., chooser=learned_chooser(policy))`` in place of the random
chooser, and like it read ``/<side>/scene`` and ``/<side>/regions`` and write ``/<side>/grasp``:

Candidates (``trial_plan.sample_candidates``): ``learning.num_patch_samples`` pixels on the
regions of interest, each region getting its share by area (``learning.candidate_regions: all``),
so the model, not chance, picks the object; ``one``: all of them on one random region, as a
random trial picks its region.

``sample``: the paper's policy while collecting a stage. It draws one (patch, angle) with
    probability proportional to its score: the grasps the model believes in most are tried most,
    and its confident mistakes become the hard negatives of the next stage.
``greedy``: the paper's test-time policy. The 10 best (patch, angle) pairs are re-ranked by the
    mean best-angle score of 10 patches around each (a grasp that works only on one pixel is
    brittle), and the best is executed.
``oracle``: the ceiling of the others (simulation only). The same candidates go to the simulated
    Baxter's oracle (``learning.oracle_service``), which tries grasps among them on copies of
    the scene with ground truth; the best it scored is executed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from rclpy.executors import ExternalShutdownException
from supersize_grasp_interfaces.srv import ScoreGrasps

from supersize_grasp.config import Config
from supersize_grasp.models.patches import table_grasp
from supersize_grasp.models.scores import GraspScores
from supersize_grasp.msgs import camera_info, depth_to_image, pose_message, rgb_to_image

from .grasp_policy import FailedGrasps, Rerank, avoid, best_pick, rerank, sample_pick
from .regions import Region
from .robot import Status
from .ros.exceptions import TimedOutError
from .scene import Scene
from .trial_plan import sample_candidates
from .trial_state import Grasp, TrialBehaviour, TrialState, key

POLICIES = ("sample", "greedy", "oracle")
WARN_PERIOD = 10.0  # s between warnings that the scorer is missing


def check_answer(answer: ScoreGrasps.Response, num_candidates: int) -> np.ndarray:
    """The answer's (N, bins) scores, once its fields agree; ``ValueError`` naming the field."""
    if answer.num_angle_bins == 0:
        raise ValueError("num_angle_bins is 0")
    n = len(answer.candidate_u)
    if n != num_candidates or len(answer.candidate_v) != n:
        raise ValueError(
            f"{n} candidate_u and {len(answer.candidate_v)} candidate_v for {num_candidates} "
            "candidates asked"
        )
    scores = np.asarray(answer.scores, dtype=np.float64)
    if scores.size != n * answer.num_angle_bins:
        raise ValueError(f"{scores.size} scores for {n} candidates x {answer.num_angle_bins} bins")
    pixels = np.concatenate([np.asarray(answer.candidate_u), np.asarray(answer.candidate_v)])
    if not np.isfinite(pixels).all():
        raise ValueError("candidate_u/candidate_v hold values that are not finite")
    if not (np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()):
        raise ValueError("scores hold values that are not probabilities (NaN, inf or outside 0-1)")
    return scores.reshape(n, answer.num_angle_bins)


def scene_request(scene: Scene) -> ScoreGrasps.Request:
    """A scoring request carrying the scene's colour and depth images and its camera (depth
    always: the chooser does not know whether the model is rgb or rgbd)."""
    request = ScoreGrasps.Request()
    request.image = rgb_to_image(scene.rgb)
    request.depth = depth_to_image(scene.depth)
    request.camera_info = camera_info(scene.camera)
    request.camera_pose = pose_message(scene.camera.position, scene.camera.rotation)
    return request


class ChooseLearnedGrasp(TrialBehaviour):
    """Asks the scoring node for the graspability of patches on a region and picks a grasp.

    ``setup`` waits for the scorer, as py_trees_ros's clients wait for their servers: warning
    every ``WARN_PERIOD`` s, then ``TimedOutError`` after ``learning.scorer_setup_timeout``, so a
    graph started without one stops at once instead of failing every trial. A scorer that goes
    away later is waited for (RUNNING, saying so); one that dies during a query, does not answer
    within ``learning.scorer_timeout`` (wall clock), refuses or answers nonsense fails the choice
    with the reason and leaves no grasp, so no trial is logged.

    ``failed``: grasps that failed earlier in the run, not to be tried again (clutter removal).
    """

    def __init__(
        self, side: str, config: Config, policy: str, seed: int, failed: FailedGrasps | None = None
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown grasp policy {policy!r}; one of {POLICIES}")
        super().__init__(
            f"Choose grasp ({policy})",
            side,
            config,
            read=[key(side, "scene"), key(side, "regions"), key(side, "grasp")],
            write=[key(side, "grasp")],
        )
        self.policy = policy
        self.rng = np.random.default_rng(seed)
        self.failed = failed
        self.client = None

    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        learning = self.config.learning
        self.service = (
            learning.oracle_service if self.policy == "oracle" else learning.scorer_service
        )
        self.server = "simulated Baxter" if self.policy == "oracle" else "grasp_scorer node"
        self.client = self.node.create_client(ScoreGrasps, self.service)
        self.missing_since: float | None = None  # wall clock; spans trials
        self.warned = 0.0
        self._wait_for_server(self.config.learning.scorer_setup_timeout)

    def _wait_for_server(self, timeout: float) -> None:
        start = time.monotonic()
        while not self.client.wait_for_service(
            timeout_sec=min(WARN_PERIOD, timeout - (time.monotonic() - start))
        ):
            if not self.node.context.ok():
                raise ExternalShutdownException()
            waited = time.monotonic() - start
            if waited >= timeout:
                raise TimedOutError(
                    f"{self.name}: {self.service} did not appear within {timeout:g} s "
                    f"(learning.scorer_setup_timeout): is the {self.server} running?"
                )
            self.node.get_logger().warning(
                f"{self.name}: waiting for {self.service} ({waited:.0f} s): is the "
                f"{self.server} running?"
            )

    def initialise(self) -> None:
        super().initialise()
        self.future = None
        self.phase = "score"
        self.heat_map: GraspScores | None = None
        self.rerank: Rerank | None = None
        self.deadline = 0.0
        scene: Scene = self.read(key(self.side, "scene"))
        regions: list[Region] = self.read(key(self.side, "regions"))
        pixels, self.candidate_regions = sample_candidates(
            self.rng, regions, self.config.learning, self.config.trial
        )
        self.request = scene_request(scene)
        self.request.candidate_u = [float(p[0]) for p in pixels]
        self.request.candidate_v = [float(p[1]) for p in pixels]

    def update(self) -> Status:
        if self.future is None:
            if not self.client.service_is_ready():
                return self._scorer_missing()
            if self.missing_since is not None:
                self.node.get_logger().info(f"{self.name}: {self.service} is back")
                self.missing_since = None
            self.future = self.client.call_async(self.request)
            # Wall clock: the scorer computes in wall time even when the robot clock runs faster.
            self.deadline = time.monotonic() + self.config.learning.scorer_timeout
        if not self.future.done():
            return self._pending()
        answer = self.future.result()
        self.future = None
        if answer is None or not answer.success:
            return self._fail(f"scoring failed: {answer.message if answer else 'no answer'}")
        try:
            scores = check_answer(answer, len(self.request.candidate_u))
        except ValueError as e:
            return self._fail(f"unusable answer from {self.service}: {e}")
        self.num_bins = answer.num_angle_bins
        if self.phase == "score":  # the region's samples, not the re-ranking's neighbours
            u, v = np.asarray(answer.candidate_u), np.asarray(answer.candidate_v)
            self.heat_map = GraspScores(u, v, scores.astype(np.float32))
            if self.failed is not None:
                camera = self.read(key(self.side, "scene")).camera
                table_z = self.config.trial.table_z
                scores = avoid(scores, self.failed.ruled_out(camera, u, v, self.num_bins, table_z))
        return self._pick(answer, scores)

    def _pick(self, answer, scores: np.ndarray) -> Status:
        u, v = answer.candidate_u, answer.candidate_v
        if self.policy == "greedy" and self.phase == "score":
            info = self.request.camera_info
            self.rerank = rerank(
                self.rng, scores, u, v, self.config.learning, (info.width, info.height)
            )
            self.candidate_u, self.candidate_v = u, v
            self.candidate_scores = scores
            self.request.candidate_u = self.rerank.u.tolist()
            self.request.candidate_v = self.rerank.v.tolist()
            self.phase = "rerank"
            return self._running(f"re-ranking the best {len(self.rerank.top)}")
        if self.policy == "greedy":
            i, k = self.rerank.pick(scores)
            u, v, scores = self.candidate_u, self.candidate_v, self.candidate_scores
        elif self.policy == "sample":
            i, k = sample_pick(self.rng, scores)
        else:
            i, k = best_pick(scores)
        return self._choose(u[i], v[i], k, scores[i, k], self.candidate_regions[i])

    def _choose(self, u: float, v: float, k: int, score: float, region: Region) -> Status:
        scene: Scene = self.read(key(self.side, "scene"))
        trial: TrialState = self.read(key(self.side, "trial"))
        x, y, theta = table_grasp(scene.camera, u, v, k, self.num_bins, self.config.trial.table_z)
        grasp = Grasp(
            float(u),
            float(v),
            x,
            y,
            theta,
            region,
            float(score),
            attempts=trial.ik_failures + 1,
            scores=self.heat_map,
        )
        self.bb.set(key(self.side, "grasp"), grasp, overwrite=True)
        self.feedback_message = (
            f"({x:.3f}, {y:.3f}) m, {math.degrees(theta):.0f} deg, score {score:.2f}"
        )
        return Status.SUCCESS

    def _pending(self) -> Status:
        if not self.client.service_is_ready():  # the server died: its answer never comes
            self.client.remove_pending_request(self.future)
            self.future = None
            return self._fail(f"{self.service} went away while scoring; waiting for it")
        if time.monotonic() > self.deadline:
            return self._fail(
                f"scoring {len(self.request.candidate_u)} patches: no answer in "
                f"{self.config.learning.scorer_timeout} s"
            )
        return self._running(f"scoring {len(self.request.candidate_u)} patches")

    def _scorer_missing(self) -> Status:
        """No scorer: wait for it (every trial would fail alike), saying so plainly."""
        now = time.monotonic()
        if self.missing_since is None:
            self.missing_since = self.warned = now
            self.node.get_logger().warning(f"{self.name}: waiting for {self.service}")
        elif now - self.warned >= WARN_PERIOD:
            self.warned = now
            self.node.get_logger().warning(
                f"{self.name}: still waiting for {self.service} after "
                f"{now - self.missing_since:.0f} s: is the {self.server} running?"
            )
        return self._running(
            f"waiting for {self.service} ({now - self.missing_since:.0f} s): is the "
            f"{self.server} running?"
        )

    def _running(self, message: str) -> Status:
        self.feedback_message = message
        return Status.RUNNING

    def _fail(self, message: str) -> Status:
        """No grasp for this try: a trial without one is not logged."""
        self.bb.set(key(self.side, "grasp"), None, overwrite=True)
        self.feedback_message = message
        self.node.get_logger().warning(f"{self.name} ({self.side}): {message}")
        return Status.FAILURE

    def terminate(self, new_status: Status) -> None:
        super().terminate(new_status)
        if self.future is not None and not self.future.done():
            self.future.cancel()
        self.future = None


def learned_chooser(
    policy: str, seed: int = 0, failed: FailedGrasps | None = None
) -> Callable[[str, Config], ChooseLearnedGrasp]:
    """A ``chooser`` for ``trial_subtree``/``collection_tree``; ``failed`` is shared by the arms."""

    def build(side: str, config: Config) -> ChooseLearnedGrasp:
        return ChooseLearnedGrasp(side, config, policy, seed + (0 if side == "left" else 1), failed)

    return build
