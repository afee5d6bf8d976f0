"""A seed ensemble: one network trained from several random seeds, forecasts averaged.

Networks of this size land in different minima from different seeds; their mean is more
accurate than a typical member and, unlike "the best seed by validation", owes nothing
to luck. The ensemble is a model in its own right: ``fit``, ``predict``, ``save`` /
``load`` (one file), ``info``, and scikit-learn's ``get_params`` / ``set_params`` /
``clone`` (its parameters are the member estimator and the seeds).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone

from forecast.errors import DataError, ModelFailed
from forecast.task import ForecastTask

from .pool import TrainingPool
from .training import NetworkForecaster, TrainingFailed


class SeedEnsemble(BaseEstimator):
    """``estimator`` fitted once per seed in ``seeds``; the forecast is the members' mean.

    A member whose training fails (:class:`~forecast.errors.ModelFailed`) is recorded in
    ``failed_`` ({seed: reason}) and left out; ``fit`` raises ModelFailed only when every
    member fails. Fitted state: ``members_`` ({seed: fitted estimator}, in seed order).
    """

    def __init__(self, estimator: NetworkForecaster | None = None,
                 seeds: list[int] | tuple[int, ...] = (0, 1, 2), n_jobs: int = 1) -> None:
        self.estimator = estimator
        self.seeds = seeds
        self.n_jobs = n_jobs

    @property
    def kind(self) -> str:
        return self.estimator.kind

    def fit(self, task: ForecastTask, callbacks=(), on_member=None) -> SeedEnsemble:
        """Fit one member per seed; ``callbacks`` go to every member's training and
        ``on_member(seed)`` is called before each (e.g. to report progress)."""
        members = self.unfitted_members()
        if self.n_jobs > 1 and len(members) > 1:
            if on_member is not None:
                on_member(int(self.seeds[0]))
            outcomes = fit_networks([(member, task) for member in members], self.n_jobs)
        else:
            outcomes = []
            for member in members:
                if on_member is not None:
                    on_member(int(member.seed))
                outcomes.append(fit_member(member, task, callbacks))
        return self.adopt(outcomes)

    def unfitted_members(self) -> list[NetworkForecaster]:
        """One unfitted copy of the estimator per seed, in seed order: what :meth:`fit`
        trains, and what a caller training several ensembles in one pool of processes
        (:func:`fit_networks`) trains before handing the outcomes to :meth:`adopt`."""
        return [clone(self.estimator).set_params(seed=int(seed)) for seed in self.seeds]

    def adopt(self, outcomes: list[NetworkForecaster | str]) -> SeedEnsemble:
        """The members trained from :meth:`unfitted_members` (in the same order), each a
        fitted network or the reason its training failed."""
        if len(outcomes) != len(self.seeds):
            raise ValueError(f"{len(outcomes)} outcomes for {len(self.seeds)} seeds")
        self.members_: dict[int, NetworkForecaster] = {}
        self.failed_: dict[int, str] = {}
        for seed, outcome in zip(self.seeds, outcomes, strict=True):
            if isinstance(outcome, str):
                self.failed_[int(seed)] = outcome
            else:
                self.members_[int(seed)] = outcome
        if not self.members_:
            raise TrainingFailed(f"{self.kind}: every seed failed ("
                                 + "; ".join(self.failed_.values()) + ")")
        return self

    def drop(self, seed: int, reason: str) -> None:
        """Leave a fitted member out (e.g. its forecasts are not finite)."""
        self.members_.pop(int(seed))
        self.failed_[int(seed)] = reason
        if not self.members_:
            raise TrainingFailed(f"{self.kind}: every seed failed")

    def predict(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        return np.mean([m.predict(task, rows) for m in self.members_.values()], axis=0)

    @property
    def predicts_quantiles(self) -> bool:
        return bool(getattr(self.estimator, "predicts_quantiles", False))

    def predict_quantiles(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        """The members' quantiles averaged level by level (still increasing)."""
        return np.mean([m.predict_quantiles(task, rows) for m in self.members_.values()],
                       axis=0)

    def at_output_clip(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        """Rows where any member's raw output reached its output clip."""
        return self.predict_and_clip(task, rows)[1]

    def predict_and_clip(self, task: ForecastTask, rows: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` and :meth:`at_output_clip`, one forward pass per member."""
        pairs = [m.predict_and_clip(task, rows) for m in self.members_.values()]
        return (np.mean([values for values, _ in pairs], axis=0),
                np.any([clipped for _, clipped in pairs], axis=0))

    @property
    def info(self) -> dict:
        members = list(getattr(self, "members_", {}).values())
        final_fits = [m.info["refit"].get("seconds", 0.0) for m in members
                      if "refit" in m.info]
        return {"n_parameters": int(sum(m.info.get("n_parameters", 0) for m in members)),
                "fit_seconds": float(sum(m.info.get("fit_seconds", 0.0) for m in members)),
                **({"final_fit_seconds": float(sum(final_fits))} if final_fits else {}),
                "seeds": [int(s) for s in getattr(self, "members_", {})],
                "failed_seeds": {str(s): r for s, r in getattr(self, "failed_", {}).items()}}

    @property
    def history(self) -> pd.DataFrame:
        """The first member's curves (each member's are in ``members_[seed].history``)."""
        members = list(getattr(self, "members_", {}).values())
        return members[0].history if members else pd.DataFrame()

    def check_task(self, task: ForecastTask, path: str | Path = "the fitted ensemble") -> None:
        """DataError unless ``task`` gives the inputs its members were fitted on."""
        for member in self.members_.values():
            member.check_task(task, path)

    # ------------------------------------------------------------------ save / load

    def save(self, path: str | Path) -> None:
        """One file: every member's weights, hyper-parameters and scalers (no pickle)."""
        torch.save({"format": "seed_ensemble", "seeds": [int(s) for s in self.members_],
                    "failed": {str(s): r for s, r in self.failed_.items()},
                    "members": [m.state() for m in self.members_.values()]}, path)

    @classmethod
    def from_state(cls, saved: dict) -> SeedEnsemble:
        members = [NetworkForecaster.from_state(m) for m in saved["members"]]
        ensemble = cls(clone(members[0]), seeds=list(saved["seeds"]))
        ensemble.members_ = dict(zip((int(s) for s in saved["seeds"]), members, strict=True))
        ensemble.failed_ = {int(s): r for s, r in saved.get("failed", {}).items()}
        return ensemble

    @classmethod
    def load(cls, path: str | Path) -> SeedEnsemble:
        return cls.from_state(torch.load(path, map_location="cpu", weights_only=True))


def fit_member(member: NetworkForecaster, task: ForecastTask, callbacks=(),
               progress=None, refit: bool = False) -> NetworkForecaster | str:
    """The fitted member, or the reason its training failed; ``progress``: an object
    whose ``epoch(epoch, val_loss)`` hears each validation epoch (e.g. a
    :class:`forecast.progress.QueueProgress` from a training process); ``refit``: with
    its final fit on training + validation rows (a :class:`forecast.refit.Refitted`)."""
    if progress is not None:
        from forecast.progress import EpochReporter

        callbacks = [*callbacks, EpochReporter(progress)]
    try:
        fitted = member.fit(task, callbacks=callbacks)
    except ModelFailed as exc:
        return str(exc)
    if refit:
        from forecast.refit import refit as final_fit

        return final_fit(fitted, task)
    return fitted


def fit_networks(fits: list[tuple[NetworkForecaster, ForecastTask]], n_jobs: int,
                 on_done=None) -> list[NetworkForecaster | str]:
    """Train every (unfitted network, task) pair in one pool of ``n_jobs`` processes
    (:class:`~models.pool.TrainingPool`); each outcome is the fitted network or the reason
    its training failed, in the order of ``fits``; ``on_done(k, outcome)`` is called as
    each one finishes. Each network seeds itself, so the outcomes do not depend on
    ``n_jobs`` (callbacks cannot cross processes, so none are passed)."""
    pool = TrainingPool([(fit_member, fit) for fit in fits], n_jobs, on_done)
    return pool.wait(range(len(fits)))


def load_model(path: str | Path) -> NetworkForecaster | SeedEnsemble:
    """A network or a seed ensemble saved with ``save`` (``torch.load(weights_only=True)``);
    a file that is not one (truncated, overwritten) is a DataError naming it."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("format") == "seed_ensemble":
            return SeedEnsemble.from_state(saved)
        return NetworkForecaster.from_state(saved)
    except (OSError, RuntimeError, EOFError, KeyError, ValueError, TypeError, AttributeError,
            pickle.UnpicklingError) as exc:
        raise DataError(f"{path}: not a fitted network ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None
