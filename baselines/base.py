"""What every baseline shares: the estimator base, no training history, facts in ``info``."""

from __future__ import annotations

import pandas as pd
from sklearn.base import BaseEstimator


class Baseline(BaseEstimator):
    """Base of the baselines; ``info_`` is set by ``fit``."""

    @classmethod
    def from_config(cls, name: str, config: dict, seed: int = 0) -> Baseline:
        return cls()

    @property
    def history(self) -> pd.DataFrame:
        return pd.DataFrame()

    @property
    def info(self) -> dict:
        return getattr(self, "info_", {})
