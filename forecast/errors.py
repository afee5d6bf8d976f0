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


class Interrupted(BaseException):  # noqa: N818 - it is a signal, not an error
    """The user asked the run to stop (Ctrl-C: SIGINT, or SIGTERM).

    A BaseException, not a KeyboardInterrupt: Lightning turns a KeyboardInterrupt inside
    ``Trainer.fit`` into a "graceful shutdown" that ignores further Ctrl-C and exits with
    status 1, and code that catches ``Exception`` must not swallow it either. The CLI
    exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self, signal_number: int) -> None:
        super().__init__(f"interrupted by signal {signal_number}")
        self.signal_number = signal_number


#: the signal (SIGINT or SIGTERM) caught while the CLI runs a command, until it returns
_caught_signal: int | None = None


def catch_signal(signal_number: int, frame=None) -> None:
    """The CLI's handler of SIGINT and SIGTERM: note the signal and raise
    :class:`Interrupted` at once."""
    global _caught_signal
    _caught_signal = int(signal_number)
    raise Interrupted(signal_number)


def clear_signal() -> None:
    global _caught_signal
    _caught_signal = None


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if a signal was caught. The handler raises at once, but
    an exception raised while Python runs a weakref callback or ``__del__`` (e.g. inside
    an import) is dropped with an "Exception ignored" message and the program goes on;
    the run's stages and every training epoch call this, so such a signal still stops it."""
    if _caught_signal is not None:
        raise Interrupted(_caught_signal)
