"""Hand-made baselines of the paper's Table II, to put the network's accuracy in context.

Each predicts whether a grasp sample's executed grasp succeeded (1) or failed (0) at its executed
angle: a common-sense geometric rule that learns nothing, and HoG features with one k-nearest-
neighbour classifier or one linear SVM per angle bin. All take ``PatchSamples`` and expose
``fit(samples) -> self``, ``predict(samples) -> uint8 (N,)`` and a ``name``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from skimage.feature import hog
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from .patches import crop_patch
from .samples import PatchSamples

NUM_BINS = 18
HOG_ORIENTATIONS = 9
HOG_CELL_PX = 8
HOG_BLOCK_CELLS = 2


def _check_rows(samples: PatchSamples, names: tuple[str, ...], *, fitting: bool) -> int:
    n = len(samples)
    if fitting and n == 0:
        raise ValueError("cannot fit on empty samples (0 grasp trials)")
    for name in names:
        rows = len(getattr(samples, name))
        if rows != n:
            raise ValueError(f"samples.{name} has {rows} rows but samples has {n}")
    if "height" in names and samples.height.ndim != 3:
        raise ValueError(f"samples.height must be (N, C, C), got shape {samples.height.shape}")
    if "rgb" in names and (samples.rgb.ndim != 4 or samples.rgb.shape[-1] != 3):
        raise ValueError(f"samples.rgb must be (N, C, C, 3), got shape {samples.rgb.shape}")
    if fitting and "label" in names:
        bad = np.setdiff1d(np.unique(samples.label), [0, 1])
        if bad.size:
            raise ValueError(f"samples.label must be 0 or 1, found {bad.tolist()}")
    return n


def _check_bins(angle_bin: np.ndarray, num_bins: int) -> np.ndarray:
    bins = np.asarray(angle_bin, dtype=np.int64)
    if bins.size and (bins.min() < 0 or bins.max() >= num_bins):
        raise ValueError(
            f"samples.angle_bin must lie in [0, {num_bins}), found {bins.min()}..{bins.max()}"
        )
    return bins


# --- common-sense heuristic -------------------------------------------------------------------


def _centre_component(height: np.ndarray, min_height: float, radius_px: float):
    """(u, v) pixels of the object under the grasp point: the component holding the centre, or
    the one nearest it within ``radius_px`` (the grasp pixel may miss a thin object's edge)."""
    mask = (np.asarray(height, dtype=np.float32) > min_height).astype(np.uint8)
    if not mask.any():
        return None
    _, labels = cv2.connectedComponents(mask, connectivity=8)
    centre = (mask.shape[0] - 1) / 2.0
    v, u = np.nonzero(mask)
    d2 = (u - centre) ** 2 + (v - centre) ** 2
    nearest = int(np.argmin(d2))
    if d2[nearest] > radius_px**2:
        return None
    mine = labels[v, u] == labels[v[nearest], u[nearest]]
    return np.column_stack([u[mine], v[mine]]).astype(np.float64)


def _minor_axis(pixels: np.ndarray) -> tuple[float, float]:
    """Width in pixels across the minor principal axis, and that axis's image angle in [0, pi).

    The width is the extent of the pixel centres plus one pixel, the pixels' own size.
    """
    centred = pixels - pixels.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred / len(pixels))
    minor = vectors[:, 0]
    projection = centred @ minor
    return float(np.ptp(projection)) + 1.0, math.atan2(minor[1], minor[0]) % math.pi


def object_geometry(
    samples: PatchSamples, min_height: float = 0.005, centre_radius_px: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Width (m) across its minor axis and the minor axis's image angle of the object under
    each grasp point, NaN where there is none; computed once, it serves a parameter sweep."""
    n = _check_rows(samples, ("height", "metres_per_px"), fitting=False)
    width = np.full(n, np.nan)
    phi_minor = np.full(n, np.nan)
    for i in range(n):
        pixels = _centre_component(samples.height[i], min_height, centre_radius_px)
        if pixels is None:
            continue
        width_px, phi_minor[i] = _minor_axis(pixels)
        width[i] = width_px * float(samples.metres_per_px[i])
    return width, phi_minor


def angle_difference(a, b) -> np.ndarray:
    """Difference of closing-axis angles modulo pi, in [0, pi/2]: the gripper is symmetric."""
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) % math.pi
    return np.minimum(d, math.pi - d)


class CommonSenseHeuristic:
    """Grasp across the object's smallest width (the paper's common-sense baseline).

    The object is the connected region higher than ``min_height`` above the table at the grasp
    point; its width and direction come from the eigenvectors of its pixels' covariance. A grasp
    succeeds iff it closes within ``angle_tolerance_deg`` of that direction and the width fits
    the gripper: no thinner than it can close (``min_width``), no wider than it opens.
    """

    name = "common-sense heuristic"

    def __init__(
        self,
        min_width: float,
        max_width: float,
        angle_tolerance_deg: float = 20.0,
        min_height: float = 0.005,
        centre_radius_px: float = 3.0,
    ) -> None:
        if not 0.0 <= min_width <= max_width:
            raise ValueError(f"need 0 <= min_width <= max_width, got {min_width}, {max_width}")
        if not 0.0 <= angle_tolerance_deg <= 90.0:
            raise ValueError(f"angle_tolerance_deg must be in [0, 90], got {angle_tolerance_deg}")
        if centre_radius_px < 0.0:
            raise ValueError(f"centre_radius_px must be >= 0, got {centre_radius_px}")
        self.min_width = min_width
        self.max_width = max_width
        self.angle_tolerance_deg = angle_tolerance_deg
        self.min_height = min_height
        self.centre_radius_px = centre_radius_px

    def fit(self, samples: PatchSamples) -> CommonSenseHeuristic:
        """Learns nothing: the parameters are set by hand. Only checks the samples."""
        _check_rows(samples, ("height", "angle", "label", "metres_per_px"), fitting=True)
        return self

    def predict(self, samples: PatchSamples) -> np.ndarray:
        _check_rows(samples, ("height", "angle", "metres_per_px"), fitting=False)
        width, phi_minor = object_geometry(samples, self.min_height, self.centre_radius_px)
        return self.decide(samples.angle, width, phi_minor)

    def decide(self, angle, width, phi_minor) -> np.ndarray:
        """The rule on precomputed ``object_geometry``; NaN (no object) gives 0."""
        with np.errstate(invalid="ignore"):
            ok = (width >= self.min_width) & (width <= self.max_width)
            across = angle_difference(angle, phi_minor) <= math.radians(self.angle_tolerance_deg)
        return (ok & across).astype(np.uint8)


# --- HoG features and per-bin classifiers -----------------------------------------------------


def hog_dim(out_px: int) -> int:
    if out_px < HOG_CELL_PX * HOG_BLOCK_CELLS:
        raise ValueError(f"out_px must be >= {HOG_CELL_PX * HOG_BLOCK_CELLS} for HoG, got {out_px}")
    blocks = out_px // HOG_CELL_PX - HOG_BLOCK_CELLS + 1
    return blocks * blocks * HOG_BLOCK_CELLS * HOG_BLOCK_CELLS * HOG_ORIENTATIONS


def hog_features(samples: PatchSamples, out_px: int = 64) -> np.ndarray:
    """(N, D) float32 HoG of each sample's grayscale centred patch at rotation 0.

    Compute once and pass as ``features=`` to ``fit``/``predict`` of several models: it is the
    slow part (some seconds for ten thousand patches).
    """
    dim = hog_dim(out_px)
    n = _check_rows(samples, ("rgb",), fitting=False)
    out = np.empty((n, dim), np.float32)
    for i in range(n):
        gray = cv2.cvtColor(crop_patch(samples.rgb[i], out_px), cv2.COLOR_RGB2GRAY)
        out[i] = hog(
            gray,
            orientations=HOG_ORIENTATIONS,
            pixels_per_cell=(HOG_CELL_PX, HOG_CELL_PX),
            cells_per_block=(HOG_BLOCK_CELLS, HOG_BLOCK_CELLS),
            feature_vector=True,
        )
    return out


class _PerBinHog:
    """One classifier per angle bin on HoG features; a bin whose training data has one class
    predicts that class, a bin without training data predicts failure (0)."""

    name = ""

    def __init__(self, out_px: int, num_bins: int, seed: int) -> None:
        hog_dim(out_px)
        if num_bins < 1:
            raise ValueError(f"num_bins must be >= 1, got {num_bins}")
        self.out_px = out_px
        self.num_bins = num_bins
        self.seed = seed
        self.models_: list | None = None

    def _features(self, samples: PatchSamples, features) -> np.ndarray:
        if features is None:
            return hog_features(samples, self.out_px)
        features = np.asarray(features, dtype=np.float32)
        expected = (len(samples), hog_dim(self.out_px))
        if features.shape != expected:
            raise ValueError(
                f"features must be hog_features(samples, out_px={self.out_px}) of shape "
                f"{expected}, got {features.shape}"
            )
        return features

    def fit(self, samples: PatchSamples, features: np.ndarray | None = None):
        _check_rows(samples, ("rgb", "angle_bin", "label"), fitting=True)
        bins = _check_bins(samples.angle_bin, self.num_bins)
        x = self._prepare(self._features(samples, features))
        y = samples.label.astype(np.int64)
        rng = np.random.default_rng(self.seed)
        models: list = []
        for k in range(self.num_bins):
            index = np.flatnonzero(bins == k)
            classes = np.unique(y[index])
            if len(classes) == 0:
                models.append(0)
            elif len(classes) == 1:
                models.append(int(classes[0]))
            else:
                models.append(self._fit_bin(x[index], y[index], rng))
        self.models_ = models
        return self

    def predict(self, samples: PatchSamples, features: np.ndarray | None = None) -> np.ndarray:
        if self.models_ is None:
            raise NotFittedError(f"{type(self).__name__} must be fitted before predict")
        n = _check_rows(samples, ("rgb", "angle_bin"), fitting=False)
        bins = _check_bins(samples.angle_bin, self.num_bins)
        out = np.zeros(n, np.uint8)
        if n == 0:
            return out
        x = self._transform(self._features(samples, features))
        for k in np.unique(bins):
            index = np.flatnonzero(bins == k)
            model = self.models_[k]
            out[index] = model if isinstance(model, int) else model.predict(x[index])
        return out

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        return x

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return x

    def _fit_bin(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
        raise NotImplementedError


class HogKnn(_PerBinHog):
    """HoG + k nearest neighbours per angle bin. Each bin's training set is balanced by
    subsampling its majority class (seeded): otherwise the rare successes would be outvoted."""

    name = "HoG + kNN"

    def __init__(self, k: int = 5, out_px: int = 64, num_bins: int = NUM_BINS, seed: int = 0):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        super().__init__(out_px, num_bins, seed)
        self.k = k

    def _fit_bin(self, x, y, rng):
        positive, negative = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        m = min(len(positive), len(negative))
        keep = np.concatenate([rng.permutation(positive)[:m], rng.permutation(negative)[:m]])
        model = KNeighborsClassifier(n_neighbors=min(self.k, len(keep)))
        return model.fit(x[keep], y[keep])


class HogSvm(_PerBinHog):
    """HoG + one linear SVM per angle bin (the paper's best hand-made baseline). Features are
    standardised with statistics of all training samples, steadier than one bin's few hundred;
    classes are weighted to balance."""

    name = "HoG + linear SVMs"

    def __init__(self, C: float = 0.01, out_px: int = 64, num_bins: int = NUM_BINS, seed: int = 0):  # noqa: N803
        if C <= 0.0:
            raise ValueError(f"C must be > 0, got {C}")
        super().__init__(out_px, num_bins, seed)
        self.C = C
        self.scaler_: StandardScaler | None = None

    def _prepare(self, x):
        self.scaler_ = StandardScaler().fit(x)
        return self.scaler_.transform(x)

    def _transform(self, x):
        return self.scaler_.transform(x)

    def _fit_bin(self, x, y, rng):
        model = LinearSVC(
            C=self.C, class_weight="balanced", max_iter=10_000, random_state=self.seed
        )
        return model.fit(x, y)
