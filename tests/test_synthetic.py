"""The synthetic generator: schema, determinism and Beijing-like behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.schema import CALM, COMPASS_16, WIND_DIR_DTYPE, validate_hourly
from forecast.synthetic import SYNTHETIC_PREFIX, generate_hourly

START, END = "2013-01-01", "2013-12-31"
N_DAYS = 365
NORTHERLY = ("N", "NNW", "NW")


@pytest.fixture(scope="module")
def one() -> pd.DataFrame:
    return generate_hourly(seed=7, start=START, end=END)


@pytest.fixture(scope="module")
def two() -> pd.DataFrame:
    return generate_hourly(seed=3, n_stations=2, start=START, end=END)


def _indexed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("time")


def _daily_mean(frame: pd.DataFrame) -> pd.Series:
    return _indexed(frame)["pm25"].resample("D").mean()


def test_schema_and_attrs(one):
    again = validate_hourly(one, "again")
    pd.testing.assert_frame_equal(again, one)
    assert list(one.columns) == ["station", "time", "pm25", "temp", "dewp", "pres",
                                 "wind_speed", "wind_dir", "rain", "snow"]
    assert set(one["station"]) == {f"{SYNTHETIC_PREFIX}1"}
    assert one.attrs["synthetic"] is True
    assert one.attrs["source"] == "synthetic (seed 7)"
    assert set(one["wind_dir"].dropna()) <= set(COMPASS_16) | {CALM}


def test_many_stations_in_name_order_without_copies():
    frame = generate_hourly(seed=2, n_stations=12, start=START, end="2013-01-10")
    names = [f"{SYNTHETIC_PREFIX}{i}" for i in range(1, 13)]
    assert list(frame["station"].cat.categories) == sorted(names)    # "-10" before "-2"
    assert frame["station"].drop_duplicates().tolist() == sorted(names)
    assert frame["wind_dir"].dtype == WIND_DIR_DTYPE
    # the generator's frame is already canonical: validating it again copies nothing
    again = validate_hourly(frame, "again")
    pd.testing.assert_frame_equal(again, frame)
    for column in ("time", "pm25", "temp", "wind_speed", "snow"):
        assert np.shares_memory(again[column].to_numpy(), frame[column].to_numpy()), column


def test_every_hour_of_every_day(two):
    expected = pd.date_range(START, f"{END} 23:00", freq="h")
    assert len(expected) == 24 * N_DAYS
    assert sorted(two["station"].unique()) == [f"{SYNTHETIC_PREFIX}1", f"{SYNTHETIC_PREFIX}2"]
    for _, group in two.groupby("station"):
        assert (group["time"].to_numpy() == expected.to_numpy()).all()


def test_deterministic_by_seed():
    kwargs = dict(start="2012-01-01", end="2012-03-31", n_stations=2)
    first, again = generate_hourly(seed=11, **kwargs), generate_hourly(seed=11, **kwargs)
    pd.testing.assert_frame_equal(first, again)
    other = generate_hourly(seed=12, **kwargs)
    assert not np.allclose(first["pm25"].fillna(-1), other["pm25"].fillna(-1))
    assert not np.allclose(first["temp"].fillna(-99), other["temp"].fillna(-99))


def test_physical_ranges(one):
    pm = one["pm25"].dropna()
    assert pm.min() > 0 and pm.max() < 1500
    assert 40 < pm.mean() < 200 and pm.median() < pm.mean()   # long right tail
    weather = one.dropna(subset=["temp"])
    assert (weather["dewp"] <= weather["temp"]).all()
    assert weather["temp"].between(-30, 45).all()
    assert weather["pres"].between(980, 1050).all()
    assert weather["wind_speed"].between(0, 13).all()
    assert (weather["rain"] >= 0).all() and set(weather["snow"]) <= {0.0, 1.0}
    assert (weather.loc[weather["snow"] == 1, "rain"] == 0).all()
    calm = weather["wind_dir"] == CALM
    assert calm.any() and (weather.loc[calm, "wind_speed"] < 1).all()
    assert weather["rain"].sum() > 100                     # a wet summer


def test_seasonal_cycles(one):
    frame = _indexed(one)
    month = frame.index.month
    winter, summer = month.isin([12, 1, 2]), month.isin([6, 7, 8])
    assert frame["temp"][winter].mean() < 2 < 20 < frame["temp"][summer].mean()
    assert frame["dewp"][winter].mean() < frame["dewp"][summer].mean() - 15
    assert frame["pres"][winter].mean() > frame["pres"][summer].mean() + 10
    daily = _daily_mean(one)
    djf = daily[daily.index.month.isin([12, 1, 2])].mean()
    jja = daily[daily.index.month.isin([6, 7, 8])].mean()
    assert djf > 1.2 * jja


def test_evening_rise(one):
    by_hour = _indexed(one)["pm25"].groupby(lambda t: t.hour).mean()
    assert by_hour[22] > 1.1 * by_hour[15]


def test_northerly_wind_clears_and_calm_accumulates(one):
    frame = _indexed(one)
    pm = frame["pm25"]
    # Mean PM2.5 over the next 6 hours after a strong northerly hour vs a calm hour.
    ahead = pm[::-1].rolling(6, min_periods=3).mean()[::-1].shift(-1)
    strong = (frame["wind_speed"] >= 5) & frame["wind_dir"].isin(NORTHERLY)
    calm = frame["wind_dir"] == CALM
    assert strong.sum() > 100 and calm.sum() > 100
    assert ahead[strong].mean() < 0.5 * ahead[calm].mean()
    # Days whose wind reaches 5 m/s from the north are cleaner than days that stay weak.
    day_max = frame["wind_speed"].resample("D").max()
    northerly_day = strong.astype(float).resample("D").max() > 0
    weak_day = day_max < 2.5
    daily = _daily_mean(one)
    assert daily[northerly_day].mean() < 0.5 * daily[weak_day].mean()
    # Within weak-wind spells PM2.5 grows from one day to the next.
    spell = weak_day & weak_day.shift(1, fill_value=False)
    assert (daily / daily.shift(1))[spell].median() > 1.05


def test_daily_persistence_and_evening_information(one):
    daily = _daily_mean(one)
    assert daily.autocorr(1) > 0.3
    late = _indexed(one)["pm25"].at_time("23:00")
    late.index = late.index.normalize()
    tomorrow = daily.shift(-1)
    assert late.corr(tomorrow) > daily.shift(2).corr(tomorrow)
    assert late.corr(tomorrow) > daily.corr(tomorrow)


def test_missing_fraction_and_gaps(one):
    assert abs(one["pm25"].isna().mean() - 0.04) < 0.005
    missing = one["pm25"].isna().to_numpy().astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], missing, [0]])))
    runs = edges[1::2] - edges[::2]
    assert runs.max() >= 24                  # at least one multi-day gap
    assert (runs == 1).sum() >= 20           # and isolated missing hours
    assert one["temp"].isna().mean() < one["pm25"].isna().mean()
    clean = generate_hourly(seed=7, start="2013-01-01", end="2013-01-31", missing_fraction=0.0)
    assert not clean.isna().any().any()
    heavy = generate_hourly(seed=7, start=START, end=END, missing_fraction=0.2)
    assert abs(heavy["pm25"].isna().mean() - 0.2) < 0.01


def test_stations_share_regional_weather(two):
    wide = two.pivot(index="time", columns="station", values="pm25").resample("D").mean()
    assert wide.corr().iloc[0, 1] > 0.7
    assert not np.allclose(wide.iloc[:, 0].fillna(0), wide.iloc[:, 1].fillna(0))
    temp = two.pivot(index="time", columns="station", values="temp")
    assert temp.corr().iloc[0, 1] > 0.9


@pytest.mark.parametrize("kwargs", [
    dict(n_stations=0),
    dict(missing_fraction=-0.1),
    dict(missing_fraction=0.6),
    dict(start="2013-02-01", end="2013-01-01"),
])
def test_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        generate_hourly(**kwargs)
