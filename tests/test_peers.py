"""benchmarks/peers.py, the parts that run in this project's environment: the folder
``daily`` writes and how ``score`` reads it (the peers themselves need their own)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import benchmark_module


def _folder(tmp_path: Path) -> Path:
    """Two stations over 2013-12-20..2014-01-10 (the test period from 2014-01-01 to
    2014-01-05): station b misses its daily mean of 2014-01-02 and its temperature of
    2013-12-25, and its rows come before a's."""
    days = pd.date_range("2013-12-20", "2014-01-10")
    frames = []
    for k, station in enumerate(("b", "a")):
        frame = pd.DataFrame({"station": station, "date": days,
                              "daily_mean_pm25": np.arange(len(days)) + 100.0 * k,
                              "temp_mean": np.arange(len(days), dtype=float)})
        if station == "b":
            frame.loc[frame["date"] == "2014-01-02", "daily_mean_pm25"] = np.nan
            frame.loc[frame["date"] == "2013-12-25", "temp_mean"] = np.nan
        frames.append(frame)
    pd.concat(frames).to_csv(tmp_path / "daily.csv", index=False)
    (tmp_path / "split.json").write_text(json.dumps(
        {"dataset": "x", "val_start": "2013-12-25", "test_start": "2014-01-01",
         "test_end": "2014-01-05"}))
    return tmp_path


def test_read_panel_ends_with_the_test_period_and_scores_valid_station_days(tmp_path):
    peers = benchmark_module("peers")
    panel = peers.read_panel(_folder(tmp_path))
    assert panel.stations == ["a", "b"]
    assert panel.y.index[-1] == pd.Timestamp("2014-01-05")   # nothing after the test
    assert np.isnan(panel.y.loc["2014-01-02", "b"])
    assert panel.y_filled.loc["2014-01-02", "b"] == panel.y.loc["2014-01-01", "b"] + 1
    assert panel.weather["b"].loc["2013-12-25", "temp_mean"] == 5.0   # interpolated
    assert panel.weather_columns == ["temp_mean"]
    truth = panel.scored()
    assert len(truth) == 5 + 4                   # b's invalid day is not scored
    assert ("b", pd.Timestamp("2014-01-02")) not in truth.index
    assert truth.loc[("a", pd.Timestamp("2014-01-01"))] == panel.y.loc["2014-01-01", "a"]
    assert truth.index.is_monotonic_increasing


def test_read_panel_without_split_says_to_write_the_folder_again(tmp_path):
    folder = _folder(tmp_path)
    (folder / "split.json").unlink()
    with pytest.raises(SystemExit, match="peers.py daily"):
        benchmark_module("peers").read_panel(folder)


def test_write_daily_split_and_features_follow_the_task(tmp_path):
    """``daily`` on the synthetic set: the split is the task's main fold and the features
    come one row per station and target day."""
    peers = benchmark_module("peers")
    peers.write_daily(tmp_path, "synthetic")
    split = json.loads((tmp_path / "split.json").read_text())
    assert (split["val_start"], split["test_start"], split["test_end"]) == (
        "2013-01-01", "2014-01-01", "2014-12-31")
    daily = pd.read_csv(tmp_path / "daily.csv")
    assert {"station", "date", "daily_mean_pm25", "temp_mean"} <= set(daily.columns)
    for mode in ("observed", "forecast"):
        features = pd.read_csv(tmp_path / f"features_{mode}.csv")
        assert not features.duplicated(["station", "date"]).any()
        assert set(features["station"]) == set(daily["station"])
    assert peers.read_panel(tmp_path).scored().index.get_level_values("date").min() >= (
        pd.Timestamp("2014-01-01"))
