"""HourlyFrame → DailyFrame: the 75 % completeness rule and the weather aggregates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.daily import WIND_FRACTION_COLUMNS, complete_hours, summarise, to_daily
from forecast.errors import DataError
from forecast.schema import validate_hourly


def test_18_valid_hours_is_valid_17_is_not(make_hourly):
    pm25 = np.arange(48, dtype=float)          # day 0: 0..23, day 1: 24..47
    pm25[18:24] = np.nan                       # day 0 keeps hours 0..17: 18 values
    pm25[24 + 17:48] = np.nan                  # day 1 keeps hours 0..16: 17 values
    daily = to_daily(make_hourly("2011-05-01", 2, pm25=pm25))
    assert daily["date"].tolist() == [pd.Timestamp("2011-05-01"), pd.Timestamp("2011-05-02")]
    assert daily["pm25_hours"].tolist() == [18, 17]
    assert daily["valid"].tolist() == [True, False]
    assert daily["daily_mean_pm25"].iloc[0] == pytest.approx(sum(range(18)) / 18)   # 8.5
    assert np.isnan(daily["daily_mean_pm25"].iloc[1])


def test_min_hours_is_configurable(make_hourly):
    pm25 = np.arange(48, dtype=float)
    pm25[24 + 17:48] = np.nan
    daily = to_daily(make_hourly("2011-05-01", 2, pm25=pm25), min_hours=17)
    assert daily["valid"].tolist() == [True, True]
    assert daily["daily_mean_pm25"].iloc[1] == pytest.approx(np.mean(np.arange(24, 41)))
    with pytest.raises(DataError, match="min_hours"):
        to_daily(make_hourly("2011-05-01", 2), min_hours=25)


def test_weather_aggregates_on_a_hand_made_two_day_frame(make_hourly):
    temp = np.r_[np.full(24, -2.0), np.linspace(10.0, 33.0, 24)]
    dewp = np.r_[np.full(24, -10.0), np.full(24, 5.0)]
    pres = np.r_[np.full(24, 1030.0), np.full(24, 1010.0)]
    speed = np.r_[np.full(24, 1.0), np.full(24, 2.0)]
    speed[5], speed[30] = 7.5, 4.0
    rain = np.zeros(48)
    rain[[26, 27, 28]] = [1.5, 2.0, 0.25]
    # day 0: 12 NW, 6 NNW (→ sector N), 4 calm, 2 missing; day 1: 24 SE
    wind_dir = np.array(["NW"] * 12 + ["NNW"] * 6 + ["calm"] * 4 + [None] * 2 + ["SE"] * 24,
                        dtype=object)
    hourly = validate_hourly(make_hourly("2012-01-31", 2, temp=temp, dewp=dewp, pres=pres,
                                         wind_speed=speed, wind_dir=wind_dir, rain=rain), "t")
    daily = to_daily(hourly)
    assert daily["temp_mean"].tolist() == pytest.approx([-2.0, 21.5])
    assert daily["dewp_mean"].tolist() == pytest.approx([-10.0, 5.0])
    assert daily["pres_mean"].tolist() == pytest.approx([1030.0, 1010.0])
    assert daily["wind_speed_max"].tolist() == pytest.approx([7.5, 4.0])
    assert daily["wind_speed_mean"].tolist() == pytest.approx([(23 + 7.5) / 24, (46 + 4) / 24])
    assert daily["rain_total"].tolist() == pytest.approx([0.0, 3.75])
    assert "snow_total" not in daily.columns
    fractions = daily[list(WIND_FRACTION_COLUMNS)]
    day0 = dict(zip(WIND_FRACTION_COLUMNS, fractions.iloc[0], strict=True))
    assert day0["wind_frac_NW"] == pytest.approx(12 / 22)   # over the 22 known hours
    assert day0["wind_frac_N"] == pytest.approx(6 / 22)
    assert day0["wind_frac_calm"] == pytest.approx(4 / 22)
    assert day0["wind_frac_SE"] == 0.0
    assert fractions.iloc[0].sum() == pytest.approx(1.0)
    assert fractions.iloc[1]["wind_frac_SE"] == 1.0
    assert fractions.iloc[1].sum() == pytest.approx(1.0)


def test_missing_hours_inside_a_day_are_completed(make_hourly):
    full = make_hourly("2013-07-01", 3, pm25=lambda d, h: 100.0 * d + h, temp=20.0, rain=1.0)
    # day 0: rows for 18 hours only (6 absent); day 1: rows for 17 hours; day 2: all
    drop = list(range(3, 9)) + list(range(24 + 10, 24 + 17))
    hourly = full.drop(index=drop).reset_index(drop=True)
    grid = complete_hours(hourly)
    assert len(grid) == 72
    assert list(grid["time"]) == list(pd.date_range("2013-07-01", periods=72, freq="h"))
    assert grid["pm25"].isna().sum() == 13 and set(grid["station"]) == {"S1"}

    daily = to_daily(hourly)
    assert daily["pm25_hours"].tolist() == [18, 17, 24]
    assert daily["valid"].tolist() == [True, False, True]
    kept0 = [h for h in range(24) if h not in range(3, 9)]
    assert daily["daily_mean_pm25"].iloc[0] == pytest.approx(np.mean(kept0))
    assert np.isnan(daily["daily_mean_pm25"].iloc[1])
    assert daily["daily_mean_pm25"].iloc[2] == pytest.approx(211.5)
    assert daily["rain_total"].tolist() == pytest.approx([18.0, 17.0, 24.0])


def test_a_complete_frame_is_its_own_grid(make_hourly):
    a = make_hourly("2013-07-01", 2, station="A", temp=1.0)
    b = make_hourly("2013-07-02", 3, station="B", temp=2.0)
    hourly = validate_hourly(pd.concat([b, a]), "t")
    grid = complete_hours(hourly)
    assert list(grid.columns) == ["time", "station", "pm25", "temp"]
    assert grid["station"].tolist() == ["A"] * 48 + ["B"] * 72
    assert np.shares_memory(grid["pm25"].to_numpy(), hourly["pm25"].to_numpy())   # no copy
    # the same rows in another order are reindexed into the same grid
    shuffled = hourly.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(complete_hours(shuffled), grid)
    gap = complete_hours(hourly.drop(index=[5, 60]))
    assert len(gap) == len(grid) and gap["pm25"].isna().sum() == 2
    pd.testing.assert_frame_equal(gap[["time", "station"]], grid[["time", "station"]])


def test_days_missing_entirely_and_stations_kept_apart(make_hourly):
    a = make_hourly("2013-07-01", 4, station="B")
    a = a[(a["time"] < "2013-07-02") | (a["time"] >= "2013-07-04")]   # 2 days without rows
    b = make_hourly("2013-07-02", 2, station="A", pm25=5.0)
    hourly = validate_hourly(pd.concat([a, b]), "t")
    daily = to_daily(hourly)
    assert daily["station"].tolist() == ["A", "A", "B", "B", "B", "B"]
    assert daily["pm25_hours"].tolist() == [24, 24, 24, 0, 0, 24]
    assert daily["valid"].tolist() == [True, True, True, False, False, True]
    assert daily["daily_mean_pm25"].iloc[0] == 5.0
    assert daily["daily_mean_pm25"].iloc[5] == pytest.approx(10 * 3 + 11.5)
    summary = summarise(hourly, daily)
    assert summary["stations"] == ["A", "B"]
    assert summary["days"] == 6 and summary["valid_days"] == 4
    assert summary["hourly_rows"] == 48 + 48
    assert summary["start"] == "2013-07-01 00:00" and summary["end"] == "2013-07-04 23:00"
    # B's two days without rows are missing hours too; A's days before its first are not
    assert summary["hours_without_row"] == 48 and summary["missing_pm25"] == 0
    # a station that starts and ends mid-day has no gap
    late = validate_hourly(make_hourly("2013-07-01", 3, station="C").iloc[13:-6], "t")
    assert summarise(late, to_daily(late))["hours_without_row"] == 0
    assert summary["station_periods"] == {"A": ["2013-07-02 00:00", "2013-07-03 23:00"],
                                          "B": ["2013-07-01 00:00", "2013-07-04 23:00"]}


def test_synthetic_daily_matches_a_plain_pandas_computation(small_hourly):
    daily = to_daily(small_hourly)
    series = small_hourly.set_index("time")["pm25"]
    counts = series.resample("D").count()
    means = series.resample("D").mean().where(counts >= 18)
    assert len(daily) == 120
    np.testing.assert_allclose(daily["daily_mean_pm25"].to_numpy(), means.to_numpy())
    assert daily["valid"].sum() == (counts >= 18).sum()
