"""How a learned policy picks a (candidate, angle bin) from its N x bins score matrix, in plain
Python: the tree's ``ChooseLearnedGrasp`` (scores from the scoring node) and the bulk collector
(``supersize_grasp/bulk/learned.py``, scores from an in-process ``GraspScorer``) choose alike.

``sample`` draws one pair with probability proportional to its score (the paper's collection
policy); ``oracle`` takes the best (its scores came from ground truth); ``greedy`` takes the
``learning.rerank_top`` best pairs, scores ``learning.rerank_neighbours`` pixels within
``learning.rerank_radius_px`` of each, and keeps the pair whose neighbours score best on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supersize_grasp.config.learning import LearningConfig


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
