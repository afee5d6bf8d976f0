"""The data-quality stage: sentinel codes, physical bounds, dew point, stuck monitors.

Unit tests on hand-made frames, CLI tests on small CSVs, and one integration test that
runs the whole pipeline on a CSV full of impossible values and on the same CSV with
those values simply blank.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tomli_w

from forecast import quality
from forecast.config import load_config
from forecast.errors import DataError
from forecast.pipeline import run
from forecast.synthetic import generate_hourly


def _frame(make_hourly, n_days=3, **columns):
    defaults = {"temp": 10.0, "dewp": 0.0, "pres": 1010.0, "wind_speed": 2.0, "rain": 0.0}
    defaults.update(columns)
    return make_hourly("2012-01-01", n_days, **defaults)


def test_a_clean_frame_flags_nothing_and_is_unchanged(make_hourly):
    frame = _frame(make_hourly)
    cleaned, report = quality.check(frame)
    assert report.total == 0 and report.flags == [] and report.dropped_columns == []
    pd.testing.assert_frame_equal(cleaned, frame)
    assert quality.strict_error(report) is None


def test_each_reason_is_counted_and_the_value_set_missing(make_hourly):
    frame = _frame(make_hourly, n_days=4)
    frame.loc[[5, 6, 7], "rain"] = 999990.0
    frame.loc[[10, 30], "temp"] = -9999.0
    frame.loc[[12], "pres"] = 0.0
    frame.loc[[13], "wind_speed"] = 80.0
    frame.loc[[14], "dewp"] = 25.0          # temperature is 10 °C: supersaturated
    frame.loc[[15], "pm25"] = -3.0
    frame.loc[40:63, "pm25"] = 87.0         # 24 hours of one value: stuck from the 12th
    cleaned, report = quality.check(frame)
    counts = report.counts()
    assert counts["rain"] == {"sentinel": 3}
    assert counts["temp"] == {"sentinel": 2}
    assert counts["pres"] == {"below_min": 1}
    assert counts["wind_speed"] == {"above_max": 1}
    assert counts["dewp"] == {"dewp_above_temp": 1}
    assert counts["pm25"] == {"below_min": 1, "stuck": 13}
    assert report.total == 3 + 2 + 1 + 1 + 1 + 1 + 13
    assert len(cleaned) == len(frame)  # rows are never dropped
    assert cleaned.loc[[5, 6, 7], "rain"].isna().all()
    assert cleaned.loc[[10, 30], "temp"].isna().all()
    assert np.isnan(cleaned.loc[12, "pres"]) and np.isnan(cleaned.loc[13, "wind_speed"])
    assert np.isnan(cleaned.loc[14, "dewp"]) and np.isnan(cleaned.loc[15, "pm25"])
    assert cleaned.loc[51:63, "pm25"].isna().all()
    assert (cleaned.loc[40:50, "pm25"] == 87.0).all()   # not yet stuck at their time
    assert cleaned.loc[64, "pm25"] == frame.loc[64, "pm25"]
    untouched = ~cleaned.isna().any(axis=1)
    pd.testing.assert_frame_equal(cleaned[untouched], frame[untouched])
    rain = next(f for f in report.flags if f.column == "rain")
    assert (rain.value, rain.time, rain.station) == (999990, "2012-01-01 05:00", "S1")
    # a value too large to print as a whole number stays a float
    huge = quality.Flag.of(frame, "pm25", "above_max", np.arange(len(frame)) == 3,
                           np.full(len(frame), 1e300))
    assert huge.value == 1e300 and isinstance(huge.value, float) and "1e+300" in str(huge)


def test_stuck_rule_respects_length_floor_gaps_and_stations(make_hourly):
    frame = _frame(make_hourly, n_days=4)
    frame.loc[0:11, "pm25"] = 55.0          # exactly 12 hours: its 12th hour is stuck
    frame.loc[20:30, "pm25"] = 60.0         # 11 hours: not stuck
    frame.loc[40:80, "pm25"] = 3.0          # 41 hours at the detection floor: exempt
    cleaned, report = quality.check(frame)
    assert report.count("pm25", "stuck") == 1 and np.isnan(cleaned.loc[11, "pm25"])
    # the same value either side of a gap in time is not one run
    gapped = frame.drop(index=range(5, 7)).reset_index(drop=True)
    _, report = quality.check(gapped)
    assert report.count("pm25", "stuck") == 0
    rules = quality.QualityRules(stuck_hours=6, stuck_floor=0.0)
    _, report = quality.check(frame, rules)
    assert report.count("pm25", "stuck") == 7 + 6 + 36


def test_the_stuck_rule_never_reads_the_hours_after_the_issue_time(small_hourly):
    """Eight equal PM2.5 hours at 16–23 h of day D: whether the run goes on into D + 1
    (and so passes 12 hours) must change neither day D's cleaned hours nor any feature
    of the forecast issued at the end of day D, as a forecast issued then sees neither."""
    from forecast.daily import to_daily
    from forecast.schema import validate_hourly
    from forecast.task import build_task
    from tests.conftest import SMALL_SPLITS

    day_d = pd.Timestamp("2010-03-10")
    evening = (small_hourly["time"] >= day_d + pd.Timedelta(hours=16)) & (
        small_hourly["time"] <= day_d + pd.Timedelta(hours=23))
    next_morning = (small_hourly["time"] > day_d + pd.Timedelta(hours=23)) & (
        small_hourly["time"] <= day_d + pd.Timedelta(hours=30))
    ends = small_hourly.assign(pm25=small_hourly["pm25"].mask(evening, 87.0))
    goes_on = ends.assign(pm25=ends["pm25"].mask(next_morning, 87.0))
    tasks, cleaned = [], []
    for frame in (ends, goes_on):
        hourly, report = quality.check(validate_hourly(frame, "test"))
        cleaned.append(hourly)
        tasks.append(build_task(hourly, to_daily(hourly), dataset="csv", **SMALL_SPLITS))
    assert cleaned[0]["pm25"].notna()[evening.to_numpy()].all()
    assert cleaned[1]["pm25"].isna().sum() > cleaned[0]["pm25"].isna().sum()  # it is stuck
    upto = (small_hourly["time"] <= day_d + pd.Timedelta(hours=23)).to_numpy()
    pd.testing.assert_frame_equal(cleaned[0][upto], cleaned[1][upto])
    issue = pd.DatetimeIndex(tasks[0].rows["issue_day"])
    assert np.array_equal(tasks[0].X[issue <= day_d], tasks[1].X[issue <= day_d],
                          equal_nan=True)


def test_a_column_of_nothing_but_codes_is_dropped_with_a_warning(make_hourly):
    frame = _frame(make_hourly, rain=-9999.0)
    cleaned, report = quality.check(frame)
    assert "rain" not in cleaned.columns and report.dropped_columns == ["rain"]
    assert "rain" in quality.warnings_for(report)[0]
    # a column the source left empty was never there: not "dropped" by the checks
    frame = _frame(make_hourly, rain=np.nan)
    _, report = quality.check(frame)
    assert report.dropped_columns == []


def test_pm25_with_nothing_valid_is_an_error(make_hourly):
    with pytest.raises(DataError, match="every PM2.5 value is missing or flagged"):
        quality.check(_frame(make_hourly, pm25=99999.0))


def test_rules_from_config_are_checked():
    table = load_config()["quality"]
    assert quality.QualityRules.from_config(table) == quality.QualityRules()
    with pytest.raises(DataError, match="quality.bounds.pm2_5"):
        quality.QualityRules.from_config({**table, "bounds": {"pm2_5": [0, 10]}})
    with pytest.raises(DataError, match="low < high"):
        quality.QualityRules.from_config({**table, "bounds": {"pres": [1100, 500]}})
    with pytest.raises(DataError, match="stuck_hours"):
        load_config(overrides={"quality": {"stuck_hours": 1}})
    with pytest.raises(DataError, match="unknown option 'quality.stuck_hour'"):
        load_config(overrides={"quality": {"stuck_hour": 5}})
    # one bound overridden, the others kept
    config = load_config(overrides={"quality": {"bounds": {"pres": [300.0, 1100.0]}}})
    rules = quality.QualityRules.from_config(config["quality"])
    assert rules.bounds["pres"] == (300.0, 1100.0) and rules.bounds["pm25"] == (0.0, 2000.0)


def test_the_report_round_trips_through_json(make_hourly):
    frame = _frame(make_hourly)
    frame.loc[3, "rain"] = 9999.0
    _, report = quality.check(frame)
    payload = json.loads(json.dumps(report.to_dict()))
    assert quality.QualityReport.from_dict(payload) == report
    assert payload["counts"] == {"rain": {"sentinel": 1}} and payload["total"] == 1


# ---------------------------------------------------------------- through the CLI


def _station_csv(tmp_path, name: str, *, codes: bool, blank: bool = False,
                 days: int = 60, degrees: bool = False) -> str:
    """A station export of synthetic data; with ``codes`` it carries impossible values,
    with ``blank`` the values the checks flag are empty cells instead."""
    hourly = generate_hourly(seed=3, start="2012-01-01",
                             end=f"{pd.Timestamp('2012-01-01') + pd.Timedelta(days=days - 1):%Y-%m-%d}")
    table = pd.DataFrame({
        "timestamp": hourly["time"].dt.strftime("%Y-%m-%d %H:%M"),
        "PM25": hourly["pm25"].round(1), "T": hourly["temp"].round(1),
        "TD": hourly["dewp"].round(1), "P": hourly["pres"].round(1),
        "WS": hourly["wind_speed"].round(1), "WD": hourly["wind_dir"],
        "R": hourly["rain"].round(1)})
    if degrees:
        table["WD"] = 90.0
    marks = {("R", 100): 999990.0, ("R", 101): 999990.0, ("T", 200): -9999.0,
             ("P", 300): 0.0, ("T", 201): -9999.0}
    if codes or blank:
        for (column, row), value in marks.items():
            table.loc[row, column] = np.nan if blank else value
        table.loc[400:423, "PM25"] = 123.0
        if blank:                # the hours the stuck rule flags: from the run's 12th on
            table.loc[411:423, "PM25"] = np.nan
        if degrees:
            table.loc[500, "WD"] = np.nan if blank else 999.0
    path = tmp_path / f"{name}.csv"
    table.to_csv(path, index=False)
    return str(path)


def _csv_config(tmp_path, csv: str, name: str = "config", **sections) -> str:
    config = {"data": {"dataset": "csv", "path": csv, "station": "Export",
                       "time_column": "timestamp", "wind_dir_degrees": False,
                       "columns": {"pm25": "PM25", "temp": "T", "dewp": "TD", "pres": "P",
                                   "wind_speed": "WS", "wind_dir": "WD", "rain": "R"}}}
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    path = tmp_path / f"{name}.toml"
    path.write_text(tomli_w.dumps(config))
    return str(path)


def test_forecast_data_prints_and_carries_the_counts(tmp_path, cli):
    config = _csv_config(tmp_path, _station_csv(tmp_path, "export", codes=True))
    code, out, err = cli("data", "--config", config, "--json")
    assert code == 0, err
    counts = json.loads(out)["quality"]["counts"]
    assert counts == {"rain": {"sentinel": 2}, "temp": {"sentinel": 2},
                      "pres": {"below_min": 1}, "pm25": {"stuck": 13}}
    code, out, err = cli("data", "--config", config)
    assert code == 0, err
    assert "18 value(s) flagged" in out and "missing-value code" in out
    assert "999990 at Export 2012-01-05 04:00" in out


def test_strict_refuses_flagged_data_with_one_line_naming_the_first(tmp_path, cli_error, cli):
    config = _csv_config(tmp_path, _station_csv(tmp_path, "export", codes=True))
    line = cli_error("data", "--config", config, "--strict")
    assert "--strict: 18 flagged value(s)" in line
    assert "rain = 999990 at export 2012-01-05 04:00" in line
    clean = _csv_config(tmp_path, _station_csv(tmp_path, "clean", codes=False), name="clean")
    code, _, err = cli("data", "--config", clean, "--strict")
    assert code == 0, err


def test_bearings_outside_the_compass_are_flagged(tmp_path, cli):
    csv = _station_csv(tmp_path, "degrees", codes=True, degrees=True)
    config = _csv_config(tmp_path, csv, data={"wind_dir_degrees": True})
    code, out, err = cli("data", "--config", config, "--json")
    assert code == 0, err
    assert json.loads(out)["quality"]["counts"]["wind_dir"] == {"invalid_direction": 1}


def test_a_column_of_codes_warns_or_refuses(tmp_path, cli, cli_error):
    csv = _station_csv(tmp_path, "export", codes=False)
    table = pd.read_csv(csv)
    table["R"] = 999990.0
    table.to_csv(csv, index=False)
    config = _csv_config(tmp_path, csv)
    code, out, err = cli("data", "--config", config, "--json")
    assert code == 0
    assert err.count("\n") == 1 and "column 'rain' holds no valid value" in err
    assert json.loads(out)["quality"]["dropped_columns"] == ["rain"]
    assert "--strict" in cli_error("data", "--config", config, "--strict")


# ---------------------------------------------------------------- the whole pipeline


@pytest.mark.slow
def test_impossible_values_do_the_same_as_blanks_through_the_whole_run(tmp_path):
    """The issue's scenario: 999990 rain, −9999 temperature, a pressure of 0 and PM2.5
    stuck for 24 hours; the run ends, reports each, and forecasts as if they were blank."""
    settings = {
        "models": {"names": ["persistence", "ridge", "mlp", "tcn"]},
        "split": {"train_end": "2013-12-31", "val_end": "2014-06-30", "test_end": "2014-12-31"},
        "training": {"seeds": 1, "max_epochs": 3, "patience": 2, "hidden": 8,
                     "progress_bar": False},
        "diagnostics": {"capacity_sweep": False, "learning_curve": False},
        "evaluation": {"n_boot": 20},
    }
    runs = {}
    for name, codes in (("codes", True), ("blank", False)):
        csv = _station_csv(tmp_path, name, codes=codes, blank=not codes, days=3 * 365)
        config = load_config(_csv_config(tmp_path, csv, name=name),
                             overrides={**settings, "run": {"out": str(tmp_path / "reports"),
                                                            "name": name}})
        runs[name] = run(config)
    metrics = json.loads((runs["codes"] / "metrics.json").read_text())
    assert metrics["quality"]["counts"] == {"rain": {"sentinel": 2}, "temp": {"sentinel": 2},
                                            "pres": {"below_min": 1}, "pm25": {"stuck": 13}}
    assert json.loads((runs["blank"] / "metrics.json").read_text())["quality"]["total"] == 0
    assert metrics["failed"] == {}
    predictions = {name: pd.read_csv(path / "predictions.csv") for name, path in runs.items()}
    days = pd.to_datetime(predictions["codes"]["date"])
    near = (days >= "2012-01-01") & (days <= "2012-01-31")   # the flagged hours' days
    assert near.any()
    difference = (predictions["codes"]["y_pred"] - predictions["blank"]["y_pred"]).abs()
    assert difference[near].max() <= 1.0
    assert difference.max() <= 1.0
    report = (runs["codes"] / "report.md").read_text()
    assert "missing-value code" in report and "stuck" in report
