"""Exceptions of the simulated robot, mirroring how the Baxter SDK refuses commands."""


class CommandRejectedError(RuntimeError):
    """The robot refused a well-formed command because of its state (disabled, E-stop, ...)."""
