"""The canonical schema shared by every stage: HourlyFrame and DailyFrame.

HourlyFrame: one row per station-hour, sorted by (station, time), unique per station.

=============  =========================================================================
column         meaning
=============  =========================================================================
station        station name (categorical of str, categories sorted)
time           local time of the source at the start of the hour (datetime64[ns])
pm25           PM2.5 concentration over that hour, µg/m³ (float, NaN = missing)
temp           air temperature, °C
dewp           dew point, °C
pres           station pressure, hPa
wind_speed     wind speed over that hour, m/s
wind_dir       compass direction the wind blows from: N, NNE, NE, ..., NW, NNW, or
               "calm" (categorical, WIND_DIR_DTYPE; NaN = missing). Sources in degrees
               are converted.
rain           precipitation in that hour: mm (multi-site, csv) or a 0/1 "hour with rain"
               flag (single-site, whose source gives cumulated hours of rain)
snow           0/1 "hour with snow" flag (single-site only)
=============  =========================================================================

Only ``station``, ``time`` and ``pm25`` are required; weather columns a source does not
provide are absent. Extra pollutants (``pm10``, ``so2``, ``no2``, ``co``, ``o3``) may be
present and are carried along untouched.

The two text columns are categorical so that a national network's frame stays compact
(one or two bytes a row instead of a pointer to a string) and is compared, sorted and
grouped on integer codes; every helper here also accepts plain text columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import DataError

REQUIRED_COLUMNS = ("station", "time", "pm25")
WEATHER_COLUMNS = ("temp", "dewp", "pres", "wind_speed", "wind_dir", "rain", "snow")
NUMERIC_WEATHER = ("temp", "dewp", "pres", "wind_speed", "rain", "snow")
EXTRA_POLLUTANTS = ("pm10", "so2", "no2", "co", "o3")
CANONICAL_COLUMNS = REQUIRED_COLUMNS + WEATHER_COLUMNS + EXTRA_POLLUTANTS

#: 16-point compass names, clockwise from north, and their bearing in degrees.
COMPASS_16 = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
              "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
COMPASS_DEGREES = {name: 22.5 * i for i, name in enumerate(COMPASS_16)}
#: The 8 sectors used for daily wind-direction fractions (plus "calm").
SECTORS_8 = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
CALM = "calm"
#: The values of ``wind_dir``, in the order of its categories.
WIND_DIRECTIONS = COMPASS_16 + (CALM,)
WIND_DIR_DTYPE = pd.CategoricalDtype(WIND_DIRECTIONS)
_WIND_DEGREES = np.array([COMPASS_DEGREES[name] for name in COMPASS_16] + [np.nan, np.nan])
#: sector_codes of each of WIND_DIRECTIONS, then of a missing value (index −1)
_SECTOR_OF_DIRECTION = np.array(
    [np.floor((COMPASS_DEGREES[name] + 22.5) / 45.0) % 8 for name in COMPASS_16]
    + [len(SECTORS_8), -1], dtype=np.int8)


def degrees_to_compass(degrees: pd.Series | np.ndarray) -> pd.Series:
    """Map wind bearings in degrees (0 = from north, clockwise) to 16-point names."""
    values = np.asarray(degrees, dtype=float)
    index = np.floor(((values % 360.0) + 11.25) / 22.5) % 16
    names = np.array(COMPASS_16 + (np.nan,), dtype=object)
    return pd.Series(names[np.where(np.isfinite(index), index, 16).astype(int)], dtype=object)


def wind_codes(wind_dir: pd.Series) -> np.ndarray:
    """Each value's position in WIND_DIRECTIONS (0–15 the compass names clockwise from N,
    16 calm), −1 for missing or unknown values; categorical or text columns alike."""
    known = pd.Index(WIND_DIRECTIONS)
    if isinstance(wind_dir.dtype, pd.CategoricalDtype):
        per_category = np.append(known.get_indexer(wind_dir.cat.categories), -1)
        return per_category[wind_dir.cat.codes.to_numpy()]     # code −1 (NaN) → −1
    return known.get_indexer(wind_dir)


def compass_to_degrees(wind_dir: pd.Series) -> np.ndarray:
    """Bearing in degrees of each compass name; NaN for "calm" and missing values."""
    return _WIND_DEGREES[wind_codes(wind_dir)]


def sector_codes(wind_dir: pd.Series) -> np.ndarray:
    """Each hour's sector of SECTORS_8 as an index 0–7, 8 for "calm", −1 when missing.

    A 16-point name between two sectors goes to the sector clockwise of it
    (NNE → NE, ENE → E, ..., NNW → N), so every bearing lands in exactly one sector.
    """
    return _SECTOR_OF_DIRECTION[wind_codes(wind_dir)]


def compass_to_sector8(wind_dir: pd.Series) -> pd.Series:
    """Reduce 16-point names to the 8 sectors of SECTORS_8 (plus "calm", NaN kept)."""
    names = np.array(SECTORS_8 + (CALM, np.nan), dtype=object)
    return pd.Series(names[sector_codes(wind_dir)], index=wind_dir.index, dtype=object)


def station_category(station: pd.Series) -> pd.Series:
    """Station names as a categorical of str whose categories are sorted and all used,
    so that the codes sort as the names do."""
    if (isinstance(station.dtype, pd.CategoricalDtype) and not station.hasnans
            and all(isinstance(name, str) for name in station.cat.categories)):
        counts = np.bincount(station.cat.codes.to_numpy(), minlength=len(station.cat.categories))
        if not counts.all():
            station = station.cat.remove_unused_categories()
        if not station.cat.categories.is_monotonic_increasing:
            station = station.cat.reorder_categories(sorted(station.cat.categories))
        return station
    return station.astype(str).astype("category")


def _is_wind_dir_dtype(wind_dir: pd.Series) -> bool:
    return (isinstance(wind_dir.dtype, pd.CategoricalDtype)
            and tuple(wind_dir.cat.categories) == WIND_DIRECTIONS)


def _station_hour_order(station: pd.Series, time: pd.Series) -> tuple[bool, np.ndarray]:
    """Whether rows are sorted by (station, time) (``station`` a station_category), and
    where they are, which rows repeat the station-hour of the row before."""
    codes, times = station.cat.codes.to_numpy(), time.to_numpy()
    same_station = codes[1:] == codes[:-1]
    ordered = bool(((codes[1:] > codes[:-1]) | (same_station & (times[1:] >= times[:-1]))).all())
    repeated = np.zeros(len(codes), dtype=bool)
    repeated[1:] = same_station & (times[1:] == times[:-1])
    return ordered, repeated


def _clock_hint(time: pd.Timestamp) -> str:
    """For a repeated or backward time in the small hours of a month in which clocks go
    back (March, April, October, November), the likely cause and its remedy."""
    if time.hour > 3 or time.month not in (3, 4, 10, 11):
        return ""
    return (" (a local clock that repeats an hour when daylight saving time ends does "
            "this: set [data] time_zone to the clock's zone, e.g. \"Europe/Paris\")")


def station_time_order(station: pd.Series, time: pd.Series, source: str) -> np.ndarray:
    """The row order that groups the stations (stable), when each station's times already
    rise row by row, as they do in a file sorted by time, or by station then time. A time
    that goes back (a shuffled file, or day and month swapped in some dates) raises
    DataError naming the first such data row: sorting would hide it."""
    order = np.argsort(station.cat.codes.to_numpy(), kind="stable")
    codes, times = station.cat.codes.to_numpy()[order], time.to_numpy()[order]
    back = np.flatnonzero((codes[1:] == codes[:-1]) & (times[1:] < times[:-1]))
    if back.size:
        first = back[np.argmin(order[back + 1])]
        row, before = order[first + 1], order[first]
        raise DataError(
            f"{source}: time goes back at data row {row + 1}: station {station.iloc[row]} "
            f"at {time.iloc[row]:%Y-%m-%d %H:%M} after {time.iloc[before]:%Y-%m-%d %H:%M} on "
            f"data row {before + 1}; each station's rows must be in time order"
            f"{_clock_hint(time.iloc[row])}")
    return order


#: The whole years pandas' nanosecond times hold (1677-09-21 to 2262-04-11).
READABLE_YEARS = (pd.Timestamp.min.year + 1, pd.Timestamp.max.year - 1)


def validate_hourly(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check and normalise a frame into the HourlyFrame schema.

    Groups the rows by station (stations may come one after another or interleaved, hour
    by hour) and raises DataError for missing required columns, all-missing targets,
    duplicated station-hours or a station whose time goes back from one row to the next.
    Impossible values (negative PM2.5, missing-value codes, ...) are left to the
    data-quality stage, :mod:`forecast.quality`. ``source`` names the input in messages.
    Columns already in canonical form are not copied (pandas' copy-on-write keeps
    ``frame`` unchanged).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing required column(s) {', '.join(missing)}")
    if frame.empty:
        raise DataError(f"{source}: no rows of data")
    keep = [c for c in CANONICAL_COLUMNS if c in frame.columns]
    out = frame[keep]
    blank = out["station"].isna().to_numpy().copy()
    if out["station"].dtype == object or pd.api.types.is_string_dtype(out["station"]):
        # each distinct name stripped once (missing names are blank already)
        codes, names = pd.factorize(out["station"])
        empty = np.asarray(pd.Index(names).astype(str).str.strip() == "", dtype=bool)
        blank |= (codes >= 0) & np.append(empty, False)[codes]
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise DataError(f"{source}: {int(blank.sum())} row(s) without a station, the first on "
                        f"data row {row + 1}")
    out["station"] = station_category(out["station"])
    if not pd.api.types.is_datetime64_any_dtype(out["time"]):
        raise DataError(f"{source}: column 'time' is not a datetime")
    try:
        out["time"] = out["time"].astype("datetime64[ns]")
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        outside = ((out["time"] < pd.Timestamp.min) | (out["time"] > pd.Timestamp.max))
        row = int(np.flatnonzero(outside.to_numpy())[0]) if outside.any() else 0
        raise DataError(f"{source}: time {out['time'].iloc[row]} on data row {row + 1} lies "
                        f"outside the years {READABLE_YEARS[0]}–{READABLE_YEARS[1]} this tool "
                        "can read") from None
    if out["time"].isna().any():
        raise DataError(f"{source}: {int(out['time'].isna().sum())} row(s) without a time")
    for column in ("pm25",) + NUMERIC_WEATHER + EXTRA_POLLUTANTS:
        if column in out.columns and out[column].dtype != np.float64:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    if "wind_dir" in out.columns and not _is_wind_dir_dtype(out["wind_dir"]):
        codes = wind_codes(out["wind_dir"])
        bad = out["wind_dir"].notna().to_numpy() & (codes < 0)
        if bad.any():
            raise DataError(
                f"{source}: unknown wind direction {str(out.loc[bad, 'wind_dir'].iloc[0])!r} "
                f"(expected one of {', '.join(COMPASS_16)} or calm; for degrees set [data] "
                "wind_dir_degrees = true)")
        out["wind_dir"] = pd.Categorical.from_codes(codes, dtype=WIND_DIR_DTYPE)
    if out["pm25"].isna().all():
        raise DataError(f"{source}: every PM2.5 value is missing or not a number")
    ordered, duplicated = _station_hour_order(out["station"], out["time"])
    if not ordered:
        out = out.take(station_time_order(out["station"], out["time"], source))
        _, duplicated = _station_hour_order(out["station"], out["time"])
    out = out.reset_index(drop=True)
    if duplicated.any():
        first = out.loc[duplicated].iloc[0]
        hint = _clock_hint(first["time"])
        if not (out["time"] != out["time"].dt.normalize()).any():
            hint = (" (every time is a midnight: the times carry no hour of the day, and "
                    "this tool reads hourly data, one row per station and hour)")
        raise DataError(
            f"{source}: {int(duplicated.sum())} duplicated station-hour(s), first "
            f"{first['station']} at {first['time']:%Y-%m-%d %H:%M}{hint}")
    out.attrs["source"] = source
    return out


def _step_text(step: pd.Timedelta) -> str:
    minutes = step / pd.Timedelta(minutes=1)
    if minutes < 60:
        return f"{minutes:g} min"
    hours = minutes / 60
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"


def hourly_values(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, str | None]:
    """A validated frame (:func:`validate_hourly`) at an hourly step, and a note of what
    was converted (None when nothing was).

    A station whose rows are more than an hour apart (the median step between its
    consecutive times) raises DataError: a daily mean needs most of its 24 hourly values.
    Times off the hour (10- or 30-minute data, or hourly values stamped at hh:30, after
    :mod:`forecast.sources` has read them by ``time_label``) count in the hour they fall
    in; several rows in one station-hour become one, each column's
    mean of the values it has (rain summed, as millimetres; snow, a 0/1 flag, its
    maximum; the wind direction the hour's most frequent, the first compass name of a
    tie).
    """
    codes = frame["station"].cat.codes.to_numpy()
    times = frame["time"].to_numpy()
    same_station = codes[1:] == codes[:-1]
    steps = (times[1:] - times[:-1])[same_station]
    median = pd.Timedelta(np.median(steps)) if steps.size else None
    # each station's own: a daily station beside hourly ones is as coarse as alone
    by_station = pd.Series(steps).groupby(codes[1:][same_station]).median()
    if len(by_station) and by_station.max() > np.timedelta64(1, "h"):
        coarse = int(by_station.idxmax())
        several = frame["station"].cat.categories.size > 1
        raise DataError(f"{source}: the rows "
                        + (f"of {frame['station'].cat.categories[coarse]} " if several else "")
                        + f"are {_step_text(pd.Timedelta(by_station.max()))} apart (the median "
                        "step between a station's consecutive times); pm25-forecast needs "
                        "hourly values, as a valid daily mean needs 18 of its 24 hours")
    hour = frame["time"].dt.floor("h").to_numpy()
    if (hour == times).all():
        return frame, None
    starts = np.ones(len(frame), dtype=bool)
    starts[1:] = ~same_station | (hour[1:] != hour[:-1])
    first = np.flatnonzero(starts)
    median = _step_text(median) if median is not None else "?"
    out = frame.iloc[first].reset_index(drop=True)
    out["time"] = hour[first]
    if len(first) == len(frame):
        return out, (f"{int((hour != times).sum()):,} times off the hour (median step "
                     f"{median}) were put in the hour each one measures, as [data] "
                     "time_label reads them (a period's start, end or middle)")
    group = np.cumsum(starts) - 1
    n_groups = len(first)
    for column in out.columns:
        if column in ("station", "time"):
            continue
        if column == "wind_dir":
            wind = wind_codes(frame["wind_dir"])
            known = wind >= 0
            counts = np.bincount(group[known] * len(WIND_DIRECTIONS) + wind[known],
                                 minlength=n_groups * len(WIND_DIRECTIONS))
            counts = counts.reshape(n_groups, len(WIND_DIRECTIONS))
            mode = np.where(counts.any(axis=1), counts.argmax(axis=1), -1)
            out["wind_dir"] = pd.Categorical.from_codes(mode, dtype=WIND_DIR_DTYPE)
            continue
        values = frame[column].to_numpy(dtype=float)
        if column == "snow":
            out[column] = pd.Series(values).groupby(group).max().to_numpy()
            continue
        present = np.isfinite(values)
        n = np.bincount(group, weights=present, minlength=n_groups)
        total = np.bincount(group, weights=np.where(present, values, 0.0), minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[column] = np.where(n > 0, total if column == "rain" else total / n, np.nan)
    return out, (f"{len(frame):,} rows at a step under an hour (median {median}) were "
                 f"averaged into {n_groups:,} hourly values (rain summed, snow the hour's "
                 "maximum, wind direction its most frequent)")


#: The unit of each canonical column, and the units a CSV's ``[data.units]`` may name
#: instead, each as (factor, offset): canonical value = value × factor + offset. Names
#: are compared without spaces or case, with ° written "deg", ³ as 3 and µ as u. (A
#: unit library such as pint would parse more spellings; these dozen factors do not
#: need one.)
#: The canonical columns a CSV of one's own can map (``[data.columns]``, ``[data.units]``).
CSV_CANONICAL = ("pm25", "temp", "dewp", "pres", "wind_speed", "wind_dir", "rain", "snow",
                 "pm10", "so2", "no2", "co", "o3")
CANONICAL_UNITS = {"pm25": "µg/m³", "pm10": "µg/m³", "temp": "°C", "dewp": "°C",
                   "pres": "hPa", "wind_speed": "m/s", "rain": "mm"}
_CELSIUS = {"degc": (1.0, 0.0), "c": (1.0, 0.0), "celsius": (1.0, 0.0),
            "degf": (5 / 9, -32 * 5 / 9), "f": (5 / 9, -32 * 5 / 9), "fahrenheit": (5 / 9, -32 * 5 / 9),
            "k": (1.0, -273.15), "kelvin": (1.0, -273.15)}
_MASS = {"ug/m3": (1.0, 0.0), "mg/m3": (1000.0, 0.0)}
UNIT_CONVERSIONS = {
    "pm25": _MASS, "pm10": _MASS, "temp": _CELSIUS, "dewp": _CELSIUS,
    "pres": {"hpa": (1.0, 0.0), "mbar": (1.0, 0.0), "mb": (1.0, 0.0), "kpa": (10.0, 0.0),
             "pa": (0.01, 0.0), "inhg": (33.8639, 0.0), "mmhg": (1.333224, 0.0)},
    "wind_speed": {"m/s": (1.0, 0.0), "km/h": (1 / 3.6, 0.0), "kmh": (1 / 3.6, 0.0),
                   "kph": (1 / 3.6, 0.0), "kn": (0.514444, 0.0), "kt": (0.514444, 0.0),
                   "knots": (0.514444, 0.0), "mph": (0.44704, 0.0)},
    "rain": {"mm": (1.0, 0.0), "cm": (10.0, 0.0), "in": (25.4, 0.0), "inch": (25.4, 0.0),
             "inches": (25.4, 0.0)},
}


def unit_key(text: str) -> str:
    key = "".join(str(text).split()).lower()
    for old, new in (("°", "deg"), ("³", "3"), ("µ", "u"), ("μ", "u"), ("/hour", "/h"),
                     ("/hr", "/h"), ("per", "/")):
        key = key.replace(old, new)
    return key


def unit_conversions(units: dict) -> dict[str, tuple[str, float, float]]:
    """The canonical columns of a ``[data.units]`` table whose unit is a known other one:
    column → (the unit as written, factor, offset). Canonical units, and units this table
    does not know (a 0/1 rain flag, say), are left as they are, recorded as text."""
    out = {}
    for column, text in (units or {}).items():
        factor_offset = UNIT_CONVERSIONS.get(column, {}).get(unit_key(text))
        if factor_offset is not None and factor_offset != (1.0, 0.0):
            out[column] = (str(text), *factor_offset)
    return out
