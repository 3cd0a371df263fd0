"""Scene images on disk: RGB as 8-bit PNG, depth as 16-bit PNG of whole millimetres.

Depth is kept as the Kinect v2 measures it: exact to the millimetre, NaN (no reading) as 0, and ~5x
smaller than float32 (a 640x360 table scene: ~0.2 MB against 0.9 MB), so 50,000 trials fit on a
laptop disk. Depth nearer than 1 mm or beyond 65.535 m is stored as no reading. Stores written
before held ``.depth.npy`` float32 metres; they are still read (the file's suffix says which).
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np


class ImageError(Exception):
    """An image that cannot be encoded or decoded; the message names the file when there is one."""


def encode_rgb(rgb: np.ndarray) -> bytes:
    """An HxWx3 uint8 RGB image as PNG bytes (lossless)."""
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ImageError("OpenCV could not encode the RGB image as PNG")
    return png.tobytes()


def decode_rgb(path: Path, data: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageError(f"{path}: not a readable PNG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode_depth(depth: np.ndarray) -> bytes:
    """Depth in metres (float32, NaN = no reading) as a 16-bit PNG of whole millimetres."""
    with np.errstate(invalid="ignore"):
        millimetres = np.round(depth.astype(np.float64) * 1000.0)
        valid = np.isfinite(millimetres) & (millimetres >= 1) & (millimetres <= 65535)
    ok, png = cv2.imencode(".png", np.where(valid, millimetres, 0).astype(np.uint16))
    if not ok:
        raise ImageError("OpenCV could not encode the depth image as a 16-bit PNG")
    return png.tobytes()


def decode_depth(path: Path, data: bytes) -> np.ndarray:
    """float32 metres (NaN = no reading) from a stored depth file, either format."""
    if path.suffix == ".npy":  # stores written before depth PNGs
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as e:
            raise ImageError(f"{path}: not a readable .npy: {e}") from e
    millimetres = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if millimetres is None or millimetres.dtype != np.uint16 or millimetres.ndim != 2:
        raise ImageError(f"{path}: not a readable 16-bit depth PNG")
    depth = millimetres.astype(np.float32) / np.float32(1000.0)
    depth[millimetres == 0] = np.nan
    return depth
