"""How a learned policy picks a (candidate, angle bin) from its N x bins score matrix, in plain
Python: the tree's ``ChooseLearnedGrasp`` (scores from the scoring node) and the bulk collector
(``supersize_grasp/bulk/learned.py``, scores from an in-process ``GraspScorer``) choose alike.

``sample`` draws one pair with probability proportional to its score (the paper's collection
policy); ``oracle`` takes the best (its scores came from ground truth); ``greedy`` takes the
``learning.rerank_top`` best pairs, scores ``learning.rerank_neighbours`` pixels within
``learning.rerank_radius_px`` of each, and keeps the pair whose neighbours score best on average.
``FailedGrasps`` keeps a task from trying again what just failed (clutter removal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supersize_grasp.config.learning import LearningConfig
from supersize_grasp.geometry import CameraModel
from supersize_grasp.models.patches import image_angle, image_angle_bin


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


class FailedGrasps:
    """Grasps (table x, y, theta) that failed in this run, and the candidates they rule out.

    A greedy policy asks the same question of the same scene and gets the same answer: an object
    it misses confidently is missed again and again (each miss nudges it ~1 cm). A candidate
    within ``radius`` m of a failed grasp whose image angle bin is within ``bins`` of that
    grasp's is not tried again, unless every candidate is ruled out.
    """

    def __init__(self, radius: float, bins: int) -> None:
        self.radius, self.bins = radius, bins
        self.grasps: list[tuple[float, float, float]] = []

    def add(self, x: float, y: float, theta: float) -> None:
        self.grasps.append((x, y, theta))

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


def avoid(scores: np.ndarray, ruled_out: np.ndarray) -> np.ndarray:
    """``scores`` with the ruled-out pairs at 0; as they are when every pair is ruled out."""
    if ruled_out.all():
        return scores
    return np.where(ruled_out, 0.0, scores)
