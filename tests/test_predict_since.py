"""``forecast predict --since``: the stored models on every day of newer data, scored on
the days after the run's data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecast.config import load_config
from forecast.errors import DataError
from forecast.pipeline import run
from forecast.predict import new_day_scores, predict_latest
from forecast.synthetic import generate_hourly

COLUMNS = ("pm25", "temp", "dewp", "pres", "wind_speed", "wind_dir", "rain")


@pytest.fixture(scope="module")
def later(tmp_path_factory):
    """An observed-mode run on a CSV to 2011-12-31, and the same station to 2012-02-29."""
    folder = tmp_path_factory.mktemp("since")
    hourly = generate_hourly(seed=5, start="2010-01-01", end="2012-02-29 23:00")
    hourly = hourly.assign(time=hourly["time"].dt.strftime("%Y-%m-%d %H:%M"))[["time", *COLUMNS]]
    hourly.to_csv(folder / "full.csv", index=False)
    hourly[hourly["time"] < "2012-01-01"].to_csv(folder / "history.csv", index=False)
    config = {"data": {"dataset": "csv", "path": str(folder / "history.csv"), "station": "S",
                       "time_column": "time", "columns": {c: c for c in COLUMNS}},
              "models": {"names": ["persistence", "ridge", "mlp"], "combination": False},
              "training": {"seeds": 1, "max_epochs": 3, "hidden": 8, "progress_bar": False},
              "split": {"train_end": "2010-12-31", "val_end": "2011-06-30",
                        "test_end": "2011-12-31", "folds": 1},
              "diagnostics": {"capacity_sweep": False, "learning_curve": False},
              "evaluation": {"n_boot": 20}, "run": {"out": str(folder / "out"), "name": "r"}}
    return folder, run(load_config(overrides=config))


def test_newer_data_under_another_file_name_are_the_run_s_unnamed_station(later):
    """A run on a CSV without a station column or name calls its station after the file;
    newer data of that station in a file of another name are still that station."""
    folder, _ = later
    config = {"data": {"dataset": "csv", "path": str(folder / "history.csv"),
                       "time_column": "time", "columns": {c: c for c in COLUMNS}},
              "models": {"names": ["persistence", "ridge"], "combination": False},
              "split": {"train_end": "2010-12-31", "val_end": "2011-06-30",
                        "test_end": "2011-12-31", "folds": 1},
              "diagnostics": {"capacity_sweep": False, "learning_curve": False},
              "evaluation": {"n_boot": 20},
              "run": {"out": str(folder / "out"), "name": "unnamed"}}
    run_dir = run(load_config(overrides=config))
    table = predict_latest(run_dir, path=str(folder / "full.csv"))
    assert set(table["station"]) == {"history"}
    assert set(table["issue_day"]) == {"2012-02-29"}


def test_every_day_since_is_forecast_and_the_new_days_scored(later):
    folder, run_dir = later
    table = predict_latest(run_dir, since="2011-12-01", path=str(folder / "full.csv"))
    ridge = table[table["model"] == "ridge"]
    assert ridge["issue_day"].min() == "2011-12-01" and ridge["issue_day"].max() == "2012-02-29"
    assert set(table["model"]) == {"persistence", "ridge", "mlp"}
    # the run's own test forecasts: the same stored model, the same inputs
    written = pd.read_csv(run_dir / "predictions.csv")
    test = written[(written["model"] == "ridge") & (written["split"] == "test")
                   & (written["date"] >= "2011-12-02")].set_index("date")["y_pred"]
    again = ridge.set_index("target_day")["pm25_forecast"].reindex(test.index)
    np.testing.assert_allclose(again, test.round(1), atol=0.051)
    scores, text = new_day_scores(table)
    new = ridge[(ridge["target_day"] > "2011-12-31") & ridge["observed"].notna()]
    assert len(new) > 50 and "target days 2012-01-01 to 2012-02-29" in text
    row = scores.set_index("model").loc["ridge"]
    assert row["days"] == len(new)
    assert row["rmse"] == pytest.approx(
        np.sqrt(np.mean((new["pm25_forecast"] - new["observed"]) ** 2)), abs=1e-3)
    assert scores.set_index("model").loc["persistence", "skill"] == 0
    assert 0 <= row["cover80"] <= 1
    # against the recommended model: a paired interval and a DM test on the same days
    recommended = table.loc[table["recommended"], "model"].iloc[0]
    against = scores.set_index("model")[f"vs_{recommended}"]
    assert np.isnan(against[recommended])
    persistence = scores.set_index("model").loc["persistence"]
    assert persistence["ci_low"] <= persistence[f"vs_{recommended}"] <= persistence["ci_high"]
    assert 0 <= persistence["dm_p"] <= 1 and "Diebold–Mariano" in text
    assert table.attrs["mode"] == "observed" and "perfect weather forecast" not in text
    # the recommended model's warnings at the run's warning probability, on the new days
    mine = table[(table["model"] == recommended) & (table["target_day"] > "2011-12-31")
                 & table["observed"].notna()]
    at = table.attrs["warning_probability"]
    events = int((mine["observed"] > 75).sum())
    hits = int(((mine["observed"] > 75) & (mine["p_exceed"] >= at)).sum())
    assert (f"{recommended}'s warnings at the run's P(> 75) ≥ {at:.0%}: {hits} of the "
            f"{events} days above 75 warned") in text, text
    # at a cost/loss ratio, their economic value on the new days too
    from forecast.evaluation import contingency
    from forecast.warning import value

    table.attrs["warning_cost_loss"] = 0.2
    worth = value(contingency(mine["observed"].to_numpy() > 75, mine["p_exceed"].to_numpy() >= at),
                  0.2)
    assert (f"≥ {at:.0%} (cost/loss 0.2): {hits} of the" in new_day_scores(table)[1]
            and f"value {worth:.2f} at cost/loss 0.2" in new_day_scores(table)[1])
    table.attrs["warning_chosen_here"] = True
    assert (f"{recommended}'s warnings at P(> 75) ≥ {at:.0%} (chosen for cost/loss 0.2): "
            f"{hits} of the") in new_day_scores(table)[1]
    table.attrs["warning_cost_loss"] = 0.0
    table.attrs["warning_chosen_here"] = False
    # forecast mode's past target days are given their observed weather: said so
    table.attrs["mode"] = "forecast"
    assert "the data's observed weather, a perfect weather forecast" in new_day_scores(table)[1]


def test_nothing_new_is_said_plainly(later):
    folder, run_dir = later
    table = predict_latest(run_dir, since="2011-12-20")
    scores, text = new_day_scores(table)
    assert scores.empty and "No observed target day after the run's data" in text
    assert table["issue_day"].max() == "2011-12-31"


def test_the_command(later, cli, cli_error, tmp_path):
    folder, run_dir = later
    out = tmp_path / "forecasts.csv"
    code, stdout, _ = cli("predict", run_dir, "--since", "2012-01-01", "--path",
                          folder / "full.csv", "--out", out)
    assert code == 0 and "S 2012-03-01: median" in stdout
    assert "after the run's data (its last day 2011-12-31)" in stdout
    assert len(pd.read_csv(out)) == 3 * 60
    code, stdout, _ = cli("predict", run_dir, "--since", "2012-01-01", "--path",
                          folder / "full.csv", "--json")
    assert code == 0 and json.loads(stdout)["new_days"]["scores"][0]["days"] > 50
    for since in ("soon", "01/12/2011", "13/12/2011", "2011-12-1x"):
        assert f"--since must be a day written yyyy-mm-dd, not '{since}'" in cli_error(
            "predict", run_dir, "--since", since)
    assert "no day of the data from then on" in cli_error("predict", run_dir,
                                                           "--since", "2013-01-01")
    assert "cannot write (no folder" in cli_error("predict", run_dir, "--out",
                                                  tmp_path / "no" / "f.csv")
    assert "ran on a csv of one's own (give newer data with --path)" in cli_error(
        "predict", run_dir, "--data-dir", tmp_path)
    metrics = (run_dir / "metrics.json").read_bytes()
    assert "--out must not overwrite it" in cli_error("predict", run_dir, "--out",
                                                      run_dir / "metrics.json")
    assert (run_dir / "metrics.json").read_bytes() == metrics
    # --out naming the input it reads (the newer data, or a --weather file) wrote the
    # forecasts over it: the user's data were lost
    data = (folder / "full.csv").read_bytes()
    for flag in ("--path", "--weather"):
        line = cli_error("predict", run_dir, flag, folder / "full.csv", "--out",
                         folder / ".." / folder.name / "full.csv")
        assert f"is the {flag} file; --out must not overwrite it" in line
    assert (folder / "full.csv").read_bytes() == data


def test_newer_data_need_the_lags_history_not_the_runs_splits(later, tmp_path, capsys):
    """Three months of newer data forecast as the whole record does: the stored models
    read the lags' history, and no training split need be in the file."""
    folder, run_dir = later
    full = pd.read_csv(folder / "full.csv")
    full[full["time"] >= "2011-12-01"].to_csv(tmp_path / "recent.csv", index=False)
    recent = predict_latest(run_dir, since="2012-01-01", path=str(tmp_path / "recent.csv"))
    # a file that starts on the --since day: its first two weeks are history only
    full[full["time"] >= "2012-01-01"].to_csv(tmp_path / "short.csv", index=False)
    short = predict_latest(run_dir, since="2012-01-01", path=str(tmp_path / "short.csv"))
    assert short["issue_day"].min() == "2012-01-14"
    assert ("forecast: warning: --since 2012-01-01: the first forecasts are issued on "
            "2012-01-14: the days before are the history") in capsys.readouterr().err
    # the lags' 14 days, the issue day included, are enough for the latest forecast
    full[full["time"] >= "2012-02-16"].to_csv(tmp_path / "fortnight.csv", index=False)
    latest = predict_latest(run_dir, path=str(tmp_path / "fortnight.csv"))
    assert set(latest["issue_day"]) == {"2012-02-29"}
    np.testing.assert_allclose(
        latest.set_index("model")["pm25_forecast"],
        predict_latest(run_dir, path=str(folder / "full.csv")).set_index("model")[
            "pm25_forecast"], atol=0.051)
    full[full["time"] >= "2012-02-17"].to_csv(tmp_path / "short13.csv", index=False)
    with pytest.raises(DataError, match="13 days of data is too little history: at least 14"):
        predict_latest(run_dir, path=str(tmp_path / "short13.csv"))
    whole = predict_latest(run_dir, since="2012-01-01", path=str(folder / "full.csv"))
    assert len(recent) == len(whole) == 3 * 60
    columns = ["model", "target_day", "pm25_forecast", "q05", "q95", "p_exceed"]
    pd.testing.assert_frame_equal(recent[columns].reset_index(drop=True),
                                  whole[columns].reset_index(drop=True), atol=0.051)


def test_a_run_stored_before_the_calendar_options_predicts_as_before(later, tmp_path):
    """A config.toml without [task] holidays and heating_season (a run stored before
    they existed) rebuilds the task with the calendar it was fitted on, China's
    holidays and 15 Nov - 15 Mar: the same inputs and forecasts as with the keys."""
    import shutil
    import tomllib

    import tomli_w

    from forecast.predict import latest_task
    from forecast.results import RunResult

    folder, run_dir = later
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    config = tomllib.loads((old / "config.toml").read_text())
    assert config["task"].pop("holidays") == "CN"
    assert config["task"].pop("heating_season") == ["11-15", "03-15"]
    (old / "config.toml").write_text(tomli_w.dumps(config))

    tasks = [latest_task(load_config(d / "config.toml"), RunResult.read(d))[0]
             for d in (run_dir, old)]
    np.testing.assert_array_equal(tasks[0].X, tasks[1].X)
    calendar = tasks[1].rows.set_index("target_day")
    for name, day in (("holiday", "2011-10-01"), ("heating_season", "2011-11-15")):
        column = pd.Series(tasks[1].X[:, tasks[1].feature_names.index(name)],
                           index=calendar.index)
        assert column[pd.Timestamp(day)] == 1.0, name
    since = dict(since="2011-12-01", path=str(folder / "full.csv"))
    pd.testing.assert_frame_equal(predict_latest(old, **since),
                                  predict_latest(run_dir, **since))


def test_an_incomplete_issue_day_is_said(later, cli, tmp_path):
    folder, run_dir = later
    full = pd.read_csv(folder / "full.csv")
    noon = full[full["time"] <= "2012-02-29 12:00"]
    noon.to_csv(tmp_path / "noon.csv", index=False)
    hours = noon.loc[noon["time"] >= "2012-02-29", "pm25"].notna().sum()
    assert 10 <= hours <= 13
    code, stdout, err = cli("predict", run_dir, "--path", tmp_path / "noon.csv")
    assert code == 0 and "S 2012-03-01" in stdout
    assert ("forecast: warning: station S, issue day 2012-02-29: the data end at 12:00, "
            f"before the day is over; it has PM2.5 for {hours} of 24 hours, fewer than the "
            "18 a daily mean needs (the latest valid daily mean: 2012-02-28's, 1 day "
            "earlier), so its forecasts read older data than a complete day would give"
            ) in err
    # a complete day says nothing
    code, _, err = cli("predict", run_dir, "--path", folder / "full.csv")
    assert code == 0 and "warning" not in err
    # weather to the end of the day, PM2.5 missing for the last week: said too
    gap = full.assign(pm25=full["pm25"].where(full["time"] < "2012-02-23"))
    gap.to_csv(tmp_path / "gap.csv", index=False)
    code, _, err = cli("predict", run_dir, "--path", tmp_path / "gap.csv")
    assert code == 0 and "the data end at" not in err
    assert ("it has PM2.5 for 0 of 24 hours, fewer than the 18 a daily mean needs (the "
            "latest valid daily mean: 2012-02-22's, 7 days earlier)") in err


def test_newer_data_of_other_stations_are_refused_plainly(tmp_path, cli_error):
    """With [data.coordinates] a file that lacks a station was refused as a config error
    ('[data.coordinates]: C is not a station of ...'), which predict cannot change."""
    hourly = generate_hourly(seed=2, n_stations=3, start="2010-01-01", end="2011-12-31")
    hourly = hourly.assign(time=hourly["time"].dt.strftime("%Y-%m-%d %H:%M"),
                           station=hourly["station"].astype(str))[["time", "station", *COLUMNS]]
    hourly.to_csv(tmp_path / "three.csv", index=False)
    hourly[hourly["station"] != "synthetic-3"].to_csv(tmp_path / "two.csv", index=False)
    config = {"data": {"dataset": "csv", "path": str(tmp_path / "three.csv"),
                       "station_column": "station", "time_column": "time",
                       "columns": {c: c for c in COLUMNS},
                       "coordinates": {"synthetic-1": [39.9, 116.4], "synthetic-2": [40.0, 116.3],
                                       "synthetic-3": [39.8, 116.5]}},
              "models": {"names": ["persistence", "ridge"], "combination": False},
              "split": {"train_end": "2010-12-31", "val_end": "2011-06-30",
                        "test_end": "2011-12-31", "folds": 1},
              "evaluation": {"n_boot": 20}, "run": {"out": str(tmp_path / "out"), "name": "r"}}
    run_dir = run(load_config(overrides=config))
    assert "upwind_pm25_evening" in json.loads((run_dir / "metrics.json").read_text())["features"]
    assert ("from the other stations: region_pm25_mean, region_pm25_max, "
            "region_pm25_evening_mean, upwind_pm25_evening") in (run_dir / "report.md").read_text()
    line = cli_error("predict", run_dir, "--path", tmp_path / "two.csv")
    assert ("the run's models forecast its stations, synthetic-1, synthetic-2, synthetic-3; "
            "the data lack synthetic-3 (give newer data of the same stations)") in line
    # the same stations: the coordinates still give the upwind feature
    table = predict_latest(run_dir, path=str(tmp_path / "three.csv"))
    assert set(table["station"]) == {"synthetic-1", "synthetic-2", "synthetic-3"}


def test_a_damaged_or_missing_model_file_is_one_line_naming_it(later, cli_error, tmp_path):
    """Half a run is not a run: a network file truncated or overwritten, or a model file
    deleted, stops predict with the file's name; nothing is forecast without it."""
    import shutil

    import torch

    _, run_dir = later
    damaged = tmp_path / "r"
    shutil.copytree(run_dir, damaged)
    network = damaged / "models" / "mlp.pt"
    whole = network.read_bytes()
    for write in (lambda: network.write_bytes(whole[:2000]),
                  lambda: network.write_text("hello\n"),
                  lambda: torch.save({"a": 1}, network)):
        write()
        line = cli_error("predict", damaged)
        assert f"{network}: not a fitted network".lower() in line, line
    network.unlink()
    line = cli_error("predict", damaged)
    assert f"the fitted model file {network} is missing".lower() in line
    network.write_bytes(whole)
    (damaged / "models" / "ridge.skops").unlink()
    assert "ridge.skops is missing" in cli_error("predict", damaged)


def test_a_day_cut_short_on_a_standard_time_clock_says_so():
    """Data read on a zone's standard time end at 22:00 on summer days: the warning names
    the clock, as the user's last row says 23:00."""
    from forecast.predict import incomplete_issue_days

    daily = pd.DataFrame({"station": ["S"], "date": [pd.Timestamp("2015-07-01")],
                          "pm25_hours": [23], "valid": [True]})
    last = pd.Series({"S": pd.Timestamp("2015-07-01 22:00")})
    plain = incomplete_issue_days(daily, last, 18)
    named = incomplete_issue_days(daily, last, 18, "Europe/London standard time")
    assert "the data end at 22:00, before the day is over," in plain[0]
    assert ("the data end at 22:00, before the day is over (on Europe/London standard time, "
            "which the data are read on: in summer the wall clock's 23:00 is 22:00") in named[0]


def test_a_run_on_a_relative_path_predicts_from_any_folder(later, tmp_path, monkeypatch,
                                                           cli_error):
    """A run started where ``path = "history.csv"`` is found stores the absolute path
    (the user's config file is left as it is), so predict finds the data from elsewhere;
    data that moved away are named where they were looked for, with --path to give them."""
    import shutil
    import tomllib

    folder, _ = later
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(folder / "history.csv", data / "history.csv")
    config = {"data": {"dataset": "csv", "path": "history.csv", "station": "S",
                       "time_column": "time", "columns": {c: c for c in COLUMNS}},
              "models": {"names": ["persistence", "ridge"], "combination": False},
              "split": {"train_end": "2010-12-31", "val_end": "2011-06-30",
                        "test_end": "2011-12-31", "folds": 1},
              "diagnostics": {"capacity_sweep": False, "learning_curve": False},
              "evaluation": {"n_boot": 20}, "run": {"out": str(tmp_path / "out"), "name": "r"}}
    monkeypatch.chdir(data)
    run_dir = run(load_config(overrides=config))
    stored = tomllib.loads((run_dir / "config.toml").read_text())
    assert stored["data"]["path"] == str(data / "history.csv")
    monkeypatch.chdir(tmp_path)
    assert set(predict_latest(run_dir)["model"]) == {"persistence", "ridge"}
    (data / "history.csv").rename(data / "moved.csv")
    line = cli_error("predict", run_dir)
    assert f"{data / 'history.csv'}: no such file".lower() in line
    assert "--path file" in line


def test_probabilities_in_a_headline_are_never_rounded_to_certainty():
    from forecast.predict import _probability

    assert [_probability(p) for p in (0.0, 0.004, 0.005, 0.42, 0.994, 0.995, 0.999, 1.0)] == [
        "0%", "< 1%", "< 1%", "42%", "99%", "> 99%", "> 99%", "100%"]


def test_the_observed_daily_mean_is_written_without_float_noise(later):
    folder, run_dir = later
    table = predict_latest(run_dir, since="2012-01-01", path=str(folder / "full.csv"))
    observed = table["observed"].dropna().to_numpy()
    np.testing.assert_array_equal(observed, np.round(observed, 3))


def test_newer_data_without_the_weather_the_models_read_are_warned_of(later, tmp_path, capsys):
    folder, run_dir = later
    full = pd.read_csv(folder / "full.csv")
    last_day = full["time"].str.startswith("2012-02-29")
    full.loc[last_day, ["temp", "wind_dir"]] = np.nan
    full.to_csv(tmp_path / "newer.csv", index=False)
    capsys.readouterr()
    predict_latest(run_dir, path=str(tmp_path / "newer.csv"))
    err = capsys.readouterr().err
    assert ("station S, issue day 2012-02-29: the data have no temp, wind_dir that day, which "
            "the run's models read: those inputs are imputed") in err
    predict_latest(run_dir, path=str(folder / "full.csv"))
    assert "the data have no" not in capsys.readouterr().err
