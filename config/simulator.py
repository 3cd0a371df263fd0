"""Configuration of the simulated Baxter (MuJoCo): physics, table, cameras, gripper, arms, scene.

Defaults here are the single source of truth; ``config/defaults.yaml`` lists them with comments.
Lengths are metres in Baxter's ``base`` frame (x forward, y left, z up), angles radians.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import StrictModel
from .objects import ObjectSetConfig, TestObjectsConfig
from .sim_node import SimNodeConfig


class PhysicsConfig(StrictModel):
    """Solver settings: 2 ms steps, elliptic cones and a high impratio.

    Soft contacts still let a held object creep out of the closed gripper within 1-3 s (thin
    or light objects most); ``noslip_iterations`` (MuJoCo's no-slip solver) stops that.
    ``sleep`` lets MuJoCo stop integrating objects at rest until something touches them: about
    twice the steps/s with mesh objects on the table.
    """

    timestep: float = Field(0.002, gt=0.0, le=0.005)
    control_period: float = Field(0.01, gt=0.0, le=0.05)
    impratio: float = Field(10.0, ge=1.0)
    cone: Literal["elliptic", "pyramidal"] = "elliptic"
    noslip_iterations: int = Field(
        0,
        ge=0,
        description="MuJoCo's no-slip solver iterations after each step: 0 (every data set and "
        "figure so far) lets held objects creep out of the grip within 1-3 s; 5 holds them",
    )
    sleep: bool = True


class TableConfig(StrictModel):
    """The table the objects lie on; its top is at ``top_z`` (Gazebo baxter_simulator height)."""

    top_z: float = -0.155
    near_x: float = 0.30
    far_x: float = 1.00
    half_width: float = 0.60
    thickness: float = 0.04
    friction: float = Field(0.8, gt=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> TableConfig:
        if self.far_x <= self.near_x:
            raise ValueError("table.far_x must be greater than table.near_x")
        return self


class CameraConfig(StrictModel):
    """Kinect-v2-like head camera: the HD colour stream's 1920 x 1080 pixels and vertical field
    of view, of which the ``crop`` over the table is rendered and published.

    ``crop`` is (left, top, right, bottom) as fractions of the ``width`` x ``height`` image,
    rounded to whole pixels: the rendered image is exactly that window of the full one (its
    ``CameraInfo`` keeps the full image's size and intrinsics, with the window as its ``roi``,
    as ROS crops do). The default holds the table top; (0, 0, 1, 1) renders everything.
    ``shadow_size`` is the shadow-map resolution (0: no shadows); shadows dominate the cost of a
    software (llvmpipe) render: 640x360 takes ~6 ms without, ~40 ms at 1024, ~170 ms at 4096.
    """

    width: int = Field(1920, ge=16, le=4096)
    height: int = Field(1080, ge=16, le=4096)
    crop: tuple[float, float, float, float] = (0.18, 0.22, 0.82, 0.79)
    fovy_deg: float = Field(53.8, gt=1.0, lt=170.0)
    position: tuple[float, float, float] = (0.20, 0.0, 0.95)
    look_at: tuple[float, float, float] = (0.62, 0.0, -0.155)
    near: float = Field(0.05, gt=0.0)
    far: float = Field(4.0, gt=0.0)
    shadow_size: int = Field(1024, ge=0, le=8192)
    multisamples: int = Field(0, ge=0, le=16)
    hand_width: int = Field(320, ge=16, le=1280)
    hand_height: int = Field(180, ge=16, le=720)
    hand_fovy_deg: float = Field(60.0, gt=1.0, lt=170.0)

    @model_validator(mode="after")
    def _crop_inside(self) -> CameraConfig:
        left, top, right, bottom = self.crop
        if not (0.0 <= left < right <= 1.0 and 0.0 <= top < bottom <= 1.0):
            raise ValueError(
                f"camera.crop {self.crop} must be (left, top, right, bottom) with "
                "0 <= left < right <= 1 and 0 <= top < bottom <= 1"
            )
        _, _, w, h = self.crop_window
        if w < 16 or h < 16:
            raise ValueError(f"camera.crop {self.crop} leaves {w}x{h} px (at least 16x16)")
        return self

    @property
    def crop_window(self) -> tuple[int, int, int, int]:
        """(x_offset, y_offset, width, height) in pixels of the full image."""
        left, top, right, bottom = self.crop
        x, y = round(left * self.width), round(top * self.height)
        return x, y, round(right * self.width) - x, round(bottom * self.height) - y


class GripperConfig(StrictModel):
    """Baxter electric gripper, extended narrow fingers in slot 3 with paddle tips (35-77 mm)."""

    max_force: float = Field(35.0, gt=0.0)
    finger_speed: float = Field(0.08, gt=0.0)
    stiffness: float = Field(8000.0, gt=0.0)
    damping: float = Field(40.0, ge=0.0)
    friction: float = Field(1.2, gt=0.0)
    default_force: float = Field(60.0, ge=0.0, le=100.0)
    gripping_force: float = Field(10.0, ge=0.0, le=100.0)
    missed_position: float = Field(2.0, ge=0.0, le=100.0)
    settle_speed: float = Field(0.005, gt=0.0)


class ArmControlConfig(StrictModel):
    """Joint position servo (setpoint speed: ``speed_ratio`` x joint velocity limit) and IK."""

    speed_ratio: float = Field(1.0, gt=0.0, le=1.0)
    shoulder_kp: float = Field(1500.0, gt=0.0)
    shoulder_kv: float = Field(60.0, ge=0.0)
    wrist_kp: float = Field(300.0, gt=0.0)
    wrist_kv: float = Field(8.0, ge=0.0)
    armature: float = Field(0.05, ge=0.0)
    position_tolerance: float = Field(0.01, gt=0.0)
    ik_tolerance_position: float = Field(0.002, gt=0.0)
    ik_tolerance_angle: float = Field(0.0175, gt=0.0)
    ik_seeds: int = Field(12, ge=1, le=50)
    ik_iterations: int = Field(100, ge=5, le=1000)
    ik_damping: float = Field(0.01, gt=0.0)


class SceneConfig(StrictModel):
    """Objects dropped on the table (which objects: ``objects``): count, drop region, settling."""

    n_objects: int = Field(5, ge=0, le=40)
    drop_x: tuple[float, float] = (0.45, 0.75)
    drop_y: tuple[float, float] = (-0.35, 0.35)
    drop_height: float = Field(0.01, ge=0.0)
    settle_time: float = Field(1.0, ge=0.0)
    refill_below: int = Field(1, ge=0)
    refill_after_empty_grips: int = Field(
        20,
        ge=0,
        description="refill when an arm's grips came up empty this many times in a row (the "
        "person who refills also clears what the gripper cannot hold); 0: never",
    )

    @model_validator(mode="after")
    def _ranges(self) -> SceneConfig:
        for name in ("drop_x", "drop_y"):
            low, high = getattr(self, name)
            if high < low:
                raise ValueError(f"scene.{name} must be (low, high), got {low, high}")
        return self


class SimulatorConfig(StrictModel):
    """Everything the simulated Baxter needs; ``seed`` is the default for worlds built from it."""

    seed: int = 0
    physics: PhysicsConfig = PhysicsConfig()
    table: TableConfig = TableConfig()
    camera: CameraConfig = CameraConfig()
    gripper: GripperConfig = GripperConfig()
    arm: ArmControlConfig = ArmControlConfig()
    scene: SceneConfig = SceneConfig()
    # Default: pybullet_data/random_urdfs (needs pybullet); ``{folder: "builtin:primitives"}``
    # selects the seeded boxes/cylinders/capsules that need no files.
    objects: ObjectSetConfig = Field(default_factory=ObjectSetConfig)
    test_objects: TestObjectsConfig = Field(default_factory=TestObjectsConfig)
    ros: SimNodeConfig = Field(SimNodeConfig(), description="the ROS node around the world")
    calibration_marker: bool = Field(
        False,
        description="mount the calibration board (calibration.board) on the calibration.side "
        "gripper, for calibrate-camera; visual only, the grasps are unchanged",
    )
