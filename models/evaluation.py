"""Accuracy with its uncertainty: Wilson intervals and paired bootstrap differences.

The measure is the paper's: on a balanced test set, the fraction of trials whose executed-angle
label a method predicts correctly (chance is 50 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int
    low: float  # 95 % Wilson interval
    high: float

    @property
    def value(self) -> float:
        return self.correct / self.total if self.total else math.nan

    def __str__(self) -> str:
        if not self.total:
            return "n/a"
        return f"{self.value:.1%} [{self.low:.1%}, {self.high:.1%}]"


def wilson(correct: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Score interval of a binomial proportion; sound at small n and near 0 or 1."""
    if total == 0:
        return math.nan, math.nan
    p = correct / total
    denominator = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(successes: int, total: int) -> Accuracy:
    """A success rate with its Wilson interval (``Accuracy`` of a robot's tries)."""
    return Accuracy(successes, total, *wilson(successes, total))


def difference(a: Accuracy, b: Accuracy) -> tuple[float, float, float]:
    """``a - b`` of two independent proportions with Newcombe's 95 % interval (from the Wilson
    intervals; sound where a normal approximation of each is not)."""
    pa, pb = a.value, b.value
    low = pa - pb - math.hypot(pa - a.low, b.high - pb)
    high = pa - pb + math.hypot(a.high - pa, pb - b.low)
    return pa - pb, low, high


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> Accuracy:
    predicted, labels = np.asarray(predicted).astype(bool), np.asarray(labels).astype(bool)
    if predicted.shape != labels.shape:
        raise ValueError(f"{predicted.shape[0]} predictions for {labels.shape[0]} labels")
    return proportion(int((predicted == labels).sum()), int(labels.size))


def paired_difference(
    a: np.ndarray, b: np.ndarray, labels: np.ndarray, seed: int = 0, resamples: int = 5000
) -> tuple[float, float, float]:
    """Accuracy of ``a`` minus that of ``b`` on the same trials, with a 95 % paired bootstrap
    interval (trials resampled together, so the shared difficulty of a trial cancels)."""
    hit_a = np.asarray(a).astype(bool) == np.asarray(labels).astype(bool)
    hit_b = np.asarray(b).astype(bool) == np.asarray(labels).astype(bool)
    diff = hit_a.astype(np.float64) - hit_b.astype(np.float64)
    if diff.size == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = np.array([diff[rng.integers(0, diff.size, diff.size)].mean() for _ in range(resamples)])
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)
