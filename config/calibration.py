"""Eye-to-hand calibration of the head camera: the board a gripper holds, the poses, the file.

The board is an OpenCV ChArUco board; its frame is OpenCV's: origin at the printed board's
top-left corner, x along its ``squares[0]`` squares, y down along its ``squares[1]`` squares, z
into the board. Its pose in the gripper frame (the SDK endpoint, ``<side>_gripper``) is the mount:
the calibration solves it too, so this is a nominal value (what the simulator mounts and what a
lab's bracket aims for), checked against the solved one.
"""

from pathlib import Path

from pydantic import Field, model_validator

from .base import StrictModel
from .robot import Side


class BoardConfig(StrictModel):
    """The printed ChArUco board and where it is mounted on the gripper."""

    dictionary: str = Field(
        "DICT_4X4_50",
        pattern=r"^DICT_[A-Z0-9_]+$",
        description="OpenCV ArUco dictionary (cv2.aruco.DICT_...) of the board's markers",
    )
    squares: tuple[int, int] = Field(
        (5, 4), description="chessboard squares across (x) and down (y) the board"
    )
    square_length: float = Field(0.04, gt=0.0, description="m, side of a chessboard square")
    marker_length: float = Field(0.03, gt=0.0, description="m, side of a marker in its square")
    center_in_gripper: tuple[float, float, float] = Field(
        (0.0, 0.15, -0.03),
        description="m: the board's centre in the gripper (endpoint) frame; default: on a "
        "bracket 15 cm out along the finger axis, 3 cm above the fingertips",
    )
    rpy_in_gripper: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0),
        description="rad (roll, pitch, yaw about the gripper's fixed x, y, z) of the board "
        "frame; (0, 0, 0): board x along gripper x, its face towards -z (the wrist)",
    )

    @model_validator(mode="after")
    def _marker_fits(self):
        if self.marker_length >= self.square_length:
            raise ValueError(
                f"marker_length {self.marker_length} must be less than square_length "
                f"{self.square_length}"
            )
        if min(self.squares) < 2:
            raise ValueError(f"squares {self.squares}: a ChArUco board needs at least 2 x 2")
        return self

    @property
    def size(self) -> tuple[float, float]:
        """(width, height) in m of the chessboard area."""
        return self.squares[0] * self.square_length, self.squares[1] * self.square_length


class PoseRegion(StrictModel):
    """Where the board's centre goes (base frame, m) and how the board is turned there."""

    x: tuple[float, float] = (0.50, 0.72)
    y: tuple[float, float] = (-0.05, 0.30)
    z: tuple[float, float] = (-0.02, 0.20)
    max_tilt_deg: float = Field(
        35.0, ge=0.0, le=80.0, description="deg the board's normal leans off the camera's direction"
    )
    max_spin_deg: float = Field(
        60.0, ge=0.0, le=180.0, description="deg the board turns about its normal either way"
    )

    @model_validator(mode="after")
    def _ordered(self):
        for name in ("x", "y", "z"):
            low, high = getattr(self, name)
            if high < low:
                raise ValueError(f"{name} must be (low, high), got {(low, high)}")
        return self


class CalibrationConfig(StrictModel):
    """``supersize-grasp calibrate-camera`` and the ``camera_pose`` node that publishes its file."""

    file: Path = Field(
        Path("calibration/head_camera.yaml"),
        description="the calibration result: written by calibrate-camera, published by the "
        "camera_pose node on camera.pose_topic (relative to the working dir)",
    )
    side: Side = Field("left", description="the arm that holds the board")
    board: BoardConfig = BoardConfig()
    poses: int = Field(14, ge=3, le=100, description="board views to collect")
    min_poses: int = Field(
        8, ge=3, description="fewer valid views than this: no result (the solve is refused)"
    )
    max_candidates: int = Field(
        60, ge=1, description="candidate poses tried (IK failures and unseen boards are skipped)"
    )
    region: PoseRegion = PoseRegion()
    camera_guess: tuple[float, float, float] = Field(
        (0.2, 0.0, 0.95),
        description="m, base frame: roughly where the camera is; the board is turned towards it",
    )
    seed: int = Field(0, description="draws the candidate poses")
    min_corners: int = Field(
        8, ge=4, description="ChArUco corners a view needs to count (4 make a pose, barely)"
    )
    max_view_error_px: float = Field(
        1.5, gt=0.0, description="a view whose own board pose reprojects worse is skipped"
    )
    min_rotation_spread_deg: float = Field(
        15.0,
        ge=0.0,
        description="the views' gripper rotations must differ this much (largest angle between "
        "two): hand-eye needs turns about more than one axis",
    )
    settle: float = Field(
        0.5, ge=0.0, description="s (robot clock) the arm stands still before a capture"
    )
    motion_timeout: float = Field(
        30.0, gt=0.0, description="s (wall) a move may take before the pose is given up"
    )
    tolerance: float = Field(0.01, gt=0.0, description="rad: a joint within this has arrived")

    @model_validator(mode="after")
    def _enough(self):
        if self.min_poses > self.poses:
            raise ValueError(f"min_poses {self.min_poses} exceeds poses {self.poses}")
        if self.max_candidates < self.poses:
            raise ValueError(f"max_candidates {self.max_candidates} is less than poses")
        return self
