"""``forecast predict --weather``: the target day's weather forecast for a forecast-mode run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecast import sources
from forecast.config import load_config
from forecast.errors import DataError
from forecast.pipeline import load_data, make_task, run
from forecast.predict import latest_task
from forecast.results import RunResult
from forecast.synthetic import generate_hourly
from forecast.task import without_features

COLUMNS = ("pm25", "temp", "dewp", "pres", "wind_speed", "wind_dir", "rain")
LAST_DAY = "2011-12-31"          # the run's data ends here; the weather file is for the next day


def _csv_config(path, out) -> dict:
    return {"data": {"dataset": "csv", "path": str(path), "station": "S", "time_column": "time",
                     "columns": {c: c for c in COLUMNS}},
            "task": {"mode": "forecast", "hourly_hours": 24},
            "models": {"names": ["persistence", "ridge", "hgb_by_hour", "gru_hourly",
                                 "gru_by_hour"],
                       "combination": False},
            "training": {"seeds": 1, "max_epochs": 3, "hidden": 8, "progress_bar": False},
            "split": {"train_end": "2010-12-31", "val_end": "2011-06-30",
                      "test_end": LAST_DAY, "folds": 1},
            "diagnostics": {"capacity_sweep": False, "learning_curve": False},
            "evaluation": {"n_boot": 20}, "run": {"out": str(out), "name": "r"}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A forecast-mode run on data up to LAST_DAY, the next day's weather as a forecast
    file, and the same station's data with the next day in full."""
    folder = tmp_path_factory.mktemp("weather")
    hourly = generate_hourly(seed=8, start="2010-01-01", end="2012-01-01")
    hourly = hourly.assign(time=hourly["time"].dt.strftime("%Y-%m-%d %H:%M"))[["time", *COLUMNS]]
    next_day = hourly["time"] >= "2012-01-01"
    hourly.to_csv(folder / "full.csv", index=False)
    hourly[~next_day].to_csv(folder / "history.csv", index=False)
    hourly[next_day].drop(columns="pm25").to_csv(folder / "weather.csv", index=False)
    run_dir = run(load_config(overrides=_csv_config(folder / "history.csv", folder / "out")))
    return folder, run_dir


def test_the_weather_file_gives_the_features_the_full_data_would(files):
    folder, run_dir = files
    result = RunResult.read(run_dir)
    config = load_config(run_dir / "config.toml")
    task, rows = latest_task(config, result, folder / "weather.csv")
    assert rows.sum() == 1
    assert task.rows.loc[rows, "issue_day"].item() == pd.Timestamp(LAST_DAY)
    # the same station with the next day observed (its PM2.5 too): issue day LAST_DAY's
    # features are the same, because they read only the target day's weather
    config["data"]["path"] = str(folder / "full.csv")
    loaded, daily = load_data(config)
    full = without_features(make_task(loaded, daily, config), result.dropped_features)
    reference = (full.rows["issue_day"] == pd.Timestamp(LAST_DAY)).to_numpy()
    assert full.feature_names == task.feature_names
    np.testing.assert_array_equal(task.X[rows], full.X[reference])
    # ... and so is the target day's weather hour by hour, which hgb_by_hour reads
    np.testing.assert_array_equal(task.target_hours[rows], full.target_hours[reference])
    # ... and the hourly record gru_hourly reads, which runs through the target day's
    # weather (its PM2.5 missing in both)
    np.testing.assert_array_equal(task.hourly[rows], full.hourly[reference])
    assert np.isfinite(task.hourly[rows][0, -24:, task.hourly_names.index("temp")]).all()
    # without the file those inputs are missing: the file is what filled them
    config["data"]["path"] = str(folder / "history.csv")
    bare, bare_rows = latest_task(config, result)
    forecast = [bare.feature_names.index(c) for c in bare.forecast_columns()]
    assert forecast and np.isnan(bare.X[bare_rows][:, forecast]).all()
    assert np.isfinite(task.X[rows][:, forecast]).all()


def test_predict_with_the_weather_file(files, cli):
    folder, run_dir = files
    code, out, err = cli("predict", run_dir, "--weather", folder / "weather.csv", "--json")
    assert code == 0, err
    assert "imputed" not in err
    assert "without the target day's weather" not in json.loads(out)["headline"][0]
    table = pd.DataFrame(json.loads(out)["forecasts"])
    assert (table["target_day"] == "2012-01-01").all() and np.isfinite(table["pm25_forecast"]).all()
    code, out, err = cli("predict", run_dir, "--json")        # without it: a warning says so
    assert code == 0 and "--weather" in err and "can be far off" in err
    # the headline says what it lacks
    assert json.loads(out)["headline"][0].endswith(
        ", without the target day's weather (give --weather FILE)")
    without = pd.DataFrame(json.loads(out)["forecasts"]).set_index("model")["pm25_forecast"]
    assert without["ridge"] != table.set_index("model")["pm25_forecast"]["ridge"]
    # hgb_by_hour forecasts with or without the file (missing hours go down its trees'
    # missing-value branches), and the file's hours change its forecast
    # and so does gru_by_hour (missing hours set to the training mean)
    for name in ("hgb_by_hour", "gru_by_hour"):
        assert np.isfinite(without[name])
        assert without[name] != table.set_index("model")["pm25_forecast"][name]


def test_inputs_the_weather_file_cannot_give_are_named(files, cli, tmp_path):
    folder, run_dir = files
    partial = tmp_path / "no_rain.csv"
    pd.read_csv(folder / "weather.csv").drop(columns="rain").to_csv(partial, index=False)
    code, _, err = cli("predict", run_dir, "--weather", partial)
    assert code == 0 and ("does not give forecast_rain_total, forecast_rain_hours; imputed"
                          in err), err


def test_impossible_weather_values_are_set_missing_as_the_data_s_are(files, cli, tmp_path):
    """A forecast file with a temperature of 10⁹ °C and a −9999 pressure code: those
    values are set missing (and said so), never forecast from as numbers."""
    folder, run_dir = files
    weather = pd.read_csv(folder / "weather.csv")
    broken = tmp_path / "broken.csv"
    weather.assign(temp=1e9, pres=-9999.0).to_csv(broken, index=False)
    missing = tmp_path / "missing.csv"
    weather.drop(columns=["temp", "pres"]).to_csv(missing, index=False)
    forecasts, said = {}, {}
    for name, path in (("broken", broken), ("missing", missing)):
        code, out, said[name] = cli("predict", run_dir, "--weather", path, "--json")
        assert code == 0, said[name]
        forecasts[name] = pd.DataFrame(json.loads(out)["forecasts"]).set_index("model")
    assert ("48 value(s) of the weather forecast are impossible by the [quality] rules and "
            "set missing") in said["broken"]
    assert "the first: temp = 1000000000 at S 2012-01-01 00:00" in said["broken"]
    assert "the weather forecast are impossible" not in said["missing"]
    pd.testing.assert_series_equal(forecasts["broken"]["pm25_forecast"],
                                   forecasts["missing"]["pm25_forecast"])


def test_text_in_a_weather_number_column_is_set_missing_as_the_data_s_is(files, cli, tmp_path):
    """'abc' or '---' where a temperature belongs: missing and said so, as in the data
    (not a traceback); in the data's own format too."""
    from forecast.predict import read_weather

    folder, run_dir = files
    weather = pd.read_csv(folder / "weather.csv", dtype={"temp": object, "pres": object})
    weather.loc[1, "temp"], weather.loc[2, "pres"] = "abc", "---"
    text = tmp_path / "text.csv"
    weather.to_csv(text, index=False)
    code, out, err = cli("predict", run_dir, "--weather", text, "--json")
    assert code == 0, err
    assert ("2 value(s) of the weather forecast are not numbers or impossible by the "
            "[quality] rules and set missing") in err
    assert "the first: temp = 'abc' at S 2012-01-01 01:00 (text where a number belongs)" in err
    history = load_data(load_config(run_dir / "config.toml"))[0].hourly
    last_hour = history.groupby("station", observed=True)["time"].max()
    mapping = {"station": "S", "time_column": "time", "time_format": "%Y-%m-%d %H:%M",
               "columns": {c: c for c in COLUMNS}}
    got = read_weather(text, history, last_hour, mapping=mapping)
    assert np.isnan(got.loc[1, "temp"]) and np.isnan(got.loc[2, "pres"])
    assert "temp = 'abc'" in got.attrs["flagged"]


def test_a_weather_file_without_wind_leaves_the_wind_hour_counts_unknown(files, tmp_path):
    # not a calm, front-free day: the counts of calm and northerly hours are imputed
    folder, run_dir = files
    windless = tmp_path / "no_wind.csv"
    pd.read_csv(folder / "weather.csv").drop(columns=["wind_speed", "wind_dir"]).to_csv(
        windless, index=False)
    result = RunResult.read(run_dir)
    config = load_config(run_dir / "config.toml")
    task, rows = latest_task(config, result, windless)
    for name in ("forecast_calm_hours", "forecast_calm_hours_night",
                 "forecast_north_wind_hours", "forecast_first_north_wind_hour"):
        assert np.isnan(task.X[rows, task.feature_names.index(name)]).all(), name
    assert np.isfinite(task.X[rows, task.feature_names.index("forecast_dewp_morning")]).all()


@pytest.mark.parametrize("edit, message", [
    (lambda f: f.assign(time="2012-01-02 00:00"), "not on the day after"),
    (lambda f: f.assign(time="2011-12-31 23:00"), "not on the day after"),
    (lambda f: f.assign(time="tomorrow noon"), "unparseable time"),
    (lambda f: f.rename(columns={"temp": "temperature"}), "unknown column(s) temperature"),
    (lambda f: f.drop(columns="time"), "no 'time' column"),
    (lambda f: f[["time"]], "no weather column"),
    (lambda f: f.assign(station="Elsewhere"), "unknown station 'elsewhere'"),
    (lambda f: f.assign(wind_dir=22.5),
     "unknown wind direction '22.5' (expected one of n, nne"),
    (lambda f: f.iloc[::-1], "time goes back at data row 2"),
    (lambda f: f.assign(time=f["time"].str.replace(" ", "T") + "+05:00"),
     "times with a utc offset ('2012-01-01t00:00+05:00')"),
])
def test_a_bad_weather_file_is_one_clear_line(files, cli_error, tmp_path, edit, message):
    folder, run_dir = files
    bad = tmp_path / "bad.csv"
    edit(pd.read_csv(folder / "weather.csv")).to_csv(bad, index=False)
    assert message in cli_error("predict", run_dir, "--weather", bad)


def test_weather_is_refused_for_an_observed_mode_run(files, cli_error, tmp_path):
    folder, _ = files
    overrides = _csv_config(folder / "history.csv", tmp_path)
    overrides["task"]["mode"] = "observed"
    overrides["models"]["names"] = ["persistence", "ridge"]   # hgb_by_hour: forecast mode only
    run_dir = run(load_config(overrides=overrides))
    assert "forecast-mode run" in cli_error("predict", run_dir, "--weather",
                                            folder / "weather.csv")


def test_a_weather_file_in_the_data_s_own_format_reads_through_its_mapping(files, tmp_path):
    """A run on one's own CSV: the forecast file may use the data's column names, time
    columns and wind directions in degrees, as the data does."""
    from forecast.predict import read_weather
    from forecast.schema import compass_to_degrees

    folder, run_dir = files
    canonical = pd.read_csv(folder / "weather.csv")
    times = pd.to_datetime(canonical["time"])
    own = pd.DataFrame({"year": times.dt.year, "month": times.dt.month, "day": times.dt.day,
                        "hour": times.dt.hour, "TEMP": canonical["temp"],
                        "DEWP": canonical["dewp"], "PRES": canonical["pres"],
                        "WSPM": canonical["wind_speed"], "RAIN": canonical["rain"],
                        "wd": compass_to_degrees(canonical["wind_dir"]),
                        "PM2.5": np.nan, "SO2": 3.0})
    own.to_csv(tmp_path / "own.csv", index=False)
    mapping = {"station": "S", "time_columns": ["year", "month", "day", "hour"],
               "wind_dir_degrees": True,
               "columns": {"pm25": "PM2.5", "temp": "TEMP", "dewp": "DEWP", "pres": "PRES",
                           "wind_speed": "WSPM", "wind_dir": "wd", "rain": "RAIN",
                           "so2": "SO2"}}
    history = load_data(load_config(run_dir / "config.toml"))[0].hourly
    last_hour = history.groupby("station", observed=True)["time"].max()
    expected = read_weather(folder / "weather.csv", history, last_hour)
    got = read_weather(tmp_path / "own.csv", history, last_hour, mapping=mapping)
    columns = ["time", "station", "temp", "dewp", "pres", "wind_speed", "rain", "pm25"]
    pd.testing.assert_frame_equal(got[columns].reset_index(drop=True),
                                  expected[columns].reset_index(drop=True), check_dtype=False)
    assert (got["wind_dir"].astype(str).to_numpy()
            == expected["wind_dir"].astype(str).to_numpy()).all()
    # a column neither the data's nor canonical is named
    own.assign(cloud=1.0).to_csv(tmp_path / "extra.csv", index=False)
    with pytest.raises(DataError, match="unknown column.s. cloud"):
        read_weather(tmp_path / "extra.csv", history, last_hour, mapping=mapping)


def test_a_weather_file_may_have_the_columns_the_data_s_reading_ignores(files, tmp_path):
    """The data's own file layout with its row number, pollutants and a station column
    the mapping does not read (a fixed station): ignored as the data's reading ignores
    them; a column the data's file does not have is still refused (a misspelt one)."""
    folder, run_dir = files
    result = RunResult.read(run_dir)
    config = load_config(run_dir / "config.toml")
    task, rows = latest_task(config, result, folder / "weather.csv")
    history = pd.read_csv(folder / "history.csv")
    history.insert(0, "No", range(len(history)))
    history.assign(PM10=1.0, SO2=2.0, station="Elsewhere").to_csv(tmp_path / "history.csv",
                                                                 index=False)
    weather = pd.read_csv(folder / "weather.csv")
    weather.insert(0, "No", range(len(weather)))
    weather.assign(PM10=1.0, SO2=2.0, station="Elsewhere").to_csv(tmp_path / "weather.csv",
                                                                 index=False)
    config["data"]["path"] = str(tmp_path / "history.csv")
    own, own_rows = latest_task(config, result, tmp_path / "weather.csv")
    np.testing.assert_array_equal(own.X[own_rows], task.X[rows])
    weather.assign(cloud=1.0).to_csv(tmp_path / "cloud.csv", index=False)
    with pytest.raises(DataError, match=r"unknown column\(s\) cloud;"):
        latest_task(config, result, tmp_path / "cloud.csv")


def test_predict_reads_the_data_s_own_format_for_a_csv_run(files, tmp_path):
    folder, run_dir = files
    result = RunResult.read(run_dir)
    config = load_config(run_dir / "config.toml")
    task, rows = latest_task(config, result, folder / "weather.csv")
    renamed = {"time": "timestamp", "temp": "TEMP", "dewp": "DEWP", "rain": "RAIN"}
    pd.read_csv(folder / "history.csv").rename(columns=renamed).to_csv(
        tmp_path / "history.csv", index=False)
    pd.read_csv(folder / "weather.csv").rename(columns=renamed).to_csv(
        tmp_path / "weather.csv", index=False)
    config["data"].update(path=str(tmp_path / "history.csv"), time_column="timestamp",
                          columns={c: renamed.get(c, c) for c in config["data"]["columns"]})
    own, own_rows = latest_task(config, result, tmp_path / "weather.csv")
    np.testing.assert_array_equal(own.X[own_rows], task.X[rows])


def test_a_weather_file_as_a_spreadsheet_or_a_row_per_parameter(files, tmp_path):
    """The weather file is read as the data are: a semicolon file with decimal commas, and
    for data with a row per parameter, a forecast file laid out the same way."""
    from forecast.predict import read_weather

    folder, run_dir = files
    history = load_data(load_config(run_dir / "config.toml"))[0].hourly
    last_hour = history.groupby("station", observed=True)["time"].max()
    expected = read_weather(folder / "weather.csv", history, last_hour)
    canonical = pd.read_csv(folder / "weather.csv")
    canonical.to_csv(tmp_path / "semi.csv", index=False, sep=";", decimal=",")
    pd.testing.assert_frame_equal(read_weather(tmp_path / "semi.csv", history, last_hour),
                                  expected)
    tidy = canonical.melt(id_vars=["time"], var_name="quantity", value_name="amount")
    tidy.to_csv(tmp_path / "tidy.csv", index=False)
    mapping = {"station": "S", "time_column": "time", "parameter_column": "quantity",
               "value_column": "amount", "columns": {c: c for c in COLUMNS}}
    got = read_weather(tmp_path / "tidy.csv", history, last_hour, mapping=mapping)
    columns = ["time", "station", "temp", "dewp", "pres", "wind_speed", "rain", "pm25"]
    pd.testing.assert_frame_equal(got[columns].reset_index(drop=True),
                                  expected[columns].reset_index(drop=True), check_dtype=False)
    assert list(got["wind_dir"].astype(str)) == list(expected["wind_dir"].astype(str))


def test_a_weather_file_in_the_data_s_units_is_converted_as_the_data_are(files, tmp_path):
    from forecast.predict import read_weather

    folder, run_dir = files
    history = load_data(load_config(run_dir / "config.toml"))[0].hourly
    last_hour = history.groupby("station", observed=True)["time"].max()
    expected = read_weather(folder / "weather.csv", history, last_hour)
    own = pd.read_csv(folder / "weather.csv").rename(columns={"temp": "TEMP_F", "wind_speed": "WS_KMH"})
    own = own.assign(TEMP_F=own["TEMP_F"] * 9 / 5 + 32, WS_KMH=own["WS_KMH"] * 3.6)
    own.to_csv(tmp_path / "own.csv", index=False)
    mapping = {"station": "S", "time_column": "time", "units": {"temp": "degF", "wind_speed": "km/h"},
               "columns": {**{c: c for c in COLUMNS}, "temp": "TEMP_F", "wind_speed": "WS_KMH"}}
    got = read_weather(tmp_path / "own.csv", history, last_hour, mapping=mapping)
    np.testing.assert_allclose(got["temp"], expected["temp"], rtol=1e-9)
    np.testing.assert_allclose(got["wind_speed"], expected["wind_speed"], rtol=1e-9)


def test_a_weather_file_on_a_wall_clock_with_daylight_saving_time(tmp_path):
    """Data read with [data] time_zone are on its standard time; a weather file written on
    the same wall clock is read the same way. In summer the target day's wall-clock
    midnight is the issue day's last standard hour, after the data's last hour."""
    from forecast.predict import read_weather

    hourly = generate_hourly(seed=1, start="2012-06-01", end="2012-06-11")
    hourly = hourly[hourly["time"] < "2012-06-10 23:00"].reset_index(drop=True)
    last_hour = hourly.groupby("station", observed=True)["time"].max()
    wall = pd.date_range("2012-06-11 00:00", "2012-06-12 00:00", freq="h")
    pd.DataFrame({"time": wall.strftime("%Y-%m-%d %H:%M"), "temp": np.arange(25.0)}).to_csv(
        tmp_path / "w.csv", index=False)
    got = read_weather(tmp_path / "w.csv", hourly, last_hour, mapping={"time_zone": "Europe/Paris"})
    expected = pd.date_range("2012-06-10 23:00", "2012-06-11 23:00", freq="h")
    assert (got["time"].to_numpy() == expected.to_numpy()).all()
    assert (got["temp"].to_numpy() == np.arange(25.0)).all()
    # without the zone the same file is a day and an hour of wall-clock times: refused
    with pytest.raises(DataError, match="not on the day after"):
        read_weather(tmp_path / "w.csv", hourly, last_hour)


def test_a_weather_file_with_summer_offsets_read_on_a_fixed_utc_offset(tmp_path):
    """[data] utc_offset reads times with DST offsets on one clock, as the README says
    for them: in summer the target day's wall-clock midnight (00:00-04:00) is the issue
    day's hour 23 on the -05:00 clock. Only [data] time_zone was allowed it: the whole
    file was refused."""
    from forecast.predict import read_weather

    wall = pd.date_range("2015-07-01", "2015-07-02 23:00", freq="h")
    frame = pd.DataFrame({"time": wall.strftime("%Y-%m-%dT%H:%M-04:00"), "pm25": 10.0,
                          "temp": np.arange(48.0)})
    frame[wall < "2015-07-02"].to_csv(tmp_path / "data.csv", index=False)
    frame[wall >= "2015-07-02"].drop(columns="pm25").to_csv(tmp_path / "w.csv", index=False)
    spec = {"path": str(tmp_path / "data.csv"), "station": "S", "time_column": "time",
            "columns": {"pm25": "pm25", "temp": "temp"}, "utc_offset": "-05:00"}
    hourly = sources.load_csv(spec).hourly
    last_hour = hourly.groupby("station", observed=True)["time"].max()
    assert last_hour.iloc[0] == pd.Timestamp("2015-07-01 22:00")
    got = read_weather(tmp_path / "w.csv", hourly, last_hour, mapping=spec)
    assert (got["time"] == pd.date_range("2015-07-01 23:00", periods=24, freq="h")).all()
    assert (got["temp"].to_numpy() == np.arange(24.0, 48.0)).all()


def _three_hourly(label_end: bool = False) -> pd.DataFrame:
    """A station's weather every 3 hours: temperature rising 3 °C a row, rain 6 mm in the
    second row, the wind turning from N to E."""
    times = pd.date_range("2012-01-01 03:00" if label_end else "2012-01-01", periods=8,
                          freq="3h")
    if label_end:
        times = times - pd.Timedelta(hours=1)  # as mapped_frame reads 03:00-24:00 labels
    return pd.DataFrame({"station": pd.Categorical(["S"] * 8), "time": times,
                         "temp": np.arange(8) * 3.0, "wind_speed": 2.0,
                         "wind_dir": ["N", "E"] * 4, "rain": [0.0, 6.0] + [0.0] * 6,
                         "pm25": np.nan})


def test_a_weather_forecast_every_three_hours_is_interpolated_to_hours():
    from forecast.predict import weather_hours

    hours, note = weather_hours(_three_hourly(), "w.csv")
    assert "rows 3 h apart interpolated to hours" in note
    assert (hours["time"] == pd.date_range("2012-01-01", periods=24, freq="h")).all()
    np.testing.assert_allclose(hours["temp"], np.r_[np.arange(22.0), 21.0, 21.0])
    assert list(hours["wind_dir"].astype(str)[:6]) == ["N", "N", "E", "E", "E", "N"]
    np.testing.assert_allclose(hours["rain"], np.r_[0, 0, 0, 2, 2, 2, [0] * 18])
    assert hours["pm25"].isna().all() and hours["wind_speed"].eq(2.0).all()
    flags, _ = weather_hours(_three_hourly().assign(rain=[0.0, 1.0] + [0.0] * 6), "w.csv",
                             rain_is_flag=True)
    np.testing.assert_allclose(flags["rain"], np.r_[0, 0, 0, 1, 1, 1, [0] * 18])
    # hours labelled by their end: a row's rain fell in the 3 hours up to it
    ends, _ = weather_hours(_three_hourly(label_end=True), "w.csv", label_end=True)
    assert (ends["time"] == pd.date_range("2012-01-01", periods=24, freq="h")).all()
    np.testing.assert_allclose(ends["rain"], np.r_[0, 0, 0, 2, 2, 2, [0] * 18])
    # hourly rows are returned as they are; steps that are not whole hours are refused
    hourly = _three_hourly().iloc[:2].assign(time=pd.date_range("2012-01-01", periods=2,
                                                                 freq="h"))
    assert weather_hours(hourly, "w.csv") == (hourly, None)
    with pytest.raises(DataError, match="1.5 h apart"):
        weather_hours(_three_hourly().assign(time=pd.date_range("2012-01-01", periods=8,
                                                                 freq="90min")), "w.csv")
    with pytest.raises(DataError, match="unknown wind direction 'NWW'"):
        weather_hours(_three_hourly().assign(wind_dir=["N", "NWW"] * 4), "w.csv")
    with pytest.raises(DataError, match="S 2012-01-01 03:00 is given twice"):
        weather_hours(_three_hourly().assign(time=_three_hourly()["time"].where(
            np.arange(8) != 2, pd.Timestamp("2012-01-01 03:00"))), "w.csv")


def test_predict_with_a_three_hourly_weather_forecast(files, cli, tmp_path):
    """A 3-hourly file gives every input the hourly one does, close to its values."""
    folder, run_dir = files
    hourly_file = pd.read_csv(folder / "weather.csv")
    hourly_file.iloc[::3].to_csv(tmp_path / "every3.csv", index=False)
    result = RunResult.read(run_dir)
    config = load_config(run_dir / "config.toml")
    task, rows = latest_task(config, result, folder / "weather.csv")
    coarse, coarse_rows = latest_task(config, result, tmp_path / "every3.csv")
    forecast = [task.feature_names.index(c) for c in task.forecast_columns()]
    assert np.isfinite(coarse.X[coarse_rows][:, forecast]).all()
    temp = task.feature_names.index("forecast_temp_mean")
    assert abs(coarse.X[coarse_rows, temp] - task.X[rows, temp]).item() < 1.0
    code, _, err = cli("predict", run_dir, "--weather", tmp_path / "every3.csv")
    assert code == 0 and "rows 3 h apart interpolated to hours" in err
    assert "imputed" not in err


def test_a_run_for_a_three_hourly_forecast_reads_either_file_alike(files, tmp_path):
    """With task.weather_step = 3 the target day's inputs are built from its 00, 03, ...
    21 h weather, so an hourly file and its every third hour give the same inputs."""
    folder, run_dir = files
    pd.read_csv(folder / "weather.csv").iloc[::3].to_csv(tmp_path / "every3.csv", index=False)
    result = RunResult.read(run_dir)
    config = load_config(run_dir / "config.toml")
    config["task"]["weather_step"] = 3
    hourly, rows = latest_task(config, result, folder / "weather.csv")
    coarse, coarse_rows = latest_task(config, result, tmp_path / "every3.csv")
    np.testing.assert_allclose(coarse.X[coarse_rows], hourly.X[rows], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(coarse.target_hours[coarse_rows], hourly.target_hours[rows],
                               rtol=1e-6, atol=1e-5)


def test_a_run_for_an_erring_forecast_leaves_the_real_forecast_as_it_is(files):
    """task.weather_error gives the observed weather of the training, validation and test
    target days a forecast's errors; the weather file is a real forecast and is read as
    it is."""
    folder, run_dir = files
    result = RunResult.read(run_dir)
    config = load_config(run_dir / "config.toml")
    perfect, rows = latest_task(config, result, folder / "weather.csv")
    config["task"]["weather_error"] = 1.0
    erring, erring_rows = latest_task(config, result, folder / "weather.csv")
    forecast = [perfect.feature_names.index(c) for c in perfect.forecast_columns()]
    np.testing.assert_array_equal(erring.X[erring_rows][:, forecast],
                                  perfect.X[rows][:, forecast])
    np.testing.assert_array_equal(erring.target_hours[erring_rows], perfect.target_hours[rows])
    earlier = perfect.mask("test")
    assert not np.array_equal(erring.X[earlier][:, forecast], perfect.X[earlier][:, forecast])


def test_a_weather_file_named_as_the_canonical_columns_is_read_in_the_data_s_format(
        files, tmp_path):
    """Data whose columns happen to be named temp, wind_speed, time ... with °F, km/h and
    a day-first time format: a weather file written as the data are is read through the
    mapping (converted, its times day-first), not as canonical °C and ISO times."""
    from forecast.predict import read_weather

    folder, run_dir = files
    history = load_data(load_config(run_dir / "config.toml"))[0].hourly
    last_hour = history.groupby("station", observed=True)["time"].max()
    expected = read_weather(folder / "weather.csv", history, last_hour)
    own = pd.read_csv(folder / "weather.csv")
    own = own.assign(temp=own["temp"] * 9 / 5 + 32, wind_speed=own["wind_speed"] * 3.6,
                     time=pd.to_datetime(own["time"]).dt.strftime("%d/%m/%Y %H:%M"))
    own.to_csv(tmp_path / "own.csv", index=False)
    mapping = {"station": "S", "time_column": "time", "time_format": "%d/%m/%Y %H:%M",
               "units": {"temp": "degF", "wind_speed": "km/h"},
               "columns": {c: c for c in COLUMNS}}
    got = read_weather(tmp_path / "own.csv", history, last_hour, mapping=mapping)
    pd.testing.assert_series_equal(got["time"], expected["time"])
    np.testing.assert_allclose(got["temp"], expected["temp"], rtol=1e-9)
    np.testing.assert_allclose(got["wind_speed"], expected["wind_speed"], rtol=1e-9)


def test_the_headline_of_a_station_without_the_target_day_s_weather_says_so():
    from forecast.predict import headlines

    table = pd.DataFrame({"station": ["A", "B"], "issue_day": ["2012-01-01"] * 2,
                          "target_day": ["2012-01-02"] * 2, "model": ["hgb_by_hour"] * 2,
                          "pm25_forecast": [40.0, 50.0], "q10": [20.0, 25.0], "q50": [38.0, 48.0],
                          "q90": [70.0, 90.0], "p_exceed": [0.1, 0.2],
                          "category": ["good"] * 2, "p_category": [0.5, 0.6],
                          "recommended": [True, True]})
    table.attrs.update(threshold=75.0, without_weather={("B", "2012-01-01")})
    a, b = headlines(table)
    assert a.endswith("— hgb_by_hour")
    assert b.endswith("— hgb_by_hour, without the target day's weather (give --weather FILE)")
