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

            self._finished = Parallel(n_jobs=min(self.n_jobs, len(jobs)), backend="loky",
                                      return_as="generator_unordered", pre_dispatch="all")(
                delayed(_numbered)(*job) for job in numbered)
        else:
            self._finished = (_numbered(*job) for job in numbered)

    def wait(self, numbers: Sequence[int]) -> list:
        """The outcomes of the jobs ``numbers`` (positions in ``jobs``), in that order."""
        while any(k not in self.outcomes for k in numbers):
            number, outcome = next(self._finished)
            self.outcomes[number] = outcome
            if self.on_done is not None:
                self.on_done(number, outcome)
        return [self.outcomes[k] for k in numbers]
