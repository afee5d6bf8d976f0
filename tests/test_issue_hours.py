"""Training the networks on forecasts issued at other hours of the day (issue 13,
``task.train_issue_hours``): the rows issued at hour h of day D use nothing after that
hour, keep the end-of-day row's target, train the networks only and are never scored;
with the option off nothing changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import HAND_SPLITS, SMALL_SPLITS, perturb_after

import models
from forecast import task as T
from forecast.config import DEFAULTS, load_config
from forecast.daily import to_daily
from forecast.errors import DataError
from forecast.schema import validate_hourly
from forecast.synthetic import generate_hourly, station_coordinates
from models.datamodule import ForecastDataModule

HOURS = (0, 9, 22)
D0 = pd.Timestamp("2010-03-10")
BASE_COLUMNS = ["station", "station_index", "issue_day", "target_day", "y", "split"]


def build(hourly: pd.DataFrame, **kwargs) -> T.ForecastTask:
    hourly = validate_hourly(hourly, "test")
    kwargs.setdefault("dataset", "csv")
    return T.build_task(hourly, to_daily(hourly), **kwargs)


def issue_time(task: T.ForecastTask) -> pd.DatetimeIndex:
    hour = task.rows["issue_hour"] if "issue_hour" in task.rows else T.END_OF_DAY
    return pd.DatetimeIndex(task.rows["issue_day"] + pd.to_timedelta(hour, unit="h"))


def value(task: T.ForecastTask, name: str, day: str, hour: int, station=None) -> float:
    rows = task.rows
    at = (rows["issue_day"] == pd.Timestamp(day)) & (rows["issue_hour"] == hour)
    if station is not None:
        at &= rows["station"] == station
    (index,) = np.flatnonzero(at.to_numpy())
    return float(task.X[index, task.feature_names.index(name)])


@pytest.fixture(scope="module")
def one_station() -> pd.DataFrame:
    return generate_hourly(seed=5, start="2010-01-01", end="2010-04-30")


@pytest.fixture(scope="module")
def three_stations() -> pd.DataFrame:
    return generate_hourly(seed=11, n_stations=3, start="2010-01-01", end="2010-04-30")


@pytest.fixture(scope="module")
def small_task(one_station) -> T.ForecastTask:
    return build(one_station, **SMALL_SPLITS)


# ---------------------------------------------------------------- leakage


def _perturb_after(hourly: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """Every value of every column of every station at hours strictly after ``t``, new
    gaps among them and old gaps filled."""
    return perturb_after(hourly, t, seed=7, scale=1.8, spread=20.0, gaps=150)


@pytest.mark.parametrize("n_stations", [1, 3])
@pytest.mark.parametrize("hour", HOURS)
def test_a_row_issued_at_hour_h_uses_nothing_after_it(one_station, three_stations,
                                                      n_stations, hour):
    hourly = one_station if n_stations == 1 else three_stations
    kwargs = dict(hourly_hours=48, **SMALL_SPLITS)
    if n_stations > 1:
        kwargs["coordinates"] = station_coordinates(3)
    t = D0 + pd.Timedelta(hours=hour)
    base = build(hourly, **kwargs).with_issue_hours(HOURS)
    moved = build(_perturb_after(hourly, t), **kwargs).with_issue_hours(HOURS)
    assert base.feature_names == moved.feature_names
    if n_stations > 1:
        assert {"region_pm25_mean", T.UPWIND_FEATURE} <= set(base.feature_names)
    when = issue_time(base)
    known = np.asarray(when <= t)
    row = ((base.rows["issue_day"] == D0) & (base.rows["issue_hour"] == hour)).to_numpy()
    assert row.sum() == n_stations and (known & row).sum() == n_stations
    # every row issued up to t (at any hour, the end-of-day rows included): every input
    for name, a, b in (("X", base.X, moved.X), ("sequence", base.sequence, moved.sequence),
                       ("hourly", base.hourly, moved.hourly)):
        assert np.array_equal(a[known], b[known], equal_nan=True), name
    # its target is the end-of-day row's (a later day's mean: it may move)
    plain = build(hourly, **kwargs)
    assert np.array_equal(base.y[row], plain.y[(plain.rows["issue_day"] == D0).to_numpy()])
    assert np.isfinite(base.y[row]).all()
    # sanity: the perturbation reaches the rows issued after t, e.g. the same hour a day
    # later and the end of day D0
    later = ((base.rows["issue_day"] == D0 + pd.Timedelta(days=1))
             & (base.rows["issue_hour"] == hour)).to_numpy()
    end_of_d0 = ((base.rows["issue_day"] == D0) & (base.rows["issue_hour"] == 23)).to_numpy()
    for rows in (later, end_of_d0):
        assert not np.array_equal(base.X[rows], moved.X[rows], equal_nan=True)
        assert not np.array_equal(base.hourly[rows], moved.hourly[rows], equal_nan=True)


def test_the_last_hour_before_the_issue_time_does_reach_the_row(one_station):
    hour = 9
    base = build(one_station, **SMALL_SPLITS).with_issue_hours([hour])
    changed = one_station.copy()
    pm = changed["pm25"].to_numpy(copy=True)
    pm[(changed["time"] == D0 + pd.Timedelta(hours=hour)).to_numpy()] = 999.0
    changed["pm25"] = pm
    moved = build(changed, **SMALL_SPLITS).with_issue_hours([hour])
    assert value(moved, "pm25_last_hour", D0, hour) == pytest.approx(999.0)
    assert value(base, "pm25_last_hour", D0, hour) != pytest.approx(999.0)


# ---------------------------------------------------------------- what the rows hold


def test_hand_computed_row_issued_at_five(make_hourly):
    """PM2.5 = 10 * day + hour. Issued at 05:00 of day 20: the last 24 hours are 06:00
    of day 19 to 05:00 of day 20, the target is still day 21's mean."""
    task = build(make_hourly("2010-01-01", 40), **HAND_SPLITS).with_issue_hours([5])
    day20 = pd.Timestamp("2010-01-21")
    assert value(task, "pm25_lag1", day20, 5) == pytest.approx(204.0)   # (18·190 + 261 + 1215) / 24
    assert value(task, "pm25_lag1", day20, 23) == pytest.approx(211.5)
    assert value(task, "pm25_h23", day20, 5) == pytest.approx(205.0)
    assert value(task, "pm25_last_hour", day20, 5) == pytest.approx(205.0)
    assert value(task, "pm25_h18", day20, 5) == pytest.approx(200.0)    # 00:00 of day 20
    assert value(task, T.ISSUE_HOUR_FEATURE, day20, 5) == 18.0
    assert value(task, T.ISSUE_HOUR_FEATURE, day20, 23) == 0.0
    at = ((task.rows["issue_day"] == day20) & (task.rows["issue_hour"] == 5)).to_numpy()
    assert task.rows.loc[at, "target_day"].iloc[0] == pd.Timestamp("2010-01-22")
    assert task.y[at][0] == pytest.approx(221.5)                       # day 21's mean
    # the first issue day (day 13): its pseudo-day starts at 06:00 of day 12, all there
    first = task.rows["issue_day"].min()
    assert (task.rows.groupby("issue_hour")["issue_day"].min() == first).all()


def test_every_row_keeps_the_end_of_day_target(small_task):
    task = small_task.with_issue_hours(HOURS)
    base_y = pd.Series(small_task.y, index=pd.MultiIndex.from_frame(
        small_task.rows[["station", "issue_day"]]))
    keys = pd.MultiIndex.from_frame(task.rows[["station", "issue_day"]])
    assert np.array_equal(task.y, base_y.reindex(keys).to_numpy(), equal_nan=True)
    assert (task.rows["target_day"] - task.rows["issue_day"] == pd.Timedelta(days=1)).all()
    assert task.rows.groupby("issue_hour").size().to_dict() == {
        h: len(small_task.rows) for h in (*HOURS, 23)}


def test_forecast_mode_takes_the_target_days_weather_from_the_end_of_day_row(make_hourly):
    hourly = make_hourly("2010-01-01", 40, temp=lambda d, h: 1.0 * d, pres=1000.0)
    task = build(hourly, mode="forecast", **HAND_SPLITS).with_issue_hours([5])
    day20 = pd.Timestamp("2010-01-21")
    assert value(task, "temp_mean", day20, 5) == pytest.approx(19.25)   # 18 h of 19, 6 of 20
    assert value(task, "forecast_temp_mean", day20, 5) == pytest.approx(21.0)
    assert value(task, "forecast_temp_mean", day20, 23) == pytest.approx(21.0)
    # the change is from the last 24 hours the row knows
    assert value(task, "forecast_temp_change", day20, 5) == pytest.approx(1.75)
    assert value(task, "forecast_temp_change", day20, 23) == pytest.approx(1.0)
    assert value(task, "forecast_pres_change", day20, 5) == pytest.approx(0.0)


def test_neighbours_are_read_on_the_same_clock(three_stations):
    """With several stations the whole record is shifted together: a row issued at 09:00
    sees the other stations' last 24 hours up to 09:00 too."""
    task = build(three_stations, coordinates=station_coordinates(3),
                 **SMALL_SPLITS).with_issue_hours([9])
    rows = task.rows[task.rows["issue_hour"] == 9]
    own = task.X[rows.index, task.feature_names.index("pm25_lag1")]
    valid = task.X[rows.index, task.feature_names.index("pm25_lag1_missing")] == 0
    region = task.X[rows.index, task.feature_names.index("region_pm25_mean")]
    frame = pd.DataFrame({"day": rows["issue_day"].to_numpy(), "station": rows["station"].to_numpy(),
                          "own": np.where(valid, own, np.nan), "region": region})
    wide = frame.pivot(index="day", columns="station", values="own").dropna()
    assert len(wide) > 50
    for station in wide.columns:
        others = wide.drop(columns=station).mean(axis=1)
        got = frame[frame["station"] == station].set_index("day")["region"].loc[wide.index]
        np.testing.assert_allclose(got.to_numpy(), others.to_numpy(), rtol=1e-5)


def test_features_dropped_from_the_task_stay_dropped(small_task):
    pruned = T.without_features(small_task, ["pres_mean", "sequence:pres_mean"])
    task = pruned.with_issue_hours([3])
    assert task.feature_names == [*pruned.feature_names, T.ISSUE_HOUR_FEATURE]
    assert task.sequence_names == pruned.sequence_names
    assert task.X.shape == (2 * len(pruned.rows), len(pruned.feature_names) + 1)


# ---------------------------------------------------------------- splits: train only


def test_the_extra_rows_train_and_are_never_scored(small_task):
    task = small_task.with_issue_hours(HOURS)
    n = len(small_task.rows)
    pd.testing.assert_frame_equal(task.rows.iloc[:n][BASE_COLUMNS], small_task.rows)
    assert np.array_equal(task.X[:n, :-1], small_task.X, equal_nan=True)
    # what the pipeline scores, and every split mask, is what it was
    scored = np.isin(task.split, T.SPLITS) & np.isfinite(task.y)
    base_scored = np.isin(small_task.split, T.SPLITS) & np.isfinite(small_task.y)
    assert np.array_equal(scored, np.r_[base_scored, np.zeros(len(task.y) - n, bool)])
    for split in T.SPLITS:
        for flag in (True, False):
            assert np.array_equal(task.mask(split, flag)[:n], small_task.mask(split, flag))
            assert not task.mask(split, flag)[n:].any()
    assert task.splits == small_task.splits
    # an extra row trains exactly when the end-of-day row of its day does
    extra = task.rows.iloc[n:]
    assert set(extra["split"]) == {T.EXTRA_TRAIN, "none"}
    train_day = np.tile(small_task.split == "train", len(HOURS))
    assert np.array_equal(extra["split"].to_numpy() == T.EXTRA_TRAIN, train_day)
    assert task.training_rows().sum() == (len(HOURS) + 1) * small_task.mask("train").sum()
    assert np.array_equal(small_task.training_rows(), small_task.mask("train"))


@pytest.mark.parametrize("train_start", [None, "2010-02-10"])
def test_the_extra_rows_follow_the_folds(small_task, train_start):
    ends = ("2010-02-15", "2010-03-20", "2010-04-10")
    before = small_task.with_issue_hours(HOURS).with_splits(*ends, train_start=train_start)
    after = small_task.with_splits(*ends, train_start=train_start).with_issue_hours(HOURS)
    assert np.array_equal(before.split, after.split)
    extra = before.rows[before.rows["issue_hour"] != 23]
    target = pd.DatetimeIndex(extra["target_day"])
    inside = target <= pd.Timestamp(ends[0])
    if train_start:
        inside &= target >= pd.Timestamp(train_start)
    assert np.array_equal(extra["split"].to_numpy() == T.EXTRA_TRAIN, inside)
    assert set(extra["split"]) == {T.EXTRA_TRAIN, "none"}
    assert before.splits == small_task.with_splits(*ends, train_start=train_start).splits


# ---------------------------------------------------------------- off: nothing changes


def test_with_the_option_off_the_task_is_todays(small_task):
    assert DEFAULTS["task"]["train_issue_hours"] == []
    assert list(small_task.rows.columns) == BASE_COLUMNS
    assert T.ISSUE_HOUR_FEATURE not in small_task.feature_names
    assert small_task.with_issue_hours([]) is small_task
    X, sequence = small_task.X.copy(), np.array(small_task.sequence)
    small_task.with_issue_hours(HOURS)              # building the others changes nothing
    assert np.array_equal(X, small_task.X, equal_nan=True)
    assert np.array_equal(sequence, small_task.sequence, equal_nan=True)
    network = models.NetworkForecaster.from_config("mlp", load_config())
    assert network.train_issue_hours == () and network.training_task(small_task) is small_task
    assert network.input_task(small_task) is small_task
    data = ForecastDataModule(small_task)
    assert len(data.train_batches().dataset) == small_task.mask("train").sum()


def test_a_task_not_built_here_cannot_be_rebuilt(small_task):
    from dataclasses import replace

    with pytest.raises(ValueError, match="cannot be rebuilt"):
        replace(small_task, issue_hour_source=None).with_issue_hours([5])
    with pytest.raises(ValueError, match="0..22"):
        small_task.with_issue_hours([23])
    with pytest.raises(ValueError, match="already"):
        small_task.with_issue_hours([5]).with_issue_hours([6])


# ---------------------------------------------------------------- the networks


def _network(kind: str, hours=(5, 17)) -> models.NetworkForecaster:
    config = {"task": {"train_issue_hours": list(hours)},
              "training": {**DEFAULTS["training"], "max_epochs": 2, "hidden": 8,
                           "batch_size": 32, "accelerator": "cpu"}}
    return models.NetworkForecaster.from_config(kind, config)


@pytest.fixture(scope="module")
def hourly_task(one_station) -> T.ForecastTask:
    return build(one_station, hourly_hours=24, **SMALL_SPLITS)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("kind", ["mlp", "gru_hourly"])
def test_a_network_trains_on_the_extra_rows_and_forecasts_the_end_of_day(
        hourly_task, kind, tmp_path):
    network = _network(kind).fit(hourly_task)
    combined = hourly_task.with_issue_hours([5, 17])
    info = network.info
    assert info["train_issue_hours"] == [5, 17]
    assert info["n_train_rows"] == hourly_task.mask("train").sum()
    assert info["n_extra_train_rows"] == combined.mask(T.EXTRA_TRAIN).sum() > 0
    # scalers from the end-of-day and the extra training rows, validation on the former
    train = combined.X[combined.training_rows(scored=False)]
    expected = np.nan_to_num(np.nanmean(train, axis=0))
    np.testing.assert_allclose(network.scalers_.x_mean, expected, rtol=1e-4, atol=1e-4)
    end_of_day = np.nanmean(hourly_task.X[hourly_task.mask("train", scored=False)], axis=0)
    assert not np.allclose(network.scalers_.x_mean[:-1], end_of_day, rtol=1e-3)
    assert network.scalers_.y_std == pytest.approx(
        np.nanstd(combined.y[combined.training_rows()]), rel=1e-4)
    assert len(network.scalers_.x_mean) == len(hourly_task.feature_names) + 1
    data = ForecastDataModule(combined, scalers=network.scalers_, hourly=kind.endswith("hourly"))
    assert len(data.train_batches().dataset) == combined.training_rows().sum()
    assert len(data.val_dataloader().dataset) == hourly_task.mask("val").sum()
    # it forecasts the task as built (every row issued at the end of its day)
    rows = np.ones(len(hourly_task.y), dtype=bool)
    forecast = network.predict(hourly_task, rows)
    assert forecast.shape == (len(hourly_task.y),) and np.isfinite(forecast).all()
    assert np.array_equal(forecast, network.predict(hourly_task.with_issue_hour_feature(), rows))
    network.save(tmp_path / "net.pt")
    loaded = models.NetworkForecaster.load(tmp_path / "net.pt")
    assert tuple(loaded.train_issue_hours) == (5, 17)
    assert np.array_equal(loaded.predict(hourly_task, rows), forecast)
    # the extra rows change what it learns
    plain = _network(kind, hours=()).fit(hourly_task)
    assert not np.array_equal(plain.predict(hourly_task, rows), forecast)


@pytest.mark.slow
def test_a_run_with_other_issue_hours(tmp_path, capsys):
    """The whole pipeline with the option on, then off: the baselines' forecasts are the
    same, only end-of-day rows are written and scored, and the report says what was on."""
    import json

    from forecast import cli
    from forecast.pipeline import run
    from forecast.results import RunResult

    def overrides(name: str, hours: list[int]) -> dict:
        return {"data": {"dataset": "synthetic", "synthetic_start": "2010-01-01",
                         "synthetic_end": "2012-12-31"},
                "task": {"train_issue_hours": hours},
                "models": {"names": ["persistence", "ridge", "mlp"]},
                "split": {"folds": 1},
                "training": {"seeds": 1, "max_epochs": 2, "hidden": 8, "progress_bar": False},
                "diagnostics": {"capacity_sweep": False, "max_epochs": 2,
                                "learning_fractions": [0.5, 1.0]},
                "evaluation": {"n_boot": 20},
                "run": {"out": str(tmp_path), "name": name}}

    on = run(load_config(overrides=overrides("on", [6, 18])))
    off = run(load_config(overrides=overrides("off", [])))
    with_hours, without = (pd.read_csv(d / "predictions.csv") for d in (on, off))
    assert set(with_hours["split"]) == {"train", "val", "test"}
    assert len(with_hours) == len(without)
    for model in ("persistence", "ridge"):
        pd.testing.assert_frame_equal(with_hours[with_hours["model"] == model],
                                      without[without["model"] == model])
    assert not np.array_equal(with_hours.loc[with_hours["model"] == "mlp", "y_pred"],
                              without.loc[without["model"] == "mlp", "y_pred"])
    result = RunResult.read(on)
    info = result.entries["mlp"].info
    assert info["train_issue_hours"] == [6, 18]
    assert info["n_extra_train_rows"] == 2 * info["n_train_rows"] > 0
    assert result.config["task"]["train_issue_hours"] == [6, 18]
    assert "learning_curve" in result.diagnostics
    report = (on / "report.md").read_text()
    assert "Other issue hours" in report and f"{info['n_extra_train_rows']:,} rows" in report
    assert "Other issue hours" not in (off / "report.md").read_text()
    assert "n_extra_train_rows" not in RunResult.read(off).entries["mlp"].info
    # the saved network forecasts tomorrow from the end of the latest day
    capsys.readouterr()
    assert cli.main(["predict", str(on), "--json"]) == 0
    table = pd.DataFrame(json.loads(capsys.readouterr().out)["forecasts"])
    assert np.isfinite(table.loc[table["model"] == "mlp", "pm25_forecast"]).all()


# ---------------------------------------------------------------- config and flag


@pytest.mark.parametrize("flag", ["24", "--train-issue-hours=-1", "x", "5,x", "23", "5,5"])
def test_a_bad_hour_is_one_line_and_exit_2(cli_error, flag):
    args = [flag] if flag.startswith("--") else ["--train-issue-hours", flag]
    line = cli_error("run", "--dataset", "synthetic", *args)
    assert "train-issue-hours" in line or "train_issue_hours" in line


@pytest.mark.parametrize("text", ["[24]", "[-1]", '["5"]', "[true]", "[2.5]", "5"])
def test_a_bad_hour_in_the_config_file(tmp_path, cli_error, text):
    path = tmp_path / "c.toml"
    path.write_text(f"[task]\ntrain_issue_hours = {text}\n")
    assert "task.train_issue_hours" in cli_error("run", "--config", path)


def test_the_flag_gives_whole_hours():
    from forecast.cli import _config, build_parser

    args = build_parser().parse_args(["run", "--train-issue-hours", "5,11,17"])
    assert _config(args)["task"]["train_issue_hours"] == [5, 11, 17]
    assert load_config(overrides={"task": {"train_issue_hours": list(range(23))}})
    with pytest.raises(DataError, match="0..22"):
        load_config(overrides={"task": {"train_issue_hours": [23]}})


@pytest.mark.usefixtures("one_torch_thread")
def test_the_final_fit_also_trains_on_the_other_hours_of_the_validation_days(hourly_task):
    network = _network("mlp").fit(hourly_task)
    final = network.refitted(hourly_task.for_final_fit())
    end_of_day = hourly_task.mask("train") | hourly_task.mask("val")
    extra = hourly_task.for_final_fit().with_issue_hours([5, 17]).mask(T.EXTRA_TRAIN)
    assert final.info["refit_on_rows"] == int(end_of_day.sum() + extra.sum())
    assert extra.sum() > network.info["n_extra_train_rows"]   # the validation days' too
    test = hourly_task.mask("test")
    assert np.isfinite(final.predict(hourly_task, test)).all()
