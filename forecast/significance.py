"""Is one forecast really better than another? Tests with the power of pooled data.

Two tools, both for losses that are serially correlated (a day's error says much about
the next day's, and a ``horizon``-day-ahead forecast overlaps the next ``horizon - 1``):

* :func:`diebold_mariano_hac`: the Diebold–Mariano test of equal accuracy on a loss
  differential ``d_t`` (µg/m³)², with a Newey–West (Bartlett kernel) long-run variance
  whose lag is at least ``horizon - 1`` and grows with the series, and the
  Harvey–Leybourne–Newbold (1997) small-sample correction with Student t(n − 1)
  p-values;
* :func:`pooled_rmse_diff_ci` / :func:`pooled_rmse_ci`: a moving-block bootstrap pooled
  over folds and stations: blocks of consecutive dates are drawn within each fold, and
  every station of a drawn date comes along, so spatial correlation between stations and
  serial correlation within a fold are both kept.

The Newey–West variance is written here (a dozen lines) rather than taken from
statsmodels, which the project does not otherwise need.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats


def newey_west_lag(n: int, horizon: int = 1) -> int:
    """Lag of the Newey–West variance: the rule of thumb ⌊4 (n/100)^(2/9)⌋, and never
    below ``horizon − 1`` (the overlap of h-step forecasts)."""
    return max(int(horizon) - 1, int(math.floor(4.0 * (n / 100.0) ** (2.0 / 9.0))))


def long_run_variance(d: ArrayLike, lag: int) -> float:
    """Newey–West estimate γ₀ + 2 Σ_{k=1..lag} (1 − k/(lag+1)) γ_k of the long-run
    variance of ``d``, with γ_k = (1/n) Σ_t (d_t − d̄)(d_{t−k} − d̄). Never negative."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    centred = d - d.mean()
    variance = float(centred @ centred) / n
    for k in range(1, min(int(lag), n - 1) + 1):
        weight = 1.0 - k / (lag + 1.0)
        variance += 2.0 * weight * float(centred[k:] @ centred[:-k]) / n
    return max(variance, 0.0)


def diebold_mariano_hac(d: ArrayLike, horizon: int = 1,
                        lag: int | None = None) -> tuple[float, float, int]:
    """Diebold–Mariano test that the loss differential ``d`` (in time order) has mean 0.

    Returns ``(stat, p_value, lag)``: stat = d̄ / √(LRV/n) × √((n + 1 − 2h + h(h−1)/n)/n)
    (HLN), two-sided p from Student t with n − 1 degrees of freedom, LRV from
    :func:`long_run_variance` with ``lag`` (default :func:`newey_west_lag`). A negative
    stat means the first forecast has the smaller loss. Identical losses give (0, 1);
    a constant non-zero differential (±inf, 0).
    """
    d = np.asarray(d, dtype=float)
    n, h = len(d), int(horizon)
    if h < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if n < 3 or h >= n:
        raise ValueError(f"need more than max(2, horizon) observations, got n={n}, h={h}")
    if not np.all(np.isfinite(d)):
        raise ValueError("the loss differential contains NaN or infinite values")
    lag = newey_west_lag(n, h) if lag is None else int(lag)
    if np.ptp(d) == 0.0:
        return (0.0, 1.0, lag) if d[0] == 0.0 else (math.copysign(math.inf, d[0]), 0.0, lag)
    variance = long_run_variance(d, lag)
    if variance <= 0.0:
        variance = float(np.var(d))
    stat = float(d.mean()) / math.sqrt(variance / n)
    stat *= math.sqrt(max(n + 1 - 2 * h + h * (h - 1) / n, 1e-12) / n)
    return float(stat), float(2.0 * stats.t.sf(abs(stat), df=n - 1)), lag


def daily_loss_differential(dates: ArrayLike, y_true: ArrayLike, pred_a: ArrayLike,
                            pred_b: ArrayLike, folds: ArrayLike | None = None,
                            power: float = 2.0) -> np.ndarray:
    """Per (fold, date), the mean over stations of |e_a|^power − |e_b|^power, ordered by
    fold then date: the series a pooled Diebold–Mariano test runs on."""
    units, _ = _units(dates, folds)
    y = np.asarray(y_true, dtype=float)
    loss = (np.abs(np.asarray(pred_a, dtype=float) - y) ** power
            - np.abs(np.asarray(pred_b, dtype=float) - y) ** power)
    return np.bincount(units, weights=loss) / np.bincount(units)


def _units(dates: ArrayLike, folds: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's resampling unit (a fold's date), units ordered by fold then date, and
    the fold code of each unit."""
    dates = pd.to_datetime(np.asarray(dates).reshape(-1))
    fold = np.zeros(len(dates), dtype=int) if folds is None else \
        pd.factorize(np.asarray(folds).reshape(-1), sort=True)[0]
    keys = pd.MultiIndex.from_arrays([fold, dates])
    units, uniques = pd.factorize(keys, sort=True)
    unit_fold = np.asarray(uniques.get_level_values(0), dtype=int)
    return units, unit_fold


def stratified_block_draws(unit_fold: np.ndarray, n_boot: int, seed: int | None,
                           block_length: int | None = None) -> np.ndarray:
    """(n_boot, n_units) bootstrap draws of unit indices: within each fold, moving blocks
    of consecutive units (default length n_fold^(1/3)) until the fold's size is filled."""
    rng = np.random.default_rng(seed)
    parts = []
    for fold in np.unique(unit_fold):
        positions = np.flatnonzero(unit_fold == fold)
        n = len(positions)
        length = max(1, min(n, block_length or int(round(n ** (1.0 / 3.0)))))
        n_blocks = -(-n // length)
        starts = rng.integers(0, n - length + 1, size=(n_boot, n_blocks))
        index = (starts[:, :, None] + np.arange(length)).reshape(n_boot, -1)[:, :n]
        parts.append(positions[index])
    return np.concatenate(parts, axis=1)


def _resampled_rmse(units: np.ndarray, squared_error: np.ndarray, draws: np.ndarray,
                    n_units: int) -> np.ndarray:
    sse = np.bincount(units, weights=squared_error, minlength=n_units)
    count = np.bincount(units, minlength=n_units).astype(float)
    return np.sqrt(sse[draws].sum(axis=1) / count[draws].sum(axis=1))


def pooled_rmse_ci(dates, y_true, y_pred, folds=None, *, n_boot: int = 1000,
                   seed: int | None = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval (µg/m³) of the RMSE pooled over folds and stations."""
    units, unit_fold = _units(dates, folds)
    error = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    draws = stratified_block_draws(unit_fold, n_boot, seed)
    samples = _resampled_rmse(units, error ** 2, draws, len(unit_fold))
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def pooled_rmse_diff_ci(dates, y_true, pred_a, pred_b, folds=None, *, n_boot: int = 1000,
                        seed: int | None = 0, level: float = 0.95
                        ) -> tuple[float, float, float]:
    """(rmse_a − rmse_b, low, high) in µg/m³, pooled over folds and stations, with a
    paired percentile interval from :func:`stratified_block_draws`."""
    units, unit_fold = _units(dates, folds)
    y = np.asarray(y_true, dtype=float)
    error_a = np.asarray(pred_a, dtype=float) - y
    error_b = np.asarray(pred_b, dtype=float) - y
    draws = stratified_block_draws(unit_fold, n_boot, seed)
    n_units = len(unit_fold)
    samples = (_resampled_rmse(units, error_a ** 2, draws, n_units)
               - _resampled_rmse(units, error_b ** 2, draws, n_units))
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    difference = math.sqrt(np.mean(error_a ** 2)) - math.sqrt(np.mean(error_b ** 2))
    return float(difference), float(low), float(high)
