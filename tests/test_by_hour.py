"""hgb_by_hour and gru_by_hour: the target day forecast hour by hour from its hourly
weather (forecast mode), and the task arrays they read."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import HAND_SPLITS, SMALL_SPLITS, set_family
from test_task import D0, T_END, _perturb_after, _same, build, day

from baselines.linear import SklearnBaseline
from forecast.config import load_config, target_hours
from forecast.errors import DataError
from forecast.registry import DEFAULT_MODELS, default_models, spec
from forecast.schema import COMPASS_16
from forecast.task import TARGET_HOUR_CHANNELS, TARGET_HOUR_FEATURES, target_hour_features


def hour_feature(task, name: str) -> np.ndarray:
    """One of :data:`TARGET_HOUR_FEATURES`, (n_rows, 24)."""
    values = target_hour_features(task.target_hours, task.target_hour_names)
    return values[:, :, TARGET_HOUR_FEATURES.index(name)]


def row_of(task, issue_day: pd.Timestamp) -> int:
    return int(np.flatnonzero((task.rows["issue_day"] == issue_day).to_numpy())[0])


# ---------------------------------------------------------------- the task's arrays


def test_target_hours_are_the_issue_hour_then_the_target_days_hours(make_hourly):
    hourly = make_hourly("2010-01-01", 40, pm25=lambda d, h: 10.0 * d + h,
                         temp=lambda d, h: 100.0 * d + h, pres=1000.0)
    task = build(hourly, mode="forecast", target_hours=True, **HAND_SPLITS)
    assert task.target_hours.shape == (len(task.rows), 25, len(TARGET_HOUR_CHANNELS))
    assert task.target_hour_names == list(TARGET_HOUR_CHANNELS)
    temp = task.target_hour_names.index("temp")
    row = row_of(task, day(20))
    assert task.target_hours[row, 0, temp] == 100.0 * 20 + 23          # 23 h of day D
    np.testing.assert_array_equal(task.target_hours[row, 1:, temp], 100.0 * 21 + np.arange(24))
    np.testing.assert_array_equal(task.y_hours[row], 10.0 * 21 + np.arange(24))
    assert task.y[row] == pytest.approx(task.y_hours[row].mean())
    # the last issue day has no target day in the data: its hours are missing
    last = len(task.rows) - 1
    assert np.isnan(task.y_hours[last]).all() and np.isnan(task.target_hours[last, 1:]).all()
    # built only when asked for, and in forecast mode only
    assert build(hourly, mode="forecast", **HAND_SPLITS).target_hours is None
    with pytest.raises(DataError, match="forecast mode only"):
        build(hourly, mode="observed", target_hours=True, **HAND_SPLITS)


def test_hour_features_by_hand(make_hourly):
    # odd target days: a 4 m/s northerly from 15 h (2 m/s southerly before); even ones a
    # 2 m/s southerly all day. Dew point and pressure rise by the hour within each day.
    odd = lambda d: d % 2 == 1  # noqa: E731
    hourly = make_hourly(
        "2010-01-01", 40, temp=10.0, dewp=lambda d, h: -10.0 + h + d,
        pres=lambda d, h: 1000.0 + h,
        wind_speed=lambda d, h: np.where(odd(d) & (h >= 15), 4.0, 2.0),
        wind_dir=lambda d, h: np.where(odd(d) & (h >= 15), "N", "S"))
    task = build(hourly, mode="forecast", target_hours=True, **HAND_SPLITS)
    odd_row, even_row = row_of(task, day(20)), row_of(task, day(21))   # targets 21, 22
    hours = np.arange(24)
    np.testing.assert_array_equal(hour_feature(task, "hour")[odd_row], hours)
    since = hour_feature(task, "hours_since_north_wind_arrived")
    np.testing.assert_array_equal(since[odd_row], hours - 15.0)
    assert np.isnan(since[even_row]).all()
    so_far = hour_feature(task, "north_wind_hours_so_far")[odd_row]
    np.testing.assert_array_equal(so_far, np.maximum(hours - 14, 0))
    run = hour_feature(task, "wind_run")[odd_row]
    np.testing.assert_allclose(run, np.where(hours < 15, 2.0 * (hours + 1), 30.0 + 4.0 * (hours - 14)))
    # v points where the air moves to: +2 under the southerly, -4 under the northerly
    run_v = hour_feature(task, "wind_run_v")[odd_row]
    np.testing.assert_allclose(run_v, np.where(hours < 15, 2.0 * (hours + 1), 30.0 - 4.0 * (hours - 14)),
                               atol=1e-4)
    # dew point at hour h of day 21 (-10 + h + 21) minus 23 h of day 20 (-10 + 23 + 20)
    np.testing.assert_allclose(hour_feature(task, "dewp_since_issue")[odd_row], hours - 22.0)
    np.testing.assert_allclose(hour_feature(task, "pres_since_issue")[odd_row], hours - 23.0)


def test_strong_northerly_hours_follow_the_sector_rule_of_the_daily_features(make_hourly):
    # a 16-point compass, 4 m/s: hour h of every day blows from COMPASS_16[h % 16] (calm
    # at 16 h, missing at 17 h). NORTH_SECTORS (NW, N, NE) holds WNW, NW, NNW, N, NNE and
    # NE; ENE belongs to E although it is 67.5° from north, like WNW.
    names = np.array(COMPASS_16 + ("calm", None), dtype=object)
    hourly = make_hourly("2010-01-01", 40, wind_speed=4.0,
                         wind_dir=lambda d, h: names[np.minimum(h, 17)])
    task = build(hourly, mode="forecast", target_hours=True, **HAND_SPLITS)
    row = row_of(task, day(20))
    north = task.target_hours[row, 1:, task.target_hour_names.index("strong_north_wind")]
    expected = np.isin(names[np.minimum(np.arange(24), 17)],
                       ["WNW", "NW", "NNW", "N", "NNE", "NE"]).astype(float)
    expected[17:] = np.nan       # 17 h: missing direction; later hours repeat it
    np.testing.assert_array_equal(north[:17], expected[:17])
    assert np.isnan(north[17:]).all()
    so_far = hour_feature(task, "north_wind_hours_so_far")[row]
    np.testing.assert_array_equal(so_far, np.cumsum(np.nan_to_num(expected)))
    # the same hours as the daily feature of the target day
    assert so_far[-1] == task.X[row, task.feature_names.index("forecast_north_wind_hours")]
    np.testing.assert_array_equal(hour_feature(task, "hours_since_north_wind_arrived")[row],
                                  np.arange(24.0))


def test_no_information_after_the_target_day_or_of_its_pm25_reaches_the_inputs(small_hourly):
    """Forecast mode may read the target day's weather, hour by hour: nothing else after
    the issue time (no PM2.5 of the target day, nothing after it) may reach hgb_by_hour's
    inputs. ``y_hours`` is a target and does move."""
    kwargs = dict(mode="forecast", target_hours=True, **SMALL_SPLITS)
    base = build(small_hourly, **kwargs)
    issue = pd.DatetimeIndex(base.rows["issue_day"])
    upto = issue <= D0
    # everything after the end of the target day of D0
    later = build(_perturb_after(small_hourly, T_END + pd.Timedelta(days=1)), **kwargs)
    assert _same(base.target_hours[upto], later.target_hours[upto])
    # the target day's PM2.5 (and everything after the issue time but its weather)
    pm25_only = small_hourly.copy()
    late = (pm25_only["time"] > T_END).to_numpy()
    pm25_only.loc[late, "pm25"] = pm25_only.loc[late, "pm25"] * 3.0 + 40.0
    moved = build(pm25_only, **kwargs)
    assert _same(base.target_hours[upto], moved.target_hours[upto])
    model = SklearnBaseline(family="hgb_by_hour")
    rows = np.flatnonzero(upto)
    assert _same(model._inputs(base, rows), model._inputs(moved, rows))
    at_d0 = issue == D0
    assert not _same(base.y_hours[at_d0], moved.y_hours[at_d0])      # the target moved
    # rows issued before D0 do not see D0 + 1's weather at all; D0's row does
    weather = build(_perturb_after(small_hourly, T_END), **kwargs)
    assert _same(base.target_hours[issue < D0], weather.target_hours[issue < D0])
    assert not _same(base.target_hours[at_d0], weather.target_hours[at_d0])


# ---------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def forecast_task(_synthetic_120):
    return build(_synthetic_120, mode="forecast", target_hours=True, **SMALL_SPLITS)


def test_hgb_by_hour_learns_from_the_hours_and_forecasts_their_mean(forecast_task):
    task = forecast_task
    model = SklearnBaseline.from_config("hgb_by_hour", load_config(
        overrides={"task": {"mode": "forecast"}}), seed=0)
    assert model.transforms == ("none",)
    model.fit(task)
    assert model.info["draws"] == 3 and model.info["chosen"]["target_transform"] == "none"
    for split in ("val", "test"):
        rows = task.mask(split)
        forecast = model.predict(task, rows)
        assert forecast.shape == (rows.sum(),) and np.isfinite(forecast).all()
        assert (forecast >= 0).all()
    val = task.mask("val")
    # the daily forecast is the mean of the draws' 24 hourly forecasts
    hours = model._inputs(task, val)
    by_hour = np.mean([draw.predict(hours) for draw in model.draws_], axis=0)
    np.testing.assert_allclose(model.predict(task, val), by_hour.reshape(-1, 24).mean(axis=1))
    # it is trained on the hourly PM2.5, not on the daily means
    shuffled = task.y_hours.copy()
    train = task.mask("train")
    shuffled[train] = shuffled[train][:, ::-1]
    from dataclasses import replace
    other = SklearnBaseline(family="hgb_by_hour", transforms=("none",), draws=1).fit(
        replace(task, y_hours=shuffled))
    same = SklearnBaseline(family="hgb_by_hour", transforms=("none",), draws=1).fit(task)
    assert not np.allclose(other.predict(task, val), same.predict(task, val))
    refit = model.refitted(task.for_final_fit())
    assert np.isfinite(refit.predict(task, task.mask("test"))).all()


def test_hgb_by_hour_compares_its_settings_on_a_sample_of_many_validation_days(
        forecast_task, monkeypatch):
    """At scale its settings are compared on at most CHOICE_DAYS validation days: each
    setting's forecasts of every validation day, 24 hours each, were most of its fit."""
    import baselines.linear as linear

    task = forecast_task
    n_val = int(task.mask("val").sum())
    assert linear.FAMILIES["hgb_by_hour"].choice_rows == linear.CHOICE_DAYS > 4_400
    forecast = []
    real = linear.SklearnBaseline._forecast

    def counting(self, estimators, transform, task, rows):
        forecast.append(len(linear.row_indices(rows)))
        return real(self, estimators, transform, task, rows)

    monkeypatch.setattr(linear.SklearnBaseline, "_forecast", counting)
    set_family(monkeypatch, "hgb_by_hour", choice_rows=n_val // 3)
    sampled = SklearnBaseline(family="hgb_by_hour", transforms=("none",), draws=1).fit(task)
    assert sampled.info["chosen_on_val_rows"] == n_val // 3
    assert forecast == [n_val // 3] * len(linear.HGB_BY_HOUR_GRID)   # one per setting
    # as many validation days as it has, or more: every one, as without the cap
    fits = {}
    for cap in (n_val, 0):
        set_family(monkeypatch, "hgb_by_hour", choice_rows=cap)
        fits[cap] = SklearnBaseline(family="hgb_by_hour", transforms=("none",), draws=1).fit(task)
        assert fits[cap].info["chosen_on_val_rows"] == n_val
    rows = task.mask("test")
    assert np.array_equal(fits[n_val].predict(task, rows), fits[0].predict(task, rows))
    assert fits[0].info["val_rmse_at_choice"] == fits[n_val].info["val_rmse_at_choice"]


def test_hgb_by_hour_without_the_hourly_arrays_says_so(_synthetic_120):
    task = build(_synthetic_120, mode="forecast", **SMALL_SPLITS)
    with pytest.raises(ValueError, match="target day's hourly weather"):
        SklearnBaseline(family="hgb_by_hour", transforms=("none",)).fit(task)


# ---------------------------------------------------------------- configuration


def test_forecast_mode_runs_hgb_by_hour_by_default_and_observed_mode_cannot():
    assert "hgb_by_hour" not in DEFAULT_MODELS
    assert "hgb_by_hour" in default_models("forecast")
    forecast = load_config(overrides={"task": {"mode": "forecast"}})
    assert forecast["models"]["names"] == list(default_models("forecast"))
    assert target_hours(forecast)
    observed = load_config()
    assert observed["models"]["names"] == list(DEFAULT_MODELS) and not target_hours(observed)
    chosen = load_config(overrides={"task": {"mode": "forecast"},
                                    "models": {"names": ["ridge", "hgb"]}})
    assert chosen["models"]["names"] == ["ridge", "hgb"] and not target_hours(chosen)
    with pytest.raises(DataError, match="forecast mode only"):
        load_config(overrides={"models": {"names": ["ridge", "hgb_by_hour"]}})


def test_a_config_file_naming_the_models_keeps_them(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[task]\nmode = "forecast"\n[models]\nnames = ["ridge"]\n')
    assert load_config(path)["models"]["names"] == ["ridge"]


def test_asking_for_it_in_observed_mode_is_one_clear_line(cli_error):
    line = cli_error("run", "--dataset", "synthetic", "--models", "ridge,hgb_by_hour")
    assert "hgb_by_hour" in line and "forecast mode only" in line


def test_a_forecast_mode_run_fits_scores_and_reports_it(tmp_path):
    """The whole pipeline in forecast mode with hgb_by_hour among the models: scored on
    every split of every fold, calibrated, in the predictions and in the report."""
    from forecast.cli import main
    from forecast.pipeline import run
    from forecast.results import RunResult

    overrides = {
        "data": {"dataset": "synthetic", "synthetic_start": "2010-01-01",
                 "synthetic_end": "2012-12-31"},
        "models": {"names": ["persistence", "ridge", "hgb_by_hour", "mlp", "gru_hourly",
                             "gru_by_hour"]},
        "task": {"mode": "forecast", "hourly_hours": 24},
        "training": {"seeds": 1, "max_epochs": 3, "patience": 2, "hidden": 8, "layers": 1,
                     "progress_bar": False, "jobs": 1},
        "diagnostics": {"sweep_hidden": [4, 8], "sweep_layers": [1], "max_epochs": 2,
                        "learning_fractions": [0.5, 1.0]},
        "evaluation": {"n_boot": 30},
        "run": {"out": str(tmp_path), "name": "fc"}}
    run_dir = run(load_config(overrides=overrides))
    result = RunResult.read(run_dir)
    entry = result.entries["hgb_by_hour"]
    assert entry.kind == "baseline" and entry.family == "hgb_by_hour"
    for split in ("val", "test"):
        assert np.isfinite(result.pooled["models"]["hgb_by_hour"][split]["rmse"])
        assert np.isfinite(result.pooled["models"]["hgb_by_hour"][split]["crps"])
    predictions = pd.read_csv(run_dir / "predictions.csv")
    mine = predictions[predictions["model"] == "hgb_by_hour"]
    assert len(mine) == len(predictions[predictions["model"] == "ridge"]) > 0
    assert np.isfinite(mine["y_pred"]).all()
    network = result.entries["gru_by_hour"]
    assert network.is_network and network.family == "gru_by_hour"
    assert np.isfinite(result.pooled["models"]["gru_by_hour"]["val"]["crps"])
    assert (run_dir / "models" / "gru_by_hour.pt").is_file()
    # the report says how it trains, unlike the other networks
    assert ("the networks trained with the MSE loss on log(1 + PM2.5); gru_by_hour with the "
            "Poisson deviance on the target day's hourly PM2.5") in \
        (run_dir / "report.md").read_text()
    inputs = next(line for line in (run_dir / "report.md").read_text().splitlines()
                  if line.startswith("- **Inputs**"))
    best = min(("ridge", "hgb_by_hour"),
               key=lambda n: result.pooled["models"][n]["val"]["rmse"])
    best_network = min(("mlp", "gru_hourly", "gru_by_hour"),
                       key=lambda n: result.pooled["models"][n]["val"]["rmse"])
    assert ("hour by hour" in inputs) == (best == "hgb_by_hour"
                                          or best_network == "gru_by_hour")

    def inputs_line(edit) -> str:
        """The report's Inputs line after ``edit`` of the pooled validation scores."""
        metrics = json.loads((run_dir / "metrics.json").read_text())
        edit(metrics["pooled"]["models"])
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
        assert main(["report", str(run_dir)]) == 0
        return next(line for line in (run_dir / "report.md").read_text().splitlines()
                    if line.startswith("- **Inputs**"))

    def best_of_its_kind(name: str, other: str):
        def edit(pooled):
            pooled[name]["val"]["rmse"] = 0.5 * pooled[other]["val"]["rmse"]
        return edit

    # hgb_by_hour the best baseline (here made so): gru_hourly reads the hourly record,
    # which in forecast mode runs through the target day, and gru_by_hour the target
    # day's hours, so they have that input too
    inputs = inputs_line(best_of_its_kind("hgb_by_hour", "ridge"))
    assert "best baseline (hgb_by_hour" in inputs
    assert "hour by hour, as gru_hourly, gru_by_hour do" in inputs
    assert "no network has" not in inputs and "on the same tabular features" not in inputs
    # gru_by_hour the best network (made so): the line says what it reads
    inputs = inputs_line(best_of_its_kind("gru_by_hour", "mlp"))
    assert "best network (gru_by_hour, which reads the target day's weather hour by hour" \
        in inputs
    # ... and the best baseline's clause does not name it again
    assert "which also reads the target day's weather hour by hour); the" in inputs
    # without a network reading the target day's weather it has an input no network has
    inputs = inputs_line(lambda pooled: [pooled.pop(n) for n in ("gru_hourly", "gru_by_hour")])
    assert "hour by hour, an input no network has" in inputs
    assert "on the same tabular features" not in inputs


def test_rows_issued_at_other_hours_keep_their_target_days_hours(forecast_task):
    """Rows added for training at other issue hours (networks only) carry the end-of-day
    row's target day, so its weather and hours too: the arrays stay aligned with rows."""
    more = forecast_task.with_issue_hours([17])
    n = len(forecast_task.rows)
    assert more.target_hours.shape[0] == more.y_hours.shape[0] == len(more.rows) > n
    keys = forecast_task.rows.set_index(["issue_day"]).index
    extra = more.rows.iloc[n:]
    position = keys.get_indexer(extra["issue_day"])
    assert (position >= 0).all()
    assert _same(more.target_hours[n:], forecast_task.target_hours[position])
    assert _same(more.y_hours[n:], forecast_task.y_hours[position])


# ---------------------------------------------------------------- gru_by_hour


def by_hour_network(seed: int = 0, **training):
    import models

    options = {"max_epochs": 3, "hidden": 8, "batch_size": 16, "progress_bar": False,
               "accelerator": "cpu", "seeds": 1, **training}
    return models.NetworkForecaster.from_config(
        "gru_by_hour", load_config(overrides={"task": {"mode": "forecast"},
                                              "training": options}), seed=seed)


@pytest.fixture(scope="module")
def gru_by_hour(forecast_task):
    return by_hour_network().fit(forecast_task)


@pytest.mark.usefixtures("one_torch_thread")
def test_gru_by_hour_trains_on_the_hours_and_forecasts_their_mean(forecast_task, gru_by_hour):
    import torch

    from models.by_hour import poisson_deviance

    task, model = forecast_task, gru_by_hour
    assert model.info["status"] == "ok" and model.scalers_.target_transform == "none"
    assert model.network_config_.n_target_hour_channels >= len(TARGET_HOUR_FEATURES)
    for split in ("train", "val", "test"):
        forecast = model.predict(task, task.mask(split))
        assert forecast.shape == (task.mask(split).sum(),) and (forecast >= 0).all()
    # the daily forecast is y_std × the mean of the 24 hourly rates
    val = task.mask("val")
    inputs = model.scalers_.inputs(task, val)
    with torch.no_grad():
        rates = torch.exp(model.model_.log_rates(*inputs)).numpy()
    assert rates.shape == (val.sum(), 24)
    np.testing.assert_allclose(model.predict(task, val),
                               model.scalers_.y_std * rates.mean(axis=1), rtol=1e-5)
    # its losses are the Poisson deviance of the hours: the first epoch's validation
    # loss, recomputed, is near the curve's (the weights moved since; same order)
    assert np.isfinite(model.history["val_loss"]).all()
    y_hours = model.scalers_.hourly_target(task, val)
    with torch.no_grad():
        deviance = float(poisson_deviance(model.model_.log_rates(*inputs), y_hours))
    assert deviance == pytest.approx(model.info["best_val_loss"], rel=1e-4)
    # trained on the hourly PM2.5: the hours reversed within each training day (the same
    # daily means) give another network
    from dataclasses import replace
    shuffled = task.y_hours.copy()
    train = task.mask("train")
    shuffled[train] = shuffled[train][:, ::-1]
    other = by_hour_network().fit(replace(task, y_hours=shuffled))
    assert not np.allclose(other.predict(task, val), model.predict(task, val))


@pytest.mark.usefixtures("one_torch_thread")
def test_gru_by_hour_reads_nothing_after_the_target_day_nor_its_pm25(small_hourly, gru_by_hour):
    """Its inputs are those of hgb_by_hour (the target day's weather, hour by hour): the
    target day's PM2.5 and everything after the target day move neither its inputs nor
    its forecasts; the target day's weather does."""
    kwargs = dict(mode="forecast", target_hours=True, **SMALL_SPLITS)
    base = build(small_hourly, **kwargs)
    issue = pd.DatetimeIndex(base.rows["issue_day"])
    upto = issue <= D0
    moved_frame = _perturb_after(small_hourly, T_END + pd.Timedelta(days=1))
    late = (moved_frame["time"] > T_END).to_numpy()
    moved_frame.loc[late, "pm25"] = moved_frame.loc[late, "pm25"] * 3.0 + 40.0
    moved = build(moved_frame, **kwargs)
    assert not _same(base.y_hours[issue == D0], moved.y_hours[issue == D0])
    model = gru_by_hour
    for before, after in zip(model.scalers_.inputs(base, upto), model.scalers_.inputs(moved, upto),
                             strict=True):
        before = before.table if hasattr(before, "table") else before
        after = after.table if hasattr(after, "table") else after
        assert _same(before.numpy(), after.numpy())
    np.testing.assert_array_equal(model.predict(base, upto), model.predict(moved, upto))
    weather = build(_perturb_after(small_hourly, T_END), **kwargs)
    at_d0 = (issue == D0)
    assert not np.array_equal(model.predict(base, at_d0), model.predict(weather, at_d0))


@pytest.mark.usefixtures("one_torch_thread")
def test_gru_by_hour_is_reproducible_saves_and_loads(forecast_task, gru_by_hour, tmp_path,
                                                      _synthetic_120):
    import torch

    import models

    task, rows = forecast_task, np.ones(len(forecast_task.y), dtype=bool)
    again = by_hour_network().fit(task)
    np.testing.assert_array_equal(again.predict(task, rows), gru_by_hour.predict(task, rows))
    gru_by_hour.save(tmp_path / "gru_by_hour.pt")
    saved = torch.load(tmp_path / "gru_by_hour.pt", weights_only=True)
    assert "target_hours_mean" in saved["scalers"]
    assert saved["inputs"]["target-hour channels"] == list(TARGET_HOUR_FEATURES)
    loaded = models.load_model(tmp_path / "gru_by_hour.pt")
    np.testing.assert_array_equal(loaded.predict(task, rows), gru_by_hour.predict(task, rows))
    # a task without the target day's hours: one clear error, not a shape error
    bare = build(_synthetic_120, mode="forecast", **SMALL_SPLITS)
    with pytest.raises(DataError, match="target-hour channels"):
        loaded.check_task(bare)
    with pytest.raises(ValueError, match="target day's hours"):
        loaded.predict(bare, np.ones(len(bare.y), dtype=bool))


def test_gru_by_hour_keeps_its_point_forecast_under_the_pinball_loss():
    model = by_hour_network(loss="pinball")
    assert not model.predicts_quantiles
    assert spec("gru_by_hour").target_hours
    assert "gru_by_hour" in default_models("forecast") and "gru_by_hour" not in DEFAULT_MODELS


@pytest.mark.usefixtures("one_torch_thread")
def test_a_network_forecasts_its_rows_a_block_at_a_time(forecast_task, gru_by_hour, monkeypatch):
    """The inputs of PREDICT_ROWS rows at a time (memory at data scale), the same
    forecasts as all at once."""
    from models import training

    rows = np.ones(len(forecast_task.y), dtype=bool)
    whole = gru_by_hour.predict(forecast_task, rows)
    built = []
    inputs = gru_by_hour.scalers_.inputs
    monkeypatch.setattr(gru_by_hour.scalers_, "inputs",
                        lambda task, index: built.append(len(index)) or inputs(task, index))
    monkeypatch.setattr(training, "PREDICT_ROWS", 2 * 8)
    monkeypatch.setattr(training, "EVAL_BATCH_SIZE", 8)
    np.testing.assert_allclose(gru_by_hour.predict(forecast_task, rows), whole, rtol=1e-6)
    assert max(built) == 16 and sum(built) == rows.sum()


def test_the_sweep_model_may_be_gru_by_hour_in_forecast_mode_only():
    """The capacity sweep's network reads what it reads: the task builds the target day's
    hours for it, and outside forecast mode it is a one-line config error."""
    swept = load_config(overrides={"task": {"mode": "forecast"},
                                   "models": {"names": ["ridge", "mlp"]},
                                   "diagnostics": {"sweep_model": "gru_by_hour"}})
    assert target_hours(swept)
    with pytest.raises(DataError, match="sweep_model = 'gru_by_hour'.*forecast mode only"):
        load_config(overrides={"models": {"names": ["ridge", "mlp"]},
                               "diagnostics": {"sweep_model": "gru_by_hour"}})


@pytest.mark.usefixtures("one_torch_thread")
def test_a_negative_hour_counts_as_zero_and_training_goes_on(forecast_task):
    """[quality] bounds may let a monitor's small negative values through: the Poisson
    deviance is undefined there, so the hourly target counts them as 0."""
    from dataclasses import replace

    y_hours = forecast_task.y_hours.copy()
    train = np.flatnonzero(forecast_task.mask("train"))[:10]
    y_hours[train, 3] = -1.0
    task = replace(forecast_task, y_hours=y_hours)
    model = by_hour_network(max_epochs=2).fit(task)
    assert model.info["status"] == "ok" and np.isfinite(model.history["train_loss"]).all()
    target = model.scalers_.hourly_target(task, train).numpy()
    assert (target[:, 3] == 0).all() and np.isnan(target).sum() == np.isnan(y_hours[train]).sum()


def test_the_target_hours_features_are_built_a_block_of_rows_at_a_time(forecast_task,
                                                                        monkeypatch):
    """Built into float32 a block at a time (the float64 temporaries of every training
    row at once took several times the result): the same values as all at once."""
    from forecast.task import target_hour_features
    from models import scaling

    rows = forecast_task.mask("train")
    whole = target_hour_features(forecast_task.target_hours[rows],
                                 forecast_task.target_hour_names).astype(np.float32)
    monkeypatch.setattr(scaling, "BLOCK_VALUES", 5 * whole[0].size)     # 5 rows a block
    for given in (rows, np.flatnonzero(rows)):
        blocks = scaling._target_hours(forecast_task, given)
        assert blocks.dtype == np.float32
        np.testing.assert_array_equal(blocks, whole)
