"""Predictive distributions: conformal calibration in log space, probabilities, scores."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from forecast import daily, uncertainty
from forecast.calendars import in_season
from forecast.config import load_config
from forecast.constants import DEFAULT_HEATING_SEASON
from forecast.pipeline import fit_models
from forecast.synthetic import generate_hourly
from forecast.task import build_task
from forecast.uncertainty import LEVELS, QUANTILE_COLUMNS, Calibration


def _fit(y_true, raw, offset, groups, in_season=None, season_days=DEFAULT_HEATING_SEASON):
    """One calibration of all the rows (``in_season`` given: split by the season), as the
    choice fits each setting; None when a group holds too few rows."""
    rows = uncertainty._Rows(np.asarray(y_true, dtype=float),
                             uncertainty.point_or_quantiles(raw), in_season,
                             season_days=season_days)
    return uncertainty._fit_rows(rows, np.ones(len(y_true), bool), offset, groups,
                                 in_season is not None)


def _lognormal_case(seed: int, n: int = 4000):
    """Targets whose error is multiplicative (it grows with the level, as PM2.5's)."""
    rng = np.random.default_rng(seed)
    truth = rng.lognormal(4.0, 0.8, n)
    point = truth * rng.lognormal(0.0, 0.35, n)
    return truth, np.repeat(point[:, None], len(LEVELS), axis=1)


def test_log_space_conformal_intervals_cover_their_nominal_level_at_every_level():
    y, raw = _lognormal_case(0)
    half = len(y) // 2
    quantiles = Calibration.fit(y[:half], raw[:half]).apply(raw[half:])
    frame = pd.DataFrame({"y_true": y[half:], **{c: quantiles[:, uncertainty.level_index(lv)]
                          for c, lv in zip(QUANTILE_COLUMNS, uncertainty.REPORTED_LEVELS,
                                           strict=True)}})
    coverage = uncertainty.coverage(frame)
    for nominal in ("50", "80", "90"):
        assert abs(coverage[nominal]["coverage"] - int(nominal) / 100) < 0.03, coverage
    # the errors scale with the level: so must the calibrated intervals (log space)
    high = y[half:] > np.quantile(y[half:], 2 / 3)
    low = y[half:] < np.quantile(y[half:], 1 / 3)
    width = quantiles[:, uncertainty.level_index(0.9)] - quantiles[:, uncertainty.level_index(0.1)]
    assert width[high].mean() > 3 * width[low].mean()
    inside = (y[half:] >= quantiles[:, uncertainty.level_index(0.1)]) & \
        (y[half:] <= quantiles[:, uncertainty.level_index(0.9)])
    assert abs(inside[high].mean() - 0.8) < 0.06 and abs(inside[low].mean() - 0.8) < 0.06


def _inside_80(calibration: Calibration, y: np.ndarray, raw: np.ndarray,
               dates: np.ndarray | None = None) -> np.ndarray:
    quantiles = calibration.apply(raw, dates)
    return (y >= quantiles[:, uncertainty.level_index(0.1)]) & (
        y <= quantiles[:, uncertainty.level_index(0.9)])


def test_a_forecast_clipped_at_zero_gets_an_interval_that_covers_the_days_it_forecasts():
    """A linear model's forecast clipped at 0 with log1p scores got the interval 0–1 µg/m³
    (never covering) and widened every other day's; the offset chosen on cross-fitted
    validation CRPS gives those days an honest interval and a lower CRPS."""
    rng = np.random.default_rng(3)
    n = 3000
    truth = rng.gamma(2.0, 20.0, n) + 3.0
    point = np.maximum(truth + rng.normal(0.0, 25.0, n), 0.0)   # additive errors, clipped
    raw = np.repeat(point[:, None], len(LEVELS), axis=1)
    dates = pd.date_range("2020-01-01", periods=n).to_numpy()
    half = n // 2
    chosen = Calibration.fit(truth[:half], raw[:half], dates=dates[:half])
    log1p = Calibration.fit(truth[:half], raw[:half], dates=dates[:half], offsets=(1.0,),
                            groups=(1,), seasons=(False,))
    zero = point[half:] == 0
    assert zero.sum() > 50 and chosen.offset > 1.0 and log1p.offset == 1.0
    assert _inside_80(log1p, truth[half:], raw[half:])[zero].mean() < 0.3
    assert _inside_80(chosen, truth[half:], raw[half:])[zero].mean() > 0.6
    assert abs(_inside_80(chosen, truth[half:], raw[half:]).mean() - 0.8) < 0.03
    assert (uncertainty.crps(chosen.apply(raw[half:]), truth[half:]).mean()
            < uncertainty.crps(log1p.apply(raw[half:]), truth[half:]).mean())
    # stored and read back as forecast predict does; a run from before the offset: log1p
    again = Calibration.from_dict(chosen.to_dict())
    assert again.offset == chosen.offset
    np.testing.assert_array_equal(again.apply(raw[:5]), chosen.apply(raw[:5]))
    old = {k: v for k, v in log1p.to_dict().items()
           if k not in ("log_offset", "forecast_edges", "floor")}
    np.testing.assert_array_equal(Calibration.from_dict(old).apply(raw[:5]),
                                  replace(log1p, floor=0.0).apply(raw[:5]))


def _errors_shrinking_with_the_level(seed: int, n: int):
    """Targets whose log error is large on low days and small on high days: one set of
    log-space shifts for all days under-covers the low forecasts and over-covers the high."""
    rng = np.random.default_rng(seed)
    point = rng.gamma(2.0, 40.0, n) + 5.0
    spread = np.where(point < np.quantile(point, 1 / 3), 0.8, 0.15)
    truth = point * rng.lognormal(0.0, spread)
    return truth, np.repeat(point[:, None], len(LEVELS), axis=1)


def test_shifts_per_third_of_the_forecasts_are_chosen_where_one_set_misses_a_third():
    y, raw = _errors_shrinking_with_the_level(4, 3000)
    dates = pd.date_range("2020-01-01", periods=len(y)).to_numpy()
    half = len(y) // 2
    grouped = Calibration.fit(y[:half], raw[:half], dates=dates[:half])
    one_set = Calibration.fit(y[:half], raw[:half], dates=dates[:half], groups=(1,),
                              seasons=(False,))
    assert grouped.groups == 3 and one_set.groups == 1
    high = raw[half:, 0] > np.quantile(raw[:half, 0], 2 / 3)
    low = raw[half:, 0] < np.quantile(raw[:half, 0], 1 / 3)
    for rows in (high, low):   # each third covers about its nominal share
        assert abs(_inside_80(grouped, y[half:], raw[half:])[rows].mean() - 0.8) < 0.06
    inside_one_set = _inside_80(one_set, y[half:], raw[half:])
    assert inside_one_set[low].mean() < 0.7 and inside_one_set[high].mean() > 0.85
    assert (uncertainty.crps(grouped.apply(raw[half:]), y[half:]).mean()
            < uncertainty.crps(one_set.apply(raw[half:]), y[half:]).mean())
    # stored and read back as forecast predict does: the same groups and quantiles
    again = Calibration.from_dict(grouped.to_dict())
    np.testing.assert_array_equal(again.apply(raw[half:]), grouped.apply(raw[half:]))
    assert again.edges.tolist() == grouped.edges.tolist()


def test_one_set_of_shifts_where_the_errors_scale_as_the_log_space_assumes():
    """The target is the forecast times a lognormal error: one set of log1p shifts is
    right for every third. (In ``_lognormal_case`` the forecast is the target times the
    error, so the highest forecasts are too high and the thirds' shifts do differ.)"""
    rng = np.random.default_rng(5)
    point = rng.lognormal(4.0, 0.8, 1500)
    y = point * rng.lognormal(0.0, 0.35, len(point))
    raw = np.repeat(point[:, None], len(LEVELS), axis=1)
    dates = pd.date_range("2020-01-01", periods=len(y)).to_numpy()
    fitted = Calibration.fit(y, raw, dates=dates)
    assert fitted.groups == 1 and not fitted.by_season
    _, skewed = _lognormal_case(5, n=1500)
    assert Calibration.fit(_lognormal_case(5, n=1500)[0], skewed, dates=dates).groups == 3


def test_groups_need_enough_rows_each_and_the_quantiles_stay_above_the_floor():
    y, raw = _errors_shrinking_with_the_level(6, 60)     # 48 rows per cross-fitting part
    dates = pd.date_range("2020-01-01", periods=len(y)).to_numpy()
    assert _fit(y[:50], raw[:50], 10.0, 3) is None   # 16-17 rows a third
    data = uncertainty._Rows(y, raw[:, :1], None, uncertainty._date_blocks(dates))
    assert uncertainty._cross_fitted_crps(data, frozenset(), 10.0, 3, False,
                                          list(range(5))) == float("inf")
    assert Calibration.fit(y, raw, dates=dates).groups == 1
    tied = np.full_like(raw, 40.0)                       # one forecast for every day
    assert _fit(np.tile(y, 3), np.tile(tied, (3, 1)), 10.0, 3) is None
    calibration = Calibration.fit(y, raw, dates=dates, offsets=(100.0,))
    assert calibration.floor == y.min()
    low = np.zeros((4, len(LEVELS)))                     # a forecast of 0 with a = 100
    assert (calibration.apply(low) >= y.min()).all()


def test_the_offset_is_chosen_from_the_validation_blocks_alone_and_defaults_to_log1p():
    y, raw = _lognormal_case(1, n=400)
    dates = np.repeat(pd.date_range("2020-01-01", periods=200).to_numpy(), 2)  # 2 stations
    fitted = Calibration.fit(y, raw, dates=dates)
    assert fitted.offset in uncertainty.OFFSETS
    # the same rows in another order: the same blocks of dates, the same choice
    order = np.random.default_rng(0).permutation(len(y))
    assert Calibration.fit(y[order], raw[order], dates=dates[order]).offset == fitted.offset
    # no dates, or fewer dates than blocks: log1p, one group, whatever the choices offered
    assert Calibration.fit(y, raw).offset == 1.0
    assert not Calibration.fit(y, raw, groups=(3,), seasons=(True,)).by_season
    # dates as a plain list
    assert Calibration.fit(y, raw, dates=list(dates)).offset == fitted.offset
    assert Calibration.fit(y[:8], raw[:8], dates=dates[:8]).offset == 1.0


def test_the_conformal_ranks_of_every_level_are_those_of_conformal_quantile():
    scores = np.random.default_rng(2).normal(size=(37, len(LEVELS)))
    shifts = uncertainty._conformal_shifts(scores)
    assert [uncertainty.conformal_quantile(scores[:, k], level)
            for k, level in enumerate(LEVELS)] == list(shifts)
    # selected one column at a time, they are the sorted columns' order statistics
    for n in (19, 200, 1001):
        scores = np.random.default_rng(n).normal(size=(n, len(LEVELS)))
        scores[: n // 4, 3] = 0.0                                   # ties
        rank = np.where(LEVELS >= 0.5, np.ceil((n + 1) * LEVELS), np.floor((n + 1) * LEVELS))
        index = np.clip(rank, 1, n).astype(int) - 1
        np.testing.assert_array_equal(uncertainty._conformal_shifts(scores),
                                      np.sort(scores, axis=0)[index, np.arange(len(LEVELS))])
        np.testing.assert_array_equal(uncertainty._conformal_shifts(scores[:, :1]),
                                      np.sort(scores[:, 0])[index])


@pytest.mark.parametrize("seed", range(30))
def test_quantiles_never_cross_and_are_never_nan_for_any_input(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    y = rng.choice([0.0, 1.0, 1e4], n) * rng.random(n)          # zeros, small, huge
    raw = rng.choice([0.0, 3.0, 1e5], (n, len(LEVELS))) * rng.random((n, len(LEVELS)))
    raw[rng.random(raw.shape) < 0.2] = -5.0                      # a negative raw forecast
    calibration = Calibration.fit(y, raw)
    fresh = rng.random((7, len(LEVELS))) * rng.choice([0.0, 10.0, 1e6])
    for quantiles in (calibration.apply(raw), calibration.apply(fresh)):
        assert np.isfinite(quantiles).all() and (quantiles >= 0).all()
        assert (np.diff(quantiles, axis=1) >= 0).all()
        probability = uncertainty.exceedance_probability(quantiles, 75.0)
        assert ((probability >= 0) & (probability <= 1)).all()
        categories = uncertainty.category_probabilities(quantiles)
        assert (categories >= -1e-12).all()
        np.testing.assert_allclose(categories.sum(axis=1), 1.0)


def test_the_cdf_inverts_the_quantiles():
    quantiles = np.sort(np.random.default_rng(1).gamma(2, 30, (5, len(LEVELS))), axis=1)
    for k in (0, 9, 49, 89, 98):
        np.testing.assert_allclose(uncertainty.cdf(quantiles, quantiles[:, k]), LEVELS[k],
                                   atol=1e-9)
    assert (uncertainty.cdf(quantiles, -1.0) < LEVELS[0]).all()
    assert (uncertainty.cdf(quantiles, 1e9) > LEVELS[-1]).all()


def test_the_pit_of_a_point_mass_is_the_middle_of_its_levels():
    exact = np.full((3, len(LEVELS)), 30.0)                     # a constant, forecast exactly
    assert list(uncertainty.pit(exact, np.array([30.0, 29.0, 31.0]))) == [
        0.5, LEVELS[0] / 2, (1 + LEVELS[-1]) / 2]
    steps = np.repeat([[10.0], [20.0], [20.0], [20.0], [40.0]], [10, 30, 20, 9, 30], axis=0).T
    assert uncertainty.pit(steps, np.array([20.0]))[0] == pytest.approx((0.11 + 0.69) / 2)
    smooth = np.linspace(1.0, 99.0, len(LEVELS))[None]          # no ties: the cdf itself
    values = np.array([3.0])
    assert uncertainty.pit(smooth, values)[0] == uncertainty.cdf(smooth, values)[0]


def test_crps_of_a_point_forecast_is_its_absolute_error_and_rewards_sharpness():
    y = np.array([10.0, 50.0, 200.0])
    point = np.repeat(np.array([30.0, 50.0, 150.0])[:, None], len(LEVELS), axis=1)
    np.testing.assert_allclose(uncertainty.crps(point, y), [20.0, 0.0, 50.0], rtol=1e-9)
    wide = np.repeat(np.linspace(0, 400, len(LEVELS))[None], 3, axis=0)
    centred = np.repeat(np.linspace(40, 60, len(LEVELS))[None], 3, axis=0)
    assert uncertainty.crps(centred, np.full(3, 50.0)).mean() < \
        uncertainty.crps(wide, np.full(3, 50.0)).mean()


def test_the_conformal_quantile_has_the_finite_sample_rank():
    scores = np.arange(1.0, 10.0)             # n = 9: (n + 1) τ = 9 for τ = 0.9
    assert uncertainty.conformal_quantile(scores, 0.9) == 9.0
    assert uncertainty.conformal_quantile(scores, 0.1) == 1.0
    assert uncertainty.conformal_quantile(scores, 0.5) == 5.0


def test_probabilistic_metrics_of_a_calibrated_forecast():
    y, raw = _lognormal_case(2)
    half = len(y) // 2
    quantiles = Calibration.fit(y[:half], raw[:half]).apply(raw[half:])
    reference = np.repeat(np.quantile(y[:half], LEVELS)[None], len(y) - half, axis=0)
    columns = uncertainty.distribution_columns(quantiles, y[half:], reference, 75.0)
    frame = pd.DataFrame({"date": pd.date_range("2014-01-01", periods=len(y) - half),
                          "y_true": y[half:], **columns})
    metrics = uncertainty.probabilistic_metrics(frame, 75.0)
    assert metrics["crps_skill"] > 0.2 and metrics["brier_skill"] > 0.2
    assert max(abs(h - 0.1) for h in metrics["pit_histogram"]) < 0.03
    assert set(metrics["coverage_by_season"]) == {"DJF", "MAM", "JJA", "SON"}
    assert set(metrics["coverage_by_forecast_level"]) == {"low", "middle", "high"}
    for row in metrics["reliability"]:            # calibrated: frequency follows probability
        if row["n"] > 100:
            assert abs(row["observed_frequency"] - row["mean_probability"]) < 0.1, row


def test_coverage_by_forecast_level_shows_a_calibrated_forecast_as_calibrated():
    """Forecasts whose distribution is the truth's own: grouped by their median, each
    third's 80 % interval covers 80 %. Grouped by the observed value, as the report did,
    the lowest and highest thirds read 75 % (the forecaster's dilemma)."""
    rng = np.random.default_rng(5)
    n = 30_000
    log_median = rng.normal(4.0, 0.6, n)
    y = np.exp(log_median + rng.normal(0.0, 0.4, n))
    quantiles = np.exp(log_median[:, None] + 0.4 * scipy.stats.norm.ppf(LEVELS)[None])
    columns = uncertainty.distribution_columns(quantiles, y, quantiles, 75.0)
    frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n), "y_true": y,
                          **columns})
    by_forecast = uncertainty.probabilistic_metrics(frame, 75.0)["coverage_by_forecast_level"]
    for third in ("low", "middle", "high"):
        assert abs(by_forecast[third]["80"]["coverage"] - 0.8) < 0.015, by_forecast
    by_observed = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    assert uncertainty.coverage(frame[by_observed == 2])["80"]["coverage"] < 0.77
    # tied medians (half the forecasts clipped at 0) fall in one third together
    frame["q50"] = np.where(np.arange(n) < n // 2, 0.0, frame["q50"])
    thirds = uncertainty.probabilistic_metrics(frame, 75.0)["coverage_by_forecast_level"]
    assert thirds["low"] == uncertainty.coverage(frame[frame["q50"] == 0])
    assert set(thirds) == {"low", "middle", "high"}


def test_the_brier_skill_is_undefined_where_the_threshold_is_never_exceeded():
    """Both the forecast's and climatology's probabilities sit at the floor: a skill of
    exactly 0 would be a construction, not a finding."""
    rng = np.random.default_rng(4)
    y = rng.uniform(0.0, 20.0, 300)
    quantiles = np.repeat(np.linspace(0.0, 30.0, len(LEVELS))[None], len(y), axis=0)
    columns = uncertainty.distribution_columns(quantiles, y, quantiles, 75.0)
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=len(y)),
                          "y_true": y, **columns})
    metrics = uncertainty.probabilistic_metrics(frame, 75.0)
    assert metrics["exceedance_frequency"] == 0 and np.isnan(metrics["brier_skill"])
    assert np.isfinite(metrics["brier"])
    assert np.isfinite(uncertainty.probabilistic_metrics(frame, 10.0)["brier_skill"])

    from forecast.report.verdict import brier_clause
    assert "never exceeded" in brier_clause(metrics) and "skill of" not in brier_clause(metrics)
    skilled = {**metrics, "brier_skill": 0.53}
    assert brier_clause(skilled).endswith("Brier skill of +53 %")


@pytest.fixture(scope="module")
def synthetic_task():
    hourly = generate_hourly(seed=3, start="2010-01-01", end="2012-12-31")
    return build_task(hourly, daily.to_daily(hourly), dataset="synthetic")


def test_calibration_never_reads_the_test_targets(synthetic_task):
    """Perturbing every test-period target leaves every quantile and probability of every
    row unchanged: the calibration is fitted on the validation rows only."""
    config = load_config(overrides={"models": {"names": ["persistence", "climatology",
                                                         "ridge"]}})
    before = fit_models(synthetic_task, config).predictions
    test = synthetic_task.mask("test")
    y = synthetic_task.y.copy()
    y[test] = y[test] * 3.0 + 50.0
    after = fit_models(replace(synthetic_task, y=y), config).predictions
    unchanged = [*QUANTILE_COLUMNS, "p_exceed", "p_exceed_climatology", "y_pred"]
    pd.testing.assert_frame_equal(before[unchanged], after[unchanged])
    # ... while the scores of the test rows do see the new targets
    moved = before["split"] == "test"
    assert not np.allclose(before.loc[moved, "crps"], after.loc[moved, "crps"])
    # and perturbing the validation targets does move the intervals
    val = synthetic_task.mask("val")
    y = synthetic_task.y.copy()
    y[val] = y[val] * 3.0 + 50.0
    shifted = fit_models(replace(synthetic_task, y=y), config).predictions
    assert not np.allclose(before["q90"], shifted["q90"])


def test_calibrating_needs_the_validation_days_its_90_percent_interval_needs(synthetic_task):
    """Below 19 validation days the conformal 95 % level is beyond the largest score and
    the 90 % interval covers less than 90 %: one clear error, not a quiet shortfall."""
    from forecast.errors import DataError
    from forecast.pipeline import forecast_rows

    val = np.flatnonzero(synthetic_task.mask("val"))
    for n in (18, 19):
        rows = np.zeros(len(synthetic_task.y), dtype=bool)
        rows[val[:n]] = True
        reference = uncertainty.reference_columns(np.full((n, len(LEVELS)), 50.0),
                                                  synthetic_task.y[rows], 75.0)
        def fit(rows=rows, n=n, reference=reference):
            return forecast_rows(synthetic_task, rows, "constant", None, np.full(n, 50.0),
                                 reference, 75.0)
        if n < uncertainty.MIN_CALIBRATION_DAYS:
            with pytest.raises(DataError, match="needs at least 19"):
                fit()
        else:
            frame, saved = fit()
            assert len(frame) == n and saved["n_fitted"] == n


def test_distributions_scored_block_by_block_equal_the_whole(monkeypatch):
    """Blocks of rows bound the (rows × 99) temporaries; every column is the one the
    whole arrays at once give, bit for bit (NaN targets included)."""
    rng = np.random.default_rng(3)
    n = 50
    point = rng.gamma(2.0, 40.0, n)
    y = point * rng.lognormal(0.0, 0.4, n)
    y[::9] = np.nan
    raw = uncertainty.raw_quantiles(None, None, None, point=point)
    calibration = Calibration.fit(y[:30][np.isfinite(y[:30])], raw[:30][np.isfinite(y[:30])])
    reference = np.sort(rng.gamma(2.0, 40.0, (n, len(LEVELS))), axis=1)

    def columns(raw, y, reference):
        return uncertainty.distribution_columns(calibration.apply(raw), y, reference, 75.0)

    whole = columns(raw, y, reference)
    monkeypatch.setattr(uncertainty, "BLOCK_ROWS", 7)
    blocks = uncertainty.in_blocks(columns, raw, y, reference)
    assert whole.keys() == blocks.keys()
    for name, values in whole.items():
        np.testing.assert_array_equal(values, blocks[name], err_msg=name)


def test_the_validation_rows_are_calibrated_without_reading_their_own_block():
    """Each block of validation dates gets the calibration chosen and fitted on the other
    blocks (nested): its own targets, changed, move neither its quantiles nor its setting
    (the rule's validation CRPS is then out of sample), each part's shifts are fitted on
    the other blocks' rows, and the blocks cover every row once."""
    y, raw = _errors_shrinking_with_the_level(7, 900)
    dates = np.repeat(pd.date_range("2020-01-01", periods=450).to_numpy(), 2)   # 2 stations
    calibration = Calibration.fit(y, raw, dates=dates)
    parts = Calibration.fit_out_of_block(y, raw, dates)
    assert len(parts) == uncertainty.CALIBRATION_BLOCKS
    assert (sum(held.astype(int) for held, _ in parts) == 1).all()
    for held, fitted in parts:
        season = uncertainty._in_season(dates[~held]) if fitted.by_season else None
        alone = _fit(y[~held], raw[~held], fitted.offset, fitted.groups, season)
        np.testing.assert_array_equal(fitted.shifts, alone.shifts)
        assert fitted.n_fitted == int((~held).sum())
        # the block's own targets, made to call for another setting, change nothing
        changed = np.where(held, y * rng_factor(held) + 50.0, y)
        again = dict((tuple(np.flatnonzero(h)), f) for h, f in
                     Calibration.fit_out_of_block(changed, raw, dates))[
            tuple(np.flatnonzero(held))]
        np.testing.assert_array_equal(again.apply(raw[held], dates[held]),
                                      fitted.apply(raw[held], dates[held]))
        assert not np.array_equal(fitted.apply(raw[held], dates[held]),
                                  calibration.apply(raw[held], dates[held]))
    # without dates, or with fewer dates than blocks: none (the rows are then in sample)
    assert Calibration.fit_out_of_block(y, raw, None) is None
    assert Calibration.fit_out_of_block(y[:8], raw[:8], dates[:8]) is None


def rng_factor(held: np.ndarray) -> np.ndarray:
    """A factor per row that differs from row to row (so a changed block's errors call
    for other shifts and groups than its own did)."""
    return np.random.default_rng(int(held.sum())).lognormal(0.0, 1.0, len(held))


def test_the_choice_of_a_blocks_calibration_reads_only_the_other_blocks(monkeypatch):
    """Every score that chooses a block's setting is of rows outside that block."""
    y, raw = _errors_shrinking_with_the_level(3, 600)
    dates = pd.date_range("2020-01-01", periods=600).to_numpy()
    blocks = uncertainty._date_blocks(dates)
    seen = []
    original = uncertainty._cross_fitted_crps

    def spy(data, excluded, *args):
        seen.append((excluded, data.outside(excluded).copy(), args[-1]))
        return original(data, excluded, *args)

    monkeypatch.setattr(uncertainty, "_cross_fitted_crps", spy)
    Calibration.fit_out_of_block(y, raw, dates)
    nested = [s for s in seen if s[0]]          # the blocks' own choices
    per_block = len(nested) // len(blocks)
    assert per_block == len(uncertainty.OFFSETS) * len(uncertainty.GROUPS) * 2
    for k, held in enumerate(blocks):
        for excluded, rows, inner in nested[k * per_block:(k + 1) * per_block]:
            assert excluded == {k}
            np.testing.assert_array_equal(rows, ~held)
            assert sorted(inner) == [j for j in range(len(blocks)) if j != k]


def test_the_heating_season_gets_its_own_shifts_where_its_errors_are_larger():
    """Winter's errors twice the rest of the year's: one set of shifts under-covers the
    heating season; the choice by cross-fitted CRPS splits it, each part covers about its
    nominal share, and the split needs the target days to be applied."""
    rng = np.random.default_rng(8)
    dates = pd.date_range("2016-01-01", periods=4 * 365).to_numpy()
    heating = in_season(pd.DatetimeIndex(dates), DEFAULT_HEATING_SEASON)   # 15 Nov - 15 Mar
    point = rng.gamma(2.0, 40.0, len(dates)) + 5.0
    y = point * rng.lognormal(0.0, np.where(heating, 0.6, 0.25))
    raw = np.repeat(point[:, None], len(LEVELS), axis=1)
    half = 2 * 365
    split = Calibration.fit(y[:half], raw[:half], dates=dates[:half])
    one_set = Calibration.fit(y[:half], raw[:half], dates=dates[:half], seasons=(False,))
    assert split.by_season and not one_set.by_season
    later = slice(half, None)
    inside = _inside_80(split, y[later], raw[later], dates[later])
    for rows in (heating[later], ~heating[later]):
        assert abs(inside[rows].mean() - 0.8) < 0.08
    assert _inside_80(one_set, y[later], raw[later])[heating[later]].mean() < 0.72
    assert (uncertainty.crps(split.apply(raw[later], dates[later]), y[later]).mean()
            < uncertainty.crps(one_set.apply(raw[later]), y[later]).mean())
    with pytest.raises(ValueError, match="target days"):
        split.apply(raw[later])
    again = Calibration.from_dict(split.to_dict())
    assert again.by_season
    np.testing.assert_array_equal(again.apply(raw[later], dates[later]),
                                  split.apply(raw[later], dates[later]))
    old = {k: v for k, v in one_set.to_dict().items() if k != "heating_season"}
    assert not Calibration.from_dict(old).by_season      # a run from before the season
    assert again.season_days == DEFAULT_HEATING_SEASON


def test_the_calibration_splits_by_the_configured_heating_season_or_not_at_all():
    """A region whose worse season is early June to late August (``[task] heating_season
    = ["06-05", "08-20"]``): the split follows those days, is stored with them and applied
    by them; with no season configured no calibration splits; a calibration stored before
    the days were an option splits by the months November to March."""
    rng = np.random.default_rng(12)
    dates = pd.date_range("2016-01-01", periods=4 * 365).to_numpy()
    winter = ("06-05", "08-20")
    heating = in_season(pd.DatetimeIndex(dates), winter)
    point = rng.gamma(2.0, 40.0, len(dates)) + 5.0
    y = point * rng.lognormal(0.0, np.where(heating, 0.6, 0.25))
    raw = np.repeat(point[:, None], len(LEVELS), axis=1)
    half = 2 * 365
    split = Calibration.fit(y[:half], raw[:half], dates=dates[:half], heating_season=winter)
    assert split.by_season and split.season_days == winter
    saved = split.to_dict()
    assert saved["heating_season_days"] == list(winter)
    again = Calibration.from_dict(saved)
    later = slice(half, None)
    np.testing.assert_array_equal(again.apply(raw[later], dates[later]),
                                  split.apply(raw[later], dates[later]))
    inside = _inside_80(split, y[later], raw[later], dates[later])
    for rows in (heating[later], ~heating[later]):
        assert abs(inside[rows].mean() - 0.8) < 0.08
    # no season configured: no split
    none = Calibration.fit(y[:half], raw[:half], dates=dates[:half], heating_season=[])
    assert not none.by_season and none.to_dict()["heating_season_days"] is None
    parts = Calibration.fit_out_of_block(y[:half], raw[:half], dates[:half], heating_season=None)
    assert not any(part.by_season for _, part in parts)
    # stored before the option: the months November to March
    legacy = {k: v for k, v in saved.items() if k != "heating_season_days"}
    old = Calibration.from_dict(legacy)
    assert old.by_season and old.season_days is None
    november = np.array(["2019-11-03"], dtype="datetime64[ns]")   # in Nov-Mar, not in Jun-Aug
    assert not uncertainty._in_season(np.array(["2019-06-04", "2019-08-21"],
                                               dtype="datetime64[ns]"), winter).any()
    assert not np.array_equal(old.apply(raw[:1], november), split.apply(raw[:1], november))


def test_forecast_rows_calibrates_each_validation_block_out_of_block():
    """The run's per-row columns: each block of validation rows from the calibration of
    the other blocks (``Calibration.fit_out_of_block``, whose own targets stay out: tested
    above), the other rows from the one fitted on all validation rows; several stations,
    rows interleaved."""
    from forecast.pipeline import forecast_rows

    hourly = generate_hourly(seed=3, n_stations=3, start="2010-01-01", end="2012-12-31")
    task = build_task(hourly, daily.to_daily(hourly), dataset="synthetic")
    rows = np.isin(task.split, ("train", "val", "test")) & np.isfinite(task.y)
    y = task.y[rows]
    values = np.maximum(y * np.random.default_rng(0).lognormal(0.0, 0.4, len(y)), 0.0)
    reference = uncertainty.reference_columns(np.full((len(y), len(LEVELS)), 50.0), y, 75.0)
    frame, saved = forecast_rows(task, rows, "m", None, values, reference, 75.0)
    assert saved["validation_out_of_block"] and saved["validation_choice_out_of_block"]
    calibration = Calibration.from_dict(saved)
    validation = task.split[rows] == "val"
    days = task.rows.loc[rows, "target_day"].to_numpy()
    raw = uncertainty.raw_quantiles(None, None, None, point=values)
    expected = np.full((len(y), len(LEVELS)), np.nan)
    expected[~validation] = calibration.apply(raw[~validation], days[~validation])
    where = np.flatnonzero(validation)
    parts = Calibration.fit_out_of_block(y[validation], raw[validation], days[validation])
    assert len(parts) == uncertainty.CALIBRATION_BLOCKS
    for held_out, fitted in parts:
        expected[where[held_out]] = fitted.apply(raw[where[held_out]], days[where[held_out]])
    for column, level in zip(QUANTILE_COLUMNS, uncertainty.REPORTED_LEVELS, strict=True):
        np.testing.assert_array_equal(frame[column].to_numpy(),
                                      np.round(expected[:, uncertainty.level_index(level)], 3))
    np.testing.assert_array_equal(frame["crps"].to_numpy(),
                                  np.round(uncertainty.crps(expected, y), 4))
    # in sample, the validation rows would have had other distributions
    assert not np.array_equal(
        frame["q90"].to_numpy()[validation],
        np.round(calibration.apply(raw[validation], days[validation])[
            :, uncertainty.level_index(0.9)], 3))


def test_many_validation_rows_choose_on_a_fixed_subset_and_fit_on_all(monkeypatch):
    """Beyond CHOICE_ROWS rows the choice is scored on a fixed random subset (the same on
    every run), the shifts still fitted on every row: the clear choice stays, and it is
    reproducible."""
    y, raw = _errors_shrinking_with_the_level(9, 3000)
    dates = np.repeat(pd.date_range("2020-01-01", periods=1000).to_numpy(), 3)
    full = Calibration.fit(y, raw, dates=dates)
    monkeypatch.setattr(uncertainty, "CHOICE_ROWS", 600)
    subset = Calibration.fit(y, raw, dates=dates)
    assert (subset.groups, subset.n_fitted) == (full.groups, 3000) and subset.groups == 3
    np.testing.assert_array_equal(subset.shifts, Calibration.fit(y, raw, dates=dates).shifts)
    calls = []
    original = uncertainty._cross_fitted_crps
    monkeypatch.setattr(uncertainty, "_cross_fitted_crps",
                        lambda data, *a: calls.append(data.scored) or original(data, *a))
    Calibration.fit(y, raw, dates=dates)
    assert calls and all(int(mask.sum()) == 600 for mask in calls)


def test_the_choice_scores_a_point_forecast_as_crps_of_its_calibrated_quantiles_would():
    """The choice's shortcut for a point forecast (prefix sums over the levels) gives the
    CRPS that scoringrules gives on the quantiles themselves: zero, negative and low
    forecasts, a floor above some targets, groups and the heating season."""
    rng = np.random.default_rng(11)
    checked = 0
    for trial in range(60):
        n = int(rng.integers(120, 500))
        point = rng.gamma(2.0, 40.0, n) * (rng.random(n) > 0.05)
        point[rng.random(n) < 0.02] = -3.0
        y = np.maximum(point * rng.lognormal(0, 0.5, n) + rng.normal(0, 5, n), rng.uniform(0, 5))
        dates = pd.date_range("2020-01-01", periods=n).to_numpy()
        half = n // 2
        season = uncertainty._in_season(dates)
        fitted = _fit(y[:half], point[:half, None], float(rng.choice(uncertainty.OFFSETS)),
                                  int(rng.choice(uncertainty.GROUPS)),
                                  season[:half] if trial % 2 else None)
        if fitted is None:
            continue
        if trial % 3 == 0:
            fitted.floor = float(np.quantile(y, 0.2))
        shortcut = uncertainty._point_crps_sum(fitted, point[half:], y[half:], season[half:])
        quantiles = fitted.apply(point[half:, None].repeat(len(LEVELS), axis=1), dates[half:])
        assert shortcut == pytest.approx(float(uncertainty.crps(quantiles, y[half:]).sum()),
                                         rel=1e-12)
        checked += 1
    assert checked > 30


def test_a_quantile_head_on_many_rows_is_calibrated_out_of_block_without_nesting(monkeypatch):
    """Beyond NESTED_QUANTILE_ROWS a quantile head's blocks get the calibration's own
    setting fitted on the other blocks (not nested, and said so); a point forecast, and a
    quantile head on fewer rows, nest."""
    rng = np.random.default_rng(13)
    n = 600
    point = rng.gamma(2.0, 40.0, n) + 5.0
    y = point * rng.lognormal(0.0, 0.4, n)
    spread = np.exp(0.35 * scipy.stats.norm.ppf(LEVELS))
    head = point[:, None] * spread[None, :]
    dates = pd.date_range("2020-01-01", periods=n).to_numpy()
    *_, nested = Calibration.fit_with_out_of_block(y, head, dates)
    assert nested
    monkeypatch.setattr(uncertainty, "NESTED_QUANTILE_ROWS", 100)
    calibration, parts, nested = Calibration.fit_with_out_of_block(y, head, dates)
    assert not nested and len(parts) == uncertainty.CALIBRATION_BLOCKS
    for held, fitted in parts:
        assert (fitted.offset, fitted.groups) == (calibration.offset, calibration.groups)
        assert fitted.n_fitted == int((~held).sum())
    assert Calibration.fit_with_out_of_block(y, point[:, None], dates)[2]   # a point forecast nests


def test_settings_that_give_the_same_quantiles_tie_to_the_first():
    """A constant forecast: every offset gives the same quantiles and the same CRPS; the
    choice takes the first offset, as the ties rule says (the prefix sums differ only in
    the last bits)."""
    rng = np.random.default_rng(14)
    y = rng.gamma(2.0, 20.0, 400)
    dates = pd.date_range("2020-01-01", periods=400).to_numpy()
    assert Calibration.fit(y, np.full((400, 1), 30.0), dates=dates, groups=(1,),
                           seasons=(False,)).offset == uncertainty.OFFSETS[0]
