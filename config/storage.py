"""Where trials, recordings and checkpoints are kept."""

from pathlib import Path

from pydantic import Field

from .base import StrictModel


class StorageConfig(StrictModel):
    data_dir: Path = Field(Path("data"), description="trial store; relative to the working dir")
    record_mcap: bool = Field(True, description="record the raw ROS topics per session (MCAP)")
    checkpoint_dir: Path = Path("checkpoints")
