"""The pooled tests: Diebold–Mariano with a Newey–West variance, and the pooled bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast import significance as S


def test_dm_matches_a_case_worked_by_hand_with_horizon_two():
    # d = 2, -1, 3, 0, 1, 4, -2, 1: mean 1, centred 1, -2, 2, -1, 0, 3, -3, 0
    # gamma_0 = 28 / 8 = 3.5; gamma_1 = (-2 - 4 - 2 + 0 + 0 - 9 + 0) / 8 = -2.125
    # lag 1 (h - 1), Bartlett weight 1/2: LRV = 3.5 + 2 * 0.5 * (-2.125) = 1.375
    # DM = 1 / sqrt(1.375 / 8) = 2.412091; HLN factor sqrt((8 + 1 - 4 + 2/8) / 8) = 0.810093
    d = [2, -1, 3, 0, 1, 4, -2, 1]
    stat, p, lag = S.diebold_mariano_hac(d, horizon=2, lag=1)
    assert lag == 1
    assert S.long_run_variance(d, 1) == pytest.approx(1.375)
    assert stat == pytest.approx(2.412091 * 0.810093, abs=1e-5)
    assert p == pytest.approx(2 * stats.t.sf(1.954017, df=7), abs=1e-5)
    # the default lag never drops below h - 1
    assert S.newey_west_lag(8, horizon=4) == 3


def test_dm_holds_its_size_on_an_ma1_correlated_differential():
    """Under the null with MA(1) errors a test that ignores the correlation rejects far
    too often; the Newey–West version stays near its 5 % level."""
    rng = np.random.default_rng(7)
    n, reps, theta = 360, 600, 0.9
    rejected_hac = rejected_iid = 0
    for _ in range(reps):
        e = rng.normal(size=n + 1)
        d = e[1:] + theta * e[:-1]
        rejected_hac += S.diebold_mariano_hac(d, horizon=1)[1] < 0.05
        rejected_iid += S.diebold_mariano_hac(d, horizon=1, lag=0)[1] < 0.05
    assert rejected_iid / reps > 0.12
    assert 0.02 < rejected_hac / reps < 0.09


def test_dm_detects_a_real_difference_and_handles_degenerate_input():
    rng = np.random.default_rng(0)
    d = rng.normal(-0.5, 1.0, size=300)
    stat, p, _ = S.diebold_mariano_hac(d)
    assert stat < 0 and p < 0.01
    assert S.diebold_mariano_hac(np.zeros(10))[:2] == (0.0, 1.0)
    assert S.diebold_mariano_hac(np.full(10, 2.0))[:2] == (math.inf, 0.0)
    with pytest.raises(ValueError):
        S.diebold_mariano_hac([1.0, 2.0])
    with pytest.raises(ValueError):
        S.diebold_mariano_hac([1.0, np.nan, 2.0, 3.0])


def _pooled_frame(n_folds=3, n_days=200, n_stations=4, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for fold in range(n_folds):
        dates = pd.date_range(f"{2011 + fold}-01-01", periods=n_days, freq="D")
        common = rng.normal(0, 10, size=n_days)       # shared by every station of a date
        for station in range(n_stations):
            y = 80 + rng.normal(0, 30, size=n_days)
            rows.append(pd.DataFrame({
                "fold": fold, "date": dates, "station": station, "y": y,
                "a": y + common + rng.normal(0, 5, n_days),
                "b": y + common + rng.normal(0, 8, n_days)}))
    return pd.concat(rows, ignore_index=True)


def test_pooled_interval_is_narrower_than_one_fold_and_contains_the_estimate():
    frame = _pooled_frame()
    pooled = S.pooled_rmse_diff_ci(frame["date"], frame["y"], frame["a"], frame["b"],
                                   frame["fold"], n_boot=400)
    one = frame[frame["fold"] == 2]
    single = S.pooled_rmse_diff_ci(one["date"], one["y"], one["a"], one["b"], n_boot=400)
    assert pooled[1] <= pooled[0] <= pooled[2] and pooled[2] < 0
    assert (pooled[2] - pooled[1]) < (single[2] - single[1])
    low, high = S.pooled_rmse_ci(frame["date"], frame["y"], frame["a"], frame["fold"],
                                 n_boot=200)
    rmse = float(np.sqrt(np.mean((frame["a"] - frame["y"]) ** 2)))
    assert low < rmse < high


def test_pooled_draws_stay_inside_their_fold_and_keep_stations_together():
    unit_fold = np.repeat([0, 1, 2], [50, 30, 40])
    draws = S.stratified_block_draws(unit_fold, n_boot=20, seed=1)
    assert draws.shape == (20, 120)
    assert (unit_fold[draws] == unit_fold[None, :]).all()
    frame = _pooled_frame(n_folds=2, n_days=30, n_stations=3)
    d = S.daily_loss_differential(frame["date"], frame["y"], frame["a"], frame["b"],
                                  frame["fold"])
    assert len(d) == 60  # one value per fold-date, stations averaged


def test_units_computed_once_give_the_scores_of_dates_and_folds():
    rng = np.random.default_rng(4)
    dates = np.tile(pd.date_range("2013-01-01", periods=200).to_numpy(), 3)
    folds = np.repeat(["2013", "2014", "2015"], 200)
    y, a, b = rng.gamma(2, 30, (3, 600))
    units = S.Units.of(dates, folds)
    assert S.pooled_rmse_ci(units, y, a, n_boot=200) == \
        S.pooled_rmse_ci(dates, y, a, folds, n_boot=200)
    assert S.pooled_rmse_diff_ci(units, y, a, b, n_boot=200, seed=5) == \
        S.pooled_rmse_diff_ci(dates, y, a, b, folds, n_boot=200, seed=5)
    assert S.pooled_mean_diff_ci(units, a, b, n_boot=200) == \
        S.pooled_mean_diff_ci(dates, a, b, folds, n_boot=200)
    np.testing.assert_array_equal(S.daily_loss_differential(units, y, a, b),
                                  S.daily_loss_differential(dates, y, a, b, folds))
    # one plan per (n_boot, seed), drawn once and kept
    assert units.plan(200, 0) is units.plan(200, 0)
    assert units.plan(200, 1) is not units.plan(200, 0)
