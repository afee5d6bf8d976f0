"""What every baseline shares: the estimator base, no training history, facts in ``info``."""

from __future__ import annotations

import pandas as pd
from sklearn.base import BaseEstimator, clone


class Baseline(BaseEstimator):
    """Base of the baselines; ``info_`` is set by ``fit``."""

    @classmethod
    def from_config(cls, name: str, config: dict, seed: int = 0) -> Baseline:
        return cls()

    def refitted(self, final_task) -> Baseline:
        """A copy fitted on ``final_task`` (:meth:`forecast.task.ForecastTask.for_final_fit`:
        training and validation rows together) with the settings this fit chose; a
        baseline without choices is simply fitted again."""
        return clone(self).fit(final_task)

    @property
    def history(self) -> pd.DataFrame:
        return pd.DataFrame()

    @property
    def info(self) -> dict:
        return getattr(self, "info_", {})
