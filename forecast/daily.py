"""HourlyFrame → DailyFrame: per station-day aggregates with the completeness rule.

A station-day's mean PM2.5 (``daily_mean_pm25``, µg/m³) is valid only when at least
``min_hours`` (default 18 of 24, the 75 % rule) hourly values exist; otherwise it is NaN
and ``valid`` is False. Weather aggregates are over the hours of the calendar day
(local time of the source, 00:00–23:00).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .constants import DEFAULT_MIN_HOURS
from .errors import DataError
from .schema import CALM, SECTORS_8, sector_codes

WIND_FRACTION_COLUMNS = tuple(f"wind_frac_{s}" for s in SECTORS_8 + (CALM,))


def complete_hours(hourly: pd.DataFrame) -> pd.DataFrame:
    """Every hour of every day from each station's first to last day, missing hours NaN.

    Rows stay sorted by (station, time), so each station's block reshapes to (days, 24).
    Columns: ``time``, ``station``, then the other columns of ``hourly``. Linear in the
    rows: a frame that already holds every hour in order (the usual case) is returned
    without a copy, any other is reindexed once as a whole.
    """
    codes, stations = pd.factorize(hourly["station"], sort=True)
    time = hourly["time"].to_numpy()
    span = hourly["time"].groupby(codes).agg(["min", "max"])
    first = span["min"].dt.floor("D").to_numpy()           # per station, in name order
    lengths = ((span["max"].dt.floor("D").to_numpy() - first) // np.timedelta64(1, "D") + 1) * 24
    starts = np.cumsum(lengths) - lengths
    others = [c for c in hourly.columns if c not in ("station", "time")]
    if _in_grid_order(codes, time, first, starts, lengths):
        return hourly[["time", "station"] + others].reset_index(drop=True)
    hour = np.timedelta64(1, "h")
    since_first = time - first[codes]
    on_hour = since_first % hour == np.timedelta64(0)       # others have no place
    source_row = np.full(int(lengths.sum()), -1)
    source_row[(starts[codes] + since_first // hour)[on_hour]] = np.flatnonzero(on_hour)
    grid = hourly[others].reset_index(drop=True).reindex(source_row).reset_index(drop=True)
    position = np.arange(len(source_row)) - np.repeat(starts, lengths)
    grid.insert(0, "station", stations.repeat(lengths))
    grid.insert(0, "time", np.repeat(first, lengths) + position * hour)
    return grid


def _in_grid_order(codes: np.ndarray, time: np.ndarray, first: np.ndarray, starts: np.ndarray,
                   lengths: np.ndarray) -> bool:
    """Whether the rows (station ``codes``, ``time``) already are every hour of each
    station's days, stations in code order, i.e. the grid of :func:`complete_hours`."""
    if len(time) != lengths.sum() or not (np.bincount(codes, minlength=len(lengths)) == lengths).all():
        return False
    if not (codes[1:] >= codes[:-1]).all() or not (time[starts] == first).all():
        return False
    steps = np.diff(time) == np.timedelta64(1, "h")
    steps[starts[1:] - 1] = True            # from one station's last hour to the next's first
    return bool(steps.all())


def _by_day(values: np.ndarray) -> np.ndarray:
    return values.reshape(-1, 24)


def nan_reduce(function, values: np.ndarray, axis=1) -> np.ndarray:
    """``function`` (np.nanmean, np.nanmax, ...) along ``axis``, silent on all-NaN slices."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return function(values, axis=axis)


def to_daily(hourly: pd.DataFrame, min_hours: int = DEFAULT_MIN_HOURS) -> pd.DataFrame:
    """Aggregate an HourlyFrame into the DailyFrame (one row per station-day).

    Columns: ``station``, ``date`` (the calendar day), ``pm25_hours`` (hourly PM2.5
    values present, 0–24), ``valid`` (pm25_hours ≥ min_hours), ``daily_mean_pm25``
    (µg/m³, NaN unless valid), and where the source has them ``temp_mean``,
    ``dewp_mean`` (°C), ``pres_mean`` (hPa), ``wind_speed_mean``, ``wind_speed_max``
    (m/s), ``rain_total``, ``snow_total`` (source units summed over the day) and
    ``wind_frac_<sector>`` (fraction of the hours with a known direction that blew
    from each of 8 sectors or were calm). ``daily.attrs["min_hours"]`` records the rule,
    so that a task can be rebuilt from the same hours at another issue hour.
    """
    if not 1 <= min_hours <= 24:
        raise DataError(f"min_hours must be between 1 and 24, not {min_hours}")
    grid = complete_hours(hourly)
    days = grid["time"].to_numpy()[::24]
    daily = pd.DataFrame({"station": grid["station"].iloc[::24].to_numpy(),
                          "date": pd.DatetimeIndex(days).normalize()})
    pm25 = _by_day(grid["pm25"].to_numpy(dtype=float))
    hours = np.isfinite(pm25).sum(axis=1)
    daily["pm25_hours"] = hours
    daily["valid"] = hours >= min_hours
    daily["daily_mean_pm25"] = np.where(daily["valid"], nan_reduce(np.nanmean, pm25), np.nan)
    for column, reducers in (("temp", ("mean",)), ("dewp", ("mean",)), ("pres", ("mean",)),
                             ("wind_speed", ("mean", "max")), ("rain", ("total",)),
                             ("snow", ("total",))):
        if column not in grid.columns:
            continue
        values = _by_day(grid[column].to_numpy(dtype=float))
        for reducer in reducers:
            function = {"mean": np.nanmean, "max": np.nanmax, "total": np.nansum}[reducer]
            result = nan_reduce(function, values)
            if reducer == "total":
                result = np.where(np.isfinite(values).any(axis=1), result, np.nan)
            daily[f"{column}_{reducer}"] = result
    if "wind_dir" in grid.columns:
        sectors = sector_codes(grid["wind_dir"])
        known = _by_day(sectors >= 0).sum(axis=1)
        for code, column in enumerate(WIND_FRACTION_COLUMNS):
            count = _by_day(sectors == code).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                daily[column] = np.where(known > 0, count / np.maximum(known, 1), np.nan)
    daily.attrs["min_hours"] = int(min_hours)
    return daily


def summarise(hourly: pd.DataFrame, daily: pd.DataFrame, quality=None) -> dict:
    """Counts for ``forecast data``: stations, period, rows, missing and valid days.

    ``missing_pm25`` counts the rows whose PM2.5 is missing after the data-quality stage
    (flagged values included); ``hours_without_row`` the hours between each station's
    first and last hour that have no row at all (gaps in the file), which lack PM2.5 too;
    ``station_periods`` each station's first and last hour. With its ``quality`` report,
    ``negative_pm25`` is how many of them were negative and ``flagged_values`` how many
    values of any column it flagged.
    """
    flagged = quality.total if quality is not None else 0
    negative = quality.count("pm25", "below_min") if quality is not None else 0
    times = hourly.groupby("station", observed=True)["time"]
    first, last = times.min(), times.max()
    periods = {str(station): [f"{a:%Y-%m-%d %H:%M}", f"{b:%Y-%m-%d %H:%M}"]
               for station, a, b in zip(first.index, first, last, strict=True)}
    spanned = int(((last - first) // pd.Timedelta(hours=1) + 1).sum())
    return {
        "stations": sorted(hourly["station"].unique().tolist()),
        "start": f"{first.min():%Y-%m-%d %H:%M}",
        "end": f"{last.max():%Y-%m-%d %H:%M}",
        "hourly_rows": int(len(hourly)),
        "missing_pm25": int(hourly["pm25"].isna().sum()),
        "hours_without_row": spanned - int(len(hourly)),
        "station_periods": periods,
        "negative_pm25": int(negative),
        "flagged_values": int(flagged),
        "days": int(len(daily)),
        "valid_days": int(daily["valid"].sum()),
    }
