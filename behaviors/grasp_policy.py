"""How a learned policy picks a (candidate, angle bin) from its N x bins score matrix, in plain
Python: the tree's ``ChooseLearnedGrasp`` (scores from the scoring node) and the bulk collector
(``supersize_grasp/bulk/learned.py``, scores from an in-process ``GraspScorer``) choose alike.

``sample`` draws one pair with probability proportional to its score (the paper's collection
policy); ``oracle`` takes the best (its scores came from ground truth); ``greedy`` takes the
``learning.rerank_top`` best pairs, scores ``learning.rerank_neighbours`` pixels within
``learning.rerank_radius_px`` of each, and keeps the pair whose neighbours score best on average.
``FailedGrasps`` keeps a task from trying again what just failed, and from trying without end an
object it cannot pick (clutter removal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supersize_grasp.config.learning import LearningConfig
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.patches import image_angle, image_angle_bin

from .regions import Region


def sample_pick(rng: np.random.Generator, scores: np.ndarray) -> tuple[int, int]:
    """(candidate, bin) drawn with probability proportional to its score (uniform when every
    score is 0)."""
    flat = scores.ravel()
    total = flat.sum()
    pick = int(rng.choice(flat.size, p=flat / total if total > 0 else None))
    return divmod(pick, scores.shape[1])


def best_pick(scores: np.ndarray) -> tuple[int, int]:
    """(candidate, bin) of the highest score."""
    return divmod(int(np.argmax(scores)), scores.shape[1])


@dataclass(frozen=True)
class Rerank:
    """The greedy policy's second question: ``top`` (candidate, bin) pairs, best first, and the
    pixels around each (``rerank_neighbours`` per pair, in ``top``'s order) to score."""

    top: list[tuple[int, int]]
    u: np.ndarray
    v: np.ndarray

    def pick(self, neighbour_scores: np.ndarray) -> tuple[int, int]:
        """The top pair whose neighbours' best-angle scores are highest on average."""
        robustness = neighbour_scores.max(axis=1).reshape(len(self.top), -1).mean(axis=1)
        return self.top[int(np.argmax(robustness))]


def rerank(
    rng: np.random.Generator,
    scores: np.ndarray,
    u,
    v,
    learning: LearningConfig,
    image_size: tuple[int, int],
) -> Rerank:
    """The greedy policy's neighbours of its ``learning.rerank_top`` best pairs, inside the
    (width, height) image."""
    best = np.argsort(scores.ravel())[::-1][: learning.rerank_top]
    top = [divmod(int(pick), scores.shape[1]) for pick in best]
    radius, n = learning.rerank_radius_px, learning.rerank_neighbours
    width, height = image_size
    us, vs = [], []
    for i, _ in top:
        du, dv = rng.uniform(-radius, radius, (2, n))
        us.append(np.clip(u[i] + du, 0, width - 1))
        vs.append(np.clip(v[i] + dv, 0, height - 1))
    return Rerank(top, np.concatenate(us), np.concatenate(vs))


Box = tuple[int, int, int, int]  # x, y, width, height (pixels)


@dataclass
class MissedObject:
    """An object missed ``misses`` times, last seen in the region of ``box``."""

    box: Box
    misses: int


class FailedGrasps:
    """Grasps (table x, y, theta) that failed in this run, and the candidates they rule out.

    A greedy policy asks the same question of the same scene and gets the same answer: an object
    it misses confidently is missed again and again (each miss nudges it ~1 cm). A candidate
    within ``radius`` m of a failed grasp whose image angle bin is within ``bins`` of that
    grasp's is not tried again, unless every candidate is ruled out.

    Some objects defeat every grasp the policy believes in (too wide, too thin or too light for
    the gripper), and a miss may push them a long way, one nudge at a time. So misses are
    counted per object, followed from region of interest to region through the overlap of
    their boxes, and a region whose object was missed ``give_up_after`` times is left alone
    (0: never).
    """

    def __init__(self, radius: float, bins: int, give_up_after: int = 0) -> None:
        self.radius, self.bins, self.give_up_after = radius, bins, give_up_after
        self.grasps: list[tuple[float, float, float]] = []
        self.objects: list[MissedObject] = []

    def add(self, x: float, y: float, theta: float, region: Region | None = None) -> None:
        """A failed grasp, and the region of interest it was chosen on."""
        self.grasps.append((x, y, theta))
        if region is None:
            return
        box = (region.x, region.y, region.width, region.height)
        missed = self._object(box)
        if missed is None:
            self.objects.append(MissedObject(box, 1))
        else:
            missed.box, missed.misses = box, missed.misses + 1

    def misses_of(self, region: Region) -> int:
        """Failed grasps of the object in ``region``."""
        missed = self._object((region.x, region.y, region.width, region.height))
        return missed.misses if missed else 0

    def gives_up(self, region: Region) -> bool:
        """True when ``region``'s object was missed ``give_up_after`` times."""
        return 0 < self.give_up_after <= self.misses_of(region)

    def _object(self, box: Box) -> MissedObject | None:
        """The missed object whose last box covers at least half of ``box`` or is half covered by
        it (the most overlapping one); None if there is none."""
        best, most = None, MIN_OVERLAP
        for missed in self.objects:
            share = _overlap(missed.box, box)
            if share >= most:
                best, most = missed, share
        return best

    def ruled_out(self, camera: CameraModel, u, v, num_bins: int, table_z: float) -> np.ndarray:
        """(N, num_bins) True where candidate pixel (u, v) with bin k repeats a failed grasp."""
        u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
        mask = np.zeros((u.size, num_bins), dtype=bool)
        if not self.grasps or self.radius <= 0:
            return mask
        points = np.array(
            [camera.pixel_to_plane(a, b, table_z)[:2] for a, b in zip(u, v, strict=True)]
        )
        bins = np.arange(num_bins)
        for x, y, theta in self.grasps:
            near = np.hypot(points[:, 0] - x, points[:, 1] - y) <= self.radius
            k = int(image_angle_bin(image_angle(camera, (x, y, table_z), theta), num_bins))
            apart = np.abs(bins - k)
            mask[np.ix_(near, np.minimum(apart, num_bins - apart) <= self.bins)] = True
        return mask


MIN_OVERLAP = 0.5  # of the smaller box: the same object, moved by a miss (~1 cm, ~10 px)


def _overlap(a: Box, b: Box) -> float:
    """Intersection of two (x, y, width, height) boxes over the smaller one's area."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(1, min(a[2] * a[3], b[2] * b[3]))


def avoid(scores: np.ndarray, ruled_out: np.ndarray) -> np.ndarray:
    """``scores`` with the ruled-out pairs at 0; as they are when every pair is ruled out."""
    if ruled_out.all():
        return scores
    return np.where(ruled_out, 0.0, scores)
