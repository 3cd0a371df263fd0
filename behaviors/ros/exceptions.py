"""Errors raised by behaviour setup, as py_trees_ros names them."""


class TimedOutError(RuntimeError):
    """A server or topic did not appear within the setup timeout."""


class NotReadyError(RuntimeError):
    """A behaviour was ticked before its setup() was called with a node."""
