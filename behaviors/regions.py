"""Regions of interest on the table: OpenCV's Mixture-of-Gaussians background subtraction.

The paper finds where objects are with a MOG background subtractor on the head image. The
background model is the empty table; it is seeded from the first capture, whose object pixels
(seen above the table plane in the depth image) are painted with the table's own colour. Depth
also drops foreground that is too high to be an object lying on the table (an arm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from supersize_grasp.config.arms import Workspace
from supersize_grasp.config.trial import RegionOfInterestConfig
from supersize_grasp.geometry import CameraModel


@dataclass(frozen=True)
class Region:
    """A foreground blob's bounding box (pixels), its area and, optionally, its pixels."""

    x: int
    y: int
    width: int
    height: int
    area: int
    # (height, width) bool: the blob's own pixels inside the box; None when only the box is known
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)

    def sample_pixel(
        self, rng: np.random.Generator, on_foreground: bool = False
    ) -> tuple[float, float]:
        """A pixel uniformly inside the box (the paper's ROI sampling), or, with
        ``on_foreground``, uniformly over the blob's own pixels (a pixel-sized jitter keeps it
        continuous)."""
        if on_foreground and self.mask is not None and len(self._foreground[0]):
            vs, us = self._foreground
            i = int(rng.integers(len(us)))
            u = self.x + us[i] + rng.uniform(-0.5, 0.5)
            v = self.y + vs[i] + rng.uniform(-0.5, 0.5)
            return (
                float(min(max(u, self.x), self.x + self.width - 1)),
                float(min(max(v, self.y), self.y + self.height - 1)),
            )
        return (
            float(rng.uniform(self.x, self.x + self.width)),
            float(rng.uniform(self.y, self.y + self.height)),
        )

    @cached_property
    def _foreground(self) -> tuple[np.ndarray, np.ndarray]:
        """The blob's pixel rows and columns, found once: a learned chooser samples ~200."""
        return np.nonzero(self.mask)


class RegionFinder:
    """Finds object regions in one arm's half of the table.

    Args:
        config: MOG parameters and blob filtering.
        table_z: table top height in the base frame (m).
    """

    def __init__(self, config: RegionOfInterestConfig, table_z: float) -> None:
        self.config = config
        self.table_z = table_z
        self._mog: cv2.BackgroundSubtractorMOG2 | None = None

    def reset(self) -> None:
        """Forget the background (e.g. after the camera moved)."""
        self._mog = None

    def workspace_mask(self, camera: CameraModel, workspace: Workspace) -> np.ndarray:
        """Pixels whose table point lies in ``workspace``."""
        corners = np.array(
            [
                [workspace.x_min, workspace.y_min, self.table_z],
                [workspace.x_max, workspace.y_min, self.table_z],
                [workspace.x_max, workspace.y_max, self.table_z],
                [workspace.x_min, workspace.y_max, self.table_z],
            ]
        )
        polygon = np.round(camera.project(corners)).astype(np.int32)
        mask = np.zeros((camera.height, camera.width), np.uint8)
        cv2.fillPoly(mask, [polygon], 255)
        return mask

    def find(
        self, rgb: np.ndarray, depth: np.ndarray, camera: CameraModel, workspace: Workspace
    ) -> tuple[list[Region], np.ndarray]:
        """Regions (largest first) and the foreground mask used to find them."""
        c = self.config
        heights = camera.heights(depth) - self.table_z
        above_table = np.nan_to_num(heights, nan=0.0) > c.min_height
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if self._mog is None:
            self._mog = cv2.createBackgroundSubtractorMOG2(
                history=c.history, varThreshold=c.var_threshold, detectShadows=False
            )
            table_only = bgr.copy()
            visible_table = ~above_table & (depth > 0)
            table_colour = (
                np.median(bgr[visible_table], axis=0) if visible_table.any() else [200, 200, 200]
            )
            table_only[~visible_table] = np.asarray(table_colour, dtype=np.uint8)
            for _ in range(c.history):
                self._mog.apply(table_only, learningRate=1.0 / c.history)
        foreground = self._mog.apply(bgr, learningRate=c.learning_rate)
        too_high = np.nan_to_num(heights, nan=np.inf) > c.max_height
        foreground[too_high] = 0
        # Depth gates colour: MOG alone marks table where the seed painted an object's pixels in
        # the median table colour (a shading gradient differs), leaving ghosts once it moved.
        foreground[~above_table] = 0
        foreground &= self.workspace_mask(camera, workspace)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (c.open_px, c.open_px))
        foreground = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
        regions = []
        for i in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[i])
            if area < c.min_area_px:
                continue
            m = c.margin_px
            x0, y0 = max(0, x - m), max(0, y - m)
            x1, y1 = min(camera.width, x + w + m), min(camera.height, y + h + m)
            mask = labels[y0:y1, x0:x1] == i
            regions.append(Region(x0, y0, x1 - x0, y1 - y0, area, mask))
        regions.sort(key=lambda r: -r.area)
        return regions, foreground
