"""``forecast predict RUN_DIR``: tomorrow's forecast from a finished run and the latest data.

Every model is loaded from the run's ``models`` folder, never unpickled: a network from
``NAME.pt`` (a single network or a seed ensemble, one model per file) with
``torch.load(weights_only=True)``, tensors and plain values only; a baseline from
``NAME.skops`` (skops, which builds only the types it trusts: scikit-learn's, NumPy's and
gradient boosting's trees, :data:`baselines.base.STORED_TYPES`). When the run made final
fits (``split.refit``), those are the final fits, so every model forecasts as its test
rows did. A run made before baselines were stored has no ``.skops`` files: its baselines
are fitted again from the run's config on the same training period (and, with final
fits, again on the training + validation years with the settings the validation year
chose), which gives the same model on the same data. The
recommended model is the one the run's validation-only rule chose
(:mod:`forecast.selection`); nothing here imports matplotlib or the report.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import registry, selection, significance, uncertainty
from . import warning as warning_module
from .config import load_config
from .constants import CHINA_PM25_CATEGORIES
from .coordinates import check_coordinates
from .daily import WIND_FRACTION_COLUMNS
from .errors import DataError
from .evaluation import contingency
from .pipeline import csv_spec, load_data, make_task
from .quality import QualityRules, impossible_values
from .results import RunResult
from .task import without_features


def read_weather(path: Path, hourly: pd.DataFrame, last_hour: pd.Series,
                 mapping: dict | None = None, rain_is_flag: bool = False,
                 rules: QualityRules | None = None, data_columns=()) -> pd.DataFrame:
    """The target day's hourly weather forecast from the CSV ``path``, as HourlyFrame rows
    (``pm25`` missing) to append to ``hourly``, the run's data up to the issue day, whose
    last hour per station is ``last_hour``.

    Columns: ``time`` (local time at the start of the hour, as in the data), ``station``
    (needed when the data has several stations) and any of the HourlyFrame's weather
    columns the data has (``temp``, ``dewp`` °C, ``pres`` hPa, ``wind_speed`` m/s,
    ``wind_dir`` as a compass name or calm, ``rain``, ``snow``). For a run on a CSV of
    one's own, ``mapping`` (its ``[data]`` table): a file with the data's own time
    column(s) is read through the data's column mapping instead, so it can have the
    data's format; times are read on the mapping's clock (``utc_offset`` or
    ``time_zone``) either way. Every hour must fall on the day after its station's last
    hour in the data (with ``time_zone``, also after that hour on the same day: the
    wall clock's midnight in summer). A file at a coarser step (3- or 6-hourly, as many
    weather forecasts are) is interpolated to hours (:func:`weather_hours`; its note in
    the frame's ``attrs["note"]``); ``rain_is_flag`` when the data's rain is a 0/1 flag.
    Values the data's quality rules (``rules``, :func:`forecast.quality.impossible_values`)
    call impossible — a missing-value code, a temperature of 10⁹ °C — are set missing
    before the hours are made, as the data's are, and ``attrs["flagged"]`` says so.
    Columns the data's reading ignores are ignored here too: those of the data file's
    header ``data_columns`` that are not read, and pollutants (PM10, SO2, ...); any
    other column is refused as unknown (a misspelt weather column would be lost).
    """

    from .schema import NUMERIC_WEATHER, WEATHER_COLUMNS, station_time_order
    from .sources import _clock, _numbers, _parse_time, mapped_frame, read_table

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the weather forecast ({exc})") from None
    frame = read_table(data, str(path), min_columns=1,   # as a CSV of one's own is read
                       text_columns=("station", *filter(None, [(mapping or {}).get(
                           "station_column")])))
    if "station" in frame.columns:
        frame["station"] = frame["station"].astype(str)
    present = [c for c in WEATHER_COLUMNS if c in hourly.columns]
    read = _read_columns(mapping)
    if mapping and not mapping.get("station_column") and "station" in map(str, data_columns):
        read.discard("station")          # the data's station column too is not read
    ignored = [c for c in frame.columns if str(c) not in read and (
        str(c) in set(map(str, data_columns)) or _is_pollutant(c))]
    frame = frame.drop(columns=ignored)       # as the data's reading ignores them
    canonical = set(frame.columns) <= {"time", "station", *present}
    own_format, own_format_note, text_flags = False, None, []
    if mapping is not None:
        # the data's own format: its time column(s), station column and mapped columns
        # (or, a row per parameter, its parameter and value columns); a file that fits
        # it is read so even when its names are also the canonical ones, where the two
        # readings differ (data whose columns are named temp, time, ... with [data.units],
        # a time_format or wind in degrees: the file is then in the data's units and format)
        time_columns = list(mapping.get("time_columns") or [mapping.get("time_column")])
        by_parameter = [mapping[k] for k in ("parameter_column", "value_column")
                        if mapping.get(k)]
        own = [*time_columns,
               *([mapping["station_column"]] if mapping.get("station_column") else []),
               *(by_parameter or (mapping.get("columns") or {}).values())]
        fits_own = set(map(str, frame.columns)) <= set(map(str, own)) and (any(
            mapping.get(k) for k in ("units", "time_format", "wind_dir_degrees"))
            or mapping.get("time_label") == "end")
        if all(c in frame.columns for c in time_columns) and (fits_own or not canonical):
            unknown = [c for c in frame.columns if c not in own]
            if unknown:
                raise DataError(f"{path}: unknown column(s) {', '.join(map(str, unknown))}; "
                                f"expected the data's columns ({', '.join(map(str, own))}) "
                                f"or time, station and {', '.join(present)}")
            frame, text_flags = mapped_frame(frame, mapping, str(path), require_pm25=False)
            own_format = True
            if canonical:      # names that fit both: say which reading was taken
                said = ", ".join(f"{k} {v}" for k, v in (mapping.get("units") or {}).items())
                own_format_note = (f"{path}: the data's own column names, so read as the "
                                   "data are ([data] units, time format and wind in degrees"
                                   + (f": {said}" if said else "") + ")")
            # the data's pollutant columns, when the file has them, are not forecast inputs
            frame = frame[[c for c in frame.columns if c in ("time", "station", *present)]]
    unknown = [c for c in frame.columns if c not in ("time", "station", *present)]
    if unknown:
        raise DataError(f"{path}: unknown column(s) {', '.join(map(str, unknown))}; expected "
                        f"time, station and weather columns of the data: {', '.join(present)}")
    if "time" not in frame.columns:
        raise DataError(f"{path}: no 'time' column")
    if not any(c in frame.columns for c in present):
        raise DataError(f"{path}: no weather column; expected any of {', '.join(present)}")
    if frame.empty:
        raise DataError(f"{path}: no rows")
    stations = list(hourly["station"].cat.categories)
    if "station" not in frame.columns:
        if len(stations) > 1:
            raise DataError(f"{path}: the data has {len(stations)} stations; a 'station' "
                            f"column must say which each row is for")
        frame["station"] = stations[0]
    names = frame["station"].astype(str)
    if not names.isin(stations).all():
        raise DataError(f"{path}: unknown station {names[~names.isin(stations)].iloc[0]!r}; "
                        f"the data has {', '.join(stations)}")
    # the data's station categories: appended to the data, the column stays categorical
    frame["station"] = pd.Categorical(names, categories=stations)
    clock = _clock(mapping or {})
    if own_format:
        pass                                    # mapped_frame read the times already
    elif clock is not None:                     # on the clock the data's times are read on
        frame["time"] = _parse_time(frame["time"], str(path), None, clock,
                                    station=frame["station"].astype(str))
    else:
        try:
            times = pd.to_datetime(frame["time"], errors="coerce", format="mixed")
        except (ValueError, TypeError):      # offsets that differ from row to row
            times = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        if getattr(times.dt, "tz", None) is not None or times.dtype == object:
            raise DataError(f"{path}: times with a UTC offset ({frame['time'].iloc[0]!r}); the "
                            "data's are local times without one: write the forecast's times "
                            "so, or set [data] utc_offset for both")
        if times.isna().any():
            raise DataError(f"{path}: unparseable time {frame['time'][times.isna()].iloc[0]!r}")
        frame["time"] = times
    station_last = frame["station"].map(last_hour).astype("datetime64[ns]")
    outside = frame["time"].dt.normalize() != station_last.dt.normalize() + pd.Timedelta(days=1)
    if clock is not None:
        # in summer the wall clock's midnight that begins the target day is the issue
        # day's last hour on standard time (a time zone's, or a utc_offset that reads the
        # offsets of summer time), after the data's last (wall-clock 23:00) hour
        outside &= ~((frame["time"] > station_last)
                     & (frame["time"].dt.normalize() == station_last.dt.normalize()))
    if outside.any():
        row = frame[outside].iloc[0]
        raise DataError(f"{path}: {row['station']} {row['time']:%Y-%m-%d %H:%M} is not on the "
                        f"day after the data's last hour ({last_hour[row['station']]:%Y-%m-%d %H:%M})")
    order = station_time_order(frame["station"], frame["time"], str(path))  # times rise
    frame = frame.iloc[order].reset_index(drop=True)
    frame["pm25"] = np.nan
    if not own_format:      # text in a number column ("abc", "---") as the data's: missing
        text_flags = [flag for column in NUMERIC_WEATHER if column in frame.columns
                      if (flag := _numbers(frame, column, str(path))) is not None]
    frame, report = impossible_values(frame, rules or QualityRules(), text_flags)
    frame, note = weather_hours(frame, str(path), rain_is_flag=rain_is_flag,
                                label_end=own_format and mapping.get("time_label") == "end")
    frame.attrs["note"] = "; ".join(n for n in (own_format_note, note) if n) or None
    first = report.first()
    frame.attrs["flagged"] = None if first is None else (
        f"warning: {report.total} value(s) of the weather forecast are "
        + ("not numbers or " if text_flags else "")
        + "impossible by the [quality] rules and set missing (those inputs are imputed); "
        f"the first: {first.describe()}")
    return frame


def _read_columns(mapping: dict | None) -> set[str]:
    """The columns a weather file's reading may read: the canonical ones, and for a
    run on a CSV of one's own those of its ``[data]`` mapping."""
    from .schema import WEATHER_COLUMNS
    from .sources import mapped_columns

    return {"time", "station", *WEATHER_COLUMNS, *(mapped_columns(mapping) if mapping else ())}


def _is_pollutant(column) -> bool:
    """A pollutant's column (PM2.5, PM10, SO2, NO2, CO, O3 in any case): no weather."""
    from .schema import EXTRA_POLLUTANTS

    name = str(column).strip().lower().replace(".", "").replace("_", "")
    return name in {"pm25", *EXTRA_POLLUTANTS}


#: Weather columns interpolated in time; the others: wind_dir from the nearest time,
#: rain and snow over the step a row covers.
_INSTANTANEOUS = ("temp", "dewp", "pres", "wind_speed")


def weather_hours(frame: pd.DataFrame, source: str, rain_is_flag: bool = False,
                  label_end: bool = False) -> tuple[pd.DataFrame, str | None]:
    """A weather forecast file's rows (grouped by station, each station's times rising)
    at an hourly step, and a note of what was done (None when nothing was).

    Many weather forecasts come every 3 or 6 hours. Temperature, dew point, pressure and
    wind speed are interpolated linearly in time between a station's rows and held over
    the step of its first or last row; the wind direction is the nearest row's (the
    later on a tie); rain (mm) is spread evenly over the hours of the step its row
    covers, the step that starts at the row's time (``label_end``: that ends with it),
    and a 0/1 rain or snow flag (``rain_is_flag``; snow always) holds over it. A step is the median between a
    station's consecutive rows and must be a whole number of hours; the hours fill the
    target day as far as the rows reach. Rows under an hour apart are averaged into
    hours as the data's are (:func:`forecast.schema.hourly_values`)."""
    from .schema import COMPASS_16, WIND_DIR_DTYPE, _step_text, hourly_values, wind_codes

    codes = frame["station"].cat.codes.to_numpy()
    times = frame["time"].to_numpy()
    steps = (times[1:] - times[:-1])[codes[1:] == codes[:-1]]
    if not steps.size:
        return frame, None
    if (steps == np.timedelta64(0)).any():
        row = int(np.flatnonzero((codes[1:] == codes[:-1]) & (times[1:] == times[:-1]))[0]) + 1
        raise DataError(f"{source}: {frame['station'].iloc[row]} "
                        f"{frame['time'].iloc[row]:%Y-%m-%d %H:%M} is given twice")
    if "wind_dir" in frame.columns:
        known = wind_codes(frame["wind_dir"])
        bad = frame["wind_dir"].notna().to_numpy() & (known < 0)
        if bad.any():           # checked here: the hours made from it would hide it
            raise DataError(f"{source}: unknown wind direction "
                            f"{str(frame['wind_dir'][bad].iloc[0])!r} (expected one of "
                            f"{', '.join(COMPASS_16)} or calm; degrees are read only from a "
                            "file in the data's own format with [data] wind_dir_degrees)")
    step = pd.Timedelta(np.median(steps))
    on_the_hour = (frame["time"].dt.floor("h") == frame["time"]).all()
    if step < pd.Timedelta(hours=1) or (step == pd.Timedelta(hours=1) and not on_the_hour):
        return hourly_values(frame, source)
    if step == pd.Timedelta(hours=1):
        return frame, None
    if step % pd.Timedelta(hours=1) or not on_the_hour:
        raise DataError(f"{source}: the rows are {_step_text(step)} apart (the median step "
                        "between a station's consecutive times); a weather forecast at a "
                        "coarser step than hourly needs whole hours, on the hour")
    hours = int(step / pd.Timedelta(hours=1))
    parts = []
    for _, rows in frame.groupby("station", observed=True, sort=False):
        at = pd.DatetimeIndex(rows["time"])
        reach = step - pd.Timedelta(hours=1)        # the hours a row covers besides its own
        if label_end:
            grid = pd.date_range(max(at[0] - reach, at[0].normalize()), at[-1], freq="h")
        else:
            grid = pd.date_range(at[0], min(at[-1] + reach, at[-1].normalize()
                                            + pd.Timedelta(hours=23)), freq="h")
        out = pd.DataFrame({"station": rows["station"].iloc[0], "time": grid})
        out["station"] = out["station"].astype(frame["station"].dtype)
        for column in frame.columns:
            if column in ("station", "time"):
                continue
            values = pd.Series(rows[column].to_numpy(), index=at)
            if column in _INSTANTANEOUS:
                filled = values.astype(float).reindex(grid).interpolate(
                    method="time", limit_area="inside")
                filled[grid > at[-1]] = values.iloc[-1]
                filled[grid < at[0]] = values.iloc[0]
                out[column] = filled.to_numpy()
            elif column == "wind_dir":
                nearest = at.get_indexer(grid, method="nearest")
                out[column] = pd.Categorical.from_codes(
                    wind_codes(rows["wind_dir"])[nearest], dtype=WIND_DIR_DTYPE)
            elif column in ("rain", "snow"):
                row = at.get_indexer(grid, method="backfill" if label_end else "pad")
                apart = (at[row] - grid) if label_end else (grid - at[row])
                amount = values.astype(float).to_numpy()[row]
                if column == "rain" and not rain_is_flag:
                    amount = amount / hours
                out[column] = np.where(apart < step, amount, np.nan)
            else:                                   # pm25: missing, a forecast file has none
                out[column] = values.reindex(grid).to_numpy()
        parts.append(out)
    how = ["temperature, dew point, pressure and wind speed linearly in time",
           "the wind direction from the nearest row"]
    if "rain" in frame.columns:
        how.append("rain, a 0/1 flag, held over its step" if rain_is_flag
                   else "rain spread evenly over the hours of its step")
    if "snow" in frame.columns:
        how.append("snow held over its step")
    return (pd.concat(parts, ignore_index=True),
            f"{source}: rows {_step_text(step)} apart interpolated to hours ({'; '.join(how)})")


def incomplete_issue_days(daily: pd.DataFrame, last_hour: pd.Series, min_hours: int,
                          clock: str | None = None) -> list[str]:
    """A warning per station whose latest data day, the issue day of its latest forecast,
    is cut short (``last_hour``, the station's last hour, before 23 h) or has no valid
    daily mean PM2.5 (fewer than ``min_hours`` hours): the models were trained on issue
    days that end at 23 h, and such a day's features read older data. ``clock``: the
    standard-time clock the data are read on ([data] time_zone or utc_offset), named
    where a day cut short may be the wall clock's summer time."""
    warnings = []
    by_station = {str(k): v for k, v in daily.groupby("station", observed=True).indices.items()}
    for station, end in last_hour.items():
        day = end.normalize()
        days = daily.iloc[by_station.get(str(station), [])]
        issue = days.loc[days["date"] == day, "pm25_hours"]
        hours = int(issue.iloc[0]) if len(issue) else 0
        if end.hour == 23 and hours >= min_hours:
            continue
        said = []
        if end.hour < 23:
            said.append(f"the data end at {end:%H:%M}, before the day is over"
                        + (f" (on {clock}, which the data are read on: in summer the wall "
                           "clock's 23:00 is 22:00 there, and the day ends with the wall "
                           "clock's midnight hour)" if clock else ""))
        if hours < min_hours:
            valid = days.loc[days["valid"] & (days["date"] < day), "date"]
            before = (day - valid.max()).days if len(valid) else 0
            latest = (f"{valid.max():%Y-%m-%d}'s, {before} day{'s' * (before != 1)} earlier"
                      if len(valid) else "none")
            said.append(f"it has PM2.5 for {hours} of 24 hours, fewer than the {min_hours} a "
                        f"daily mean needs (the latest valid daily mean: {latest})")
        warnings.append(f"station {station}, issue day {day:%Y-%m-%d}: {'; '.join(said)}, so "
                        "its forecasts read older data than a complete day would give")
    return warnings


#: the daily weather columns a run's features may name, and the hourly column of each
DAILY_WEATHER = {"temp_mean": "temp", "dewp_mean": "dewp", "pres_mean": "pres",
                 "wind_speed_mean": "wind_speed", "rain_total": "rain", "snow_total": "snow",
                 **dict.fromkeys(WIND_FRACTION_COLUMNS, "wind_dir")}


def weatherless_issue_days(daily: pd.DataFrame, last_hour: pd.Series,
                           features: list[str]) -> list[str]:
    """A warning per station whose latest data day, the issue day of its latest forecast,
    has no value of a weather column whose daily aggregate the run's models read
    (``features``, the run's feature names): newer data without that weather (a file
    that no longer carries it) give inputs the models only see imputed."""
    read = {daily_name: column for daily_name, column in DAILY_WEATHER.items()
            if daily_name in features}
    if not read or last_hour.empty:
        return []
    latest = pd.DataFrame({"station": last_hour.index.astype(str),
                           "date": last_hour.dt.normalize().to_numpy()})
    # a column the data lack altogether comes in all missing
    days = latest.merge(daily.reindex(columns=["station", "date", *read])
                        .astype({"station": str}), on=["station", "date"], how="left")
    missing = days[list(read)].isna()
    warnings = []
    for k, (station, day) in enumerate(zip(days["station"], days["date"], strict=True)):
        lacking = sorted({read[c] for c in read if missing[c].iloc[k]})
        if lacking:
            warnings.append(f"station {station}, issue day {day:%Y-%m-%d}: the data have no "
                            f"{', '.join(lacking)} that day, which the run's models read: "
                            "those inputs are imputed, so its forecasts are less accurate "
                            "than the run's")
    return warnings


def _check_stored(model, name: str, path: Path, task) -> None:
    """DataError unless the model loaded from ``path`` is the one the run stored there
    (``name``: a file copied over another would forecast under the wrong name) and
    ``task`` gives the inputs it was fitted on."""
    held = registry.built_as(model)
    if held != name:
        raise DataError(f"{path}: holds a fitted {held or type(model).__name__}, not {name} "
                        "(run forecast run again to store the models)")
    model.check_task(task, path)


def latest_task(config: dict, result: RunResult, weather: Path | None = None,
                since: pd.Timestamp | None = None, require_splits: bool = False):
    """The task built from the configured data (and the target day's ``weather``, a CSV
    read by :func:`read_weather`), and the mask of its rows issued on each station's
    latest data day; with ``since``, of its rows issued from that day to that one.
    The stored models need only the lags' history, not the run's splits
    (``require_splits``: as a run would, for baselines fitted again). Warns on stderr
    when a station's latest day is incomplete (:func:`incomplete_issue_days`)."""
    from . import daily as daily_module
    from .schema import validate_hourly

    if weather is not None and config["task"]["mode"] != "forecast":
        raise DataError("--weather is for a forecast-mode run: an observed-mode model "
                        "does not read the target day's weather")
    # the stations first: with [data.coordinates] a file with other stations would be
    # refused as a config error, which forecast predict cannot change
    given = config["data"].get("coordinates") or {}
    loaded, daily = load_data({**config, "data": {**config["data"], "coordinates": {}}})
    stations = sorted(map(str, loaded.hourly["station"].unique()))
    run_stations = sorted(map(str, result.stations))
    if stations != run_stations:
        lacking = sorted(set(run_stations) - set(stations))
        other = sorted(set(stations) - set(run_stations))
        raise DataError("the run's models forecast its stations, "
                        f"{', '.join(run_stations)}; the data "
                        + "; ".join(([f"lack {', '.join(lacking)}"] if lacking else [])
                                    + ([f"also hold {', '.join(other)}"] if other else []))
                        + " (give newer data of the same stations)")
    if given and loaded.dataset == "csv":      # the built-in sets' come from their card
        loaded.coordinates = check_coordinates(given)
    last_hour = loaded.hourly.groupby("station", observed=True)["time"].max()
    last_day = last_hour.dt.normalize()
    if weather is not None:
        forecast = read_weather(Path(weather), loaded.hourly, last_hour,
                                mapping=csv_spec(config["data"]) if loaded.dataset == "csv"
                                else None,
                                rain_is_flag=loaded.rain_is_flag,
                                rules=QualityRules.from_config(config["quality"]),
                                data_columns=loaded.raw_columns)
        for said in ("note", "flagged"):
            if forecast.attrs.get(said):
                print(f"forecast: {forecast.attrs[said]}", file=sys.stderr)
        attrs = dict(loaded.hourly.attrs)
        loaded.hourly = validate_hourly(pd.concat([loaded.hourly, forecast], ignore_index=True),
                                        str(weather))
        # a real forecast: not given the errors a weather_error run simulates
        loaded.hourly.attrs.update(attrs, forecast_from=forecast["time"].min())
        daily = daily_module.to_daily(loaded.hourly, config["data"]["min_hours"])
    task = without_features(make_task(loaded, daily, config, require_splits),
                            result.dropped_features)
    clock = (f"{config['data']['time_zone']} standard time" if config["data"].get("time_zone")
             else f"UTC{config['data']['utc_offset']}" if config["data"].get("utc_offset")
             else None)
    for warning in [*incomplete_issue_days(daily, last_hour, int(config["data"]["min_hours"]),
                                           clock),
                    *weatherless_issue_days(daily, last_hour, result.features)]:
        print(f"forecast: warning: {warning}", file=sys.stderr)
    issued = task.rows["issue_day"]
    up_to_data = issued <= task.rows["station"].astype(str).map(last_day.rename(index=str))
    if since is not None:
        rows = (up_to_data & (issued >= since)).to_numpy()
        if not rows.any():
            raise DataError(f"--since {since:%Y-%m-%d}: no day of the data from then on can "
                            f"issue a forecast (the data end {last_day.max():%Y-%m-%d})")
        first = issued.groupby(task.rows["station"], observed=True).min()
        late = first[first > since]
        if len(late):
            on = (f"{late.iloc[0]:%Y-%m-%d}" if len(first) == 1 else ", ".join(
                f"{station} {day:%Y-%m-%d}" for station, day in late.items()))
            print(f"forecast: warning: --since {since:%Y-%m-%d}: the first forecasts are "
                  f"issued on {on}: the days before are the history the lags and rolling "
                  "means read", file=sys.stderr)
        return task, rows
    latest_day = issued.where(up_to_data).groupby(task.rows["station"], observed=True
                                                   ).transform("max")
    return task, (issued == latest_day).to_numpy()


def predict_latest(run_dir: Path, data_dir: str | None = None,
                   weather: Path | None = None, since: str | None = None,
                   path: str | None = None, cost_loss: float | None = None) -> pd.DataFrame:
    """One row per station and model: the forecast for the day after the latest data day;
    with ``since`` (a date), one per station, model and issue day from that day on, and
    the observed daily mean of each target day the data hold (``observed``, µg/m³). The
    data are the run's, or for a run on a CSV of one's own the file ``path`` (newer data
    in the same format).

    Columns: ``station``, ``issue_day`` (the latest day in the data), ``target_day``
    (issue_day + horizon), ``model`` (a baseline, or a network as its seed ensemble),
    ``pm25_forecast`` (the model's point forecast of the daily mean, µg/m³), the
    calibrated quantiles ``q05`` … ``q95`` (µg/m³), ``p_exceed`` (probability that the
    daily mean exceeds ``threshold``, the run's), ``category`` (the most likely China
    index category) and ``p_category``, and ``recommended`` (the run's recommendation).

    ``attrs["warning_probability"]``: the probability at which the run's validation years
    chose to warn (:mod:`forecast.warning`); with ``cost_loss`` (a cost/loss ratio, or 0
    for the best CSI) it is chosen again at that ratio from the validation counts the run
    stored for its latest choice (``attrs["warning_cost_loss"]`` says which ratio).
    """
    config_path = run_dir / "config.toml"
    result = RunResult.read(run_dir)        # first: it names a folder that is not there
    if not config_path.is_file():
        raise DataError(f"{run_dir} is not a run directory (no config.toml)")
    config = load_config(config_path)
    if data_dir:
        if config["data"]["dataset"] == "csv":
            raise DataError(f"--data-dir is where the UCI files are; {run_dir} ran on a CSV of "
                            "one's own (give newer data with --path)")
        config["data"]["data_dir"] = str(data_dir)
    if path:
        if config["data"]["dataset"] != "csv":
            raise DataError(f"--path is for a run on a CSV of one's own; {run_dir} ran on "
                            f"{config['data']['dataset']}")
        config["data"]["path"] = str(path)
        if (not config["data"]["station"] and not config["data"]["station_column"]
                and len(result.stations) == 1):
            # the run's one station was named after its file: newer data under another
            # file name are the same station
            config["data"]["station"] = result.stations[0]
    elif config["data"]["dataset"] == "csv":
        from .sources import csv_files

        try:
            csv_files(config["data"]["path"])
        except DataError as exc:
            raise DataError(f"{exc} (the data {run_dir} ran on); give its newer data "
                            "with --path FILE") from None
    first_day = None
    if since is not None:
        first_day = pd.to_datetime(since, errors="coerce", format="%Y-%m-%d")
        if pd.isna(first_day):
            raise DataError(f"--since must be a day written YYYY-MM-DD, not {since!r}")
    # the fitted models the run stored: every usable network, and its baselines; a run
    # made before baselines were stored fits them again, on the run's splits, but in a
    # run that stored some, a missing file was deleted
    files = {name: registry.model_file(run_dir, name) for name in config["models"]["names"]}
    baselines = [n for n in files if registry.kind_of(n) == "baseline" and n in result.entries]
    networks = [n for n in files if registry.kind_of(n) == "network"
                and result.representative(n) is not None]
    absent = {n for n, path in files.items() if not path.is_file()}
    stored = any((run_dir / "models").glob("*.skops"))
    lost = [files[n] for n in files if n in absent
            and (n in networks or (stored and n in baselines))]
    if lost:
        raise DataError(f"{run_dir}: the fitted model file {lost[0]} is missing"
                        + (f" (and {len(lost) - 1} more)" if len(lost) > 1 else "")
                        + "; run forecast run again to store the models")
    refitted = [n for n in baselines if n in absent]
    task, rows = latest_task(config, result, weather, first_day, require_splits=bool(refitted))
    if task.mode == "forecast":
        columns = task.forecast_columns()
        empty = np.isnan(task.X[rows][:, [task.feature_names.index(c) for c in columns]])
        missing = [c for c, gap in zip(columns, empty.any(axis=0), strict=True) if gap]
        if weather is None and missing:
            print("forecast: warning: forecast mode needs the weather of the target day, which "
                  "the data does not have yet (give it with --weather FILE); those inputs "
                  "are imputed (gradient boosting, hgb and hgb_by_hour, takes them as "
                  "missing), so no forecast here has the accuracy of the run's, and the "
                  "linear models' and networks' can be far off", file=sys.stderr)
        elif missing:
            print(f"forecast: warning: {weather} does not give {', '.join(missing[:6])}"
                  + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
                  + "; imputed", file=sys.stderr)
        # the rows with none of the target day's weather (a station the file leaves out)
        bare = empty.all(axis=1)
        keys = task.rows.loc[rows, ["station", "issue_day"]]
        without_weather = set(zip(keys["station"].astype(str)[bare],
                                  keys["issue_day"].dt.strftime("%Y-%m-%d")[bare], strict=True))
        left_out = sorted({station for station, _ in without_weather})
        if weather is not None and left_out:
            print(f"forecast: warning: {weather} has no hours for {', '.join(left_out)}: "
                  "their forecasts are made without the target day's weather",
                  file=sys.stderr)
    predictions: dict[str, tuple] = {}
    noted_refit = False
    for name, path in files.items():
        if name in baselines:
            if name not in refitted:
                from baselines import load_baseline

                model = load_baseline(path)
                _check_stored(model, name, path, task)
            else:   # a run that stored no baselines (before they were stored)
                if not noted_refit:
                    print(f"forecast: note: {run_dir} stored no fitted baselines (a run made "
                          "before they were stored, or its models folder was removed); "
                          "fitting them again from its config", file=sys.stderr)
                    noted_refit = True
                model = registry.build(name, config, seed=config["run"]["seed"]).fit(task)
                if result.made_final_fits:   # as the run's test forecasts: on train + val
                    model = model.refitted(task.for_final_fit())
            predictions[name] = (model, model.predict(task, rows))
        elif registry.kind_of(name) == "network" and name not in absent:
            from models import load_model

            model = load_model(path)
            _check_stored(model, name, path, task)
            try:
                values = model.predict(task, rows)
            except (RuntimeError, ValueError, IndexError) as exc:
                raise DataError(f"{path}: cannot be applied to this data ({exc})") from None
            entry = result.representative(name)
            predictions[entry.name if entry is not None else name] = (model, values)
    combination = result.entries.get("combination")
    if combination is not None and all(m in predictions for m in combination.members):
        weights = combination.info["weights"]
        values = sum(weights[m] * predictions[m][1] for m in combination.members)
        predictions["combination"] = (None, np.maximum(values, 0.0))
    recommended = selection.recommended(result)
    threshold = float(config["evaluation"]["exceedance_threshold"])
    selected = task.rows.loc[rows]
    target_days = selected["target_day"].to_numpy()
    row_keys = {"station": selected["station"].to_numpy(),
                "issue_day": selected["issue_day"].dt.strftime("%Y-%m-%d").to_numpy(),
                "target_day": selected["target_day"].dt.strftime("%Y-%m-%d").to_numpy()}
    frames = []
    for name, (model, values) in predictions.items():
        frame = pd.DataFrame({**row_keys, "model": name, "pm25_forecast": np.round(values, 1)})
        if since is not None:
            frame["observed"] = np.round(task.y[rows], 3)   # a mean's float noise off
        saved = result.entries[name].info.get("calibration") if name in result.entries else None
        if saved:
            raw = uncertainty.raw_quantiles(model, task, rows, point=values)
            quantiles = uncertainty.Calibration.from_dict(saved).apply(raw, target_days)
            for column, level in zip(uncertainty.QUANTILE_COLUMNS,
                                     uncertainty.REPORTED_LEVELS, strict=True):
                frame[column] = np.round(quantiles[:, uncertainty.level_index(level)], 1)
            frame["p_exceed"] = np.round(uncertainty.exceedance_probability(quantiles,
                                                                            threshold), 3)
            categories = uncertainty.category_probabilities(quantiles)
            frame["category"] = [CHINA_PM25_CATEGORIES[k] for k in categories.argmax(axis=1)]
            frame["p_category"] = np.round(categories.max(axis=1), 3)
        frame["recommended"] = name == recommended
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table.attrs["threshold"] = threshold
    # the probability at which the run's validation years say to warn (forecast.warning)
    warning = warning_module.warning_of(result.pooled, recommended)
    if warning:
        table.attrs["warning_probability"] = warning["probability"]
        table.attrs["warning_cost_loss"] = float(warning.get("cost_loss", 0.0))
        if cost_loss is not None:
            table.attrs["warning_probability"] = _warning_at(warning, cost_loss, run_dir)
            table.attrs["warning_cost_loss"] = float(cost_loss)
            table.attrs["warning_chosen_here"] = True
    elif cost_loss is not None:
        raise DataError(f"--warning-cost-loss: {run_dir} chose no warning probability for its "
                        f"recommended model {recommended} (its validation years had no "
                        "exceedance, or the model no calibrated distribution)")
    if task.mode == "forecast" and without_weather:
        table.attrs["without_weather"] = without_weather   # {(station, issue day)}
        table.attrs["weather_given"] = weather is not None
    table.attrs["run_data_end"] = str(result.data.get("end", ""))[:10]
    table.attrs["mode"] = task.mode
    return table


def new_day_scores(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Each model's scores on the target days after the run's data (days no fit, choice
    or calibration of the run saw) whose daily mean the data hold: ``days``, ``rmse``,
    ``mae``, ``bias`` (forecast − observed), ``skill`` against persistence on the same
    rows, and ``cover80``, the share inside the calibrated 80 % interval; sorted by RMSE.
    Also a sentence saying which days they are (or that there are none)."""
    end = table.attrs.get("run_data_end", "")
    new = table[(table["target_day"] > end) & table["observed"].notna()]
    if new.empty:
        return pd.DataFrame(), (f"No observed target day after the run's data (its last day "
                                f"{end}) is in these data, so the stored models are not "
                                "scored on new days.")
    error = new["pm25_forecast"] - new["observed"]
    groups = error.groupby(new["model"], sort=False)
    scores = pd.DataFrame({"days": groups.size(), "rmse": np.sqrt((error ** 2).groupby(
        new["model"], sort=False).mean()), "mae": error.abs().groupby(new["model"],
                                                                      sort=False).mean(),
        "bias": groups.mean()})
    if "persistence" in scores.index:
        scores["skill"] = 1 - scores["rmse"] / scores.loc["persistence", "rmse"]
    if "q10" in new:
        inside = (new["observed"] >= new["q10"]) & (new["observed"] <= new["q90"])
        scores["cover80"] = inside.where(new["q10"].notna()).groupby(new["model"],
                                                                    sort=False).mean()
    recommended = new.loc[new["recommended"], "model"]
    reference = recommended.iloc[0] if len(recommended) else None
    if reference is not None and len(new["target_day"].unique()) > 2:
        dates = pd.to_datetime(new.loc[new["model"] == reference, "target_day"]).to_numpy()
        y = new.loc[new["model"] == reference, "observed"].to_numpy(dtype=float)
        base = new.loc[new["model"] == reference, "pm25_forecast"].to_numpy(dtype=float)
        versus, low, high, p_value = {}, {}, {}, {}
        for name in scores.index:
            mine = new.loc[new["model"] == name, "pm25_forecast"].to_numpy(dtype=float)
            if name == reference:
                continue
            versus[name], low[name], high[name] = significance.pooled_rmse_diff_ci(
                dates, y, mine, base)
            p_value[name] = significance.diebold_mariano_hac(
                significance.daily_loss_differential(dates, y, mine, base))[1]
        scores[f"vs_{reference}"] = pd.Series(versus)
        scores["ci_low"], scores["ci_high"] = pd.Series(low), pd.Series(high)
        scores["dm_p"] = pd.Series(p_value)
    scores = scores.sort_values("rmse").round(3)
    scores.index.name = "model"
    days = new["target_day"]
    text = (f"Scored on {new['station'].nunique()} station(s)' target days {days.min()} to "
            f"{days.max()}, after the run's data (its last day {end}): no fit, choice or "
            "calibration of the run saw them. Same rows for every model: RMSE, MAE and bias "
            "(forecast − observed) in µg/m³, skill against persistence, cover80 the share "
            "inside the calibrated 80 % interval")
    if reference is not None and f"vs_{reference}" in scores:
        text += (f"; vs_{reference}: the RMSE difference from the recommended model with its "
                 "95 % block-bootstrap interval (ci_low, ci_high) and the Diebold–Mariano "
                 "p-value (dm_p)")
    text += _new_day_warnings(new, reference, table.attrs)
    if table.attrs.get("mode") == "forecast":
        text += (". Forecast mode: the target days' weather is the data's observed weather, "
                 "a perfect weather forecast, so these scores are better than a real "
                 "forecast would give (docs/results.md, 'When the weather forecast errs')")
    return scores.reset_index(), text + "."


def _warning_at(warning: dict, cost_loss: float, run_dir: Path) -> float:
    """The warning probability with the lowest expense at ``cost_loss`` (0: the best CSI)
    on the validation counts the run stored for its latest choice (:mod:`forecast.warning`),
    with a warning on stderr where the run stored fewer levels than it now compares, or
    where no level was worth more than always or never acting on those days."""
    curve = {row["probability"]: row for row in warning.get("val_curve") or []}
    probability = warning_module.choose(curve, cost_loss) if curve else None
    if probability is None:
        raise DataError(f"--warning-cost-loss: {run_dir} has no validation counts to choose "
                        "a warning probability from (run it again)")
    if set(curve) != set(warning_module.WARNING_PROBABILITIES):
        print(f"forecast: warning: {run_dir} stored the validation counts of "
              f"{len(curve)} warning levels, not every 5 %: the level is chosen among those "
              "(a new run stores them all)", file=sys.stderr)
    if cost_loss > 0:
        scores = curve[probability]
        worth = warning_module.value(scores, cost_loss)
        if not worth > 0:
            events = scores["hits"] + scores["misses"]
            days = events + scores["false_alarms"] + scores["correct_negatives"]
            better = "always" if cost_loss < events / days else "never"
            print(f"forecast: warning: at cost/loss {cost_loss:g} no warning level was worth "
                  f"more than {better} acting on the run's validation days (value "
                  f"{worth:.2f} at {probability:.0%})", file=sys.stderr)
    return probability


def _new_day_warnings(new: pd.DataFrame, reference: str | None, attrs: dict) -> str:
    """"; the recommended model's warnings at the run's warning probability: …" on the new
    days ("" without a warning probability or a distribution)."""
    warn_at, threshold = attrs.get("warning_probability"), attrs.get("threshold", 75.0)
    if warn_at is None or reference is None or "p_exceed" not in new:
        return ""
    mine = new[(new["model"] == reference) & new["p_exceed"].notna()]
    if mine.empty:
        return ""
    scores = contingency(mine["observed"].to_numpy(dtype=float) > threshold,
                         mine["p_exceed"].to_numpy(dtype=float) >= warn_at)
    warnings, events = scores["hits"] + scores["false_alarms"], scores["hits"] + scores["misses"]
    cost_loss = attrs.get("warning_cost_loss") or 0.0

    def share(value: float) -> str:
        return "n/a" if not np.isfinite(value) else f"{value:.0%}"

    def fixed(value: float) -> str:
        return "n/a" if not np.isfinite(value) else f"{value:.2f}"

    ratio = f"cost/loss {cost_loss:g}" if cost_loss > 0 else "the best CSI"
    if attrs.get("warning_chosen_here"):
        whose, basis = "", f" (chosen for {ratio})"
    else:
        whose, basis = "the run's ", f" ({ratio})" if cost_loss > 0 else ""
    text = (f"; {reference}'s warnings at {whose}P(> {threshold:g}) ≥ {warn_at:.0%}{basis}"
            f": {scores['hits']} of the {events} days above {threshold:g} warned (POD "
            f"{share(scores['pod'])}), {scores['false_alarms']} of its {warnings} warnings "
            f"false (FAR {share(scores['far'])}), CSI {fixed(scores['csi'])}")
    if cost_loss > 0:
        text += (f", value {fixed(warning_module.value(scores, cost_loss))} at cost/loss "
                 f"{cost_loss:g} (1 perfect, 0 no better than always or never acting)")
    return text


def _probability(value: float) -> str:
    """A probability in whole percent, where 0 % and 100 % are said only when exact:
    0.995 is "> 99%", not a certainty, and 0.004 "< 1%"."""
    text = f"{value:.0%}"
    if text == "0%" and value > 0:
        return "< 1%"
    return "> 99%" if text == "100%" and value < 1 else text


def headlines(table: pd.DataFrame) -> list[str]:
    """One line per station from the recommended model: its median, 80 % interval,
    probability of exceeding the threshold, whether that probability reaches the one the
    run's validation years chose to warn at (``attrs["warning_probability"]``, when the
    run has it), and most likely category."""
    threshold = table.attrs.get("threshold", 75.0)
    lines = []
    latest = table["issue_day"] == table.groupby("station")["issue_day"].transform("max")
    caveat = ", without the target day's weather" + (
        "" if table.attrs.get("weather_given") else " (give --weather FILE)")
    for _, row in table[table["recommended"] & latest].iterrows():
        lacking = (row["station"], row["issue_day"]) in table.attrs.get("without_weather", ())
        if "q50" not in row or pd.isna(row.get("q50")):
            lines.append(f"{row['station']} {row['target_day']}: {row['pm25_forecast']:.0f} "
                         f"µg/m³ ({row['model']}; no calibrated distribution)"
                         + (caveat if lacking else ""))
            continue
        warn_at = table.attrs.get("warning_probability")
        cost_loss = table.attrs.get("warning_cost_loss") or 0.0
        ratio = f", cost/loss {cost_loss:g}" if cost_loss > 0 else ""
        warn = ("" if warn_at is None else
                f", WARN (P ≥ {warn_at:.0%}{ratio})" if row["p_exceed"] >= warn_at else
                f", no warning (P < {warn_at:.0%}{ratio})")
        lines.append(
            f"{row['station']} {row['target_day']}: median {row['q50']:.0f} µg/m³, 80 % "
            f"interval {row['q10']:.0f}–{row['q90']:.0f}, P(> {threshold:g}) = "
            f"{_probability(row['p_exceed'])}{warn}, most likely {row['category']} "
            f"({_probability(row['p_category'])}) "
            f"— {row['model']}" + (caveat if lacking else ""))
    return lines
