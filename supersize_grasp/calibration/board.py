"""The ChArUco board: OpenCV's board of the configuration, its image, its detection, its mount.

Frames are 4x4 homogeneous transforms ``T_a_b`` (b's pose in a). The board frame is OpenCV's:
origin at the printed board's top-left corner, x right, y down the print, z into the board.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from supersize_grasp.config.calibration import BoardConfig
from supersize_grasp.simulator.scene import BoardMarker


def transform(rotation: np.ndarray, translation) -> np.ndarray:
    """The 4x4 transform of a 3x3 rotation and a translation."""
    t = np.eye(4)
    t[:3, :3] = rotation
    t[:3, 3] = np.asarray(translation, dtype=float).reshape(3)
    return t


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """URDF convention: rotations about the fixed x, then y, then z axes (Rz Ry Rx)."""
    cr, sr, cp, sp = math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


@dataclass(frozen=True)
class Detection:
    """The ChArUco corners found in one image: their ids, board points (m) and pixels."""

    ids: np.ndarray  # (N,)
    object_points: np.ndarray  # (N, 3) in the board frame
    image_points: np.ndarray  # (N, 2)


class Board:
    """OpenCV's ``CharucoBoard`` for a :class:`BoardConfig`."""

    def __init__(self, config: BoardConfig) -> None:
        name = config.dictionary
        if not hasattr(cv2.aruco, name):
            raise ValueError(f"calibration.board.dictionary {name!r} is not a cv2.aruco dictionary")
        self.config = config
        self.dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
        count = (config.squares[0] * config.squares[1]) // 2
        if count > self.dictionary.bytesList.shape[0]:
            raise ValueError(
                f"calibration.board: {config.squares} squares need {count} markers; "
                f"{name} has {self.dictionary.bytesList.shape[0]}"
            )
        self.board = cv2.aruco.CharucoBoard(
            config.squares, config.square_length, config.marker_length, self.dictionary
        )
        self.detector = cv2.aruco.CharucoDetector(self.board)

    @property
    def size(self) -> tuple[float, float]:
        return self.config.size

    def image(self, pixels_per_metre: float) -> np.ndarray:
        """The board as a grey image exactly the board's size (no margin), row 0 at its top."""
        width, height = self.size
        shape = (round(width * pixels_per_metre), round(height * pixels_per_metre))
        return self.board.generateImage(shape, marginSize=0, borderBits=1)

    def in_gripper(self) -> np.ndarray:
        """``T_gripper_board`` of the configured mount (the board's origin is its top-left
        corner; the configuration gives its centre)."""
        c = self.config
        rotation = rpy_matrix(*c.rpy_in_gripper)
        width, height = self.size
        origin = np.asarray(c.center_in_gripper) - rotation @ np.array([width / 2, height / 2, 0])
        return transform(rotation, origin)

    def detect(self, image: np.ndarray) -> Detection | None:
        """The board's corners in an RGB or grey image; None when too few to match."""
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        corners, ids, _, _ = self.detector.detectBoard(grey)
        if ids is None or len(ids) < 4:
            return None
        object_points, image_points = self.board.matchImagePoints(corners, ids)
        return Detection(
            ids.reshape(-1).astype(int),
            np.asarray(object_points, dtype=float).reshape(-1, 3),
            np.asarray(image_points, dtype=float).reshape(-1, 2),
        )

    def marker(self, side: str, pixels_per_metre: float = 4000.0) -> BoardMarker:
        """The board as the simulator mounts it on the ``side`` gripper: the print with a white
        margin of half a square, as a lab's printout has."""
        margin = 0.5 * self.config.square_length
        pad = round(margin * pixels_per_metre)
        image = cv2.copyMakeBorder(
            self.image(pixels_per_metre), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255
        )
        return BoardMarker(side, image, self.size, pad / pixels_per_metre, self.in_gripper())
