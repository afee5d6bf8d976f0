"""Trainings in a pool of processes, all submitted at once.

A run trains many small networks: three seeds of four networks on each fold, then the
capacity sweep and the learning curve. Submitted to one pool at once, no process waits
for another's last job: pools of one network's three seeds on two processes left one
idle a third of the time.

``TrainingPool(jobs, n_jobs)`` submits every job — a function and its arguments — to
joblib's loky pool (``n_jobs`` processes); ``wait(numbers)`` returns the outcomes of the
named jobs, blocking only until those have finished (the others go on meanwhile). With
``n_jobs`` 1 there are no processes: each job runs in this one when it is first waited
for. The jobs seed themselves, so their outcomes do not depend on ``n_jobs``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence


def _numbered(number: int, function: Callable, arguments: tuple):
    return number, function(*arguments)


class TrainingPool:
    """``jobs``: (function, arguments) pairs, started now; ``on_done(number, outcome)``
    is called in this process as each outcome is collected."""

    def __init__(self, jobs: Sequence[tuple[Callable, tuple]], n_jobs: int = 1,
                 on_done: Callable | None = None) -> None:
        self.n_jobs = int(n_jobs)
        self.on_done = on_done
        self.jobs = list(jobs)
        self.outcomes: dict[int, object] = {}
        numbered = ((k, function, arguments) for k, (function, arguments) in enumerate(jobs))
        if self.n_jobs > 1 and len(jobs) > 1:
            from joblib import Parallel, delayed

            _hide_loky_shutdown_race()
            self._finished = Parallel(n_jobs=min(self.n_jobs, len(jobs)), backend="loky",
                                      return_as="generator_unordered", pre_dispatch="all")(
                delayed(_numbered)(*job) for job in numbered)
        else:
            self._finished = (_numbered(*job) for job in numbered)

    def wait(self, numbers: Sequence[int]) -> list:
        """The outcomes of the jobs ``numbers`` (positions in ``jobs``), in that order.
        Interrupted (Ctrl-C, SIGTERM, an error here), the pool's processes are stopped."""
        while any(k not in self.outcomes for k in numbers):
            try:
                number, outcome = next(self._finished)
            except BaseException:
                self.stop()
                raise
            self.outcomes[number] = outcome
            if self.on_done is not None:
                self.on_done(number, outcome)
        return [self.outcomes[k] for k in numbers]

    def stop(self) -> None:
        """Stop the jobs still queued or running (the processes are killed)."""
        close = getattr(self._finished, "close", None)
        if close is not None:
            close()   # joblib aborts the queued jobs and kills the processes


def _hide_loky_shutdown_race() -> None:
    """While an interrupted pool shuts down, loky's executor manager thread can fail with
    a KeyError on a job that joblib has just cancelled (a race between the two) and print
    its traceback under the run's one-line message. The jobs are being dropped on purpose,
    so that one error of that one thread is not shown; any other failure of the pool still
    reaches the caller as joblib's own error."""
    previous = threading.excepthook
    if getattr(previous, "hides_loky_shutdown_race", False):
        return

    def hook(arguments) -> None:
        if not (getattr(arguments.thread, "name", "") == "ExecutorManagerThread"
                and issubclass(arguments.exc_type, KeyError)):
            previous(arguments)

    hook.hides_loky_shutdown_race = True
    threading.excepthook = hook
