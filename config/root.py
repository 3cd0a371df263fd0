"""The whole configuration: one section per concern, each its own file in config/."""

from pydantic import Field, model_validator

from .arms import ArmsConfig
from .base import StrictModel
from .calibration import CalibrationConfig
from .camera import CameraConfig
from .clear_table import ClearTableConfig
from .learning import LearningConfig
from .preflight import PreflightConfig
from .robot import RobotConfig
from .simulator import SimulatorConfig
from .storage import StorageConfig
from .trial import TrialConfig


class Config(StrictModel):
    robot: RobotConfig = Field(RobotConfig(), description="Baxter SDK names and labelling")
    arms: ArmsConfig = Field(ArmsConfig(), description="arms in use, workspaces, park poses")
    camera: CameraConfig = Field(CameraConfig(), description="scene camera topics")
    calibration: CalibrationConfig = Field(
        CalibrationConfig(), description="where the head camera is: calibrate-camera, camera_pose"
    )
    trial: TrialConfig = Field(TrialConfig(), description="the grasp trial loop")
    learning: LearningConfig = Field(LearningConfig(), description="patches, network, training")
    storage: StorageConfig = Field(StorageConfig(), description="where data goes")
    clear_table: ClearTableConfig = Field(
        ClearTableConfig(), description="clutter removal: the bin and the attempt limit"
    )
    simulator: SimulatorConfig = Field(SimulatorConfig(), description="the simulated Baxter")
    preflight: PreflightConfig = Field(
        PreflightConfig(), description="check --robot: what the robot's side must offer"
    )

    @model_validator(mode="after")
    def _tree_notices_a_silent_robot(self) -> "Config":
        """A stalled robot clock is noticed only if the wall-clock ticks come often enough."""
        if self.trial.max_tick_gap * 4 > self.robot.state_timeout:
            raise ValueError(
                f"trial.max_tick_gap ({self.trial.max_tick_gap} s) must be at most a quarter of "
                f"robot.state_timeout ({self.robot.state_timeout} s)"
            )
        return self

    @model_validator(mode="after")
    def _oracle_answers_in_time(self) -> "Config":
        """Both arms' oracle choices queue in the simulator, each may run past its limit by
        one candidate's checks, and the tree gives up after the scorer timeout."""
        seconds = self.simulator.ros.oracle_seconds
        if seconds is not None and seconds * 3 > self.learning.scorer_timeout:
            raise ValueError(
                f"simulator.ros.oracle_seconds ({seconds} s) must be at most a third of "
                f"learning.scorer_timeout ({self.learning.scorer_timeout} s)"
            )
        return self

    @property
    def oracle_seconds(self) -> float:
        """The oracle's time for one choice (``simulator.ros.oracle_seconds``, else its most)."""
        return self.simulator.ros.oracle_seconds or self.learning.scorer_timeout / 3
