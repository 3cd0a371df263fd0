"""Base model for every configuration section: unknown keys are errors, values are validated."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A configuration section. Typos in YAML keys fail loudly instead of being ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
