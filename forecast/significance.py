"""Is one forecast really better than another? Tests with the power of pooled data.

The home of the moving-block bootstrap (:func:`moving_block_bootstrap_indices`,
:class:`ResamplePlan`), which :mod:`forecast.evaluation` uses for one split, and two tools
for losses that are serially correlated (a day's error says much about
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
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

# ---------------------------------------------------------------- block bootstrap


def default_block_length(n: int) -> int:
    """Default moving-block length for a series of n units: max(1, round(n ** (1/3)))."""
    return max(1, int(round(n ** (1.0 / 3.0)))) if n > 0 else 1


def moving_block_bootstrap_indices(n: int, block_length: int, n_boot: int,
                                   rng: np.random.Generator | int | None) -> np.ndarray:
    """Moving-block bootstrap resamples of ``range(n)``, shape (n_boot, n), dtype int.

    Each row concatenates ceil(n / block_length) blocks of consecutive indices whose
    starts are uniform on [0, n - block_length], truncated to length n. ``rng`` is a
    numpy Generator (or a seed for ``np.random.default_rng``).
    """
    n, block_length, n_boot = int(n), int(block_length), int(n_boot)
    if n < 1:
        raise ValueError("n must be >= 1")
    if not 1 <= block_length <= n:
        raise ValueError(f"block_length must be in [1, n={n}], got {block_length}")
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    n_blocks = -(-n // block_length)
    starts = rng.integers(0, n - block_length + 1, size=(n_boot, n_blocks))
    idx = starts[:, :, None] + np.arange(block_length)[None, None, :]
    return idx.reshape(n_boot, n_blocks * block_length)[:, :n]


@dataclass(frozen=True)
class ResamplePlan:
    """Rows -> resampling units (groups), and the bootstrap draws of units."""

    codes: np.ndarray  # unit index of each row, 0 .. n_units-1 (units sorted)
    counts: np.ndarray  # rows per unit
    draws: np.ndarray  # (n_boot, n_units) unit indices

    def rmse(self, sq_err: np.ndarray) -> np.ndarray:
        """RMSE (µg/m³) of each resample, from per-row squared errors."""
        return np.sqrt(self.mean(sq_err))

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Mean of per-row ``values`` (e.g. a CRPS) in each resample."""
        total = np.bincount(self.codes, weights=values, minlength=len(self.counts))
        return total[self.draws].sum(axis=1) / self.rows_drawn

    @cached_property
    def rows_drawn(self) -> np.ndarray:
        """The rows in each resample, the same for every score of the plan."""
        return self.counts[self.draws].sum(axis=1)


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` interval (lo, hi) of bootstrap samples."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    alpha = 1.0 - level
    lo, hi = np.quantile(samples, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


# ---------------------------------------------------------------- Diebold–Mariano


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


def daily_mean(dates: ArrayLike, values: ArrayLike, folds: ArrayLike | None = None
               ) -> np.ndarray:
    """Per (fold, date), the mean over stations of ``values`` (e.g. a CRPS differential),
    ordered by fold then date."""
    units, _ = _units(dates, folds)
    return np.bincount(units, weights=np.asarray(values, dtype=float)) / np.bincount(units)


def daily_loss_differential(dates: ArrayLike, y_true: ArrayLike, pred_a: ArrayLike,
                            pred_b: ArrayLike, folds: ArrayLike | None = None,
                            power: float = 2.0) -> np.ndarray:
    """Per (fold, date), the mean over stations of |e_a|^power − |e_b|^power, ordered by
    fold then date: the series a pooled Diebold–Mariano test runs on."""
    y = np.asarray(y_true, dtype=float)
    loss = (np.abs(np.asarray(pred_a, dtype=float) - y) ** power
            - np.abs(np.asarray(pred_b, dtype=float) - y) ** power)
    return daily_mean(dates, loss, folds)


@dataclass(frozen=True)
class Units:
    """Each row's resampling unit (a fold's date; units ordered by fold then date) and
    each unit's fold code, for scores of the same rows computed many times over: every
    ``dates`` argument of this module takes one (with ``folds`` None) in place of the
    dates. Its bootstrap plans are drawn once per (``n_boot``, ``seed``) and kept. At
    1,000 stations each score otherwise read three million dates and folds again."""

    codes: np.ndarray
    unit_fold: np.ndarray
    plans: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, dates: ArrayLike, folds: ArrayLike | None = None) -> Units:
        return cls(*_units(dates, folds))

    def plan(self, n_boot: int, seed: int | None) -> ResamplePlan:
        if (n_boot, seed) not in self.plans:
            self.plans[n_boot, seed] = ResamplePlan(
                codes=self.codes, counts=np.bincount(self.codes).astype(float),
                draws=stratified_block_draws(self.unit_fold, n_boot, seed))
        return self.plans[n_boot, seed]


def _units(dates: ArrayLike, folds: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's resampling unit (a fold's date), units ordered by fold then date, and
    the fold code of each unit (``dates``: or their :class:`Units`)."""
    if isinstance(dates, Units):
        return dates.codes, dates.unit_fold
    day = (pd.to_datetime(np.asarray(dates).reshape(-1)).to_numpy()
           .astype("datetime64[D]").astype(np.int64))
    fold = np.zeros(len(day), dtype=np.int64) if folds is None else \
        pd.factorize(np.asarray(folds).reshape(-1), sort=True)[0].astype(np.int64)
    first = day.min() if len(day) else 0
    span = (day.max() - first + 1) if len(day) else 1
    # one integer per (fold, date), in fold-then-date order: np.unique sorts integers
    # where a MultiIndex of 300,000 rows would build and sort as many tuples
    uniques, units = np.unique(fold * span + (day - first), return_inverse=True)
    return units.reshape(-1), (uniques // span).astype(int)


def stratified_block_draws(unit_fold: np.ndarray, n_boot: int, seed: int | None,
                           block_length: int | None = None) -> np.ndarray:
    """(n_boot, n_units) bootstrap draws of unit indices: within each fold, moving blocks
    of consecutive units (default :func:`default_block_length` of the fold's size)."""
    rng = np.random.default_rng(seed)
    parts = []
    for fold in np.unique(unit_fold):
        positions = np.flatnonzero(unit_fold == fold)
        n = len(positions)
        length = min(n, block_length or default_block_length(n))
        parts.append(positions[moving_block_bootstrap_indices(n, length, n_boot, rng)])
    return np.concatenate(parts, axis=1)


def _plan(dates, folds, n_boot: int, seed: int | None) -> ResamplePlan:
    units = dates if isinstance(dates, Units) else Units.of(dates, folds)
    return units.plan(n_boot, seed)


def pooled_rmse_ci(dates, y_true, y_pred, folds=None, *, n_boot: int = 1000,
                   seed: int | None = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval (µg/m³) of the RMSE pooled over folds and stations."""
    error = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    return percentile_interval(_plan(dates, folds, n_boot, seed).rmse(error ** 2), level)


def pooled_rmse_diff_ci(dates, y_true, pred_a, pred_b, folds=None, *, n_boot: int = 1000,
                        seed: int | None = 0, level: float = 0.95
                        ) -> tuple[float, float, float]:
    """(rmse_a − rmse_b, low, high) in µg/m³, pooled over folds and stations, with a
    paired percentile interval from :func:`stratified_block_draws`."""
    y = np.asarray(y_true, dtype=float)
    error_a = np.asarray(pred_a, dtype=float) - y
    error_b = np.asarray(pred_b, dtype=float) - y
    plan = _plan(dates, folds, n_boot, seed)
    low, high = percentile_interval(plan.rmse(error_a ** 2) - plan.rmse(error_b ** 2), level)
    difference = math.sqrt(np.mean(error_a ** 2)) - math.sqrt(np.mean(error_b ** 2))
    return float(difference), float(low), float(high)


def pooled_mean_ci(dates, values, folds=None, *, n_boot: int = 1000, seed: int | None = 0,
                   level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of a per-row score (e.g. the CRPS, µg/m³) pooled
    over folds and stations, with the resampling of :func:`pooled_rmse_ci`."""
    plan = _plan(dates, folds, n_boot, seed)
    return percentile_interval(plan.mean(np.asarray(values, dtype=float)), level)


def pooled_mean_diff_ci(dates, values_a, values_b, folds=None, *, n_boot: int = 1000,
                        seed: int | None = 0, level: float = 0.95
                        ) -> tuple[float, float, float]:
    """(mean_a − mean_b, low, high) of a per-row score, paired, pooled over folds and
    stations."""
    difference = np.asarray(values_a, dtype=float) - np.asarray(values_b, dtype=float)
    low, high = percentile_interval(_plan(dates, folds, n_boot, seed).mean(difference), level)
    return float(difference.mean()), float(low), float(high)


def significant(ci_low: float, ci_high: float, p_value: float) -> bool:
    """The project's rule for a difference beyond noise: its 95 % interval excludes 0 and
    the Diebold–Mariano p is below 0.05 (False when either is NaN)."""
    return bool((ci_low > 0 or ci_high < 0) and p_value < 0.05)


def one_test_only(ci_low: float, ci_high: float, p_value: float) -> str | None:
    """Which of the two tests of :func:`significant` alone finds a difference: "CI"
    (the interval excludes 0, DM p is 0.05 or more), "DM" (p below 0.05, the interval
    includes 0), or None when they agree."""
    clear, small_p = bool(ci_low > 0 or ci_high < 0), bool(p_value < 0.05)
    if clear == small_p:
        return None
    return "CI" if clear else "DM"


def detectable_difference(ci_low: float, ci_high: float, *, level: float = 0.95,
                          power: float = 0.8) -> float:
    """The smallest true difference a two-sided test at ``1 − level`` detects with
    probability ``power``, from the ``level`` interval of an estimated difference (normal
    approximation: standard error = half the width / z, detectable = (z_{level} +
    z_{power}) × standard error), in the interval's unit."""
    z_level = stats.norm.ppf(0.5 + level / 2)
    standard_error = (ci_high - ci_low) / 2 / z_level
    return float((z_level + stats.norm.ppf(power)) * standard_error)


def days_to_detect(difference: float, detectable: float, n_days: int) -> int:
    """How many days a difference of ``difference`` needs to be detectable, when on
    ``n_days`` days only ``detectable`` is (the standard error falls as 1/√n)."""
    if difference == 0:
        raise ValueError("a difference of 0 is never detectable")
    return int(math.ceil(n_days * (detectable / abs(difference)) ** 2))

