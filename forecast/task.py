"""DailyFrame (+ HourlyFrame) → ForecastTask: features, target, splits.

For every station and issue day D (the forecast is issued at the end of day D, 23:59
local time) the target is the daily-mean PM2.5 (µg/m³) of the target day D + horizon.

Features, all from data up to the end of day D (``mode = "observed"``):

* ``pm25_lag{k}``: daily-mean PM2.5 of day D + 1 − k (lag 1 is day D itself), gaps of up
  to ``max_fill_days`` filled forward from the past; ``pm25_lag1_missing`` flags an
  invalid day D; ``pm25_last_valid`` is the most recent valid daily mean (what
  persistence forecasts) and ``days_since_valid`` its age in days;
* ``pm25_roll{w}_{mean,std,max}`` over the w = 3, 7, 14 days ending on D (valid days);
* the end of day D at hourly resolution: ``pm25_h18`` … ``pm25_h23`` (hourly gaps of up
  to 3 h filled from the past), ``pm25_evening_mean`` (18–23 h), ``pm25_last_hour`` (most
  recent hourly value), ``pm25_evening_rise`` (18–23 h mean minus 12–17 h mean),
  ``wind_speed_evening``, ``wind_u_evening``/``wind_v_evening`` (m/s, 18–23 h);
* day D's weather: daily aggregates of the DailyFrame, wind as 8-sector fractions and as
  the mean wind vector (``wind_u_mean``, ``wind_v_mean``, m/s) with its direction as
  ``wind_dir_sin``/``wind_dir_cos``, ``dewp_spread`` (temperature − dew point),
  ``pres_change``/``temp_change`` (day D minus day D − 1);
* the last hours of day D, where an approaching front shows first: ``pres_trend_6h``,
  ``dewp_trend_6h``, ``temp_trend_6h`` (23 h minus 17 h; ``_12h``: minus 11 h) and the
  wind vector of 21–23 h (``wind_u_last3h``, ``wind_v_last3h``);
* stagnation: ``calm_hours`` (hours of day D with calm or < 1 m/s wind),
  ``hours_since_north_wind`` (hours from the last hour with ≥ 3 m/s wind from NW, N or
  NE to the end of day D, capped at 240), ``hours_since_wind`` (same for any direction);
* calendar of the target day (known in advance): ``doy_sin``/``doy_cos``, ``weekday``,
  ``heating_season`` (1 on a day of the season ``heating_season`` gives, its first and
  last day as MM-DD, default 15 Nov – 15 Mar, Northern China's: :func:`in_season`),
  ``holiday`` (1 on a public holiday of the country ``holidays`` gives, from the
  ``holidays`` package; default "CN", China's). A region without them (``holidays =
  ""``, ``heating_season = []``) gets an all-zero column, which no fold's training years
  inform: :func:`drop_uninformative` drops it for every model;
* with two or more stations, what the *other* stations measured on day D (leave-one-out,
  see :func:`neighbour_features`): ``region_pm25_mean``/``region_pm25_max`` (their valid
  daily means), ``region_pm25_evening_mean`` (their 18–23 h means) and, when the stations
  have coordinates and wind, ``upwind_pm25_evening`` (their evening means weighted by how
  far upwind they lie). One station: none of these columns.

``mode = "forecast"`` adds ``forecast_*`` columns: the *observed* weather aggregates of
the target day, a stand-in for a perfect weather forecast (perfect prognosis): its daily
weather, wind vectors (day, morning, afternoon, evening), calm and northerly-wind hours,
relative humidity, its 12-hour pressure and dew-point trends (23 h minus 11 h),
``forecast_temp_range`` (max − min temperature, °C: small under a warm lid) and the new
air mass, ``forecast_{pres,temp,dewp}_change`` (the target day's mean minus day D's);
and the target day by quarters (night 0–5 h, morning 6–11 h, afternoon 12–17 h, evening
18–23 h): the wind vector and the mean dew point and pressure of each, the wind speed of
the morning and afternoon, the calm hours of 0–7 h, ``forecast_first_north_wind_hour``
(the hour of its first ≥ 3 m/s NW/N/NE wind, 24 when none: a front clears the hours
after it) and ``forecast_rain_hours``.

Other issue hours, for training the networks only (``task.train_issue_hours``, see
:meth:`ForecastTask.with_issue_hours`): a row issued at hour h (0–22) of day D has the same
target (the daily mean of calendar day D + horizon) and the same features, built by the
same code from the hourly record shifted forward by 23 − h hours, so that hour h of day D
is hour 23 of a pseudo-day D: every "day D" above then means the 24 hours up to hour h of
day D, "the evening" hours h − 5 … h, and so on. ``issue_hours_before_end`` (23 − h; 0 for
the end-of-day rows) tells the network the issue time. In ``forecast`` mode such a row
gets the end-of-day row's ``forecast_*`` (the target day's weather); its
``forecast_{pres,temp,dewp}_change`` is that forecast minus its own last 24 hours' mean.

Missing inputs: short gaps are filled from the past only (daily ≤ ``max_fill_days``,
hourly ≤ 3 h); longer gaps stay NaN, with indicator columns; models impute (fitted on
train) so every model predicts every scored day. A day is scored when its target is valid.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .calendars import holiday_flags, in_season
from .constants import (
    DEFAULT_HEATING_SEASON,
    DEFAULT_HOLIDAYS,
    DEFAULT_MIN_HOURS,
    DEFAULT_TARGET_TRANSFORM,
    TYPICAL_FORECAST_ERRORS,
    WEATHER_STEPS,
)
from .daily import WIND_FRACTION_COLUMNS, complete_hours, nan_reduce
from .errors import DataError
from .schema import CALM, COMPASS_16, SECTORS_8, compass_to_degrees, sector_codes
from .windows import Windows

ROLL_WINDOWS = (3, 7, 14)
#: the hours (start, end) of each quarter of a day; the evening's are day D's last hours,
#: the others detail the target day's weather
QUARTERS = {"night": (0, 6), "morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24)}
EVENING = slice(*QUARTERS["evening"])
EVENING_HOURS = tuple(range(*QUARTERS["evening"]))
# the target day's weather against day D's: forecast_{pres,temp,dewp}_change (a new air mass)
CHANGE_QUANTITIES = ("pres", "temp", "dewp")
NIGHT_CALM_HOURS = (0, 8)
#: day-D columns built only to become the target day's weather (``forecast_*``): as day-D
#: features they did not validate better (temp_range; the quarter-day detail made every
#: model worse in observed mode)
FORECAST_ONLY = ("temp_range", "wind_u_night", "wind_v_night", "wind_u_morning",
                 "wind_v_morning", "wind_u_afternoon", "wind_v_afternoon",
                 *(f"{q}_{quarter}" for q in ("dewp", "pres") for quarter in QUARTERS),
                 "first_north_wind_hour", "rain_hours", "calm_hours_night",
                 "wind_speed_morning", "wind_speed_afternoon")
HOURLY_FILL_LIMIT = 3
STRONG_WIND = 3.0   # m/s
CALM_WIND = 1.0     # m/s
NORTH_SECTORS = ("NW", "N", "NE")
STAGNATION_CAP = 240.0  # hours
DAILY_WEATHER = ("temp_mean", "dewp_mean", "pres_mean", "wind_speed_mean", "wind_speed_max",
                 "rain_total", "snow_total") + WIND_FRACTION_COLUMNS
SEQUENCE_FEATURES = ("pm25_filled", "pm25_valid", "pm25_evening_mean", "temp_mean",
                     "dewp_mean", "pres_mean", "wind_speed_mean", "wind_speed_max",
                     "wind_u_mean", "wind_v_mean", "rain_total", "snow_total", "calm_hours",
                     "hours_since_north_wind", "doy_sin", "doy_cos")
HOURLY_SEQUENCE_FEATURES = ("pm25", "temp", "dewp", "pres", "wind_speed", "wind_u", "wind_v",
                            "rain")
#: the target day's hourly weather (``task.target_hours``, forecast mode): the stand-in for
#: an hourly weather forecast, read by the models that forecast each hour (``hgb_by_hour``);
#: ``strong_north_wind`` is 1 in an hour of :func:`strong_north_wind` (0 otherwise, NaN
#: when the wind's speed or direction is missing)
TARGET_HOUR_WEATHER = HOURLY_SEQUENCE_FEATURES[1:]
TARGET_HOUR_CHANNELS = (*TARGET_HOUR_WEATHER, "strong_north_wind")
REGION_FEATURES = ("region_pm25_mean", "region_pm25_max", "region_pm25_evening_mean")
UPWIND_FEATURE = "upwind_pm25_evening"
UPWIND_BLOCK_DAYS = 64     # days of the upwind feature computed at a time
UPWIND_CALM = 0.5          # m/s: a shorter day-mean wind vector is calm (no upwind side)
EARTH_RADIUS_KM = 6371.0
SPLITS = ("train", "val", "test")
#: The split of the rows issued at other hours of the day whose target day lies in the
#: training split: the networks train on them (:meth:`ForecastTask.training_rows`), no
#: model is scored on them and ``mask("train")`` leaves them out.
EXTRA_TRAIN = "train_extra"
#: Hours from the issue time to the end of the issue day (0 at 23 h): the feature the
#: rows issued at other hours add (:meth:`ForecastTask.with_issue_hours`).
ISSUE_HOUR_FEATURE = "issue_hours_before_end"
END_OF_DAY = 23

DEFAULT_SPLITS = {
    "beijing": ("2012-12-31", "2013-12-31", "2014-12-31"),
    "beijing-multisite": ("2015-02-28", "2016-02-29", "2017-02-28"),
}


@dataclass
class ForecastTask:
    """Everything a model needs, as plain arrays aligned on rows (station, issue day).

    ``rows``: DataFrame with ``station``, ``station_index``, ``issue_day``, ``target_day``,
    ``split`` (train/val/test, or "none" outside the splits, e.g. the latest issue day,
    whose target is still unknown) and ``y`` (target, µg/m³, NaN = not scored).
    ``X``: tabular features (n_rows, n_features), float32 with NaN for missing.
    ``sequence``: last ``sequence_length`` days of daily features, oldest first
    (n_rows, L, n_sequence_features), held as :class:`~forecast.windows.Windows` (each
    day's values once; ``task.sequence[rows]`` gathers the array); ``hourly``:
    optionally the last ``hourly_hours`` hours up to the end of the issue day (hour 23 of
    day D included), oldest first, raw values with NaN for missing (n_rows, hours,
    n_hourly_channels), for the networks that read it (``*_hourly``); in forecast mode
    followed by the target day's 24 hours (weather only: their PM2.5 is NaN); None when
    no model needs it. ``target_hours``
    and ``y_hours`` (forecast mode, built only for a model that reads them): the target
    day's weather and PM2.5 hour by hour (the latter a training target only, like ``y``).
    ``omitted_features``: name → why a feature this kind of task can have was not built.
    ``issue_hour_source``: what rebuilding the task at other issue hours needs
    (:meth:`with_issue_hours`); None for a task that cannot be rebuilt.

    After :meth:`with_issue_hours` the task also holds the rows issued at other hours
    (``rows["issue_hour"]`` < 23, split ``train_extra`` or ``none``) and the feature
    ``issue_hours_before_end``; ``mask(split)`` for train/val/test never selects them.
    """

    rows: pd.DataFrame
    X: np.ndarray
    feature_names: list[str]
    sequence: Windows
    sequence_names: list[str]
    y: np.ndarray
    persistence: np.ndarray
    stations: list[str]
    mode: str
    horizon: int
    splits: dict[str, tuple[str, str]]
    target_transform: str = DEFAULT_TARGET_TRANSFORM
    hourly: np.ndarray | None = None
    hourly_names: list[str] = field(default_factory=list)
    #: forecast mode, when a requested model reads it: the weather hour by hour
    #: (n_rows, 25, channels ``target_hour_names``) of the issue day's last hour (the
    #: issue time, 23 h of day D) and then hours 0–23 of the target day, NaN for missing;
    #: and the target day's hourly PM2.5 (n_rows, 24), µg/m³, NaN for missing: a training
    #: target, never an input
    target_hours: np.ndarray | None = None
    target_hour_names: list[str] = field(default_factory=list)
    y_hours: np.ndarray | None = None
    #: features this task could not build, and why (e.g. the upwind feature of a
    #: multi-station task without station coordinates)
    omitted_features: dict[str, str] = field(default_factory=dict)
    issue_hour_source: IssueHourSource | None = field(default=None, repr=False,
                                                      compare=False)

    @property
    def split(self) -> np.ndarray:
        return self.rows["split"].to_numpy()

    def input_names(self) -> dict[str, list[str]]:
        """The names of the inputs a model reads by position, by kind: the tabular
        features, the daily sequence's and the hourly window's channels, and the target
        day's hours' (:func:`target_hour_features`; checked against a fitted model's by
        :func:`check_inputs`)."""
        return {"features": list(self.feature_names),
                "sequence channels": list(self.sequence_names),
                "hourly channels": list(self.hourly_names),
                "target-hour channels": (list(TARGET_HOUR_FEATURES)
                                         if self.target_hours is not None else [])}

    def mask(self, split: str, scored: bool = True) -> np.ndarray:
        """Rows of ``split``; with ``scored`` only those whose target is valid."""
        selected = self.split == split
        if scored:
            selected &= np.isfinite(self.y)
        return selected

    def training_rows(self, scored: bool = True) -> np.ndarray:
        """The rows a network trains on: ``mask("train")`` and, after
        :meth:`with_issue_hours`, the training rows issued at other hours
        (``train_extra``). Without those it is ``mask("train")`` itself."""
        return self.mask("train", scored) | self.mask(EXTRA_TRAIN, scored)

    @property
    def station_index(self) -> np.ndarray:
        return self.rows["station_index"].to_numpy()

    @property
    def issue_position(self) -> int:
        """The hourly window's hours up to the issue time (hour 23 of day D, included):
        the position after it; in forecast mode the target day's hours follow (0 without
        a window)."""
        ahead = 24 * self.horizon if self.mode == "forecast" else 0
        return 0 if self.hourly is None else self.hourly.shape[1] - ahead

    def hours_to_issue(self, rows: np.ndarray, hours: int) -> np.ndarray:
        """The last ``hours`` hours of the hourly window up to the issue time (hour 23 of
        day D, included) of ``rows``: (n_rows, hours, channels ``hourly_names``), raw
        values, NaN for missing; in forecast mode the target day's hours after them are
        left out. ValueError when the task has no hourly window that long."""
        end = self.issue_position
        if end < hours:
            raise ValueError(f"the task's hourly window holds {end} hours up to the issue "
                             f"time, {hours} are read: build it with hourly_hours >= {hours}")
        return self.hourly[rows, end - hours:end]

    def forecast_columns(self) -> list[str]:
        return [n for n in self.feature_names if n.startswith("forecast_")]

    def with_splits(self, train_end: str, val_end: str, test_end: str,
                    train_start: str | None = None) -> ForecastTask:
        rows = self.rows.copy()
        rows["split"] = assign_splits(rows["target_day"], train_end, val_end, test_end,
                                      train_start)
        if "issue_hour" in rows.columns:   # rows issued at other hours train, never score
            rows["split"] = _other_hour_splits(rows["split"].to_numpy(),
                                               rows["issue_hour"].to_numpy())
        splits = describe_splits(rows)
        return replace(self, rows=rows, splits=splits)

    def for_final_fit(self) -> ForecastTask:
        """This task with its validation rows relabelled ``train``: what a model whose
        settings the validation year has chosen (penalty, trees, epochs) is fitted on
        again before it forecasts the test rows (:mod:`forecast.refit`). It has no
        validation rows, so nothing fitted on it can choose anything; the test rows and
        the row order are this task's."""
        if "issue_hour" in self.rows.columns:
            raise ValueError("for_final_fit: call it before with_issue_hours")
        rows = self.rows.copy()
        rows.loc[rows["split"] == "val", "split"] = "train"
        return replace(self, rows=rows, splits=describe_splits(rows))

    def with_issue_hours(self, hours) -> ForecastTask:
        """This task and, for training the networks, the same rows issued at each hour
        of ``hours`` (0–22) of the issue day instead of its end.

        The rows of this task stay as they are, first and in order
        (``rows["issue_hour"]`` = 23). For hour h, the task is built again from the hourly
        record shifted forward by 23 − h hours (:class:`IssueHourSource`, cached), and
        each of its rows whose (station, issue day) this task has becomes a row here with
        that row's target: ``y``, ``target_day`` and, in forecast mode, the target day's
        weather (``forecast_*``) come from this task's row. Its split is ``train_extra``
        where that row's is ``train`` and ``none`` otherwise, so no model is ever scored on
        it and ``mask("train")``, ``mask("val")`` ... select what they selected before.
        Features are taken by name, so a task with features dropped keeps them dropped.
        Adds the feature ``issue_hours_before_end`` (23 − h; 0 for this task's rows).
        ``hours`` empty: the task itself.
        """
        hours = sorted({int(h) for h in hours})
        if not hours:
            return self
        if any(not 0 <= h < END_OF_DAY for h in hours):
            raise ValueError(f"issue hours must lie in 0..{END_OF_DAY - 1}, not {hours}")
        if ISSUE_HOUR_FEATURE in self.feature_names or "issue_hour" in self.rows.columns:
            raise ValueError("the task already holds rows issued at other hours")
        if self.issue_hour_source is None:
            raise ValueError("this task cannot be rebuilt at other issue hours (it was not "
                             "made by build_task)")
        keys = pd.MultiIndex.from_frame(self.rows[["station", "issue_day"]].astype(
            {"station": str}))
        blocks = [_end_of_day_block(self)]
        for hour in hours:
            blocks.append(_other_hour_block(self, self.issue_hour_source, hour, keys))
        rows = pd.concat([b["rows"] for b in blocks], ignore_index=True)
        return replace(
            self, rows=rows, X=np.concatenate([b["X"] for b in blocks]),
            feature_names=[*self.feature_names, ISSUE_HOUR_FEATURE],
            sequence=Windows.concat([b["sequence"] for b in blocks]),
            y=rows["y"].to_numpy(dtype=float, copy=True),
            persistence=np.concatenate([b["persistence"] for b in blocks]),
            hourly=(np.concatenate([b["hourly"] for b in blocks])
                    if self.hourly is not None else None),
            **{name: (np.concatenate([b[name] for b in blocks])
                      if getattr(self, name) is not None else None)
               for name in ("target_hours", "y_hours")})

    def with_issue_hour_feature(self) -> ForecastTask:
        """This task with the feature ``issue_hours_before_end`` (0: every row is issued at
        the end of its day), as a network trained with :meth:`with_issue_hours` reads it."""
        if ISSUE_HOUR_FEATURE in self.feature_names:
            return self
        zeros = np.zeros((len(self.X), 1), dtype=self.X.dtype)
        return replace(self, X=np.concatenate([self.X, zeros], axis=1),
                       feature_names=[*self.feature_names, ISSUE_HOUR_FEATURE])


@dataclass(eq=False)
class IssueHourSource:
    """What building a task again at another issue hour needs: the HourlyFrame it was
    built from (held, not copied: it must not change afterwards), the completeness rule
    of its daily means, :func:`build_task`'s options (split ends resolved) and, in
    forecast mode, the end-of-day task's ``forecast_*`` columns by (station, issue day).
    Each hour's task is built once and kept (``task_at``)."""

    hourly: pd.DataFrame
    min_hours: int
    options: dict
    # the end-of-day task as built (held, not copied), for ``target_weather``
    end_of_day_rows: pd.DataFrame | None = field(default=None, repr=False)
    end_of_day_X: np.ndarray | None = field(default=None, repr=False)
    end_of_day_features: list[str] = field(default_factory=list, repr=False)
    built: dict[int, ForecastTask] = field(default_factory=dict, repr=False)

    @functools.cached_property
    def target_weather(self) -> pd.DataFrame | None:
        """In forecast mode, the end-of-day task's ``forecast_*`` columns by (station,
        issue day), every one of them as built (a fold may have dropped some); else None.
        Made on first use, so a task never rebuilt at other hours never holds a copy."""
        columns = [i for i, n in enumerate(self.end_of_day_features)
                   if n.startswith("forecast_")]
        if not columns:
            return None
        return pd.DataFrame(
            self.end_of_day_X[:, columns],
            columns=[self.end_of_day_features[i] for i in columns],
            index=pd.MultiIndex.from_frame(self.end_of_day_rows[["station", "issue_day"]]
                                           .astype({"station": str})))

    def task_at(self, hour: int) -> ForecastTask:
        """The task whose issue day D ends at hour ``hour`` of calendar day D: the hourly
        record shifted forward by 23 − hour hours, aggregated daily with the same rule."""
        if hour not in self.built:
            from .daily import to_daily

            shifted = self.hourly.assign(
                time=self.hourly["time"] + pd.Timedelta(hours=END_OF_DAY - hour))
            task = build_task(shifted, to_daily(shifted, self.min_hours), **self.options)
            self.built[hour] = replace(task, issue_hour_source=None)
        return self.built[hour]


def _other_hour_splits(split: np.ndarray, issue_hour: np.ndarray) -> np.ndarray:
    """Rows issued before the end of the day: ``train_extra`` where their target day
    is a training day, else ``none``."""
    other = issue_hour != END_OF_DAY
    out = split.copy()
    out[other] = np.where(split[other] == "train", EXTRA_TRAIN, "none")
    return out


def _end_of_day_block(task: ForecastTask) -> dict:
    return {"rows": task.rows.assign(issue_hour=END_OF_DAY),
            "X": task.with_issue_hour_feature().X,
            "sequence": task.sequence, "persistence": task.persistence, "hourly": task.hourly,
            "target_hours": task.target_hours, "y_hours": task.y_hours}


def _other_hour_block(task: ForecastTask, source: IssueHourSource, hour: int,
                      keys: pd.MultiIndex) -> dict:
    """The rows of ``task`` issued at ``hour`` (see :meth:`ForecastTask.with_issue_hours`)."""
    other = source.task_at(hour)
    other_keys = pd.MultiIndex.from_frame(other.rows[["station", "issue_day"]].astype(
        {"station": str}))
    position = keys.get_indexer(other_keys)
    keep = position >= 0
    at = position[keep]

    def columns(names: list[str], known: list[str], prefix: str = "") -> list[int]:
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"the task at issue hour {hour} lacks {prefix}{missing[0]}")
        return [known.index(n) for n in names]

    other_X = other.X[keep]
    X = other_X[:, columns(task.feature_names, other.feature_names)]
    if task.forecast_columns():
        # the target day's weather is the end-of-day row's; a change is measured from
        # this row's own last 24 hours, the latest it knows
        weather = source.target_weather.reindex(keys[at])
        changes = {f"forecast_{q}_change" for q in CHANGE_QUANTITIES}
        for index, name in enumerate(task.feature_names):
            if name in changes:
                own = name.removeprefix("forecast_").replace("_change", "_mean")
                X[:, index] = (weather[f"forecast_{own}"].to_numpy(dtype=float)
                               - other_X[:, other.feature_names.index(own)])
            elif name.startswith("forecast_"):
                X[:, index] = weather[name].to_numpy(dtype=float)
    X = np.concatenate([X, np.full((len(X), 1), END_OF_DAY - hour, dtype=X.dtype)], axis=1)
    base_rows = task.rows.iloc[at]
    rows = pd.DataFrame({
        "station": base_rows["station"].to_numpy(),
        "station_index": base_rows["station_index"].to_numpy(),
        "issue_day": base_rows["issue_day"].to_numpy(),
        "target_day": base_rows["target_day"].to_numpy(),
        "y": task.y[at],
        "split": _other_hour_splits(base_rows["split"].to_numpy(),
                                    np.full(len(at), hour)),
        "issue_hour": hour,
    })
    rows = rows.astype({c: t for c, t in task.rows.dtypes.items() if c in rows.columns})
    hourly = None
    if task.hourly is not None:
        if other.hourly is None:
            raise ValueError(f"the task at issue hour {hour} lacks the hourly window")
        hourly = other.hourly[keep][:, :, columns(task.hourly_names, other.hourly_names,
                                                  "hourly:")]
    return {"rows": rows, "X": X,
            "sequence": other.sequence.take(keep).channels(columns(task.sequence_names,
                                                                   other.sequence_names,
                                                                   "sequence:")),
            "persistence": other.persistence[keep], "hourly": hourly,
            # the target day, its weather and its hours are the end-of-day row's (their
            # changes since the issue time too: from 23 h of day D, as that row reads them)
            **{name: (getattr(task, name)[at] if getattr(task, name) is not None else None)
               for name in ("target_hours", "y_hours")}}


def transform_target(y: np.ndarray, kind: str) -> np.ndarray:
    """µg/m³ → the space models are fitted in (log1p or identity)."""
    return np.log1p(np.maximum(y, 0.0)) if kind == "log1p" else np.asarray(y, dtype=float)


def inverse_target(z: np.ndarray, kind: str) -> np.ndarray:
    return np.expm1(z) if kind == "log1p" else np.asarray(z, dtype=float)


# ---------------------------------------------------------------- splits


def default_split_ends(dataset: str, days: pd.Series) -> tuple[str, str, str]:
    """The dataset's split ends; other data: the last 365 of ``days`` (the days with data,
    i.e. the issue days) are the test split, the 365 before them validation."""
    if dataset in DEFAULT_SPLITS:
        return DEFAULT_SPLITS[dataset]
    last = pd.Timestamp(days.max())
    test_end = last
    val_end = last - pd.Timedelta(days=365)
    train_end = val_end - pd.Timedelta(days=365)
    return (f"{train_end:%Y-%m-%d}", f"{val_end:%Y-%m-%d}", f"{test_end:%Y-%m-%d}")


def assign_splits(target_days: pd.Series, train_end: str, val_end: str, test_end: str,
                  train_start: str | None = None) -> np.ndarray:
    """Label each row by its target day: train ≤ train_end < val ≤ val_end < test ≤ test_end."""
    try:
        ends = [pd.Timestamp(v) for v in (train_end, val_end, test_end)]
    except (ValueError, TypeError) as exc:
        raise DataError(f"split: unparseable date ({exc})") from None
    if not ends[0] < ends[1] < ends[2]:
        raise DataError(f"split: need train_end < val_end < test_end, got {train_end}, "
                        f"{val_end}, {test_end}")
    days = pd.DatetimeIndex(target_days)
    split = np.full(len(days), "none", dtype=object)
    split[days <= ends[2]] = "test"
    split[days <= ends[1]] = "val"
    split[days <= ends[0]] = "train"
    if train_start is not None:
        split[(days < pd.Timestamp(train_start))] = "none"
    return split


def describe_splits(rows: pd.DataFrame) -> dict[str, tuple[str, str]]:
    out = {}
    for name in SPLITS:
        days = rows.loc[rows["split"] == name, "target_day"]
        if len(days):
            out[name] = (f"{days.min():%Y-%m-%d}", f"{days.max():%Y-%m-%d}")
    return out


# ---------------------------------------------------------------- features


def _hours_since(event: np.ndarray) -> np.ndarray:
    """Hours from the last True of ``event`` up to each hour (past only), capped."""
    index = np.arange(len(event), dtype=float)
    last = np.maximum.accumulate(np.where(event, index, -np.inf))
    return np.minimum(index - last, STAGNATION_CAP)


def time_of_year(days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """The time of year of each of ``days`` as (sin, cos) of its day of year."""
    angle = 2 * np.pi * (days.dayofyear.to_numpy() - 1) / 365.25
    return np.sin(angle), np.cos(angle)


def calendar_features(days: pd.DatetimeIndex, holidays: str = DEFAULT_HOLIDAYS,
                      heating_season: Sequence[str] | None = DEFAULT_HEATING_SEASON
                      ) -> dict[str, np.ndarray]:
    """Calendar of each of ``days``: the time of year as sin/cos of the day of year,
    the weekday (0 Monday … 6 Sunday), ``heating_season`` (1.0 on a day of
    ``heating_season``, the season's first and last day as MM-DD: :func:`in_season`)
    and ``holiday`` (1.0 on a public holiday of ``holidays``, a country code of the
    ``holidays`` package: :func:`~forecast.calendars.holiday_flags`). An empty
    ``heating_season`` or ``holidays`` makes that column all 0.0."""
    doy_sin, doy_cos = time_of_year(days)
    return {
        "doy_sin": doy_sin,
        "doy_cos": doy_cos,
        "weekday": days.weekday.to_numpy().astype(float),
        "heating_season": in_season(days, heating_season).astype(float),
        "holiday": holiday_flags(days, holidays),
    }


def strong_north_wind(grid: pd.DataFrame) -> np.ndarray:
    """Per hour of ``grid``: 1.0 when the wind is strong (≥ STRONG_WIND m/s) and blows from
    a sector of NORTH_SECTORS (NW, N, NE of :func:`~forecast.schema.sector_codes`: on
    16-point data WNW, NW, NNW, N, NNE and NE), 0.0 otherwise, NaN when the hour's wind
    speed or direction is missing. The one definition of a strong northerly, for day D's
    features and the target day's hours alike."""
    if "wind_dir" not in grid.columns or "wind_speed" not in grid.columns:
        return np.full(len(grid), np.nan)
    speed = grid["wind_speed"].to_numpy(dtype=float)
    sectors = sector_codes(grid["wind_dir"])
    north = np.isin(sectors, [SECTORS_8.index(s) for s in NORTH_SECTORS])
    strong = (speed >= STRONG_WIND) & north
    return np.where(np.isfinite(speed) & (sectors >= 0), strong.astype(float), np.nan)


def _wind_vectors(grid: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Hourly wind vector (u east, v north, m/s): direction the wind blows *from*."""
    if "wind_dir" not in grid.columns or "wind_speed" not in grid.columns:
        nan = np.full(len(grid), np.nan)
        return nan, nan
    degrees = compass_to_degrees(grid["wind_dir"])
    speed = grid["wind_speed"].to_numpy(dtype=float)
    calm = grid["wind_dir"].to_numpy() == CALM
    radians = np.deg2rad(degrees)
    u = np.where(calm, 0.0, -speed * np.sin(radians))
    v = np.where(calm, 0.0, -speed * np.cos(radians))
    return u, v


def _station_features(hourly_grid: pd.DataFrame, daily: pd.DataFrame, lags: int,
                      max_fill_days: int) -> pd.DataFrame:
    """Per-day features of one station, each from data up to the end of that day."""
    n_days = len(daily)
    # the columns (Series on daily's index or arrays of n_days), made a frame once at the
    # end: inserted one at a time into a frame they cost about a third of the station's time
    out: dict[str, pd.Series | np.ndarray] = {}
    mean = daily["daily_mean_pm25"].astype(float)
    filled = mean.ffill(limit=max_fill_days) if max_fill_days > 0 else mean
    out["pm25_filled"] = filled
    out["pm25_valid"] = daily["valid"].astype(float)
    out.update({f"pm25_lag{k}": filled.shift(k - 1) for k in range(1, lags + 1)})
    out["pm25_lag1_missing"] = 1.0 - out["pm25_valid"]
    out["pm25_missing_days_7"] = (1.0 - out["pm25_valid"]).rolling(7, min_periods=1).sum()
    out["pm25_last_valid"] = mean.ffill()
    last_valid_position = pd.Series(np.where(mean.notna(), np.arange(n_days), np.nan)).ffill()
    out["days_since_valid"] = np.arange(n_days) - last_valid_position.to_numpy()
    for window in ROLL_WINDOWS:
        rolling = mean.rolling(window, min_periods=max(1, window // 2))
        out[f"pm25_roll{window}_mean"] = rolling.mean()
        out[f"pm25_roll{window}_std"] = rolling.std()
        out[f"pm25_roll{window}_max"] = rolling.max()

    pm25_hourly = hourly_grid["pm25"].ffill(limit=HOURLY_FILL_LIMIT).to_numpy().reshape(n_days, 24)
    for hour in EVENING_HOURS:
        out[f"pm25_h{hour}"] = pm25_hourly[:, hour]
    out["pm25_evening_mean"] = nan_reduce(np.nanmean, pm25_hourly[:, EVENING])
    afternoon = nan_reduce(np.nanmean, pm25_hourly[:, slice(*QUARTERS["afternoon"])])
    out["pm25_evening_rise"] = out["pm25_evening_mean"] - afternoon
    out["pm25_day_max"] = nan_reduce(np.nanmax, pm25_hourly)
    last_hour = hourly_grid["pm25"].ffill().to_numpy().reshape(n_days, 24)[:, 23]
    out["pm25_last_hour"] = last_hour
    # accumulation and clearing act multiplicatively: log levels let linear models say so
    for column in ("pm25_lag1", "pm25_evening_mean", "pm25_last_hour", "pm25_roll3_mean"):
        out[f"log_{column}"] = np.log1p(np.maximum(np.asarray(out[column], dtype=float), 0.0))

    for column in DAILY_WEATHER:
        if column in daily.columns:
            out[column] = daily[column].to_numpy(dtype=float)
    if "temp_mean" in daily.columns and "dewp_mean" in daily.columns:
        out["dewp_spread"] = out["temp_mean"] - out["dewp_mean"]
    for column, name in (("pres_mean", "pres_change"), ("temp_mean", "temp_change")):
        if column in daily.columns:
            out[name] = pd.Series(out[column]).diff().to_numpy()
    if "temp" in hourly_grid.columns:
        # for forecast_temp_range only (day D's own range did not validate better): a small
        # daily range of temperature, a lid of warm air holding pollution near the ground
        temp_days = hourly_grid["temp"].to_numpy(dtype=float).reshape(n_days, 24)
        out["temp_range"] = nan_reduce(np.nanmax, temp_days) - nan_reduce(np.nanmin, temp_days)

    # a front on its way shows first in the last hours: pressure rising, air drying
    for column in ("pres", "dewp", "temp"):
        if column in hourly_grid.columns:
            hourly_values = hourly_grid[column].ffill(limit=HOURLY_FILL_LIMIT).to_numpy(
                dtype=float).reshape(n_days, 24)
            out[f"{column}_trend_6h"] = hourly_values[:, 23] - hourly_values[:, 17]
            out[f"{column}_trend_12h"] = hourly_values[:, 23] - hourly_values[:, 11]
            if column != "temp":
                for quarter, (start, end) in QUARTERS.items():
                    out[f"{column}_{quarter}"] = nan_reduce(np.nanmean,
                                                            hourly_values[:, start:end])
    if "rain" in hourly_grid.columns:
        rain = hourly_grid["rain"].to_numpy(dtype=float).reshape(n_days, 24)
        # unknown, not dry, on a day without a rain value (e.g. a forecast file without it)
        out["rain_hours"] = np.where(np.isfinite(rain).any(axis=1),
                                     (rain > 0).sum(axis=1), np.nan)
    u, v = _wind_vectors(hourly_grid)
    if np.isfinite(u).any():
        u_days, v_days = u.reshape(n_days, 24), v.reshape(n_days, 24)
        out["wind_u_mean"] = nan_reduce(np.nanmean, u_days)
        out["wind_v_mean"] = nan_reduce(np.nanmean, v_days)
        magnitude = np.hypot(out["wind_u_mean"], out["wind_v_mean"])
        with np.errstate(invalid="ignore", divide="ignore"):
            # direction the mean wind blows from, as a unit vector (0, 0 when no mean wind)
            out["wind_dir_sin"] = np.where(magnitude > 0, -out["wind_u_mean"] / magnitude, 0.0)
            out["wind_dir_cos"] = np.where(magnitude > 0, -out["wind_v_mean"] / magnitude, 0.0)
        for quarter in ("evening", "night", "morning", "afternoon"):   # the columns' order
            start, end = QUARTERS[quarter]
            out[f"wind_u_{quarter}"] = nan_reduce(np.nanmean, u_days[:, start:end])
            out[f"wind_v_{quarter}"] = nan_reduce(np.nanmean, v_days[:, start:end])
        out["wind_u_last3h"] = nan_reduce(np.nanmean, u_days[:, 21:24])
        out["wind_v_last3h"] = nan_reduce(np.nanmean, v_days[:, 21:24])
        for half, hours in (("am", slice(0, 12)), ("pm", slice(12, 24))):
            out[f"wind_u_{half}"] = nan_reduce(np.nanmean, u_days[:, hours])
            out[f"wind_v_{half}"] = nan_reduce(np.nanmean, v_days[:, hours])
    if "wind_speed" in hourly_grid.columns:
        speed = hourly_grid["wind_speed"].to_numpy(dtype=float)
        calm = speed < CALM_WIND
        if "wind_dir" in hourly_grid.columns:
            calm |= hourly_grid["wind_dir"].to_numpy() == CALM
        speed_days = speed.reshape(n_days, 24)
        # hour counts are unknown (NaN), not 0, on a day without a wind value (e.g. the
        # target day of a forecast file without wind)
        wind_known = np.isfinite(speed_days).any(axis=1)
        calm_days = calm.reshape(n_days, 24)
        out["calm_hours"] = np.where(wind_known, calm_days.sum(axis=1), np.nan)
        out["calm_hours_night"] = np.where(
            wind_known, calm_days[:, slice(*NIGHT_CALM_HOURS)].sum(axis=1), np.nan)
        for quarter in ("morning", "afternoon", "evening"):
            out[f"wind_speed_{quarter}"] = nan_reduce(np.nanmean,
                                                      speed_days[:, slice(*QUARTERS[quarter])])
        windy = speed >= STRONG_WIND
        out["hours_since_wind"] = _hours_since(windy).reshape(n_days, 24)[:, 23]
        if "wind_dir" in hourly_grid.columns:
            north_hours = strong_north_wind(hourly_grid) == 1.0
            since = _hours_since(north_hours)
            out["hours_since_north_wind"] = since.reshape(n_days, 24)[:, 23]
            strong_north = north_hours.reshape(n_days, 24)
            known = wind_known & hourly_grid["wind_dir"].notna().to_numpy().reshape(
                n_days, 24).any(axis=1)
            out["north_wind_hours"] = np.where(known, strong_north.sum(axis=1), np.nan)
            # when the day's first strong northerly arrives (24: none): the hours after it
            # are clean, so it says how much of a daily mean a front clears
            out["first_north_wind_hour"] = np.where(
                known, np.where(strong_north.any(axis=1), strong_north.argmax(axis=1), 24),
                np.nan)
    if "temp" in hourly_grid.columns and "dewp" in hourly_grid.columns:
        out["rh_mean"] = nan_reduce(np.nanmean, _relative_humidity(
            hourly_grid["temp"].to_numpy(dtype=float),
            hourly_grid["dewp"].to_numpy(dtype=float)).reshape(n_days, 24))
    return pd.DataFrame(out, index=daily.index)


def _relative_humidity(temp: np.ndarray, dewp: np.ndarray) -> np.ndarray:
    """Relative humidity (%) from temperature and dew point (°C), Magnus formula."""
    magnus = lambda t: np.exp(17.625 * t / (243.04 + t))  # noqa: E731
    return 100.0 * magnus(dewp) / magnus(temp)


def _forecast_weather(daily_features: pd.DataFrame, horizon: int,
                      issue_day: pd.DataFrame | None = None) -> pd.DataFrame:
    """The target day's observed weather: the stand-in for a weather forecast; its
    changes from day D's, whose features are ``issue_day`` (default: ``daily_features``,
    when those are the day's own rather than a forecast's)."""
    issue_day = daily_features if issue_day is None else issue_day
    columns = [c for c in DAILY_WEATHER + ("wind_u_mean", "wind_v_mean", "wind_u_am",
                                           "wind_v_am", "wind_u_pm", "wind_v_pm",
                                           "calm_hours", "north_wind_hours", "rh_mean",
                                           "hours_since_north_wind", "temp_range",
                                           "pres_trend_12h", "dewp_trend_12h",
                                           "wind_u_evening", "wind_v_evening",
                                           *(c for c in FORECAST_ONLY if c != "temp_range"))
               if c in daily_features.columns]
    ahead = daily_features[columns].shift(-horizon)
    ahead.columns = [f"forecast_{c}" for c in columns]
    for quantity in CHANGE_QUANTITIES:
        if f"{quantity}_mean" in daily_features.columns:
            ahead[f"forecast_{quantity}_change"] = (ahead[f"forecast_{quantity}_mean"]
                                                    - issue_day[f"{quantity}_mean"])
    return ahead


def station_offsets_km(coordinates: dict[str, tuple[float, float]],
                       stations: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """East and north offsets (km) from station i to station j, (n_stations, n_stations):
    a local flat map, east = R·Δλ·cos φ̄ and north = R·Δφ (radians, φ̄ the pair's mean
    latitude, R = 6,371 km), within a fraction of a per cent over a city's distances."""
    lat = np.deg2rad(np.array([coordinates[s][0] for s in stations], dtype=float))
    lon = np.deg2rad(np.array([coordinates[s][1] for s in stations], dtype=float))
    east = EARTH_RADIUS_KM * (lon[None, :] - lon[:, None]) * np.cos((lat[None, :] + lat[:, None]) / 2)
    north = EARTH_RADIUS_KM * (lat[None, :] - lat[:, None])
    return east, north


def _leave_one_out_mean(values: np.ndarray) -> np.ndarray:
    """Per day (row) and station (column): the mean over the other stations' finite values."""
    finite = np.isfinite(values)
    zeroed = np.where(finite, values, 0.0)
    total = zeroed.sum(axis=1, keepdims=True) - zeroed
    count = finite.sum(axis=1, keepdims=True) - finite
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _leave_one_out_max(values: np.ndarray) -> np.ndarray:
    """Per day (row) and station (column): the maximum of the other stations' finite
    values, from each day's largest and second-largest (linear in the stations)."""
    filled = np.where(np.isfinite(values), values, -np.inf)
    days = np.arange(len(filled))
    first = filled.argmax(axis=1)
    top = filled[days, first]
    rest = filled.copy()
    rest[days, first] = -np.inf
    second = rest.max(axis=1)
    out = np.where(np.arange(filled.shape[1])[None, :] == first[:, None],
                   second[:, None], top[:, None])
    return np.where(np.isfinite(out), out, np.nan)


def upwind_weights(wind_u: np.ndarray, wind_v: np.ndarray, east: np.ndarray,
                   north: np.ndarray) -> np.ndarray:
    """Weights (1/km) of the neighbours of one station on each day, (n_days, n_neighbours).

    ``wind_u``/``wind_v`` (n_days,): the station's day-mean wind vector (m/s, the mean of
    the 24 hourly vectors, calm hours as zero, pointing where the air moves *to*); ``east``/``north`` (n_neighbours,): the offsets (km)
    from the station to each neighbour. With f = −(u, v)/|(u, v)| the unit vector
    pointing to where the wind comes *from*, b_j the unit vector and d_j the distance
    (km) from the station to neighbour j, w_j = max(0, f·b_j) / d_j = max(0, cos θ_j) / d_j:
    a neighbour straight upwind counts fully, one across the wind or downwind not at all,
    a nearer one more. All zero on a day whose mean wind is shorter than ``UPWIND_CALM``
    (0.5 m/s) or unknown.
    """
    speed = np.hypot(wind_u, wind_v)
    moving = np.isfinite(speed) & (speed >= UPWIND_CALM)
    with np.errstate(invalid="ignore", divide="ignore"):
        from_east = np.where(moving, -wind_u / speed, 0.0)
        from_north = np.where(moving, -wind_v / speed, 0.0)
    distance = np.hypot(east, north)
    apart = np.where(distance > 0, distance, np.inf)   # a neighbour on the spot: no bearing
    cosine = (from_east[:, None] * east[None, :] + from_north[:, None] * north[None, :]) / apart
    return np.maximum(cosine, 0.0) / apart


def neighbour_features(daily_mean: np.ndarray, evening: np.ndarray,
                       wind_u: np.ndarray | None = None, wind_v: np.ndarray | None = None,
                       offsets: tuple[np.ndarray, np.ndarray] | None = None
                       ) -> dict[str, np.ndarray]:
    """What the other stations measured on day D, (n_days, n_stations) each, all from day
    D and earlier (row d of every input is day d).

    ``daily_mean``: each station's valid daily-mean PM2.5 (µg/m³, NaN when invalid);
    ``evening``: its 18–23 h mean PM2.5 (``pm25_evening_mean``); ``wind_u``/``wind_v``:
    its day-mean wind vector (m/s); ``offsets``: :func:`station_offsets_km`. For station i
    and day D, over the stations j ≠ i with a value:

    * ``region_pm25_mean``, ``region_pm25_max``: mean and maximum of their daily means;
    * ``region_pm25_evening_mean``: mean of their evening means (µg/m³);
    * ``upwind_pm25_evening`` (only with wind and offsets): Σ w_j·E_j / Σ w_j over the
      neighbours j with an evening mean E_j, w_j the weights of :func:`upwind_weights`
      from station i's wind of day D; on a calm day (|mean wind| < 0.5 m/s), without
      wind, or with no neighbour upwind (Σ w_j = 0) it is the plain mean
      ``region_pm25_evening_mean``.

    NaN where no other station has a value. Cost: O(n_days × n_stations) per station,
    so quadratic in the stations (docs/performance.md).
    """
    out = {"region_pm25_mean": _leave_one_out_mean(daily_mean),
           "region_pm25_max": _leave_one_out_max(daily_mean),
           "region_pm25_evening_mean": _leave_one_out_mean(evening)}
    if wind_u is None or wind_v is None or offsets is None:
        return out
    east, north = offsets
    reported = np.isfinite(evening)
    values = np.where(reported, evening, 0.0)
    upwind = out["region_pm25_evening_mean"].copy()
    n_days, n = evening.shape
    # a block of days at a time: the (days, neighbours) temporaries of a whole period
    # went through memory a dozen times per station (×1.9 faster at 600 stations)
    for start in range(0, n_days, UPWIND_BLOCK_DAYS):
        days = slice(start, start + UPWIND_BLOCK_DAYS)
        block_reported, block_values = reported[days], values[days]
        for i in range(n):
            others = np.arange(n) != i
            weights = upwind_weights(wind_u[days, i], wind_v[days, i], east[i, others],
                                     north[i, others])
            weights = np.where(block_reported[:, others], weights, 0.0)
            total = weights.sum(axis=1)
            weighted = (weights * block_values[:, others]).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                upwind[days, i] = np.where(total > 0,
                                           weighted / np.where(total > 0, total, 1.0),
                                           upwind[days, i])
    out[UPWIND_FEATURE] = upwind
    return out


def _region_columns(inputs: list[pd.DataFrame], dates: list[pd.DatetimeIndex],
                    stations: list[str], coordinates: dict | None
                    ) -> tuple[list[pd.DataFrame], dict[str, str]]:
    """The neighbour features of every station (aligned on its own days), and the
    features left out with why. ``inputs``: per station ``daily_mean_pm25``,
    ``pm25_evening_mean`` and, where it has wind, ``wind_u_mean``/``wind_v_mean`` on its
    days ``dates``. Stations' periods may differ: a common day axis holds every
    station's values, NaN where it has none."""
    axis = pd.DatetimeIndex(np.unique(np.concatenate([d.to_numpy() for d in dates])))
    at = [axis.get_indexer(d) for d in dates]

    def grid(column: str) -> np.ndarray | None:
        if not any(column in frame.columns for frame in inputs):
            return None
        values = np.full((len(axis), len(stations)), np.nan)
        for i, frame in enumerate(inputs):
            if column in frame.columns:
                values[at[i], i] = frame[column].to_numpy(dtype=float)
        return values

    omitted = {}
    wind_u, wind_v = grid("wind_u_mean"), grid("wind_v_mean")
    unplaced = [s for s in stations if s not in (coordinates or {})]
    offsets = None
    if unplaced:
        omitted[UPWIND_FEATURE] = ("no station coordinates" if len(unplaced) == len(stations)
                                   else f"no coordinates for {', '.join(unplaced)}")
    elif wind_u is None:
        omitted[UPWIND_FEATURE] = "no wind data"
    else:
        offsets = station_offsets_km(coordinates, stations)
    built = neighbour_features(grid("daily_mean_pm25"), grid("pm25_evening_mean"),
                               wind_u, wind_v, offsets)
    columns = [pd.DataFrame({name: values[at[i], i] for name, values in built.items()},
                            index=inputs[i].index) for i in range(len(stations))]
    return columns, omitted


def _station_blocks(grid: pd.DataFrame) -> dict[str, slice]:
    """Each station's rows of a grid of :func:`~forecast.daily.complete_hours` (sorted by
    station, so a station's rows are one block), as a slice: taking them copies nothing."""
    codes, names = pd.factorize(grid["station"], sort=True)
    bounds = np.searchsorted(codes, np.arange(len(names) + 1))
    return {str(name): slice(bounds[i], bounds[i + 1]) for i, name in enumerate(names)}


def _windows(values: np.ndarray, positions: np.ndarray, length: int) -> np.ndarray:
    """values[p − length + 1 .. p] for each p, NaN-padded before the start, oldest first."""
    padded = np.concatenate([np.full((length - 1,) + values.shape[1:], np.nan), values])
    index = positions[:, None] + np.arange(length)[None, :]
    return padded[index]


def coarse_weather(grid: pd.DataFrame, step: int, rain_is_flag: bool = False) -> pd.DataFrame:
    """A complete hourly grid (:func:`~forecast.daily.complete_hours`) with its weather as
    a forecast every ``step`` hours would give it, made hourly as ``forecast predict
    --weather`` makes such a file hourly (:func:`forecast.predict.weather_hours`), day by
    day: temperature, dew point, pressure and wind speed kept at hours 0, step, ... and
    interpolated linearly between them (the last held to the day's end); the wind
    direction of the nearest kept hour (the later on a tie); rain (mm) the step's mean
    hourly amount in each of its hours, a 0/1 rain flag (``rain_is_flag``) and snow the
    step's maximum. PM2.5 is left as it is."""
    if step not in WEATHER_STEPS:
        raise DataError(f"weather_step must be one of {', '.join(map(str, WEATHER_STEPS))} "
                        f"hours (a whole number of steps a day), not {step}")
    out = grid.copy()
    if step == 1:
        return out
    n_days = len(grid) // 24
    hour = np.arange(24)
    kept = hour // step                                  # the kept hour at or before
    last = 24 // step - 1
    after = np.minimum(kept + 1, last)
    weight = np.where(kept < last, (hour % step) / step, 0.0)
    nearest = np.where((hour % step) * 2 >= step, after, kept)
    nearest = np.where(kept < last, nearest, kept)
    for column in ("temp", "dewp", "pres", "wind_speed"):
        if column in grid.columns:
            at = grid[column].to_numpy(dtype=float).reshape(n_days, 24)[:, ::step]
            with np.errstate(invalid="ignore"):
                values = np.where(weight == 0.0, at[:, kept],
                                  at[:, kept] * (1.0 - weight) + at[:, after] * weight)
            out[column] = values.reshape(-1)
    if "wind_dir" in grid.columns:
        codes = grid["wind_dir"].cat.codes.to_numpy().reshape(n_days, 24)[:, ::step]
        out["wind_dir"] = pd.Categorical.from_codes(codes[:, nearest].reshape(-1),
                                                    dtype=grid["wind_dir"].dtype)
    for column in ("rain", "snow"):
        if column in grid.columns:
            blocks = grid[column].to_numpy(dtype=float).reshape(n_days, 24 // step, step)
            reduce = np.nanmax if column == "snow" or rain_is_flag else np.nanmean
            per_step = nan_reduce(reduce, blocks, axis=2)
            out[column] = np.repeat(per_step, step, axis=1).reshape(-1)
    return out


def forecast_errors(grid: pd.DataFrame, scale: float, seed: int = 0,
                    forecast_from: pd.Timestamp | None = None,
                    sizes: dict[str, float] | None = None) -> pd.DataFrame:
    """An hourly grid whose weather has a day-ahead forecast's errors: for each day one
    error per quantity, the same for every station and hour (forecast errors are mostly
    synoptic), drawn from N(0, ``scale`` × its size in ``sizes``, default
    :data:`~forecast.constants.TYPICAL_FORECAST_ERRORS`):
    added to temperature, dew point and pressure, the wind speed multiplied by the
    exponential of its error, the wind direction turned by its error to the nearest of
    the 16 compass points (calm stays calm). Rain is left as it is. The hours from
    ``forecast_from`` on, a real forecast's (``forecast predict --weather``), are left as
    they are; the draws depend on ``seed`` and the day alone. ``grid['wind_dir']`` has
    the categories of :data:`~forecast.schema.WIND_DIRECTIONS` (16 points, then calm)."""
    out = grid.copy()
    day = grid["time"].dt.normalize()
    days, index = np.unique(day.to_numpy(), return_inverse=True)
    # each day's errors from a generator seeded by the day itself: the same day gets the
    # same errors in a run, its folds and forecast predict, whatever the data's span
    day_numbers = (days - np.datetime64("1970-01-01", "D")) // np.timedelta64(1, "D")
    standard = np.array([np.random.default_rng([seed, int(d) + 10**6]).standard_normal(
        len(TYPICAL_FORECAST_ERRORS)) for d in day_numbers]).reshape(
            len(days), len(TYPICAL_FORECAST_ERRORS))
    sizes = {**TYPICAL_FORECAST_ERRORS, **(sizes or {})}
    draws = {name: standard[index, k] * sizes[name] * scale
             for k, name in enumerate(TYPICAL_FORECAST_ERRORS)}
    observed = (np.ones(len(grid), dtype=bool) if forecast_from is None
                else (grid["time"] < forecast_from).to_numpy())
    for column in ("temp", "dewp", "pres"):
        if column in out.columns:
            out[column] = np.where(observed, grid[column] + draws[column], grid[column])
    if "wind_speed" in out.columns:
        factor = np.where(observed, np.exp(draws["wind_speed"]), 1.0)
        out["wind_speed"] = grid["wind_speed"].to_numpy(dtype=float) * factor
    if "wind_dir" in out.columns:
        codes = grid["wind_dir"].cat.codes.to_numpy()
        compass = (codes >= 0) & (codes < len(COMPASS_16)) & observed
        turned = np.round(codes + draws["wind_dir"] / 22.5).astype(int) % len(COMPASS_16)
        codes = np.where(compass, turned, codes)
        out["wind_dir"] = pd.Categorical.from_codes(codes, dtype=grid["wind_dir"].dtype)
    return out


def build_task(hourly: pd.DataFrame, daily: pd.DataFrame, *, dataset: str = "csv",
               mode: str = "observed", horizon: int = 1, lags: int = 7,
               sequence_length: int = 14, hourly_hours: int = 0,
               max_fill_days: int = 2, target_transform: str = DEFAULT_TARGET_TRANSFORM,
               train_end: str = "", val_end: str = "", test_end: str = "",
               coordinates: dict[str, tuple[float, float]] | None = None,
               min_hours: int | None = None, target_hours: bool = False,
               weather_step: int = 1, rain_is_flag: bool = False,
               weather_error: float = 0.0, weather_error_seed: int = 0,
               weather_error_sizes: dict[str, float] | None = None,
               forecast_from: pd.Timestamp | None = None,
               require_splits: bool = True, holidays: str = DEFAULT_HOLIDAYS,
               heating_season: Sequence[str] | None = DEFAULT_HEATING_SEASON
               ) -> ForecastTask:
    """Build the ForecastTask of every station from its HourlyFrame and DailyFrame.

    ``hourly_hours`` > 0 also builds ``task.hourly``, the last that many hours up to the
    end of each issue day (0: none, which saves its memory when no model reads it); in
    forecast mode it goes on to the end of the target day, with the weather of those
    24 × ``horizon`` hours and their PM2.5 missing.
    ``coordinates`` (station → (latitude, longitude), decimal degrees) enable the upwind
    feature of a task with several stations; without them it is left out (and named in
    ``omitted_features``), the regional mean and maximum are built all the same.
    ``target_hours`` (forecast mode only) also builds ``task.target_hours`` and
    ``task.y_hours``, the target day's weather and PM2.5 hour by hour.
    ``min_hours``: the completeness rule ``daily`` was made with, for rebuilding the task
    at other issue hours (default: what :func:`~forecast.daily.to_daily` recorded in
    ``daily.attrs``, else the 18-hour rule).
    ``weather_step`` (forecast mode; hours, :data:`WEATHER_STEPS`): the target day's
    weather, every input built from it, is that of a forecast every that many hours
    (:func:`coarse_weather`; ``rain_is_flag`` when the rain column is a 0/1 flag), so
    that models are fitted and chosen for the weather forecast they will be given; day
    D's own record stays hourly.
    ``weather_error`` (forecast mode; a scale of ``weather_error_sizes``, default
    :data:`~forecast.constants.TYPICAL_FORECAST_ERRORS`; 0 for a perfect forecast): the
    target day's weather, every input built from it, has the day-level errors of
    :func:`forecast_errors` (seeded by ``weather_error_seed``), but
    not from ``forecast_from`` on, the first hour of a real weather forecast appended to
    the data; day D's record, the targets and the issue time's weather stay observed.
    ``require_splits`` (default): every split must hold a valid target day (DataError
    otherwise); False for a task that stored models only forecast from
    (``forecast predict`` on newer data), which need the lags' history and no split.
    ``holidays`` and ``heating_season`` (``[task]`` options; defaults: Beijing's, China's
    public holidays and 15 Nov – 15 Mar) make the target day's ``holiday`` and
    ``heating_season`` features (:func:`calendar_features`).
    """
    if mode not in ("observed", "forecast"):
        raise DataError(f"unknown mode {mode!r}; choose observed or forecast")
    if target_hours and mode != "forecast":
        raise DataError("the target day's hourly weather is an input in forecast mode only "
                        "(--mode forecast)")
    if (weather_step != 1 or weather_error) and mode != "forecast":
        raise DataError("weather_step and weather_error describe the target day's weather "
                        "forecast, an input in forecast mode only (--mode forecast)")
    if not 0.0 <= weather_error <= 10.0:
        raise DataError(f"weather_error must be between 0 (a perfect forecast) and 10 times "
                        f"the typical day-ahead errors, not {weather_error}")
    warmup = max(lags, max(ROLL_WINDOWS))
    hours_ahead = 24 * horizon if mode == "forecast" else 0   # of task.hourly
    grid = complete_hours(hourly)
    forecast_grid = forecast_daily = None
    if weather_step != 1 or weather_error:
        from .daily import to_daily

        forecast_grid = (coarse_weather(grid, weather_step, rain_is_flag)
                         if weather_step != 1 else grid)       # forecast_errors copies it
        if weather_error:
            forecast_grid = forecast_errors(forecast_grid, weather_error, weather_error_seed,
                                            forecast_from, weather_error_sizes)
        forecast_daily = to_daily(forecast_grid, int(min_hours or daily.attrs.get(
            "min_hours", DEFAULT_MIN_HOURS)))
        forecast_rows = {str(k): v for k, v in forecast_daily.groupby(
            "station", sort=True, observed=True).indices.items()}
    stations = sorted(daily["station"].unique().tolist())
    # row positions per station (one pass each); one station's rows are taken at a time
    daily_rows = {str(k): v for k, v in
                  daily.groupby("station", sort=True, observed=True).indices.items()}
    grid_rows = _station_blocks(grid)
    # first pass: each station's own features; the neighbour features need them all
    station_dailies, station_features, forecast_features = [], [], []
    for station in stations:
        station_daily = daily.iloc[daily_rows[station]].reset_index(drop=True)
        n_days = len(station_daily)
        # a forecast reads the warmup days up to its issue day; a task to fit and score
        # needs target days after them too
        needed = warmup + horizon + 1 if require_splits else warmup
        if n_days < needed:
            days = f"{n_days} day" + ("s" if n_days != 1 else "")
            raise DataError(f"station {station}: {days} of data is too little history: at "
                            f"least {needed} are needed (a forecast reads the {warmup} days "
                            "up to its issue day, through its lags and rolling means"
                            + (f", and its target lies {horizon} day(s) later)"
                               if require_splits else ")"))
        station_dailies.append(station_daily)
        station_grid = grid.iloc[grid_rows[station]].reset_index(drop=True)
        station_features.append(_station_features(station_grid, station_daily, lags,
                                                  max_fill_days))
        if forecast_grid is not None:
            forecast_station_daily = forecast_daily.iloc[forecast_rows[station]].reset_index(drop=True)
            if not forecast_station_daily["date"].equals(station_daily["date"]):
                raise DataError(f"station {station}: the daily frame's days are not those "
                                "of its hourly record")
            forecast_features.append(_station_features(
                forecast_grid.iloc[grid_rows[station]].reset_index(drop=True),
                forecast_station_daily, lags, max_fill_days))
    region, omitted = [None] * len(stations), {}
    if len(stations) >= 2:
        inputs = [f.reindex(columns=[c for c in ("pm25_evening_mean", "wind_u_mean",
                                                 "wind_v_mean") if c in f.columns])
                  .assign(daily_mean_pm25=d["daily_mean_pm25"].to_numpy(dtype=float))
                  for f, d in zip(station_features, station_dailies, strict=True)]
        region, omitted = _region_columns(
            inputs, [pd.DatetimeIndex(d["date"]) for d in station_dailies], stations,
            coordinates)

    # second pass: each station's rows of the arrays, filled in place (no copies to
    # concatenate); a station's features are let go once its rows are written
    n_rows = [len(d) - warmup + 1 for d in station_dailies]
    ends = np.cumsum(n_rows)
    row_blocks = []
    feature_names: list[str] | None = None
    for station_index, station in enumerate(stations):
        station_daily = station_dailies[station_index]
        features = station_features[station_index]
        station_features[station_index] = None
        n_days = len(station_daily)
        issue_days = pd.DatetimeIndex(station_daily["date"])
        target_days = issue_days + pd.Timedelta(days=horizon)
        calendar = calendar_features(target_days, holidays, heating_season)
        # the sequences' time of year is the issue day's
        features["doy_sin"], features["doy_cos"] = time_of_year(issue_days)
        tabular = features.drop(columns=["pm25_filled", "pm25_valid", "doy_sin", "doy_cos",
                                         *FORECAST_ONLY], errors="ignore")
        if region[station_index] is not None:
            tabular = pd.concat([tabular, region[station_index]], axis=1)
        tabular = pd.concat([tabular, pd.DataFrame(calendar, index=tabular.index)], axis=1)
        if mode == "forecast":
            ahead = features if forecast_grid is None else forecast_features[station_index]
            tabular = pd.concat([tabular, _forecast_weather(ahead, horizon, features)], axis=1)
            if forecast_grid is not None:
                forecast_features[station_index] = None
        target = station_daily["daily_mean_pm25"].shift(-horizon).to_numpy(dtype=float)
        positions = np.arange(warmup - 1, n_days)
        rows = pd.DataFrame({
            "station": station,
            "station_index": station_index,
            "issue_day": issue_days[positions],
            "target_day": target_days[positions],
            "y": target[positions],
        })
        if feature_names is None:
            feature_names = list(tabular.columns)
            X = np.empty((ends[-1], len(feature_names)), dtype=np.float32)
            sequence_tables, sequence_index = [], np.empty((ends[-1], sequence_length),
                                                           dtype=np.int64)
            table_rows = 0
            if hourly_hours > 0:
                hourly_window = np.empty((ends[-1], hourly_hours + hours_ahead,
                                          len(HOURLY_SEQUENCE_FEATURES)), dtype=np.float32)
            if target_hours:
                target_window = np.empty((ends[-1], 1 + 24, len(TARGET_HOUR_CHANNELS)),
                                         dtype=np.float32)
                target_pm25 = np.empty((ends[-1], 24), dtype=np.float32)
        block = slice(ends[station_index] - n_rows[station_index], ends[station_index])
        tabular = tabular.reindex(columns=feature_names)
        row_blocks.append(rows)
        X[block] = tabular.to_numpy(dtype=np.float32)[positions]
        # the daily sequence: each day's values once, the windows as day numbers (a
        # window position before the station's first day reads the all-NaN row, -1)
        seq_values = features.reindex(columns=list(SEQUENCE_FEATURES)).to_numpy(dtype=np.float32)
        days = positions[:, None] + np.arange(1 - sequence_length, 1)[None, :]
        sequence_index[block] = np.where(days >= 0, table_rows + days, -1)
        sequence_tables.append(seq_values.astype(float))
        table_rows += len(seq_values)
        if hourly_hours > 0 or target_hours:
            station_grid = grid.iloc[grid_rows[station]].reset_index(drop=True)
            station_hours = _hourly_inputs(station_grid)
            # the target day's hours as the weather forecast gives them
            ahead_grid = (station_grid if forecast_grid is None else
                          forecast_grid.iloc[grid_rows[station]].reset_index(drop=True))
            ahead_hours = (station_hours if forecast_grid is None else
                           _hourly_inputs(ahead_grid))
        if hourly_hours > 0:
            # up to hour 23 of the issue day, its last; in forecast mode on to the end of
            # the target day, whose PM2.5 is not known at the issue time
            ahead = np.full((hours_ahead, station_hours.shape[1]), np.nan, dtype=np.float32)
            ends_at = positions * 24 + 23 + hours_ahead
            window = _windows(np.concatenate([station_hours, ahead]), ends_at,
                              hourly_hours + hours_ahead)
            if hours_ahead and forecast_grid is not None:
                window[:, hourly_hours:] = _windows(np.concatenate([ahead_hours, ahead]),
                                                    ends_at, hours_ahead)
            window[:, hourly_hours:, HOURLY_SEQUENCE_FEATURES.index("pm25")] = np.nan
            hourly_window[block] = window
        if target_hours:
            target_window[block], target_pm25[block] = _target_day_hours(
                np.column_stack([station_hours, strong_north_wind(station_grid)]),
                positions, horizon)
            if forecast_grid is not None:     # the issue time's weather stays as observed
                target_window[block, 1:] = _target_day_hours(
                    np.column_stack([ahead_hours, strong_north_wind(ahead_grid)]),
                    positions, horizon)[0][:, 1:]
    rows = pd.concat(row_blocks, ignore_index=True)
    y = rows["y"].to_numpy(dtype=float, copy=True)
    if require_splits and not np.isfinite(y).any():
        raise DataError("no valid target day: every daily mean PM2.5 is missing or incomplete")
    given = [train_end, val_end, test_end]
    defaults = default_split_ends(dataset, rows["issue_day"])
    ends = [end or default for end, default in zip(given, defaults, strict=True)]
    rows["split"] = assign_splits(rows["target_day"], *ends)
    for name in SPLITS if require_splits else ():
        if not (rows["split"].eq(name) & np.isfinite(y)).any():
            scored = rows["target_day"][np.isfinite(y)]
            short = ("; the default splits need more than two years of data (the last "
                     "365 days test, the 365 before them validate, the rest trains)"
                     if not any(given) and dataset not in DEFAULT_SPLITS else "")
            last_issue = rows["issue_day"].max()
            if not any(given) and last_issue - scored.max() > pd.Timedelta(days=365):
                short = (f"; the data's last day, {last_issue:%Y-%m-%d}, lies more than a "
                         "year after its last valid daily mean (a row with a wrong date?), "
                         "and the default splits end at it")
            if lags >= 30:
                short = (f"; the lags (task.lags = {lags}) take each station's first {lags} "
                         "days of history, so no target day before them is scored" + short)
            raise DataError(
                f"split {name!r} has no scored day: the valid target days run from "
                f"{scored.min():%Y-%m-%d} to {scored.max():%Y-%m-%d} ({len(scored)} days) "
                f"and the splits end {', '.join(ends)}{short}; set [split] "
                "train_end/val_end/test_end to dates inside the data")
    persistence_column = feature_names.index("pm25_last_valid")
    sequence_tables.append(np.full((1, len(SEQUENCE_FEATURES)), np.nan))
    table = np.concatenate(sequence_tables)
    sequence_index[sequence_index < 0] = len(table) - 1
    source = IssueHourSource(
        hourly=hourly,
        min_hours=int(min_hours or daily.attrs.get("min_hours", DEFAULT_MIN_HOURS)),
        # (no target_hours: a row issued at another hour takes the end-of-day row's)
        options=dict(dataset=dataset, mode=mode, horizon=horizon, lags=lags,
                     sequence_length=sequence_length, hourly_hours=hourly_hours,
                     max_fill_days=max_fill_days, target_transform=target_transform,
                     train_end=ends[0], val_end=ends[1], test_end=ends[2],
                     coordinates=coordinates, weather_step=weather_step,
                     rain_is_flag=rain_is_flag, weather_error=weather_error,
                     weather_error_seed=weather_error_seed,
                     weather_error_sizes=weather_error_sizes, holidays=holidays,
                     heating_season=heating_season),
        end_of_day_rows=rows, end_of_day_X=X, end_of_day_features=list(feature_names))
    return ForecastTask(
        rows=rows, X=X, feature_names=feature_names,
        sequence=Windows(table, sequence_index), sequence_names=list(SEQUENCE_FEATURES), y=y,
        persistence=X[:, persistence_column].astype(float), stations=stations, mode=mode,
        horizon=horizon, splits=describe_splits(rows), target_transform=target_transform,
        hourly=hourly_window if hourly_hours > 0 else None,
        hourly_names=list(HOURLY_SEQUENCE_FEATURES) if hourly_hours > 0 else [],
        target_hours=target_window if target_hours else None,
        target_hour_names=list(TARGET_HOUR_CHANNELS) if target_hours else [],
        y_hours=target_pm25 if target_hours else None,
        omitted_features=omitted, issue_hour_source=source,
    )


def _target_day_hours(values: np.ndarray, issue_positions: np.ndarray, horizon: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """From one station's hourly channels ``values`` (:func:`_hourly_inputs`), per issue
    day (day positions ``issue_positions`` in its grid): the weather channels of the issue
    day's last hour and of hours 0–23 of the target day (n, 25, TARGET_HOUR_CHANNELS) and
    the target day's PM2.5 (n, 24); NaN past the data's end. ``values`` has the channels
    of HOURLY_SEQUENCE_FEATURES, then those of TARGET_HOUR_CHANNELS beyond them."""
    days = values.reshape(-1, 24, values.shape[1])
    target = issue_positions + horizon
    inside = target < len(days)
    hours = np.full((len(issue_positions), 24, values.shape[1]), np.nan, dtype=np.float32)
    hours[inside] = days[target[inside]]
    issue_hour = days[issue_positions, 23:24, 1:]
    return np.concatenate([issue_hour, hours[:, :, 1:]], axis=1), hours[:, :, 0]


TARGET_HOUR_FEATURES = ("hour", *TARGET_HOUR_WEATHER, "dewp_since_issue",
                        "pres_since_issue", "wind_run", "wind_run_u", "wind_run_v",
                        "north_wind_hours_so_far", "hours_since_north_wind_arrived")


def target_hour_features(target_hours: np.ndarray, names: list[str]) -> np.ndarray:
    """Per row and hour of the target day, what its weather says about that hour
    (n_rows, 24, :data:`TARGET_HOUR_FEATURES`), from ``task.target_hours`` (channels
    ``names``, :data:`TARGET_HOUR_CHANNELS`): the hour (0–23), that hour's weather, its
    dew point and pressure minus those at the issue time (the end of day D), the wind
    run since the target day began (m/s × h: speed, and the wind vector's u and v, missing
    hours as 0), the strong northerly hours (:func:`strong_north_wind`, missing hours as
    not) so far, and the hours since the day's first one (negative before it, NaN on a
    day without one).
    Pollution is blown out over hours: by how far the air has moved since midnight, and
    how long ago a front came through."""
    n_rows = len(target_hours)
    channel = {name: target_hours[:, 1:, k].astype(float) for k, name in enumerate(names)}
    at_issue = {name: target_hours[:, :1, k].astype(float) for k, name in enumerate(names)}
    missing = np.full((n_rows, 24), np.nan)
    speed = channel.get("wind_speed", missing)
    u, v = channel.get("wind_u", missing), channel.get("wind_v", missing)
    north = channel.get("strong_north_wind", missing) == 1.0
    first_north = np.where(north.any(axis=1), north.argmax(axis=1), np.nan)
    hour = np.broadcast_to(np.arange(24, dtype=float), (n_rows, 24))
    since_issue = [channel[q] - at_issue[q] if q in channel else missing
                   for q in ("dewp", "pres")]
    columns = [hour, *(channel.get(name, missing) for name in TARGET_HOUR_WEATHER),
               *since_issue,
               np.cumsum(np.nan_to_num(speed), axis=1), np.cumsum(np.nan_to_num(u), axis=1),
               np.cumsum(np.nan_to_num(v), axis=1), np.cumsum(north, axis=1).astype(float),
               hour - first_north[:, None]]
    return np.stack(columns, axis=2)


def _hourly_inputs(grid: pd.DataFrame) -> np.ndarray:
    u, v = _wind_vectors(grid)
    columns = {"wind_u": u, "wind_v": v}
    values = [grid[c].to_numpy(dtype=float) if c in grid.columns else columns.get(c, np.full(len(grid), np.nan))
              for c in HOURLY_SEQUENCE_FEATURES]
    return np.stack(values, axis=1).astype(np.float32)


def uninformative_columns(values: np.ndarray) -> np.ndarray:
    """Per column (last axis) of ``values``: True when it holds no finite value, or one
    value only (constant), over every other axis."""
    flat = values.reshape(-1, values.shape[-1])
    finite = np.isfinite(flat)
    low = np.where(finite, flat, np.inf).min(axis=0)
    high = np.where(finite, flat, -np.inf).max(axis=0)
    return ~finite.any(axis=0) | (high <= low)


def check_inputs(fitted: dict[str, list[str]], task: ForecastTask, where: str) -> None:
    """DataError (naming ``where``, e.g. the model's file) unless ``task`` gives each kind
    of input in ``fitted`` (:meth:`ForecastTask.input_names` of the task it was fitted
    on) under the same names in the same order: a model reads its inputs by position."""
    given = task.input_names()
    for kind, names in fitted.items():
        now = given.get(kind, [])
        if list(names) == now:
            continue
        missing = [n for n in names if n not in now]
        extra = [n for n in now if n not in names]
        detail = ((f" (missing: {', '.join(missing[:5])})" if missing else "")
                  + (f" (new: {', '.join(extra[:5])})" if extra else "")
                  or " (the same ones in another order)")
        raise DataError(f"{where}: fitted on {len(names)} {kind}, the data gives "
                        f"{len(now)}{detail}")


def drop_uninformative(task: ForecastTask) -> tuple[ForecastTask, list[str]]:
    """The task without the tabular features and sequence channels that are all-missing
    or constant in its training split (every row of the split, scored or not), and
    their names. No model can learn from them, and a scaler fitted on them has nothing
    to scale by; a network would otherwise meet raw values outside training (e.g.
    1,017 hPa where training held only missing pressures)."""
    train = task.mask("train", scored=False)
    dropped = [n for n, d in zip(task.feature_names, uninformative_columns(task.X[train]),
                                 strict=True) if d]
    dropped += [f"sequence:{n}" for n, d in zip(
        task.sequence_names, uninformative_columns(task.sequence.values_of(train)),
        strict=True) if d]
    if task.hourly is not None:
        dropped += [f"hourly:{n}" for n, d in zip(
            task.hourly_names, uninformative_columns(task.hourly[train]), strict=True) if d]
    return (without_features(task, dropped) if dropped else task), dropped


def without_features(task: ForecastTask, names: list[str]) -> ForecastTask:
    """The task without the named features (``sequence:NAME`` / ``hourly:NAME`` for
    sequence and hourly channels), e.g. those a run dropped, so that its fitted models
    meet the inputs they were trained on."""
    keep_x = [n not in names for n in task.feature_names]
    keep_seq = [f"sequence:{n}" not in names for n in task.sequence_names]
    changes = {"X": task.X[:, keep_x],
               "feature_names": [n for n, k in zip(task.feature_names, keep_x, strict=True) if k],
               "sequence": task.sequence.channels(keep_seq),
               "sequence_names": [n for n, k in zip(task.sequence_names, keep_seq, strict=True)
                                  if k]}
    if task.hourly is not None:
        keep_hourly = [f"hourly:{n}" not in names for n in task.hourly_names]
        changes.update(hourly=task.hourly[:, :, keep_hourly],
                       hourly_names=[n for n, k in zip(task.hourly_names, keep_hourly,
                                                       strict=True) if k])
    return replace(task, **changes)


def train_statistics(task: ForecastTask, values: np.ndarray | Windows
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std over the training rows only (NaN ignored; std 0 → 1):
    ``task.training_rows``, i.e. ``mask("train")`` and the rows issued at other hours
    that train with them (:meth:`ForecastTask.with_issue_hours`), if any."""
    rows = task.training_rows(scored=False)
    if isinstance(values, Windows):   # from the days the windows read, not their copies
        return _usable(*values.moments(rows))
    return statistics_of(values[rows])


def statistics_of(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature (last axis), the mean and std of ``train`` over every other axis (NaN
    ignored; a feature without a value: mean 0; std 0 or none: 1), float32."""
    axes = tuple(range(train.ndim - 1))
    return _usable(nan_reduce(np.nanmean, train, axis=axes),
                   nan_reduce(np.nanstd, train, axis=axes))


def _usable(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def sample_rows(rows: np.ndarray, most: int, seed: int) -> np.ndarray:
    """The row indices ``rows``, or with more than ``most`` (> 0; 0: no limit) a random
    sample of that many drawn from ``seed``, in their order: the rows a choice is made
    on when comparing on all of them would cost more than it can tell."""
    if most and len(rows) > most:
        return np.sort(np.random.default_rng(seed).choice(rows, most, replace=False))
    return rows


def row_indices(rows: np.ndarray) -> np.ndarray:
    """The positions of the rows ``rows`` selects: a mask's true positions, or the
    indices themselves."""
    rows = np.asarray(rows)
    return np.flatnonzero(rows) if rows.dtype == bool else rows
