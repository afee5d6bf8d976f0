"""Naive baselines: persistence and climatology. No fitting beyond the training split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.task import ForecastTask

from .base import Baseline


class Persistence(Baseline):
    """Tomorrow = the most recent valid daily mean PM2.5 (µg/m³) up to the issue day.

    Before a station's first valid day (no history at all) it falls back to the mean
    target of the training split, so it still predicts every scored day.
    """

    def fit(self, task: ForecastTask) -> Persistence:
        self.fallback_ = float(np.mean(task.y[task.mask("train")]))
        self.info_ = {"n_parameters": 0, "fit_seconds": 0.0}
        self._fitted_on(task)
        return self

    def predict(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        values = task.persistence[rows]
        return np.where(np.isfinite(values), values, self.fallback_)


class Climatology(Baseline):
    """The training split's mean target for the target's day of year (µg/m³).

    Each day of year averages the training targets within ±``half_window`` days of it
    (circular), per station when the station has enough training days, else pooled.
    """

    def __init__(self, half_window: int = 15) -> None:
        self.half_window = half_window

    def _table(self, day_of_year: np.ndarray, y: np.ndarray) -> np.ndarray:
        sums = np.bincount(day_of_year - 1, weights=y, minlength=366)
        counts = np.bincount(day_of_year - 1, minlength=366).astype(float)
        kernel = np.ones(2 * self.half_window + 1)
        wrap = lambda v: np.convolve(np.concatenate([v[-self.half_window:], v, v[:self.half_window]]),  # noqa: E731
                                     kernel, mode="valid")
        smoothed_counts = wrap(counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            table = wrap(sums) / smoothed_counts
        return np.where(smoothed_counts > 0, table, np.nanmean(y))

    def fit(self, task: ForecastTask) -> Climatology:
        train = task.mask("train")
        doy = pd.DatetimeIndex(task.rows["target_day"]).dayofyear.to_numpy()
        self.pooled_ = self._table(doy[train], task.y[train])
        self.table_: dict[int, np.ndarray] = {}
        self.info_ = {"n_parameters": 366, "fit_seconds": 0.0,
                      "half_window_days": self.half_window}
        for index in np.unique(task.station_index[train]):
            mine = train & (task.station_index == index)
            if mine.sum() >= 300:
                self.table_[int(index)] = self._table(doy[mine], task.y[mine])
        self._fitted_on(task)
        return self

    def predict(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        doy = pd.DatetimeIndex(task.rows["target_day"]).dayofyear.to_numpy()[rows] - 1
        stations = task.station_index[rows]
        out = self.pooled_[doy].copy()
        for index, table in self.table_.items():
            mine = stations == index
            out[mine] = table[doy[mine]]
        return out
