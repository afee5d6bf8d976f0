"""Neighbouring-station features: hand-checked values, the upwind direction, no leakage,
and station coordinates from the data card, the synthetic generator and a CSV's table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import HAND_SPLITS, SMALL_SPLITS, perturb_after

from forecast import sources
from forecast.config import load_config
from forecast.coordinates import MULTISITE_COORDINATES, check_coordinates, require_coordinates
from forecast.daily import to_daily
from forecast.errors import DataError
from forecast.schema import validate_hourly
from forecast.synthetic import generate_hourly, station_coordinates
from forecast.task import (
    REGION_FEATURES,
    UPWIND_FEATURE,
    build_task,
    neighbour_features,
    upwind_weights,
)

NEIGHBOUR_COLUMNS = REGION_FEATURES + (UPWIND_FEATURE,)

# A at the origin, B 0.1° (11.1 km) due north of it, C 0.1° (8.5 km) due east of it
PLACES = {"A": (39.9, 116.4), "B": (40.0, 116.4), "C": (39.9, 116.5)}
OFFSETS = {"A": 0.0, "B": 100.0, "C": 50.0}
KM_PER_DEGREE = 6371.0 * math.pi / 180.0
D_AB = 0.1 * KM_PER_DEGREE
D_AC = 0.1 * KM_PER_DEGREE * math.cos(math.radians(39.9))


def build(hourly: pd.DataFrame, **kwargs):
    hourly = validate_hourly(hourly, "test")
    kwargs.setdefault("dataset", "csv")
    return build_task(hourly, to_daily(hourly), **kwargs)


def feature(task, name: str, station: str) -> pd.Series:
    keep = (task.rows["station"] == station).to_numpy()
    values = task.X[keep, task.feature_names.index(name)].astype(float)
    return pd.Series(values, index=pd.DatetimeIndex(task.rows.loc[keep, "issue_day"]))


def day(i: int) -> pd.Timestamp:
    return pd.Timestamp("2010-01-01") + pd.Timedelta(days=i)


def three_stations(make_hourly, wind_dir="N", wind_speed=3.0, gap=True):
    """40 days of A, B, C: PM2.5 = offset + 10 * day + hour (daily mean offset + 10 d +
    11.5, evening mean offset + 10 d + 20.5); C misses day 20 entirely when ``gap``."""
    frames = []
    for name, offset in OFFSETS.items():
        def pm25(d, h, o=offset, skip=(gap and name == "C")):
            return np.where(skip & (d == 20), np.nan, o + 10.0 * d + h)
        frames.append(make_hourly("2010-01-01", 40, station=name, pm25=pm25,
                                  wind_speed=wind_speed, wind_dir=wind_dir))
    return pd.concat(frames, ignore_index=True)


def daily_mean(station: str, d: int) -> float:
    return OFFSETS[station] + 10.0 * d + 11.5


def evening_mean(station: str, d: int) -> float:
    return OFFSETS[station] + 10.0 * d + 20.5


# ---------------------------------------------------------------- values by hand


def test_regional_mean_max_and_evening_leave_the_station_out(make_hourly):
    task = build(three_stations(make_hourly), coordinates=PLACES, **HAND_SPLITS)
    assert set(NEIGHBOUR_COLUMNS) <= set(task.feature_names)
    assert task.omitted_features == {}
    d = 18
    for station, others in (("A", "BC"), ("B", "AC"), ("C", "AB")):
        assert feature(task, "region_pm25_mean", station)[day(d)] == pytest.approx(
            np.mean([daily_mean(o, d) for o in others]), abs=1e-3)
        assert feature(task, "region_pm25_max", station)[day(d)] == pytest.approx(
            max(daily_mean(o, d) for o in others), abs=1e-3)
        assert feature(task, "region_pm25_evening_mean", station)[day(d)] == pytest.approx(
            np.mean([evening_mean(o, d) for o in others]), abs=1e-3)
    # day 20: C has no data; A's region is B alone, C's own region is still A and B
    assert feature(task, "region_pm25_mean", "A")[day(20)] == pytest.approx(daily_mean("B", 20))
    assert feature(task, "region_pm25_max", "B")[day(20)] == pytest.approx(daily_mean("A", 20))
    assert feature(task, "region_pm25_evening_mean", "A")[day(20)] == pytest.approx(
        evening_mean("B", 20))
    assert feature(task, "region_pm25_mean", "C")[day(20)] == pytest.approx(
        (daily_mean("A", 20) + daily_mean("B", 20)) / 2)


def test_upwind_by_hand_wind_from_the_north(make_hourly):
    """Wind from N: A's upwind neighbour is B (due north; C due east is across the wind),
    C's is B (north-west of it); B has nobody upwind and falls back to the plain mean."""
    task = build(three_stations(make_hourly, wind_dir="N"), coordinates=PLACES, **HAND_SPLITS)
    d = 18
    assert feature(task, UPWIND_FEATURE, "A")[day(d)] == pytest.approx(evening_mean("B", d))
    assert feature(task, UPWIND_FEATURE, "C")[day(d)] == pytest.approx(evening_mean("B", d))
    assert feature(task, UPWIND_FEATURE, "B")[day(d)] == pytest.approx(
        (evening_mean("A", d) + evening_mean("C", d)) / 2)


def test_upwind_by_hand_wind_from_the_north_east(make_hourly):
    """Wind from NE at A: B and C both lie 45° off the wind, so w = cos 45° / d and the
    nearer C counts more: (E_B / d_AB + E_C / d_AC) / (1 / d_AB + 1 / d_AC)."""
    task = build(three_stations(make_hourly, wind_dir="NE"), coordinates=PLACES, **HAND_SPLITS)
    d = 18
    expected = ((evening_mean("B", d) / D_AB + evening_mean("C", d) / D_AC)
                / (1 / D_AB + 1 / D_AC))
    assert feature(task, UPWIND_FEATURE, "A")[day(d)] == pytest.approx(expected, abs=1e-3)
    # on day 20 C has no evening value: B alone
    assert feature(task, UPWIND_FEATURE, "A")[day(20)] == pytest.approx(evening_mean("B", 20))


def test_calm_days_fall_back_to_the_plain_mean(make_hourly):
    task = build(three_stations(make_hourly, wind_dir="N", wind_speed=0.2), coordinates=PLACES,
                 **HAND_SPLITS)
    assert np.allclose(feature(task, UPWIND_FEATURE, "A"),
                       feature(task, "region_pm25_evening_mean", "A"))


def test_upwind_weights_point_to_where_the_wind_comes_from():
    east, north = np.array([0.0, 10.0, 0.0, -10.0]), np.array([10.0, 0.0, -10.0, 0.0])
    # wind *from* the north blows to the south: v < 0
    weights = upwind_weights(np.array([0.0]), np.array([-4.0]), east, north)[0]
    np.testing.assert_allclose(weights, [0.1, 0.0, 0.0, 0.0])
    # from the west (u > 0): the western neighbour alone
    weights = upwind_weights(np.array([4.0]), np.array([0.0]), east, north)[0]
    np.testing.assert_allclose(weights, [0.0, 0.0, 0.0, 0.1])
    # calm or unknown wind: no weight anywhere
    assert not upwind_weights(np.array([0.1, np.nan]), np.array([0.1, np.nan]),
                              east, north).any()


def test_an_upwind_neighbour_dominates():
    """One polluted neighbour upwind, four clean ones around: the upwind feature follows
    the polluted one when the wind comes from it, and ignores it when it blows the other
    way, while the plain regional mean cannot tell the difference."""
    # station 0 at the centre, neighbours 20 km N, E, S, W of it and one polluted 10 km N
    east = np.array([[0.0, 0.0, 20.0, 0.0, -20.0, 0.0]])
    north = np.array([[0.0, 20.0, 0.0, -20.0, 0.0, 10.0]])
    offsets = (np.vstack([east, east - east.T[1:]]), np.vstack([north, north - north.T[1:]]))
    evening = np.array([[30.0, 20.0, 20.0, 20.0, 20.0, 300.0]] * 2)
    # day 0: wind from the north (v < 0); day 1: wind from the south (v > 0)
    wind_u = np.zeros((2, 6))
    wind_v = np.array([[-3.0] * 6, [3.0] * 6])
    out = neighbour_features(evening, evening, wind_u, wind_v, offsets)
    plain = out["region_pm25_evening_mean"][:, 0]
    np.testing.assert_allclose(plain, [(4 * 20.0 + 300.0) / 5] * 2)
    upwind = out[UPWIND_FEATURE][:, 0]
    assert upwind[0] == pytest.approx((20.0 / 20 + 300.0 / 10) / (1 / 20 + 1 / 10))
    assert upwind[0] > 200.0 > plain[0]
    assert upwind[1] == pytest.approx(20.0)


# ---------------------------------------------------------------- what is built when


def test_one_station_has_no_region_columns(make_hourly, small_hourly):
    for hourly, splits in ((small_hourly, SMALL_SPLITS),
                           (make_hourly("2010-01-01", 40, wind_speed=3.0, wind_dir="N"),
                            HAND_SPLITS)):
        alone = build(hourly, **splits)
        placed = build(hourly, coordinates={hourly["station"].iloc[0]: (39.9, 116.4)}, **splits)
        assert not set(NEIGHBOUR_COLUMNS) & set(alone.feature_names)
        assert alone.omitted_features == {}
        assert placed.feature_names == alone.feature_names
        np.testing.assert_array_equal(placed.X, alone.X)


def test_without_coordinates_or_wind_the_upwind_feature_is_omitted(make_hourly):
    plain = build(three_stations(make_hourly), **HAND_SPLITS)
    assert set(REGION_FEATURES) <= set(plain.feature_names)
    assert UPWIND_FEATURE not in plain.feature_names
    assert plain.omitted_features == {UPWIND_FEATURE: "no station coordinates"}
    partial = build(three_stations(make_hourly), coordinates={"A": PLACES["A"]}, **HAND_SPLITS)
    assert partial.omitted_features == {UPWIND_FEATURE: "no coordinates for B, C"}
    windless = pd.concat([make_hourly("2010-01-01", 40, station=s) for s in "AB"])
    task = build(windless, coordinates=PLACES, **HAND_SPLITS)
    assert task.omitted_features == {UPWIND_FEATURE: "no wind data"}
    assert set(REGION_FEATURES) <= set(task.feature_names)


def test_the_other_columns_of_a_station_do_not_depend_on_its_neighbours(make_hourly):
    hourly = three_stations(make_hourly)
    task = build(hourly, coordinates=PLACES, **HAND_SPLITS)
    alone = build(hourly[hourly["station"] == "B"], **HAND_SPLITS)
    own = [task.feature_names.index(n) for n in alone.feature_names]
    rows = (task.rows["station"] == "B").to_numpy()
    np.testing.assert_array_equal(task.X[rows][:, own], alone.X)


def test_stations_with_different_periods_are_aligned_by_date(make_hourly):
    early = make_hourly("2010-01-01", 40, station="A", pm25=lambda d, h: 10.0 * d + h)
    late = make_hourly("2010-01-11", 40, station="B", pm25=lambda d, h: 1000.0 + 0 * d + h)
    task = build(pd.concat([early, late]), **HAND_SPLITS)
    region_a = feature(task, "region_pm25_mean", "A")
    assert region_a[day(13)] == pytest.approx(1011.5)  # B's first days start on day 10
    region_b = feature(task, "region_pm25_mean", "B")
    assert region_b[day(30)] == pytest.approx(10.0 * 30 + 11.5)
    assert np.isnan(region_b[day(45)])  # A's data ended on day 39


# ---------------------------------------------------------------- leakage


D0 = pd.Timestamp("2010-03-10")
T_END = D0 + pd.Timedelta(hours=23)


def _perturb_after(hourly: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """Every value of every column of every station at hours strictly after ``t``."""
    return perturb_after(hourly, t)


@pytest.fixture(scope="module")
def three_synthetic() -> pd.DataFrame:
    return generate_hourly(seed=11, n_stations=3, start="2010-01-01", end="2010-04-30")


@pytest.mark.parametrize("mode", ["observed", "forecast"])
def test_neighbour_features_use_nothing_after_the_issue_time(three_synthetic, mode):
    kwargs = dict(mode=mode, coordinates=station_coordinates(3), **SMALL_SPLITS)
    base = build(three_synthetic, **kwargs)
    moved = build(_perturb_after(three_synthetic, T_END), **kwargs)
    assert base.feature_names == moved.feature_names
    columns = [base.feature_names.index(n) for n in NEIGHBOUR_COLUMNS]
    assert not any(base.feature_names[c].startswith("forecast_") for c in columns)
    issue = pd.DatetimeIndex(base.rows["issue_day"])
    past = (issue <= D0)
    assert (issue == D0).sum() == 3
    np.testing.assert_array_equal(base.X[past][:, columns], moved.X[past][:, columns])
    non_forecast = [i for i, n in enumerate(base.feature_names) if not n.startswith("forecast_")]
    np.testing.assert_array_equal(base.X[past][:, non_forecast], moved.X[past][:, non_forecast])
    # sanity: the perturbation does reach the neighbour features of later days
    later = issue > D0
    for column in columns:
        assert not np.array_equal(base.X[later][:, column], moved.X[later][:, column],
                                  equal_nan=True)


def test_a_neighbours_last_hour_of_the_issue_day_reaches_the_station(three_synthetic):
    kwargs = dict(coordinates=station_coordinates(3), **SMALL_SPLITS)
    base = build(three_synthetic, **kwargs)
    changed = three_synthetic.copy()
    at = ((changed["station"] == "synthetic-2") & (changed["time"] == T_END)).to_numpy()
    pm = changed["pm25"].to_numpy(copy=True)
    pm[at] = 1500.0
    changed["pm25"] = pm
    moved = build(changed, **kwargs)
    row = ((base.rows["issue_day"] == D0) & (base.rows["station"] == "synthetic-1")).to_numpy()
    name = "region_pm25_evening_mean"
    assert moved.X[row, moved.feature_names.index(name)][0] > \
        base.X[row, base.feature_names.index(name)][0] + 50.0


# ---------------------------------------------------------------- coordinates


def test_the_multisite_data_card_places_all_twelve_stations():
    assert sorted(MULTISITE_COORDINATES) == sorted(sources.MULTISITE_SHA256)
    for lat, lon in MULTISITE_COORDINATES.values():
        assert 39.8 < lat < 40.4 and 116.1 < lon < 116.7  # Beijing
    check_coordinates({k: list(v) for k, v in MULTISITE_COORDINATES.items()})


def test_synthetic_stations_have_distinct_coordinates():
    places = station_coordinates(5)
    assert sorted(places) == [f"synthetic-{i}" for i in range(1, 6)]
    assert len(set(places.values())) == 5
    loaded = sources.load("synthetic", synthetic={"n_stations": 2, "start": "2010-01-01",
                                                  "end": "2010-02-28"})
    assert set(loaded.coordinates) == set(loaded.hourly["station"])


@pytest.mark.parametrize("table, needle", [
    ({"A": [39.9]}, "A must be \\[latitude, longitude\\]"),
    ({"A": "39.9, 116.4"}, "A must be \\[latitude, longitude\\]"),
    ({"A": [39.9, True]}, "A must be"),
    ({"A": [116.4, 39.9]}, "latitude must be in"),
    ({"A": [39.9, 116.4], "B": [39.9, 116.4]}, "same place"),
])
def test_bad_coordinates_are_one_clear_error(table, needle):
    with pytest.raises(DataError, match=needle) as info:
        load_config(None, {"data": {"coordinates": table}})
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("[data.coordinates]")


def test_coordinates_table_in_a_config_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[data.coordinates]\n"Site A" = [39.9, 116.4]\nB = [40, 116]\n')
    config = load_config(path)
    assert config["data"]["coordinates"] == {"Site A": [39.9, 116.4], "B": [40, 116]}
    with pytest.raises(DataError, match="must be a table"):
        load_config(None, {"data": {"coordinates": [39.9, 116.4]}})


def test_csv_coordinates_reach_the_task(tmp_path, make_hourly):
    frames = three_stations(make_hourly, gap=False)
    csv = tmp_path / "sites.csv"
    frames.rename(columns={"pm25": "PM", "wind_speed": "WS", "wind_dir": "WD"}).to_csv(
        csv, index=False)
    spec = {"path": str(csv), "station_column": "station", "time_column": "time",
            "columns": {"pm25": "PM", "wind_speed": "WS", "wind_dir": "WD"},
            "coordinates": {k: list(v) for k, v in PLACES.items()}}
    loaded = sources.load_csv(spec)
    assert loaded.coordinates == PLACES
    from forecast.pipeline import load_data, make_task

    config = load_config(None, {"data": {"dataset": "csv", **spec},
                                "split": HAND_SPLITS})
    loaded, daily = load_data(config)
    task = make_task(loaded, daily, config)
    assert UPWIND_FEATURE in task.feature_names
    with pytest.raises(DataError, match="Z is not a station of"):
        sources.load_csv({**spec, "coordinates": {"Z": [39.9, 116.4]}})
    with pytest.raises(DataError, match="no entry for station\\(s\\) C"):
        require_coordinates({"A": PLACES["A"], "B": PLACES["B"]}, ["A", "B", "C"])
    config["data"]["coordinates"] = {"A": [39.9, 116.4]}
    with pytest.raises(DataError, match="no entry for station\\(s\\) B, C"):
        load_data(config)
