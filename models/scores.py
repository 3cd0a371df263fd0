"""Graspability of candidate patches: what the scorer computes and a learned chooser keeps.

Plain numpy (no torch), so the behaviour tree holds the same type as the scorer without loading
the network's libraries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GraspScores:
    """Success probability per candidate pixel and image-angle bin; the best is the argmax."""

    u: np.ndarray  # (N,) candidate pixel columns (snapped to the scorer's grid)
    v: np.ndarray  # (N,) rows
    scores: np.ndarray  # float32 (N, angle bins) in [0, 1]

    @functools.cached_property
    def _best(self) -> tuple[int, int]:
        index, angle_bin = np.unravel_index(int(np.argmax(self.scores)), self.scores.shape)
        return int(index), int(angle_bin)

    @property
    def best_index(self) -> int:
        return self._best[0]

    @property
    def best_bin(self) -> int:
        """The best candidate's image-angle bin."""
        return self._best[1]

    @property
    def best_score(self) -> float:
        return float(self.scores[self.best_index, self.best_bin])
