"""Configuration: pydantic models (one file per section) validating YAML; ROS parameters overlay it.

from supersize_grasp.config import load_config
config = load_config(["my_lab.yaml"])
"""

from .base import StrictModel
from .loader import ConfigError, flatten, load_config, overlay, to_yaml, unflatten, validate
from .root import Config

__all__ = [
    "Config",
    "ConfigError",
    "StrictModel",
    "flatten",
    "load_config",
    "overlay",
    "to_yaml",
    "unflatten",
    "validate",
]
