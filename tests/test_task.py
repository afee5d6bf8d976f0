"""DailyFrame → ForecastTask: no leakage, hand-computed features, target and splits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import HAND_SPLITS, SMALL_SPLITS, reverse_wind

from forecast.daily import to_daily
from forecast.errors import DataError
from forecast.schema import validate_hourly
from forecast.synthetic import generate_hourly
from forecast.task import (
    SEQUENCE_FEATURES,
    build_task,
    calendar_features,
    in_season,
    train_statistics,
)


def build(hourly: pd.DataFrame, **kwargs):
    hourly = validate_hourly(hourly, "test")
    kwargs.setdefault("dataset", "csv")
    return build_task(hourly, to_daily(hourly), **kwargs)


def feature(task, name: str, station: str | None = None) -> pd.Series:
    """One feature as a Series indexed by issue day."""
    rows = task.rows
    keep = (np.ones(len(rows), dtype=bool) if station is None
            else (rows["station"] == station).to_numpy())
    values = task.X[keep, task.feature_names.index(name)].astype(float)
    return pd.Series(values, index=pd.DatetimeIndex(rows.loc[keep, "issue_day"]))


def day(i: int, start: str = "2010-01-01") -> pd.Timestamp:
    return pd.Timestamp(start) + pd.Timedelta(days=i)


def mean_of(d: int) -> float:
    """Daily mean of the default hand series 10 * day + hour."""
    return 10.0 * d + 11.5


# ---------------------------------------------------------------- leakage


D0 = pd.Timestamp("2010-03-10")
T_END = D0 + pd.Timedelta(hours=23)          # the issue time: the end of day D0


def _perturb_after(hourly: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """Change every value of every column at hours strictly after ``t``."""
    out = hourly.copy()
    late = (out["time"] > t).to_numpy()
    rng = np.random.default_rng(1)
    pm = out["pm25"].to_numpy().copy()
    pm[late] = pm[late] * 1.7 + 13.0
    late_index = np.flatnonzero(late)
    pm[rng.choice(late_index, 100, replace=False)] = np.nan                  # new gaps
    refill = late_index[np.isnan(out["pm25"].to_numpy()[late_index])]
    pm[refill] = 500.0                                                       # gaps filled
    out["pm25"] = pm
    for column, change in (("temp", lambda v: v + 5.0), ("dewp", lambda v: v - 3.0),
                           ("pres", lambda v: v + 7.0),
                           # flips every hour between windy (≥ 3 m/s) and not, calm and not
                           ("wind_speed", lambda v: np.where(v >= 3.0, v / 10.0, v + 3.5)),
                           ("rain", lambda v: v + 1.0), ("snow", lambda v: 1.0 - v)):
        values = out[column].to_numpy().copy()
        values[late] = change(values[late])
        out[column] = values
    reverse_wind(out, late)
    assert (out.loc[late, "temp"] != hourly.loc[late, "temp"]).any()
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("mode, weather_step, weather_error", [
    ("observed", 1, 0.0), ("forecast", 1, 0.0), ("forecast", 3, 0.0), ("forecast", 3, 1.0)])
def test_no_information_after_the_issue_time_leaks(small_hourly, mode, weather_step,
                                                   weather_error):
    kwargs = dict(mode=mode, hourly_hours=72, weather_step=weather_step,
                  weather_error=weather_error, target_hours=mode == "forecast",
                  **SMALL_SPLITS)
    base = build(small_hourly, **kwargs)
    moved = build(_perturb_after(small_hourly, T_END), **kwargs)
    assert base.feature_names == moved.feature_names
    pd.testing.assert_frame_equal(base.rows.drop(columns="y"), moved.rows.drop(columns="y"))

    issue = pd.DatetimeIndex(base.rows["issue_day"])
    past, at_d0 = (issue <= D0), (issue == D0)
    assert at_d0.sum() == 1 and past.sum() > 50
    forecast_cols = np.array([n.startswith("forecast_") for n in base.feature_names])
    assert forecast_cols.any() == (mode == "forecast")

    # rows issued before D0: every column unchanged
    before = issue < D0
    assert _same(base.X[before], moved.X[before])
    # the row issued at the end of D0: only the stand-in forecast of D0+1 may move
    assert _same(base.X[at_d0][:, ~forecast_cols], moved.X[at_d0][:, ~forecast_cols])
    if mode == "forecast":
        assert not _same(base.X[at_d0][:, forecast_cols], moved.X[at_d0][:, forecast_cols])
    # sequence inputs (daily and hourly) of every row issued up to D0; in forecast mode
    # the hourly window of D0's row runs on through D0 + 1, whose weather may move
    assert _same(base.sequence[past], moved.sequence[past])
    assert _same(base.hourly[before], moved.hourly[before])
    known = base.hourly.shape[1] - (24 if mode == "forecast" else 0)
    assert known == 72
    assert _same(base.hourly[at_d0, :known], moved.hourly[at_d0, :known])
    if mode == "forecast":
        weather = [base.hourly_names.index(n) for n in base.hourly_names if n != "pm25"]
        assert not _same(base.hourly[at_d0][:, known:, weather],
                         moved.hourly[at_d0][:, known:, weather])
        pm25 = base.hourly_names.index("pm25")
        assert np.isnan(base.hourly[:, known:, pm25]).all()
    assert _same(base.persistence[past], moved.persistence[past])
    if mode == "forecast":
        # the target day's hours (hgb_by_hour): the issue time's own row stays put
        assert _same(base.target_hours[before], moved.target_hours[before])
        assert _same(base.target_hours[at_d0, :1], moved.target_hours[at_d0, :1])
        assert not _same(base.target_hours[at_d0, 1:], moved.target_hours[at_d0, 1:])
    # targets known by the end of D0
    target = pd.DatetimeIndex(base.rows["target_day"])
    assert _same(base.y[target <= D0], moved.y[target <= D0])

    # sanity: the perturbation does reach the later rows and targets
    after = issue > D0
    assert not _same(base.X[after], moved.X[after])
    assert not _same(base.sequence[after], moved.sequence[after])
    assert not _same(base.y[target == D0 + pd.Timedelta(days=1)],
                     moved.y[target == D0 + pd.Timedelta(days=1)])


@pytest.mark.parametrize("weather_step, weather_error", [(1, 0.0), (3, 0.0), (6, 0.0),
                                                         (1, 2.0)])
def test_forecast_mode_reads_the_target_day_and_nothing_after_it(small_hourly, weather_step,
                                                                 weather_error):
    # the stand-in forecast of D0 + 1 (every forecast_* column, the quarter-day detail
    # included) must not move when everything after the end of D0 + 1 changes
    kwargs = dict(mode="forecast", weather_step=weather_step, weather_error=weather_error,
                  **SMALL_SPLITS)
    target_end = T_END + pd.Timedelta(days=1)
    base = build(small_hourly, **kwargs)
    moved = build(_perturb_after(small_hourly, target_end), **kwargs)
    issue = pd.DatetimeIndex(base.rows["issue_day"])
    upto = issue <= D0
    assert _same(base.X[upto], moved.X[upto])
    # the hourly window too, which runs to the end of the target day
    hourly = dict(kwargs, hourly_hours=48)
    assert _same(build(small_hourly, **hourly).hourly[upto],
                 build(_perturb_after(small_hourly, target_end), **hourly).hourly[upto])
    by_hour = dict(kwargs, target_hours=True)
    assert _same(build(small_hourly, **by_hour).target_hours[upto],
                 build(_perturb_after(small_hourly, target_end), **by_hour).target_hours[upto])
    # ... and each of them does move when the target day itself changes
    changed = build(_perturb_after(small_hourly, T_END), **kwargs)
    at_d0 = issue == D0
    names = np.array(base.feature_names)
    quarters = [n for n in names if n.startswith("forecast_") and any(
        n.endswith(q) for q in ("_night", "_morning", "_afternoon", "_evening"))]
    assert {"forecast_wind_u_night", "forecast_dewp_morning", "forecast_pres_afternoon",
            "forecast_wind_speed_afternoon", "forecast_calm_hours_night"} <= set(quarters)
    for name in quarters + ["forecast_first_north_wind_hour", "forecast_rain_hours"]:
        column = base.feature_names.index(name)
        # (with errors an hour count may land on the same value either way)
        assert weather_error or not _same(base.X[at_d0, column], changed.X[at_d0, column]), name


def test_a_change_before_the_issue_time_does_reach_the_features(small_hourly):
    base = build(small_hourly, **SMALL_SPLITS)
    changed = small_hourly.copy()
    at_t = (changed["time"] == T_END).to_numpy()
    pm = changed["pm25"].to_numpy().copy()
    pm[at_t] = 999.0
    changed["pm25"] = pm
    temp = changed["temp"].to_numpy().copy()
    temp[(changed["time"] == D0 + pd.Timedelta(hours=12)).to_numpy()] += 24.0
    changed["temp"] = temp
    moved = build(changed, **SMALL_SPLITS)
    row = (base.rows["issue_day"] == D0).to_numpy()
    names = base.feature_names
    assert moved.X[row, names.index("pm25_h23")][0] == pytest.approx(999.0)
    assert base.X[row, names.index("pm25_h23")][0] != pytest.approx(999.0)
    assert moved.X[row, names.index("temp_mean")][0] == pytest.approx(
        base.X[row, names.index("temp_mean")][0] + 1.0, abs=1e-4)
    assert not _same(base.sequence[row], moved.sequence[row])


@pytest.mark.parametrize("mode", ["observed", "forecast"])
def test_hgb_hourly_reads_no_hour_after_the_issue_time(small_hourly, mode):
    """hgb_hourly's hours end at the issue time, in forecast mode too, where the window
    runs on through the target day; fitted once, its forecasts of the days issued up to
    D0 do not move when everything after the end of D0 changes (observed mode: its other
    inputs are day D's; forecast mode's forecast_* columns may move, its hours may not)."""
    from baselines.linear import HGB_GRID, SklearnBaseline

    kwargs = dict(mode=mode, hourly_hours=24, **SMALL_SPLITS)
    base = build(small_hourly, **kwargs)
    moved = build(_perturb_after(small_hourly, T_END), **kwargs)
    upto = np.asarray(pd.DatetimeIndex(base.rows["issue_day"]) <= D0)
    assert _same(base.hours_to_issue(upto, 24), moved.hours_to_issue(upto, 24))
    at_d0 = np.asarray(pd.DatetimeIndex(base.rows["issue_day"]) == D0)
    # the last hour read is 23 h of D0 itself: a change there reaches it
    changed = small_hourly.copy()
    changed.loc[changed["time"] == T_END, "temp"] += 9.0
    assert not _same(base.hours_to_issue(at_d0, 24),
                     build(changed, **kwargs).hours_to_issue(at_d0, 24))
    model = SklearnBaseline("hgb_hourly", grid=(HGB_GRID[0],), transforms=("none",),
                            draws=1).fit(base)
    window = slice(base.X.shape[1], None)   # its inputs after day D's features (1 station)
    np.testing.assert_array_equal(model._day_inputs(base, upto)[:, window],
                                  model._day_inputs(moved, upto)[:, window])
    if mode == "observed":
        np.testing.assert_array_equal(model.predict(base, upto), model.predict(moved, upto))
    else:   # the window itself does hold the target day's (moved) weather
        assert not _same(base.hourly[at_d0], moved.hourly[at_d0])


# ---------------------------------------------------------------- hand-computed features


@pytest.fixture
def hand_task(make_hourly):
    """40 days from 2010-01-01; PM2.5 = 10 * day + hour; days 20, 21, 22 missing entirely."""
    def pm25(d, h):
        return np.where((d >= 20) & (d <= 22), np.nan, 10.0 * d + h)

    return build(make_hourly("2010-01-01", 40, pm25=pm25), **HAND_SPLITS)


def test_rows_start_after_the_warmup_and_target_is_the_next_day(hand_task):
    rows = hand_task.rows
    assert rows["issue_day"].iloc[0] == day(13)               # 14 days of warm-up
    assert rows["issue_day"].iloc[-1] == day(39)
    assert (rows["target_day"] - rows["issue_day"] == pd.Timedelta(days=1)).all()
    y = pd.Series(hand_task.y, index=pd.DatetimeIndex(rows["issue_day"]))
    assert y[day(13)] == pytest.approx(mean_of(14))
    assert y[day(18)] == pytest.approx(mean_of(19))
    assert np.isnan(y[day(19)]) and np.isnan(y[day(21)])       # day 20, 22 invalid
    assert y[day(22)] == pytest.approx(mean_of(23))
    assert np.isnan(y[day(39)])                                # beyond the data
    assert rows["split"].iloc[-1] == "none"


def test_lags(hand_task):
    lag1, lag2, lag7 = (feature(hand_task, f"pm25_lag{k}") for k in (1, 2, 7))
    for d in (13, 15, 19, 30):
        assert lag1[day(d)] == pytest.approx(mean_of(d))
        assert lag2[day(d)] == pytest.approx(mean_of(d - 1))
        assert lag7[day(d)] == pytest.approx(mean_of(d - 6))
    assert "pm25_lag8" not in hand_task.feature_names


def test_gap_filling_is_limited_to_max_fill_days(hand_task):
    lag1, lag2 = feature(hand_task, "pm25_lag1"), feature(hand_task, "pm25_lag2")
    missing = feature(hand_task, "pm25_lag1_missing")
    assert lag1[day(20)] == pytest.approx(mean_of(19))          # filled (1st day)
    assert lag1[day(21)] == pytest.approx(mean_of(19))          # filled (2nd day)
    assert np.isnan(lag1[day(22)])                              # 3rd day: not filled
    assert lag1[day(23)] == pytest.approx(mean_of(23))
    assert np.isnan(lag2[day(23)]) and lag2[day(22)] == pytest.approx(mean_of(19))
    assert missing[day(19)] == 0 and missing[day(20)] == 1 and missing[day(22)] == 1
    assert missing[day(23)] == 0


def test_max_fill_days_zero_fills_nothing(make_hourly):
    def pm(d, h):
        return np.where(d == 20, np.nan, 10.0 * d + h)

    task = build(make_hourly("2010-01-01", 40, pm25=pm), max_fill_days=0, **HAND_SPLITS)
    assert np.isnan(feature(task, "pm25_lag1")[day(20)])
    assert feature(task, "pm25_last_valid")[day(20)] == pytest.approx(mean_of(19))


def test_last_valid_and_days_since_valid(hand_task):
    last, age = feature(hand_task, "pm25_last_valid"), feature(hand_task, "days_since_valid")
    for d, (value, days) in {19: (19, 0), 20: (19, 1), 21: (19, 2), 22: (19, 3),
                             23: (23, 0)}.items():
        assert last[day(d)] == pytest.approx(mean_of(value))
        assert age[day(d)] == days
    np.testing.assert_array_equal(hand_task.persistence, last.to_numpy())


def test_rolling_three_day_statistics(hand_task):
    mean, std, mx = (feature(hand_task, f"pm25_roll3_{s}") for s in ("mean", "std", "max"))
    assert mean[day(15)] == pytest.approx(mean_of(14))          # days 13, 14, 15
    assert std[day(15)] == pytest.approx(10.0)                  # sample std of a-10, a, a+10
    assert mx[day(15)] == pytest.approx(mean_of(15))
    # 19, 20(gap), 21(gap): only day 19 is valid → its mean, std undefined
    assert mean[day(21)] == pytest.approx(mean_of(19)) and np.isnan(std[day(21)])
    assert np.isnan(mean[day(22)]) and np.isnan(mx[day(22)])    # 20, 21, 22 all missing
    assert mean[day(24)] == pytest.approx((mean_of(23) + mean_of(24)) / 2)
    roll7 = feature(hand_task, "pm25_roll7_mean")
    assert roll7[day(16)] == pytest.approx(mean_of(13))         # mean of days 10..16


def test_evening_hours_and_short_hourly_gaps(make_hourly):
    # day 30: hours 20..23 missing → 20, 21, 22 filled from 19 (≤ 3 h), 23 stays missing
    def pm25(d, h):
        return np.where((d == 30) & (h >= 20), np.nan, 10.0 * d + h)

    task = build(make_hourly("2010-01-01", 40, pm25=pm25), **HAND_SPLITS)
    assert feature(task, "pm25_h23")[day(29)] == pytest.approx(10 * 29 + 23)
    assert feature(task, "pm25_h18")[day(29)] == pytest.approx(10 * 29 + 18)
    assert feature(task, "pm25_evening_mean")[day(29)] == pytest.approx(10 * 29 + 20.5)
    assert feature(task, "pm25_evening_rise")[day(29)] == pytest.approx(6.0)
    assert feature(task, "pm25_last_hour")[day(29)] == pytest.approx(10 * 29 + 23)
    for hour in (20, 21, 22):
        assert feature(task, f"pm25_h{hour}")[day(30)] == pytest.approx(319.0)
    assert np.isnan(feature(task, "pm25_h23")[day(30)])
    assert feature(task, "pm25_last_hour")[day(30)] == pytest.approx(319.0)


def test_heating_season_flags_of_the_target_day(make_hourly):
    task = build(make_hourly("2010-10-01", 200), train_end="2010-12-31",
                 val_end="2011-02-28", test_end="2011-04-18")
    heating = feature(task, "heating_season")
    issue = {"2010-11-13": 0, "2010-11-14": 1, "2011-03-14": 1, "2011-03-15": 0,
             "2010-12-31": 1, "2010-10-20": 0}    # target day = issue day + 1
    for text, flag in issue.items():
        assert heating[pd.Timestamp(text)] == flag, text
    direct = calendar_features(pd.DatetimeIndex(["2010-11-14", "2010-11-15", "2011-03-15",
                                                 "2011-03-16"]))
    assert direct["heating_season"].tolist() == [0.0, 1.0, 1.0, 0.0]
    weekday = feature(task, "weekday")
    assert weekday[pd.Timestamp("2010-11-14")] == 0.0          # target: Monday 15 Nov 2010
    holiday = feature(task, "holiday")
    assert holiday[pd.Timestamp("2010-12-31")] == 1.0          # target: New Year's Day


def test_a_season_wraps_the_new_year_when_it_starts_after_it_ends():
    """Both ends inclusive; a season that starts after it ends runs over the new year,
    one whose ends are equal is one day, none is no day; the date counts, not the time
    of day, and 29 February is a day of the leap years only."""
    def flagged(season, texts):
        return in_season(pd.DatetimeIndex(texts), season).tolist()

    winter = ("11-15", "03-15")
    assert flagged(winter, ["2020-11-14", "2020-11-15", "2020-12-31", "2021-01-01",
                            "2021-03-15", "2021-03-16", "2021-07-01"]) == [
        False, True, True, True, True, False, False]
    summer = ["06-01", "08-31"]                      # a list, as the config gives it
    assert flagged(summer, ["2020-05-31", "2020-06-01", "2020-07-15", "2020-08-31",
                            "2020-09-01", "2021-01-01"]) == [
        False, True, True, True, False, False]
    assert flagged(("12-25", "12-25"), ["2019-12-25", "2020-12-24", "2020-12-25",
                                        "2020-12-26"]) == [True, False, True, False]
    assert flagged(winter, ["2020-11-15 23:00", "2020-11-14 23:59"]) == [True, False]
    assert flagged(("02-29", "03-01"), ["2020-02-28", "2020-02-29", "2021-02-28",
                                        "2021-03-01"]) == [False, True, False, True]
    for none in ([], (), None):
        flags = in_season(pd.DatetimeIndex(["2020-01-01", "2020-07-01"]), none)
        assert flags.dtype == bool and not flags.any() and len(flags) == 2
    assert in_season(pd.DatetimeIndex([]), winter).shape == (0,)
    with pytest.raises(DataError, match="no day of the year"):
        in_season(pd.DatetimeIndex(["2020-01-01"]), ("02-30", "03-15"))


def test_the_holidays_are_those_of_the_country_given():
    days = pd.DatetimeIndex(["2020-10-01", "2020-10-03", "2020-12-25", "2020-03-31",
                             "2020-07-01"])

    def holidays_of(code):
        return calendar_features(days, holidays=code)["holiday"].tolist()

    # China's National Day; Germany's Unity Day and Christmas; California's Cesar
    # Chavez Day, not a federal holiday
    assert holidays_of("CN") == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert calendar_features(days)["holiday"].tolist() == holidays_of("CN")   # default
    assert holidays_of("DE") == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert holidays_of("US") == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert holidays_of("US-CA") == [0.0, 0.0, 1.0, 1.0, 0.0]
    assert holidays_of("") == [0.0] * 5
    features = calendar_features(days, heating_season=[])
    assert features["heating_season"].tolist() == [0.0] * 5
    assert calendar_features(days)["heating_season"].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


def test_the_task_takes_its_calendar_from_the_options(make_hourly):
    """Another country's holidays and a summer season flag the target day; with none,
    the two columns are all zeros and no fold's training years inform them, so they are
    dropped for every model; rows issued at other hours get the same calendar."""
    from forecast.task import drop_uninformative

    hourly = make_hourly("2010-05-01", 200)
    splits = dict(train_end="2010-09-30", val_end="2010-10-31", test_end="2010-11-16")
    german = build(hourly, holidays="DE", heating_season=["06-01", "08-31"], **splits)
    chinese = build(hourly, **splits)
    flags = {"2010-05-30": 0, "2010-05-31": 1, "2010-08-30": 1, "2010-08-31": 0}
    for text, flag in flags.items():                   # target day = issue day + 1
        assert feature(german, "heating_season")[pd.Timestamp(text)] == flag, text
    assert feature(chinese, "heating_season")[pd.Timestamp("2010-08-30")] == 0.0
    holiday = {"2010-09-30": (0.0, 1.0),      # 1 October: China's National Day
               "2010-05-23": (1.0, 0.0)}      # 24 May: Whit Monday in Germany
    for text, (in_germany, in_china) in holiday.items():
        assert feature(german, "holiday")[pd.Timestamp(text)] == in_germany, text
        assert feature(chinese, "holiday")[pd.Timestamp(text)] == in_china, text
    same = [n for n in german.feature_names if n not in ("holiday", "heating_season")]
    columns = [german.feature_names.index(n) for n in same]
    np.testing.assert_array_equal(german.X[:, columns], chinese.X[:, columns])

    bare = build(hourly, holidays="", heating_season=[], **splits)
    for name in ("holiday", "heating_season"):
        assert not feature(bare, name).any()
    _, dropped = drop_uninformative(bare)
    assert {"holiday", "heating_season"} <= set(dropped)
    assert not {"holiday", "heating_season"} & set(drop_uninformative(german)[1])

    hours = german.with_issue_hours([11])
    issued = pd.MultiIndex.from_frame(hours.rows[["issue_day", "issue_hour"]])
    for name, text in (("holiday", "2010-05-23"), ("heating_season", "2010-05-31")):
        by_row = pd.Series(hours.X[:, hours.feature_names.index(name)], index=issued)
        at_11, at_23 = by_row.xs(11, level=1), by_row.xs(23, level=1)
        assert by_row[(pd.Timestamp(text), 11)] == 1.0, name
        pd.testing.assert_series_equal(at_11, at_23.reindex(at_11.index))


@pytest.mark.parametrize("direction, sin, cos", [
    ("NW", -math.sqrt(2) / 2, math.sqrt(2) / 2),
    ("E", 1.0, 0.0),
    ("S", 0.0, -1.0),
    ("calm", 0.0, 0.0),
])
def test_wind_direction_sin_cos_is_where_the_wind_blows_from(make_hourly, direction, sin, cos):
    task = build(make_hourly("2010-01-01", 40, wind_speed=2.0, wind_dir=direction),
                 **HAND_SPLITS)
    assert feature(task, "wind_dir_sin").to_numpy() == pytest.approx(sin, abs=1e-6)
    assert feature(task, "wind_dir_cos").to_numpy() == pytest.approx(cos, abs=1e-6)
    if direction == "NW":    # blowing from the NW: towards the east and the south
        assert feature(task, "wind_u_mean").to_numpy() == pytest.approx(math.sqrt(2), abs=1e-5)
        assert feature(task, "wind_v_mean").to_numpy() == pytest.approx(-math.sqrt(2), abs=1e-5)
        assert feature(task, "wind_frac_NW").to_numpy() == pytest.approx(1.0)


def test_hours_since_north_wind_and_calm_hours(make_hourly):
    speed = np.full(40 * 24, 0.5)
    direction = np.full(40 * 24, "S", dtype=object)
    speed[20 * 24 + 5], direction[20 * 24 + 5] = 4.0, "N"       # strong north wind
    speed[22 * 24 + 3], direction[22 * 24 + 3] = 2.0, "NW"      # north but too weak
    speed[25 * 24 + 10], direction[25 * 24 + 10] = 5.0, "S"     # strong but from the south
    task = build(make_hourly("2010-01-01", 40, wind_speed=speed, wind_dir=direction),
                 **HAND_SPLITS)
    north, anyway = feature(task, "hours_since_north_wind"), feature(task, "hours_since_wind")
    assert north[day(19)] == 240.0                              # never (capped)
    assert north[day(20)] == 18.0                               # 05:00 → end of day 23:00
    assert north[day(21)] == 42.0
    assert north[day(25)] == 5 * 24 + 18 and anyway[day(25)] == 13.0
    assert anyway[day(24)] == 4 * 24 + 18
    assert north[day(30)] == 240.0                              # 258 h, capped
    calm = feature(task, "calm_hours")
    assert calm[day(19)] == 24 and calm[day(20)] == 23 and calm[day(22)] == 23


def test_forecast_mode_adds_the_target_days_weather(make_hourly):
    hourly = make_hourly("2010-01-01", 40, temp=lambda d, h: 1.0 * d, pres=1000.0)
    observed = build(hourly, **HAND_SPLITS)
    forecast = build(hourly, mode="forecast", **HAND_SPLITS)
    extra = [n for n in forecast.feature_names if n not in observed.feature_names]
    assert extra and all(n.startswith("forecast_") for n in extra)
    assert forecast.feature_names[:len(observed.feature_names)] == observed.feature_names
    assert forecast.forecast_columns() == extra and observed.forecast_columns() == []
    assert feature(forecast, "temp_mean")[day(20)] == 20.0
    assert feature(forecast, "forecast_temp_mean")[day(20)] == 21.0
    assert feature(forecast, "forecast_temp_change")[day(20)] == 1.0
    assert np.isnan(feature(forecast, "forecast_temp_mean")[day(39)])
    with pytest.raises(DataError, match="mode"):
        build(hourly, mode="perfect", **HAND_SPLITS)


def test_forecast_mode_air_mass_and_temperature_range(make_hourly):
    # day d: temperature d + h/2 °C at hour h (range 11.5 °C), dew point -2d °C, wind
    # from the south in the small hours and from the north in the evening of odd days
    hourly = make_hourly("2010-01-01", 40, temp=lambda d, h: d + 0.5 * h,
                         dewp=lambda d, h: -2.0 * d, pres=lambda d, h: 1000.0 + h / 12,
                         wind_speed=2.0,
                         wind_dir=lambda d, h: np.where((h >= 18) & (d % 2 == 1), "N", "S"))
    forecast = build(hourly, mode="forecast", **HAND_SPLITS)
    observed = build(hourly, **HAND_SPLITS)
    assert feature(forecast, "forecast_temp_range")[day(20)] == 11.5
    assert feature(forecast, "forecast_dewp_change")[day(20)] == -2.0
    assert feature(forecast, "forecast_dewp_trend_12h")[day(20)] == 0.0
    assert feature(forecast, "forecast_pres_trend_12h")[day(20)] == pytest.approx(1.0)
    # the target day (21, odd) has its northerly evening: v = -2 m/s blowing southward
    assert feature(forecast, "forecast_wind_v_evening")[day(20)] == pytest.approx(-2.0)
    assert feature(forecast, "wind_v_evening")[day(20)] == pytest.approx(2.0)
    # day D's own range is not a feature in either mode (it did not validate better)
    assert "temp_range" not in observed.feature_names + forecast.feature_names
    assert not [n for n in observed.feature_names if n.startswith("forecast_")]


def test_forecast_mode_target_day_by_quarters(make_hourly):
    # odd days: a 4 m/s northerly from 15 h (calm before 8 h, 2 m/s southerly otherwise)
    # and rain at 3 and 4 h; even days: 2 m/s southerly all day, no rain. Dew point and
    # pressure rise by the hour.
    odd = lambda d: d % 2 == 1  # noqa: E731
    hourly = make_hourly(
        "2010-01-01", 40, temp=10.0, dewp=lambda d, h: -10.0 + h, pres=lambda d, h: 1000.0 + h,
        wind_speed=lambda d, h: np.where(d == 27, np.nan, np.where(
            odd(d) & (h >= 15), 4.0, np.where(odd(d) & (h < 8), 0.5, 2.0))),
        wind_dir=lambda d, h: np.where(odd(d) & (h >= 15), "N", "S"),
        rain=lambda d, h: np.where(d == 26, np.nan,
                                   np.where(odd(d) & ((h == 3) | (h == 4)), 1.0, 0.0)))
    task = build(hourly, mode="forecast", **HAND_SPLITS)
    target_odd, target_even = day(20), day(21)      # issue days whose target is 21 and 22
    f = lambda name: feature(task, name)  # noqa: E731
    assert f("forecast_first_north_wind_hour")[target_odd] == 15.0
    assert f("forecast_first_north_wind_hour")[target_even] == 24.0
    assert f("forecast_rain_hours")[target_odd] == 2.0 and f("forecast_rain_hours")[target_even] == 0.0
    assert np.isnan(f("forecast_rain_hours")[day(25)])   # day 26 has no rain value: unknown
    for name in ("forecast_first_north_wind_hour", "forecast_calm_hours_night",
                 "forecast_calm_hours", "forecast_north_wind_hours"):
        assert np.isnan(f(name)[day(26)]), name           # day 27 has no wind speed
        assert np.isfinite(f(name)[day(24)]), name
    assert f("forecast_calm_hours_night")[target_odd] == 8.0
    assert f("forecast_calm_hours_night")[target_even] == 0.0
    # the afternoon (12-17 h) of day 21: 3 h of 2 m/s southerly, then 3 h of 4 m/s northerly
    assert f("forecast_wind_speed_afternoon")[target_odd] == pytest.approx(3.0)
    assert f("forecast_wind_v_afternoon")[target_odd] == pytest.approx((3 * 2.0 - 3 * 4.0) / 6)
    assert f("forecast_wind_v_morning")[target_even] == pytest.approx(2.0)
    assert f("forecast_dewp_night")[target_odd] == pytest.approx(-10.0 + 2.5)
    assert f("forecast_pres_evening")[target_odd] == pytest.approx(1000.0 + 20.5)
    # none of them is a feature of day D itself
    observed = build(hourly, **HAND_SPLITS)
    assert not {"first_north_wind_hour", "rain_hours", "calm_hours_night", "dewp_night",
                "wind_u_morning", "wind_speed_afternoon"} & set(observed.feature_names)


def test_horizon_two(make_hourly):
    task = build(make_hourly("2010-01-01", 40), horizon=2, **HAND_SPLITS)
    rows = task.rows
    assert (rows["target_day"] - rows["issue_day"] == pd.Timedelta(days=2)).all()
    y = pd.Series(task.y, index=pd.DatetimeIndex(rows["issue_day"]))
    assert y[day(15)] == pytest.approx(mean_of(17))
    assert np.isnan(y[day(38)])


def test_too_little_history(make_hourly):
    with pytest.raises(DataError, match="too little history"):
        build(make_hourly("2010-01-01", 15), **HAND_SPLITS)


def test_sequence_window_is_the_last_days_oldest_first(hand_task):
    assert hand_task.sequence_names == list(SEQUENCE_FEATURES)
    assert hand_task.sequence.shape == (len(hand_task.rows), 14, len(SEQUENCE_FEATURES))
    filled = hand_task.sequence[:, :, SEQUENCE_FEATURES.index("pm25_filled")]
    row = (hand_task.rows["issue_day"] == day(30)).to_numpy()
    # days 17 .. 30; the gap 20, 21 filled from day 19, day 22 left missing
    expected = [mean_of({20: 19, 21: 19}.get(d, d)) if d != 22 else np.nan
                for d in range(17, 31)]
    assert filled[row][0].tolist() == pytest.approx(expected, nan_ok=True)
    valid = hand_task.sequence[row][0, :, SEQUENCE_FEATURES.index("pm25_valid")]
    assert valid.tolist() == [1, 1, 1, 0, 0, 0] + [1] * 8


# ---------------------------------------------------------------- splits


@pytest.fixture(scope="module")
def five_years() -> pd.DataFrame:
    return generate_hourly(seed=2, start="2010-01-01", end="2014-12-31")


@pytest.fixture(scope="module")
def beijing_like(five_years):
    return build(five_years, dataset="beijing")


def test_default_single_site_splits(beijing_like):
    assert beijing_like.splits == {"train": ("2010-01-15", "2012-12-31"),
                                   "val": ("2013-01-01", "2013-12-31"),
                                   "test": ("2014-01-01", "2014-12-31")}
    rows = beijing_like.rows
    years = pd.DatetimeIndex(rows["target_day"]).year
    assert (rows.loc[years == 2013, "split"] == "val").all()
    assert (rows.loc[years == 2014, "split"] == "test").all()
    assert rows["split"].iloc[-1] == "none"                       # target 2015-01-01


def test_no_target_day_in_two_splits_and_chronological(beijing_like):
    rows = beijing_like.rows
    assert (rows.groupby("target_day")["split"].nunique() == 1).all()
    ends = {s: rows.loc[rows["split"] == s, "target_day"] for s in ("train", "val", "test")}
    assert ends["train"].max() < ends["val"].min()
    assert ends["val"].max() < ends["test"].min()


def test_other_data_last_365_days_test_and_365_before_validation(five_years):
    task = build(five_years, dataset="csv")
    assert task.splits["test"] == ("2014-01-01", "2014-12-31")
    assert task.splits["val"] == ("2013-01-01", "2013-12-31")
    assert task.splits["train"][1] == "2012-12-31"


def test_last_365_rule_on_an_odd_period(make_hourly):
    hourly = make_hourly("2011-03-01", (pd.Timestamp("2013-08-15")
                                        - pd.Timestamp("2011-03-01")).days + 1)
    task = build(hourly, dataset="my-station")
    rows = task.rows
    test = rows[rows["split"] == "test"]
    val = rows[rows["split"] == "val"]
    assert len(test) == 365 and len(val) == 365
    assert test["target_day"].max() == pd.Timestamp("2013-08-15")    # last day of the data
    assert test["target_day"].min() == pd.Timestamp("2012-08-16")
    assert val["target_day"].max() == pd.Timestamp("2012-08-15")
    assert np.isfinite(task.y[(rows["split"] == "test").to_numpy()]).all()
    assert rows["split"].iloc[-1] == "none"                           # target unknown


def test_explicit_split_ends_override_the_defaults(five_years):
    task = build(five_years, dataset="beijing", train_end="2011-06-30", val_end="2012-06-30",
                 test_end="2013-06-30")
    assert task.splits["test"] == ("2012-07-01", "2013-06-30")
    with pytest.raises(DataError, match="train_end < val_end < test_end"):
        build(five_years.iloc[: 24 * 60], train_end="2010-02-20", val_end="2010-02-10",
              test_end="2010-02-25")
    with pytest.raises(DataError, match="no scored day: the valid target days run from "
                       "2010-01-.. to 2010-03-01"):
        build(five_years.iloc[: 24 * 60], dataset="beijing")


def test_too_little_history_for_the_default_splits_says_how_much_they_need(five_years):
    with pytest.raises(DataError, match=r"split 'train' has no scored day: .*\(\d+ days\).*"
                       "the default splits need more than two years of data"):
        build(five_years.iloc[: 24 * 500], dataset="csv")
    # many lags: what they take of the history is said first
    with pytest.raises(DataError, match=r"the lags \(task.lags = 400\) take each station's "
                       "first 400 days of history, so no target day before them is scored; "
                       "the default splits need"):
        build(five_years.iloc[: 24 * 1000], dataset="csv", lags=400)


def test_a_row_dated_decades_ahead_is_named_as_what_moved_the_default_splits(five_years):
    """One stray row dated 2099 moves the default splits' ends to 2097–2099."""
    stray = five_years.iloc[: 24 * 800].copy()
    stray.loc[stray.index[-1], "time"] = pd.Timestamp("2099-06-01 00:00")
    with pytest.raises(DataError, match=r"the data's last day, 2099-06-01, lies more than a "
                       r"year after its last valid daily mean \(a row with a wrong date\?\)"):
        build(stray, dataset="csv")


def test_train_statistics_use_the_training_rows_only(small_hourly):
    task = build(small_hourly, **SMALL_SPLITS)
    train = task.mask("train", scored=False)
    assert 0 < train.sum() < len(train)
    mean, std = train_statistics(task, task.X)
    np.testing.assert_allclose(mean, np.nan_to_num(np.nanmean(task.X[train], axis=0)),
                               rtol=1e-5, atol=1e-5)
    seq_mean, seq_std = train_statistics(task, task.sequence)
    assert seq_mean.shape == (len(SEQUENCE_FEATURES),)

    rng = np.random.default_rng(0)
    X, seq = task.X.copy(), np.array(task.sequence)
    X[~train] = rng.normal(1e3, 1e3, X[~train].shape)
    seq[~train] = rng.normal(1e3, 1e3, seq[~train].shape)
    np.testing.assert_array_equal(train_statistics(task, X)[0], mean)
    np.testing.assert_array_equal(train_statistics(task, X)[1], std)
    np.testing.assert_array_equal(train_statistics(task, seq)[0], seq_mean)
    np.testing.assert_array_equal(train_statistics(task, seq)[1], seq_std)
    X[np.flatnonzero(train)[0]] += 1e4
    assert not np.array_equal(train_statistics(task, X)[0], mean)
    assert np.all(std > 0)


def test_multi_station_task(make_hourly):
    frames = []
    for name, offset in (("Zeta", 0.0), ("Alpha", 100.0), ("Mu", 50.0)):
        frames.append(make_hourly("2010-01-01", 40, station=name,
                                  pm25=lambda d, h, o=offset: o + 10.0 * d + h))
    task = build(pd.concat(frames), **HAND_SPLITS)     # stations not in name order
    assert task.stations == ["Alpha", "Mu", "Zeta"]
    rows = task.rows
    assert rows.groupby("station").size().tolist() == [27, 27, 27]
    for index, name in enumerate(task.stations):
        assert (rows.loc[rows["station"] == name, "station_index"] == index).all()
    np.testing.assert_array_equal(task.station_index, rows["station_index"].to_numpy())
    assert feature(task, "pm25_lag1", "Alpha")[day(20)] == pytest.approx(100 + mean_of(20))
    assert feature(task, "pm25_lag1", "Mu")[day(20)] == pytest.approx(50 + mean_of(20))
    alone = build(frames[1], **HAND_SPLITS)
    # a station's own features are what it has alone; the neighbours add region columns
    own = [task.feature_names.index(n) for n in alone.feature_names]
    assert [n for n in task.feature_names if n not in alone.feature_names] == [
        "region_pm25_mean", "region_pm25_max", "region_pm25_evening_mean"]
    np.testing.assert_array_equal(task.X[(rows["station"] == "Alpha").to_numpy()][:, own],
                                  alone.X)
    assert (rows.groupby("target_day")["split"].nunique() == 1).all()


def test_feature_names_are_unique_and_stable(small_hourly, make_hourly):
    first = build(small_hourly, **SMALL_SPLITS)
    again = build(small_hourly, **SMALL_SPLITS)
    assert len(set(first.feature_names)) == len(first.feature_names)
    assert first.feature_names == again.feature_names
    np.testing.assert_array_equal(first.X, again.X)
    other = build(generate_hourly(seed=99, start="2010-01-01", end="2010-04-30"), **SMALL_SPLITS)
    assert other.feature_names == first.feature_names
    assert first.X.shape == (len(first.rows), len(first.feature_names))
    assert first.X.dtype == np.float32
    forecast = build(small_hourly, mode="forecast", **SMALL_SPLITS)
    assert len(set(forecast.feature_names)) == len(forecast.feature_names)
    # a source without weather columns: fewer features, still unique
    bare = build(make_hourly("2010-01-01", 40), **HAND_SPLITS)
    assert len(set(bare.feature_names)) == len(bare.feature_names)
    assert set(bare.feature_names) < set(first.feature_names)


def test_features_without_information_in_training_are_dropped(small_hourly):
    """Pressure missing throughout training and a constant column go, for every model;
    the decision reads the training rows only."""
    from dataclasses import replace

    from forecast.task import drop_uninformative

    hourly = small_hourly.copy()
    hourly.loc[hourly["time"] < "2010-03-01", "pres"] = np.nan
    task = build(hourly, **SMALL_SPLITS)
    X = task.X.copy()
    X[:, task.feature_names.index("holiday")] = 0.0  # constant everywhere
    task = replace(task, X=X)
    pruned, dropped = drop_uninformative(task)
    assert {"pres_mean", "pres_change", "pres_trend_6h", "sequence:pres_mean",
            "holiday"} <= set(dropped)
    assert not any(name.startswith(("pres", "holiday")) for name in pruned.feature_names)
    assert "pres_mean" not in pruned.sequence_names
    assert pruned.X.shape[1] == len(pruned.feature_names) == task.X.shape[1] - sum(
        not n.startswith("sequence:") for n in dropped)
    assert "temp_mean" in pruned.feature_names
    # what lies outside training never changes the decision
    outside = ~task.mask("train", scored=False)
    X = task.X.copy()
    X[outside] = np.nan
    assert drop_uninformative(replace(task, X=X))[1] == dropped
    # every dropped feature really is constant or empty in training, and no other is
    train = task.mask("train", scored=False)
    for index, name in enumerate(task.feature_names):
        values = task.X[train, index]
        values = values[np.isfinite(values)]
        assert (name in dropped) == (len(values) == 0 or values.min() == values.max()), name


# ---------------------------------------------------------------- a coarser weather forecast


def test_weather_step_changes_only_the_target_day_s_weather(small_hourly):
    """weather_step = 3: the forecast_* columns are those of the target day's weather at
    00, 03, ..., 21 h made hourly; every other input, the targets and the issue time's
    weather are those of the hourly run."""
    kwargs = dict(mode="forecast", hourly_hours=48, target_hours=True, **SMALL_SPLITS)
    hourly, coarse = build(small_hourly, **kwargs), build(small_hourly, weather_step=3, **kwargs)
    forecast = np.array([n.startswith("forecast_") for n in hourly.feature_names])
    assert hourly.feature_names == coarse.feature_names
    assert _same(hourly.X[:, ~forecast], coarse.X[:, ~forecast])
    assert not _same(hourly.X[:, forecast], coarse.X[:, forecast])
    assert _same(hourly.y, coarse.y) and _same(hourly.y_hours, coarse.y_hours)
    assert _same(hourly.target_hours[:, 0], coarse.target_hours[:, 0])
    assert _same(hourly.hourly[:, :48], coarse.hourly[:, :48])
    # the kept hours are the target day's own, the others between them
    temp = coarse.target_hour_names.index("temp")
    kept = slice(1, 25, 3)                       # channel row 0 is the issue time
    assert _same(hourly.target_hours[:, kept, temp], coarse.target_hours[:, kept, temp])
    # the target day's PM2.5 in the hourly window stays missing
    assert np.isnan(coarse.hourly[:, 48:, coarse.hourly_names.index("pm25")]).all()


@pytest.mark.parametrize("step", [3, 6])
def test_weather_step_makes_hours_as_forecast_predict_does(small_hourly, step):
    """The training data's target day at ``step`` hours (coarse_weather) is what
    forecast predict makes of a weather file at that step (weather_hours): the same
    hours, so a run is fitted and chosen for the forecast it will be given."""
    from forecast.daily import complete_hours
    from forecast.predict import weather_hours
    from forecast.task import coarse_weather

    grid = complete_hours(validate_hourly(small_hourly, "test"))
    one_day = grid[(grid["station"] == grid["station"].iloc[0])
                   & (grid["time"].dt.normalize() == pd.Timestamp("2010-02-03"))]
    one_day = one_day.reset_index(drop=True)
    made = coarse_weather(one_day, step)
    rows = one_day[one_day["time"].dt.hour % step == 0].reset_index(drop=True)
    rows = rows.assign(rain=rows["rain"] * 0 + one_day["rain"].to_numpy().reshape(
        -1, step).mean(axis=1) * step)            # a file's rain: the step's total
    from_file, note = weather_hours(rows, "w.csv")
    assert note is not None
    for column in ("temp", "dewp", "pres", "wind_speed", "rain"):
        np.testing.assert_allclose(made[column], from_file[column], rtol=1e-12, atol=1e-12)
    assert list(made["wind_dir"].astype(str)) == list(from_file["wind_dir"].astype(str))
    assert _same(made["pm25"].to_numpy(), one_day["pm25"].to_numpy())


def test_forecast_errors_are_one_per_day_and_quantity(small_hourly):
    """forecast_errors: each day's temperature moves by one amount at every station and
    hour, the same whatever the data's span; calm and missing values stay; the hours of
    a real forecast (forecast_from on) do not move."""
    from forecast.daily import complete_hours
    from forecast.task import forecast_errors

    grid = complete_hours(validate_hourly(small_hourly, "test"))
    moved = forecast_errors(grid, 1.0, seed=0)
    shift = (moved["temp"] - grid["temp"]).groupby(grid["time"].dt.normalize())
    assert (shift.std().fillna(0) < 1e-9).all() and shift.mean().abs().gt(0).mean() > 0.9
    assert 0.8 < shift.mean().std() < 2.4                  # about 1.5 °C
    ratio = moved["wind_speed"] / grid["wind_speed"]
    assert ratio.groupby(grid["time"].dt.normalize()).std().fillna(0).max() < 1e-9
    calm = (grid["wind_dir"] == "calm").to_numpy()
    assert calm.any() and (moved["wind_dir"].to_numpy()[calm] == "calm").all()
    turned = (moved["wind_dir"] != grid["wind_dir"]).to_numpy() & ~calm
    assert 0.2 < turned.mean() < 0.9
    assert np.isnan(moved["temp"].to_numpy()[np.isnan(grid["temp"].to_numpy())]).all()
    # the same day gets the same error from a shorter grid; another seed, others
    later = grid[grid["time"] >= "2010-03-01"].reset_index(drop=True)
    np.testing.assert_array_equal(forecast_errors(later, 1.0, seed=0)["temp"],
                                  moved.loc[grid["time"] >= "2010-03-01", "temp"])
    assert not np.allclose(forecast_errors(grid, 1.0, seed=1)["temp"], moved["temp"],
                           equal_nan=True)
    # a real forecast's hours are left alone; no error at scale 0
    start = pd.Timestamp("2010-03-01")
    kept = forecast_errors(grid, 1.0, seed=0, forecast_from=start)
    after = (grid["time"] >= start).to_numpy()
    assert _same(kept["temp"].to_numpy()[after], grid["temp"].to_numpy()[after])
    assert _same(kept["temp"].to_numpy()[~after], moved["temp"].to_numpy()[~after])
    assert _same(forecast_errors(grid, 0.0)["temp"].to_numpy(), grid["temp"].to_numpy())
    # sizes of one's own: no temperature error, twice the pressure's
    own = forecast_errors(grid, 1.0, seed=0, sizes={"temp": 0.0, "pres": 2.0})
    assert _same(own["temp"].to_numpy(), grid["temp"].to_numpy())
    np.testing.assert_allclose(own["pres"] - grid["pres"], 2 * (moved["pres"] - grid["pres"]))
    assert _same(own["dewp"].to_numpy(), moved["dewp"].to_numpy())


def test_weather_error_sizes_are_checked(cli_error, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[task]\nmode = "forecast"\nweather_error = 1.0\n'
                      "[task.weather_error_sizes]\ntemp = -1.0\n")
    assert "task.weather_error_sizes.temp must be 0 or more" in cli_error(
        "run", "--dataset", "synthetic", "--config", config)
    config.write_text('[task]\nmode = "forecast"\n[task.weather_error_sizes]\ntmp = 1.0\n')
    assert "did you mean 'temp'" in cli_error("run", "--dataset", "synthetic",
                                              "--config", config)


def test_weather_error_moves_only_the_target_day_s_weather(small_hourly):
    kwargs = dict(mode="forecast", target_hours=True, **SMALL_SPLITS)
    perfect, erring = build(small_hourly, **kwargs), build(small_hourly, weather_error=1.0,
                                                           **kwargs)
    forecast = np.array([n.startswith("forecast_") for n in perfect.feature_names])
    assert _same(perfect.X[:, ~forecast], erring.X[:, ~forecast])
    assert _same(perfect.y, erring.y) and _same(perfect.y_hours, erring.y_hours)
    temp = perfect.feature_names.index("forecast_temp_mean")
    assert 0.8 < np.nanstd(erring.X[:, temp] - perfect.X[:, temp]) < 2.4
    with pytest.raises(DataError, match="between 0"):
        build(small_hourly, weather_error=-1.0, **kwargs)


def test_weather_step_is_for_forecast_mode_and_divides_a_day(small_hourly, cli_error):
    with pytest.raises(DataError, match="forecast mode only"):
        build(small_hourly, mode="observed", weather_step=3, **SMALL_SPLITS)
    with pytest.raises(DataError, match="weather_step must be one of"):
        build(small_hourly, mode="forecast", weather_step=5, **SMALL_SPLITS)
    assert "task.weather_step must be one of 1, 2, 3, 4, 6, 8, 12" in cli_error(
        "run", "--dataset", "synthetic", "--mode", "forecast", "--weather-step", "5")
    assert "forecast mode only" in cli_error("run", "--dataset", "synthetic",
                                             "--weather-step", "3")
    assert "task.weather_error describes" in cli_error("run", "--dataset", "synthetic",
                                                       "--weather-error", "1")


def test_the_report_names_the_weather_forecast_s_step():
    from forecast.report.format import FORECAST_MODE_LABEL, forecast_mode_label

    assert forecast_mode_label({"task": {"weather_step": 1}}) == FORECAST_MODE_LABEL
    assert forecast_mode_label({}) == FORECAST_MODE_LABEL          # a run made before it
    assert "at 6-hourly steps (task.weather_step = 6" in forecast_mode_label(
        {"task": {"weather_step": 6}})
    erring = forecast_mode_label({"task": {"weather_error": 0.5,
                                           "weather_error_sizes": {"temp": 2.0}}})
    assert "standard deviation 0.5 × (temperature 2 °C, dew point 2 °C" in erring
    assert "upper bound" not in erring


@pytest.mark.parametrize("mode", ["observed", "forecast"])
def test_many_lags_build_without_pandas_fragmentation_warnings(mode):
    """The lags and the calendar join the frame in one block each: built a column at a
    time, 14 or more lags made pandas warn on every later column (12 lines for 14 lags,
    96 for 60)."""
    import warnings

    hourly = generate_hourly(seed=3, start="2010-01-01", end="2010-06-30 23:00")
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        task = build(hourly, lags=60, mode=mode, train_end="2010-04-30",
                     val_end="2010-05-31", test_end="2010-06-29")
    assert "pm25_lag60" in task.feature_names
    lags = [task.feature_names.index(f"pm25_lag{k}") for k in range(1, 61)]
    assert lags == list(range(lags[0], lags[0] + 60))       # in order, side by side
