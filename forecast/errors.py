"""The errors a user can cause, in one place.

The CLI catches :class:`DataError` and prints its message as one line on stderr with a
non-zero exit status, never a traceback. Raise it for anything the user can fix: bad
data, a config typo, an unknown model or dataset, a damaged run directory.
"""

from __future__ import annotations


class DataError(ValueError):
    """A problem with the user's input data, configuration or run directory.

    Messages name the file, column, option or value at fault and what to do about it.
    """


class ModelFailed(RuntimeError):
    """One model could not give usable forecasts (its training diverged, or its forecasts
    are not finite). The run records the reason, reports the model as failed and goes on
    with the others; it is not a user error and never stops a run on its own."""
