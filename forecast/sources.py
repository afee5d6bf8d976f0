"""Data sources, each mapped into the canonical HourlyFrame (see forecast.schema).

Sources: ``beijing`` (UCI Beijing PM2.5, one site, 2010–2014), ``beijing-multisite``
(UCI Beijing Multi-Site Air Quality, 12 sites, 2013–2017), ``csv`` (any hourly CSV
through a column mapping) and ``synthetic`` (a seeded generator, for tests and demos).

Real files are looked up in this order: ``--data-dir``, ``$FORECAST_DATA_DIR``,
``data/raw/`` (the download cache), then downloaded from UCI into ``data/raw/``.
Each file's SHA-256 is checked before it is read; a mismatch is an error and the bad
copy is never used.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from .coordinates import MULTISITE_COORDINATES, check_coordinates
from .errors import DataError
from .schema import (
    CANONICAL_UNITS,
    COMPASS_16,
    CSV_CANONICAL,
    READABLE_YEARS,
    WEATHER_COLUMNS,
    _step_text,
    degrees_to_compass,
    hourly_values,
    unit_conversions,
    validate_hourly,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = PROJECT_ROOT / "data" / "raw"

BEIJING_FILE = "PRSA_data_2010.1.1-2014.12.31.csv"
BEIJING_SHA256 = "4127f868775e31b3956522adc0ec75af8937dde6a3896e8beed3a376c6d27f1c"
BEIJING_URLS = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00381/" + BEIJING_FILE,
    "https://archive.ics.uci.edu/static/public/381/beijing+pm2+5+data.zip",
)
BEIJING_STATION = "US Embassy"

MULTISITE_ZIP = "PRSA2017_Data_20130301-20170228.zip"
MULTISITE_URLS = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00501/" + MULTISITE_ZIP,
    "https://archive.ics.uci.edu/static/public/501/beijing+multi+site+air+quality+data.zip",
)
MULTISITE_SHA256 = {
    "Aotizhongxin": "a94fbcfc71708b6ffdc033360163d91efb7f675e496f6b5860929aa96b96351b",
    "Changping": "a2e21402a6d95fb7043f87959e6e3dcbecb957aac356a6f8028a85b047c772e7",
    "Dingling": "3d8dff81f18a80d9f455876a785642bffe1e9b9924ec1e6b7ce8cca790432eeb",
    "Dongsi": "9c0020214425e5ee2a64d42f97a1f632e1d8f6b53ad50edd85a686cc7999f27e",
    "Guanyuan": "59390fee3b032597b387491f5230e7edb90a8558e30217ebd6d9befbe669fbf9",
    "Gucheng": "10ae48801ea55869fee56a48b885fb1127859c130551888d71673f34216ba951",
    "Huairou": "812dcbe848b3ba2c2d25731064797bff803c46eb0c602156a1fa044df136dc26",
    "Nongzhanguan": "572cf87b65ef543cd55d3a711b28474def224a46b0ec3fc8add8aaf13b67a487",
    "Shunyi": "520b59e4ead3b0cfe7f1ed673e30275de8441e999db6f413d5172d2277b8c15a",
    "Tiantan": "0743e34799cf1ee36195b73321b91baa5625276532e7263c588f68cdef3b4daa",
    "Wanliu": "0b1a6d754a07f0def2f55434ddfa3870dcd0063b7f766a6f66b6c11bb05a377a",
    "Wanshouxigong": "ab1d6a356d6997a45f6d657ad47de1e05a4a08d4a7015b38a329a90665ab74d0",
}


def multisite_file(station: str) -> str:
    return f"PRSA_Data_{station}_20130301-20170228.csv"


DATASETS = ("beijing", "beijing-multisite", "synthetic", "csv")


def parse_dataset_spec(text: str) -> tuple[str, str]:
    """``csv:PATH`` → ("csv", PATH); any other dataset name → (name, "")."""
    return ("csv", text[4:]) if text.startswith("csv:") else (text, "")


@dataclass
class Loaded:
    """An HourlyFrame with where it came from."""

    hourly: pd.DataFrame
    dataset: str
    files: dict[str, str] = field(default_factory=dict)  # path -> verified SHA-256
    synthetic: bool = False
    units: dict[str, str] = field(default_factory=dict)
    #: values the source itself found impossible while mapping raw columns (quality.Flag)
    source_flags: list = field(default_factory=list)
    #: what the data-quality stage flagged (quality.QualityReport), once it has run
    quality: object = None
    #: station → (latitude, longitude), decimal degrees, where known (forecast.coordinates)
    coordinates: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: what reading the source converted, one sentence each (e.g. 30-minute values
    #: averaged into hours), said on stderr and in the run's data summary
    notes: list[str] = field(default_factory=list)
    #: the file's columns with a canonical weather name that its mapping does not map
    #: (:func:`unmapped_weather`): not read, said on stderr as a warning
    unmapped_weather: list[str] = field(default_factory=list)
    #: other things reading left out that the user may have meant, one sentence each
    #: (a [data.units] entry for a column the mapping does not read), said on stderr
    warnings: list[str] = field(default_factory=list)
    #: a CSV of one's own: its header, the mapped and the ignored columns
    raw_columns: list[str] = field(default_factory=list)

    @property
    def rain_is_flag(self) -> bool:
        """Whether ``rain`` is a 0/1 "hour with rain" flag (the single-site set's unit
        says so), not an amount."""
        return str(self.units.get("rain", "")).startswith("0/1")


# ---------------------------------------------------------------- file lookup


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_verified(path: Path, expected: str) -> bytes:
    data = path.read_bytes()
    actual = sha256_of(data)
    if actual != expected:
        raise DataError(
            f"checksum mismatch for {path}: expected SHA-256 {expected}, got {actual}; "
            "the file is corrupt or a different version — delete it or point --data-dir "
            "at a good copy")
    return data


def search_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    """Folders to search for a dataset's files, in lookup order."""
    dirs: list[Path] = []
    if data_dir:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataError(f"--data-dir {path} is not a folder")
        dirs.append(path)
    env = os.environ.get("FORECAST_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DataError(f"FORECAST_DATA_DIR={env} is not a folder")
        dirs.append(path)
    dirs.append(CACHE_DIR)
    return dirs


def find_file(name: str, dirs: list[Path]) -> Path | None:
    """First file called ``name`` in ``dirs`` (subfolders included), in order."""
    for folder in dirs:
        if not folder.is_dir():
            continue
        direct = folder / name
        if direct.is_file():
            return direct
        for hit in sorted(folder.rglob(name)):
            if hit.is_file():
                return hit
    return None


def _download(urls: tuple[str, ...], target: Path, expected: str | None = None) -> Path:
    """Download the first URL that answers into ``target`` (atomically).

    With ``expected``, a payload whose SHA-256 differs is never written: the cache
    keeps no corrupt copy.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                payload = response.read()
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        if url.endswith(".zip") and not target.name.endswith(".zip"):
            # UCI's newer page ships the CSV inside a zip: take the member by name.
            try:
                with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                    member = next(n for n in archive.namelist() if n.endswith(target.name))
                    payload = archive.read(member)
            except (zipfile.BadZipFile, StopIteration):
                errors.append(f"{url}: no {target.name} inside")
                continue
        if expected is not None and sha256_of(payload) != expected:
            raise DataError(
                f"checksum mismatch for the download of {target.name} from {url}: expected "
                f"SHA-256 {expected}, got {sha256_of(payload)}; nothing was saved — retry, or "
                "download it yourself and pass its folder with --data-dir DIR")
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            tmp.write(payload)
        Path(tmp.name).replace(target)
        return target
    raise DataError(
        f"{target.name} is not available locally and could not be downloaded "
        f"({errors[-1] if errors else 'no URL'}); download it from the UCI Machine Learning "
        f"Repository and pass its folder with --data-dir DIR (or set FORECAST_DATA_DIR)")


# ---------------------------------------------------------------- beijing (one site)


def parse_beijing(data: bytes, source: str) -> pd.DataFrame:
    """Map UCI's single-site CSV into an HourlyFrame.

    ``Iws`` is the wind speed (m/s) cumulated over consecutive hours with the same
    direction: the hourly speed is its increment, or the value itself when the
    direction changes. ``Is``/``Ir`` are cumulated hours of snow/rain: an hour with a
    positive count is a snow/rain hour (flag 1).
    """
    raw = read_table(data, source)
    _require(raw, ["year", "month", "day", "hour", "pm2.5", "DEWP", "TEMP", "PRES", "cbwd",
                   "Iws", "Is", "Ir"], source)
    time = _time_from_parts(raw, ["year", "month", "day", "hour"], source)
    direction = raw["cbwd"].map({"NW": "NW", "NE": "NE", "SE": "SE", "cv": "calm"})
    cumulated = raw["Iws"].astype(float).to_numpy()
    same_run = (direction.to_numpy() == np.roll(direction.to_numpy(), 1))
    same_run[0] = False
    previous = np.roll(cumulated, 1)
    increment = cumulated - previous
    speed = np.where(same_run & (increment >= 0), increment, cumulated)
    frame = pd.DataFrame({
        "station": BEIJING_STATION,
        "time": time,
        "pm25": pd.to_numeric(raw["pm2.5"], errors="coerce"),
        "temp": raw["TEMP"].astype(float),
        "dewp": raw["DEWP"].astype(float),
        "pres": raw["PRES"].astype(float),
        "wind_speed": speed,
        "wind_dir": direction.astype(object),
        "rain": (raw["Ir"].astype(float) > 0).astype(float),
        "snow": (raw["Is"].astype(float) > 0).astype(float),
    })
    return validate_hourly(frame, source)


def load_beijing(data_dir=None, allow_download: bool = True) -> Loaded:
    dirs = search_dirs(data_dir)
    path = find_file(BEIJING_FILE, dirs)
    if path is None:
        if not allow_download:
            raise DataError(f"{BEIJING_FILE} not found; pass --data-dir DIR")
        path = _download(BEIJING_URLS, CACHE_DIR / BEIJING_FILE, BEIJING_SHA256)
    data = _read_verified(path, BEIJING_SHA256)
    hourly = parse_beijing(data, str(path))
    return Loaded(hourly, "beijing", {str(path): BEIJING_SHA256},
                  units={"rain": "0/1 flag: hour with rain", "snow": "0/1 flag: hour with snow",
                         "wind_speed": "m/s, from cumulated Iws"})


# ---------------------------------------------------------------- beijing multi-site


def parse_multisite(data: bytes, source: str) -> pd.DataFrame:
    raw = read_table(data, source)
    _require(raw, ["year", "month", "day", "hour", "PM2.5", "TEMP", "PRES", "DEWP", "RAIN",
                   "wd", "WSPM", "station"], source)
    columns = {"PM2.5": "pm25", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co",
               "O3": "o3", "TEMP": "temp", "PRES": "pres", "DEWP": "dewp", "RAIN": "rain",
               "WSPM": "wind_speed", "wd": "wind_dir", "station": "station"}
    frame = raw[[c for c in columns if c in raw.columns]].rename(columns=columns)
    frame["time"] = _time_from_parts(raw, ["year", "month", "day", "hour"], source)
    frame["wind_dir"] = frame["wind_dir"].astype(object)
    return frame


def load_multisite(data_dir=None, allow_download: bool = True) -> Loaded:
    dirs = search_dirs(data_dir)
    blobs: dict[str, tuple[str, bytes]] = {}
    for station, digest in MULTISITE_SHA256.items():
        path = find_file(multisite_file(station), dirs)
        if path is not None:
            blobs[station] = (str(path), _read_verified(path, digest))
    if len(blobs) < len(MULTISITE_SHA256):
        zip_path = find_file(MULTISITE_ZIP, dirs)
        if zip_path is None:
            if not allow_download:
                raise DataError(f"{MULTISITE_ZIP} (or its 12 CSVs) not found; pass --data-dir DIR")
            zip_path = _download(MULTISITE_URLS, CACHE_DIR / MULTISITE_ZIP)
        try:
            archive = zipfile.ZipFile(zip_path)
        except zipfile.BadZipFile:
            raise DataError(f"{zip_path} is not a valid zip archive; delete it and retry") from None
        with archive:
            names = archive.namelist()
            for station, digest in MULTISITE_SHA256.items():
                if station in blobs:
                    continue
                member = next((n for n in names if n.endswith(multisite_file(station))), None)
                if member is None:
                    raise DataError(f"{zip_path} has no {multisite_file(station)}")
                data = archive.read(member)
                actual = sha256_of(data)
                if actual != digest:
                    raise DataError(
                        f"checksum mismatch for {zip_path}:{member}: expected SHA-256 {digest}, "
                        f"got {actual}; delete the zip and retry")
                blobs[station] = (f"{zip_path}:{member}", data)
    frames = [parse_multisite(data, path) for path, data in blobs.values()]
    hourly = validate_hourly(pd.concat(frames, ignore_index=True), "beijing-multisite")
    files = {path: MULTISITE_SHA256[station] for station, (path, _) in blobs.items()}
    return Loaded(hourly, "beijing-multisite", files, units={"rain": "mm", "wind_speed": "m/s"},
                  coordinates=dict(MULTISITE_COORDINATES))


# ---------------------------------------------------------------- generic csv


def load_csv(spec: dict) -> Loaded:
    """Read a user's hourly CSV through a column mapping (the ``[data]`` config table).

    Keys: ``path`` (a file, a folder of ``.csv`` files or a glob pattern, read as one
    table: :func:`csv_files`); ``station`` (a fixed name) or ``station_column``;
    ``time_column`` or ``time_columns`` (year, month, day, hour; or date, hour);
    ``time_format`` (optional strftime format of the time or date column);
    ``utc_offset`` (the clock that times with UTC offsets are read on, e.g. "+08:00";
    needed when they carry several, as with daylight saving time); ``time_label``
    ("end" for hours labelled by their end, 01:00-24:00); ``columns`` = {canonical
    name: CSV column} with at least ``pm25``; ``wind_dir_degrees`` = true when the wind
    direction column holds degrees; ``parameter_column`` and ``value_column`` for a file
    with one row per time, station and parameter (the mapping's names are then parameter
    names); ``stations_in_columns`` for a file with a column per station; ``units`` =
    {canonical name: text}, recorded in the report, and a known other unit than the
    canonical one (°F, km/h, knots, kPa, inches, mg/m³, ...: ``schema.UNIT_CONVERSIONS``)
    converted to it; ``coordinates`` = {station: [latitude, longitude]} (decimal
    degrees), for the upwind feature of several stations: every name must be a station
    of the file. Steps: docs/architecture.md, "Reading a CSV of one's own".
    """
    path_text = spec.get("path")
    if not path_text:
        raise DataError("dataset csv needs a path: --dataset csv:PATH or [data] path = ...")
    paths = csv_files(path_text)
    path = paths[0] if len(paths) == 1 else Path(path_text).expanduser()
    files, by_digest, tables = {}, {}, []
    for one in paths:
        data = one.read_bytes()
        digest = files[str(one)] = sha256_of(data)
        if digest in by_digest:
            raise DataError(f"{one} holds the same bytes as {by_digest[digest]}: a folder's "
                            "files are read as one table, each once")
        by_digest[digest] = str(one)
        tables.append(read_table(data, str(one),
                                 text_columns=(spec.get("station_column") or "station",)))
    raw = tables[0]
    if len(tables) > 1:
        for one, table in zip(paths[1:], tables[1:], strict=True):
            if list(table.columns) != list(raw.columns):
                raise DataError(f"{one}: its columns ({', '.join(map(str, table.columns[:12]))}) "
                                f"are not those of {paths[0]} "
                                f"({', '.join(map(str, raw.columns[:12]))})")
        raw = pd.concat(tables, ignore_index=True)
    del tables
    spec, canonical_note = canonical_defaults(raw, spec)
    frame, flags = mapped_frame(raw, spec, str(path))
    hourly, converted = hourly_values(validate_hourly(frame, str(path)), str(path))
    # a unit of a column the mapping does not read converts nothing: not said to
    mapped = set(spec.get("columns") or {})
    units = {k: v for k, v in (spec.get("units") or {}).items() if k in mapped}
    stray = [k for k in (spec.get("units") or {}) if k not in mapped]
    notes = [f"{column} converted from {unit} to {CANONICAL_UNITS[column]}"
             for column, (unit, _, _) in unit_conversions(units).items()]
    clock = _clock(spec)
    if isinstance(clock, ZoneInfo):
        offset = standard_offset(clock, int(hourly["time"].dt.year.min()))
        hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
        sign = "-" if offset < pd.Timedelta(0) else "+"
        notes.append(f"times read on {clock.key} standard time, UTC{sign}{hours:02d}:"
                     f"{minutes:02d}, all year (in summer a day runs from 01:00 to 01:00 on "
                     "the wall clock)")
    coordinates = check_coordinates(spec.get("coordinates") or {})
    unknown = sorted(set(coordinates) - set(hourly["station"]))
    if unknown:
        raise DataError(f"[data.coordinates]: {', '.join(unknown)} is not a station of {path} "
                        f"(its stations: {', '.join(sorted(hourly['station'].unique())[:20])})")
    said = ([f"[data.units] gives a unit for {', '.join(stray)}, which "
             "[data.columns] does not map; nothing is converted"] if stray else [])
    said += [ambiguous] if (ambiguous := day_month_ambiguity(raw, spec)) else []
    return Loaded(hourly, "csv", files,
                  units=units, source_flags=flags, warnings=said,
                  coordinates=coordinates,
                  notes=notes + ([converted] if converted else [])
                  + ([canonical_note] if canonical_note else []),
                  unmapped_weather=unmapped_weather(raw.columns, spec),
                  raw_columns=[str(c) for c in raw.columns])


def canonical_defaults(raw: pd.DataFrame, spec: dict) -> tuple[dict, str | None]:
    """``spec`` with what a file whose headers are this tool's own names gives without a
    word of configuration: with no ``[data.columns]`` (and one row per time and
    station), every canonical column the file has (pm25, temp, ...) mapped to itself, a
    ``time`` column as the time and a ``station`` column as the station; and a note
    saying what was read so, or None when nothing was."""
    if (spec.get("columns") or spec.get("parameter_column")
            or spec.get("stations_in_columns")):
        return spec, None
    headers = {str(c) for c in raw.columns}
    columns = {c: c for c in CSV_CANONICAL if c in headers}
    if "pm25" not in columns:
        return spec, None
    spec = {**spec, "columns": columns}
    if not (spec.get("time_column") or spec.get("time_columns")) and "time" in headers:
        spec["time_column"] = "time"
    if not (spec.get("station") or spec.get("station_column")) and "station" in headers:
        spec["station_column"] = "station"
    return spec, (f"no [data.columns]: the file's {', '.join(columns)} read under their "
                  "own names")


def unmapped_weather(columns, spec: dict) -> list[str]:
    """The file's ``columns`` named as a canonical weather column (temp, wind_dir, ...;
    in any case) whose canonical name ``spec``'s ``[data.columns]`` does not map: columns
    a user likely meant to read, which are not. None for a file whose headers are not
    quantities (a row per parameter, a column per station)."""
    if spec.get("parameter_column") or spec.get("stations_in_columns"):
        return []
    mapping = {str(k): str(v) for k, v in (spec.get("columns") or {}).items()}
    used = mapped_columns(spec)
    return [str(c) for c in columns if str(c) not in used
            and str(c).strip().lower() in WEATHER_COLUMNS
            and str(c).strip().lower() not in mapping]


def mapped_columns(spec: dict) -> set[str]:
    """The file's columns the ``[data]`` mapping ``spec`` reads: those ``[data.columns]``
    maps, the time, station, parameter and value columns."""
    return ({str(v) for v in (spec.get("columns") or {}).values()}
            | {str(c) for c in [*(spec.get("time_columns") or []), spec.get("time_column"),
                                spec.get("station_column"), spec.get("parameter_column"),
                                spec.get("value_column")] if c})


def csv_files(path_text: str) -> list[Path]:
    """The files of ``[data] path``: a file, every ``*.csv`` of a folder, or the files a
    glob pattern (``china_sites_*.csv``) matches, sorted by name; read one after another
    as one table, so they must have the same columns."""
    path = Path(path_text).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
        if not paths:
            raise DataError(f"{path}: a folder with no .csv file")
        return paths
    if any(c in path.name for c in "*?["):
        paths = sorted(p for p in path.parent.glob(path.name) if p.is_file())
        if not paths:
            raise DataError(f"{path}: no file matches")
        return paths
    raise DataError(f"{os.path.abspath(path)}: no such file")     # where it looked


def _station_steps(time: pd.Series, station: pd.Series):
    """What :func:`label_starts` and :func:`refuse_straddling` read of naive ``time``, in
    pandas' own resolution (s, ms, us or ns; microseconds by default): the unit, the
    times as integers, the stations' codes, an hour in the unit, the rows' order by station and time, and the consecutive steps in that order with the
    station each one belongs to (-1 between stations); None for other times (out of
    pandas' range, or with offsets), which later checks refuse."""
    if time.dtype.kind != "M" or getattr(time.dtype, "tz", None) is not None:
        return None
    unit = np.datetime_data(time.dtype)[0]
    values = time.to_numpy().astype(np.int64)
    codes = pd.factorize(station)[0]
    order = np.lexsort((values, codes))
    steps = np.diff(values[order])
    of_station = np.where(np.diff(codes[order]) == 0, codes[order][1:], -1)
    hour = int(np.timedelta64(1, "h") / np.timedelta64(1, unit))
    return unit, values, codes, hour, order, steps, of_station


def label_starts(time: pd.Series, station: pd.Series) -> pd.Series:
    """``time`` labelling the end of its period (``time_label = "end"``) as a time in the
    hour the period ends in, the rows staying in their order.

    A station whose times are all on the hour and at least an hour apart (hourly data,
    or a coarser forecast file whose rows cover the hours before them) moves back an
    hour: the hour ending at 01:00 began at 00:00. Any other station (10-minute values,
    values off the hour, a stretch of finer data) moves back by the smallest step pandas
    holds: 00:10 closes 00:00-00:10 and counts in hour 0, 01:00 in hour 0 too, and 00:00
    of day D+1 in hour 23 of day D, whatever the steps or gaps around them. One step for
    the whole file (its median) moved finer values an hour back wherever the steps were
    mixed or gappy, and values measured on day D+1 into day D."""
    read = _station_steps(time, station)
    if read is None:
        return time - pd.Timedelta(hours=1)
    unit, values, codes, hour, _, steps, of_station = read
    finer = np.zeros(codes.max() + 1 if codes.size else 0, dtype=bool)
    finer[of_station[(of_station >= 0) & (steps > 0) & (steps < hour)]] = True
    finer[codes[(values % hour != 0) & ~time.isna().to_numpy()]] = True
    return time - pd.to_timedelta(np.where(finer[codes], 1, hour), unit=unit)


#: Rows an hour apart at one minute past the hour that make a stretch of hourly values
#: inside a station of finer ones (:func:`refuse_straddling`).
HOURLY_STRETCH = 6


def refuse_straddling(time: pd.Series, station: pd.Series, source: str, label: str) -> None:
    """DataError where a value's period, as ``time_label`` = ``label`` ("start" or
    "middle") reads it, runs past the end of its hour: counted in the hour its time falls
    in, part of the next day would feed day D's features. An hourly value stamped 23:30
    labels 23:30-00:30 as a start; 23:45, 23:15-00:15 as a middle; 10-minute values at
    23:55, 23:55-00:05 as starts. A station's period is its shortest step between
    distinct times (an hour at most), so gaps do not lengthen it, and an hour within a
    stretch of hourly values (:data:`HOURLY_STRETCH` rows an hour apart at one minute).
    (End labels are read into the hour each period ends in, :func:`label_starts`.) Only
    the data's source can say how its times are meant, so this asks rather than
    guesses."""
    read = _station_steps(time, station)
    if read is None:
        return
    unit, values, codes, hour, order, steps, of_station = read
    minute = values % hour
    off = (minute != 0) & ~time.isna().to_numpy()
    if not off.any():
        return
    keep = (of_station >= 0) & (steps > 0)
    shortest = pd.Series(steps[keep]).groupby(of_station[keep]).min()
    period = np.full(codes.max() + 1, hour, dtype=np.int64)
    period[shortest.index.to_numpy()] = np.minimum(shortest.to_numpy(), hour)
    mine = period[codes].copy()
    # a stretch of hourly values off the hour inside a finer station (hourly at hh:30,
    # then 10-minute values): at least HOURLY_STRETCH rows an hour apart at one minute,
    # which the gaps of finer data almost never make
    link = (of_station >= 0) & (steps == hour) & off[order][1:] & off[order][:-1]
    edges = np.diff(np.r_[0, link.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for first, stop in zip(starts, ends, strict=True):
        if stop - first + 1 >= HOURLY_STRETCH:
            mine[order[first:stop + 1]] = hour
    if label == "middle":
        runs_over = off & ((2 * minute < mine) | (2 * (hour - minute) < mine))
    else:
        runs_over = off & (minute + mine > hour)
    if not runs_over.any():
        return
    row = int(np.flatnonzero(runs_over)[0])
    step = pd.Timedelta(int(mine[row]), unit=unit)
    where = f"{station.iloc[row]} {time.iloc[row]:%Y-%m-%d %H:%M}, data row {row + 1}"
    if label == "middle":
        raise DataError(f"{source}: times that cannot mark the middle of their period (the "
                        f"first {where}, a step of {_step_text(step)}): it would run into "
                        "the next hour; set [data] time_label to how the data's source "
                        "labels its times (start or end)")
    raise DataError(f"{source}: values whose periods run into the next hour as starts (the "
                    f"first {where}, a step of {_step_text(step)}); set [data] time_label = "
                    "\"middle\" if the times mark the middle of their period, or \"end\" if "
                    "they close it")


def mapped_frame(raw: pd.DataFrame, spec: dict, source: str, require_pm25: bool = True
                 ) -> tuple[pd.DataFrame, list]:
    """The rows of a CSV read through the ``[data]`` mapping of :func:`load_csv`: the
    canonical columns, ``time`` and ``station``, the wind direction as compass names;
    and the quality flags of that conversion. ``require_pm25=False`` (a weather forecast
    file): the mapped columns the file lacks are left out, but at least one is needed."""
    # a header is text: a mapping written as a TOML number (pm25 = 25, an agency's
    # parameter code 88101) names the column or parameter "25" or "88101"
    columns = {canonical: str(name) for canonical, name in (spec.get("columns") or {}).items()}
    clock = _clock(spec)                         # a typo fails even where no time has one
    if "pm25" not in columns:
        raise DataError(f"{source}: the column mapping [data.columns] must name the pm25 column "
                        "(or name the file's columns pm25, time, ... as this tool does)")
    unknown = [k for k in columns if k not in CSV_CANONICAL]
    if unknown:
        raise DataError(f"[data.columns]: unknown canonical name(s) {', '.join(unknown)}")
    named = pd.Series(list(columns.values()), index=list(columns))
    if named.duplicated().any():
        twice = named[named == named[named.duplicated()].iloc[0]]
        raise DataError(f"[data.columns]: {' and '.join(twice.index)} are both mapped to the "
                        f"column {twice.iloc[0]!r}; each canonical name needs its own column")
    raw, spec = _stations_as_rows(raw, spec, columns, source, require_pm25)
    raw = _one_column_per_parameter(raw, spec, columns, source, require_pm25)
    if not require_pm25:
        columns = {k: v for k, v in columns.items() if k != "pm25" and v in raw.columns}
        if not columns:
            raise DataError(f"{source}: none of the mapped weather columns "
                            f"({', '.join(v for k, v in spec['columns'].items() if k != 'pm25')}) "
                            "is in the file")
    wanted = list(columns.values())
    time_columns = spec.get("time_columns")
    time_column = spec.get("time_column")
    if time_columns:
        wanted += list(time_columns)
    elif time_column:
        wanted.append(time_column)
    else:
        raise DataError(f"{source}: the mapping needs time_column or time_columns")
    station_column = spec.get("station_column")
    if station_column:
        wanted.append(station_column)
    absent = [c for c in wanted if c not in raw.columns]
    if absent:
        raise _absent(source, absent, raw)
    frame = pd.DataFrame({canonical: raw[column] for canonical, column in columns.items()})
    if station_column:
        frame["station"] = raw[station_column].astype(str)
    else:
        frame["station"] = str(spec.get("station") or Path(spec.get("path") or source).stem)
    end = spec.get("time_label", "start") == "end"
    if time_columns:
        frame["time"] = _time_from_parts(raw, list(time_columns), source, end,
                                         spec.get("time_format"))
        if isinstance(clock, ZoneInfo):
            frame["time"] = _wall_clock(frame["time"], frame["station"], clock, source)
    else:
        frame["time"] = _parse_time(raw[time_column], source, spec.get("time_format"),
                                    clock, end, frame["station"])
    if end:
        frame["time"] = label_starts(frame["time"], frame["station"])
    else:   # start, or middle (00:30 for 00:00-01:00): a time counts in the hour it is in
        refuse_straddling(frame["time"], frame["station"], source,
                          spec.get("time_label", "start"))
    flags = [flag for column in frame.columns if column in CSV_CANONICAL and column != "wind_dir"
             if (flag := _numbers(frame, column, source)) is not None]
    for column, (_, factor, offset) in unit_conversions(spec.get("units")).items():
        if column in frame.columns:
            frame[column] = frame[column] * factor + offset
    if "wind_dir" in frame.columns:
        frame["wind_dir"], wind_flags = _normalise_wind_dir(
            frame, bool(spec.get("wind_dir_degrees")), source)
        flags += wind_flags
    return frame, flags


def _mapped_names(columns: dict, require_pm25: bool) -> list[str]:
    """The parameter names the mapping reads (a weather forecast file's: all but pm25's)."""
    return [name for canonical, name in columns.items() if require_pm25 or canonical != "pm25"]


def _stations_as_rows(raw: pd.DataFrame, spec: dict, columns: dict, source: str,
                      require_pm25: bool) -> tuple[pd.DataFrame, dict]:
    """A file with a column per station (``stations_in_columns``; every column but the
    time column(s) and ``parameter_column`` is a station, named by its header, as
    national archives publish a day of a network) as a row per time and station (and
    parameter), and the mapping that reads it: with ``parameter_column`` the cells are
    that parameter's values, without it they are PM2.5. Other files are returned as
    they are."""
    if not spec.get("stations_in_columns"):
        return raw, spec
    if spec.get("station") or spec.get("station_column") or spec.get("value_column"):
        raise DataError("[data] stations_in_columns names each station by its column and "
                        "takes the values from the cells: leave station, station_column and "
                        "value_column empty")
    parameter = spec.get("parameter_column")
    if not parameter and set(columns) - {"pm25"}:
        raise DataError("[data] stations_in_columns without parameter_column: the cells are "
                        "PM2.5, so [data.columns] maps pm25 alone (or name the column that "
                        "says which quantity each row holds)")
    keys = [k for k in [*(spec.get("time_columns") or [spec.get("time_column")]), parameter]
            if k]
    absent = [k for k in keys if k not in raw.columns]
    if absent:
        raise _absent(source, absent, raw)
    stations = [c for c in raw.columns if c not in keys]
    if not stations:
        raise DataError(f"{source}: stations_in_columns, but no column is left for a station")
    if parameter:                  # only the rows of mapped parameters, before the melt
        raw = raw[raw[parameter].astype("string").str.strip()
                  .isin(_mapped_names(columns, require_pm25)).fillna(False).to_numpy(dtype=bool)]
    value = "value" if parameter else columns["pm25"]
    long = raw.melt(id_vars=keys, value_vars=stations, var_name="station", value_name=value)
    long["station"] = long["station"].astype(str)
    return long, {**spec, "station_column": "station",
                  **({"value_column": "value"} if parameter else {})}


def _one_column_per_parameter(raw: pd.DataFrame, spec: dict, columns: dict, source: str,
                              require_pm25: bool) -> pd.DataFrame:
    """A file with one row per time, station and parameter (``parameter_column`` names
    the quantity, e.g. pm25 or temperature, and ``value_column`` holds its value, as
    OpenAQ's and many agencies' exports do) as one row per time and station with a
    column per parameter, in the order the file first gives each time and station; the
    mapping's names are then parameter names. Other files are returned unchanged."""
    parameter, value = spec.get("parameter_column"), spec.get("value_column")
    if not parameter and not value:
        return raw
    if not (parameter and value):
        raise DataError("[data] parameter_column and value_column go together: one names "
                        "the quantity of a row, the other its value")
    keys = list(spec.get("time_columns") or [spec.get("time_column")]) + (
        [spec["station_column"]] if spec.get("station_column") else [])
    absent = [c for c in (parameter, value) if c not in raw.columns]
    if absent:
        raise _absent(source, absent, raw)
    if not keys[0] or any(k not in raw.columns for k in keys):
        return raw                        # mapped_frame names the time or station missing
    codes, distinct = pd.factorize(raw[parameter])      # a few names over many rows
    stripped = np.array([str(name).strip() for name in distinct] + [None], dtype=object)
    names = pd.Series(stripped[codes], index=raw.index)
    wanted = _mapped_names(columns, require_pm25)
    rows = names.isin(wanted).to_numpy(dtype=bool)
    if not rows.any():
        raise DataError(f"{source}: none of the mapped parameters ({', '.join(wanted)}) is in "
                        f"column {parameter!r} (it has: "
                        f"{', '.join(map(str, names.dropna().unique()[:20]))})")
    table = raw.loc[rows, keys].reset_index(drop=True)
    names = names[rows].reset_index(drop=True)
    if spec.get("time_zone"):
        # a wall clock gives the hour it repeats in autumn twice: each time, station and
        # parameter's first and second rows are two hours (the first summer time)
        occurrence = table.assign(_parameter=names).groupby(
            [*keys, "_parameter"], sort=False, dropna=False).cumcount()
        table["_occurrence"], keys = occurrence.to_numpy(), [*keys, "_occurrence"]
    repeated = (table.assign(_parameter=names).duplicated()).to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        where = ", ".join(f"{k}={table[k].iloc[first]}" for k in keys)
        raise DataError(f"{source}: {int(repeated.sum())} row(s) repeat a time, station and "
                        f"parameter, first {parameter}={names.iloc[first]} at {where}")
    group = table.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    first_rows = np.unique(group, return_index=True)[1]
    wide = table.iloc[first_rows].reset_index(drop=True)
    values = raw.loc[rows, value].reset_index(drop=True)
    for name in pd.unique(names):
        of_name = (names == name).to_numpy()
        wide[name] = pd.Series(values[of_name].to_numpy(), index=group[of_name]).reindex(
            range(len(wide))).to_numpy()
    return wide.drop(columns="_occurrence", errors="ignore")


def _numbers(frame: pd.DataFrame, column: str, source: str = "the data"):
    """Make a mapped column numeric in place; a quality Flag for the text in it that is
    no number (e.g. "<5", "n/a", "---"), which becomes missing, or None."""
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        return None
    numeric = pd.to_numeric(values, errors="coerce")
    written = values.notna() & values.astype("string").str.strip().ne("")
    bad = (numeric.isna() & written).to_numpy(dtype=bool)
    frame[column] = numeric.astype(float)
    if not bad.any():
        return None
    text = values[bad].astype(str).str.strip()
    if text.str.fullmatch(r"-?\d+,\d+").mean() > 0.5 and bad.sum() > 0.5 * written.sum():
        raise DataError(f"{source}: column {column!r} writes its numbers with a decimal comma "
                        f"({text.iloc[0]!r}): save the file with decimal points, or with "
                        "its columns separated by semicolons")
    from .quality import Flag

    first = int(np.flatnonzero(bad)[0])
    return Flag(column=column, reason="not_a_number", count=int(bad.sum()),
                station=str(frame["station"].iloc[first]),
                time=f"{frame['time'].iloc[first]:%Y-%m-%d %H:%M}",
                value=str(values.iloc[first]))


def _normalise_wind_dir(frame: pd.DataFrame, degrees: bool, source: str
                        ) -> tuple[pd.Series, list]:
    """The wind direction as compass names, and the quality Flags of the values that
    become missing: text in a column of degrees (e.g. "VRB"), and bearings outside
    0–360° (missing-value codes such as 999 or −9999). A column declared in degrees
    that holds compass names is a DataError."""
    values = frame["wind_dir"]
    if degrees or pd.api.types.is_numeric_dtype(values):
        from .quality import Flag

        flags = []
        if not pd.api.types.is_numeric_dtype(values):
            _refuse_compass_names(values, source)
            if (flag := _numbers(frame, "wind_dir", source)) is not None:
                flags.append(flag)
        numeric = pd.to_numeric(frame["wind_dir"]).to_numpy(dtype=float, copy=True)
        invalid = (numeric < 0) | (numeric > 360)
        if invalid.any():
            flags.append(Flag.of(frame, "wind_dir", "invalid_direction", invalid, numeric))
            numeric[invalid] = np.nan
        out = degrees_to_compass(numeric)
        out.index = values.index
        return out, flags
    text = values.astype(object).where(values.notna())
    calm = {"CV": "calm", "CALM": "calm", "C": "calm", "VRB": "calm"}
    # each distinct text once (a dictionary's lookup per row, not a Python call)
    text = text.map({v: calm.get(v.strip().upper(), v.strip().upper()) if isinstance(v, str)
                     else v for v in text.dropna().unique()})
    bad = text.notna() & ~text.isin(COMPASS_16 + ("calm",))
    if bad.any():
        raise DataError(f"{source}: wind direction {values[bad].iloc[0]!r} is neither a compass "
                        "name nor calm (set wind_dir_degrees = true for degrees)")
    return text, []


def _refuse_compass_names(values: pd.Series, source: str) -> None:
    """DataError when most written values of a wind direction column declared in degrees
    are compass names (NNW, calm, ...): the column is not in degrees, and reading it so
    would leave every direction missing."""
    written = values.dropna().astype(str).str.strip()
    written = written[written.ne("")]
    names = written.str.upper().isin(COMPASS_16 + ("CALM", "CV"))
    if len(written) and names.mean() > 0.5:
        raise DataError(f"{source}: the wind direction column holds compass names "
                        f"({written[names].iloc[0]!r}), not degrees: drop [data] "
                        "wind_dir_degrees = true or --wind-dir-degrees")


# ---------------------------------------------------------------- helpers


def _dialect(data: bytes) -> dict:
    """read_csv's separator and decimal mark for a file whose header is separated by
    semicolons, tabs or bars instead of commas (as spreadsheets of many locales export
    it), with a decimal comma when any of a semicolon file's numbers has one; {} for
    commas."""
    lines = data[:65536].decode("utf-8", errors="replace").splitlines()
    header = lines[0] if lines else ""
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    sep = max(counts, key=counts.get)
    if sep == "," or counts[sep] == 0:
        return {}
    # the whole file: a column may hold whole numbers for its first thousands of rows
    body = data.decode("utf-8", errors="replace").split("\n", 1)[-1] if sep == ";" else ""
    decimal_comma = sep == ";" and re.search(r"(^|;)\s*-?\d+,\d+\s*(;|$)", body,
                                             re.MULTILINE)
    return {"sep": sep, **({"decimal": ","} if decimal_comma else {})}


def read_table(data: bytes, source: str, min_columns: int = 2,
               text_columns: tuple = ()) -> pd.DataFrame:
    """A CSV file's bytes as a table: commas, semicolons, tabs or bars (:func:`_dialect`),
    UTF-8 or Windows-1252; DataError, naming ``source``, for what is no table (rows
    under a header of at least ``min_columns`` columns). ``text_columns`` (those the
    file has) are read as text, not numbers: station codes 001 and 01 stay themselves."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # a spreadsheet's "Unicode text" export
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{source}: not a readable UTF-16 file ({exc})") from None
    if not data.strip():
        raise DataError(f"{source}: the file is empty")
    if b"\x00" in data[:4096]:
        raise DataError(f"{source}: not a CSV file (binary content)")
    # skipinitialspace: "time, PM2.5, ..." (a space after each separator) names PM2.5
    options = dict(na_values=["NA", ""], low_memory=False, skipinitialspace=True,
                   **_dialect(data),
                   **({"dtype": dict.fromkeys(text_columns, str)} if text_columns else {}))
    encoding = "utf-8"
    try:
        try:
            frame = pd.read_csv(io.BytesIO(data), **options)
        except UnicodeDecodeError:      # not UTF-8: a spreadsheet's Windows-1252 export
            encoding = "cp1252"
            frame = pd.read_csv(io.BytesIO(data), encoding=encoding, **options)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{source}: not a readable CSV file ({str(exc).splitlines()[0]}"
                        + ("; a file that is neither UTF-8 nor Windows-1252 needs saving as "
                           "UTF-8" if isinstance(exc, UnicodeDecodeError) else "")
                        + ")") from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas makes the first columns the index when the first data row has more
        # fields than the header: every column would then be read one place off
        raise DataError(f"{source}: the first data row has {frame.shape[1] + frame.index.nlevels} "
                        f"fields and the header {frame.shape[1]} (a separator too many, or a "
                        "column without a name)")
    if frame.shape[1] < min_columns:
        raise DataError(f"{source}: not a CSV table with a header and rows")
    if frame.empty:
        raise DataError(f"{source}: a header and no rows")
    first = data.split(b"\n", 1)[0].decode(encoding, errors="replace").lstrip("\ufeff")
    header = next(csv.reader([first.rstrip("\r")], delimiter=options.get("sep", ",")), [])
    named = [h.strip() for h in header if h.strip()]
    twice = sorted({h for h in named if named.count(h) > 1})
    if twice:
        raise DataError(f"{source}: the header names {twice[0]!r} more than once; give each "
                        "column its own name")
    return frame


def _absent(source: str, absent: list, raw: pd.DataFrame) -> DataError:
    """The mapped columns a file lacks, with what it has; a hint on the encoding when
    names that are not plain ASCII do not match (a non-UTF-8 file is read as
    Windows-1252, and GBK or Shift-JIS headers then come out as other letters)."""
    has = list(map(str, raw.columns))
    hint = ("; a file that is not UTF-8 is read as Windows-1252: save it as UTF-8"
            if any(not str(a).isascii() for a in absent)
            and any(not h.isascii() for h in has) else "")
    return DataError(f"{source}: mapped column(s) not in the file: {', '.join(map(str, absent))} "
                     f"(the file has: {', '.join(has[:20])}){hint}")


def _require(raw: pd.DataFrame, columns: list[str], source: str) -> None:
    absent = [c for c in columns if c not in raw.columns]
    if absent:
        raise DataError(f"{source}: missing required column(s) {', '.join(absent)}")


def _hour_24(source: str, row: int, text: str) -> DataError:
    return DataError(f"{source}: hour 24 ({text!r}) on data row {row + 1}: times that label "
                     "the end of their hour (01:00-24:00) need [data] time_label = \"end\"")


def _hours_24(hour: pd.Series, column: pd.Series, source: str, end: bool) -> np.ndarray:
    """Which rows of an hour column are hour 24, which only times labelling the end of
    their hour (``end``) may have: DataError naming the first, otherwise."""
    hour_24 = (hour == 24).to_numpy()
    if hour_24.any() and not end:
        row = int(np.flatnonzero(hour_24)[0])
        raise _hour_24(source, row, f"{column.name}={column.iloc[row]}")
    return hour_24


def _time_from_parts(raw: pd.DataFrame, parts: list[str], source: str,
                     end: bool = False, fmt: str | None = None) -> pd.Series:
    """Times from year, month, day and hour columns, or from a date column (parsed with
    ``fmt`` when given) and an hour column."""
    if len(parts) == 2:
        date, hour = raw[parts[0]], pd.to_numeric(raw[parts[1]], errors="coerce")
        if fmt is None and pd.api.types.is_integer_dtype(date):
            date, fmt = date.astype(str), "%Y%m%d"           # 20140513
        days = _parse_time(date.astype("string"), source, fmt)
        seconds = None
        if hour.isna().any() and not pd.api.types.is_numeric_dtype(raw[parts[1]]):
            # a time-of-day column, 13:00 or 00:10 or 00:10:00 (finer data split so)
            clock = raw[parts[1]].astype("string").str.strip().str.extract(
                r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
            if clock[0].notna().all():
                seconds = (clock[0].astype(int) * 3600 + clock[1].astype(int) * 60
                           + clock[2].fillna("0").astype(int))
                hour = seconds / 3600
                hour = hour.where(clock[1].astype(int) < 60)
        if hour.isna().any() or not hour.between(0, 24).all():
            row = int(np.flatnonzero((hour.isna() | ~hour.between(0, 24)).to_numpy())[0])
            raise DataError(f"{source}: unparseable hour: {parts[1]}={_shown(raw[parts[1]].iloc[row])} "
                            f"on data row {row + 1}")
        _hours_24(hour, raw[parts[1]], source, end)
        if seconds is not None:
            return days.dt.normalize() + pd.to_timedelta(seconds.to_numpy(), unit="s")
        return days.dt.normalize() + pd.to_timedelta(hour.to_numpy(), unit="h")
    if len(parts) != 4:
        raise DataError(f"{source}: time_columns must name year, month, day and hour columns, "
                        "or a date and an hour column")
    values = {}
    for key, column in zip(("year", "month", "day", "hour"), parts, strict=True):
        numeric = pd.to_numeric(raw[column], errors="coerce")
        if numeric.isna().any():
            row = int(np.flatnonzero(numeric.isna().to_numpy())[0])
            raise DataError(f"{source}: unparseable date: {column}={_shown(raw[column].iloc[row])} "
                            f"on data row {row + 1}")
        low, high = TIME_PART_RANGES[key]
        bad = (numeric != numeric.round()) | ~numeric.between(low, high)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{source}: unparseable date: {column}={_shown(raw[column].iloc[row])} "
                            f"on data row {row + 1} (a whole number from {low} to {high})")
        values[key] = numeric.astype(int)
    hour_24 = _hours_24(values["hour"], raw[parts[3]], source, end)
    values["hour"] = values["hour"].where(~hour_24, 0)
    try:
        return (pd.to_datetime(pd.DataFrame(values), errors="raise")
                + pd.to_timedelta(hour_24.astype(int), unit="D"))
    except (ValueError, OverflowError) as exc:
        raise DataError(f"{source}: unparseable date ({str(exc).splitlines()[0]})") from None


def day_month_ambiguity(raw: pd.DataFrame, spec: dict) -> str | None:
    """A warning when the dates of the time (or date) column, read without a
    ``time_format``, are written with day and month in numbers (03/04/2013) and no one of
    them has a number over 12 in either place: read month-first, as they are, a day-first
    file of the first twelve days of its months would be read as other days without an
    error. None otherwise."""
    parts = spec.get("time_columns") or []
    column = parts[0] if len(parts) == 2 else (None if parts else spec.get("time_column"))
    pattern = "^" + NUMERIC_DATE + r"(?:\s|$|T)"
    if (spec.get("time_format") or column not in raw.columns or raw.empty
            or not re.match(pattern, str(raw[column].iloc[0]))):   # ISO dates: at once
        return None
    texts = pd.Series(pd.unique(raw[column].astype("string").dropna()), dtype="string")
    numbers = texts.str.extract(pattern)
    if texts.empty or numbers[0].isna().any():
        return None
    first, second = numbers[0].astype(int), numbers[2].astype(int)
    if first.max() > 12 or second.max() > 12 or (first == second).all():
        return None
    example = texts.iloc[int(np.argmax(first.to_numpy() != second.to_numpy()))]
    separator = numbers[1].iloc[0]
    return (f"the dates of {column} (e.g. {example!r}) are read month first (MM{separator}DD); "
            "no day or month in them is over 12, so they could be day-first: if so, set "
            f"[data] time_format or --time-format, e.g. {_day_first(separator)!r}")


#: a date with its day and month in numbers (13/03/2013, 3.4.13): day or month, the
#: separator, month or day, the year
NUMERIC_DATE = r"\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{2,4})"


def _day_first(separator: str) -> str:
    """The time_format of day-first dates written with ``separator``."""
    return f"%d{separator}%m{separator}%Y %H:%M"


def _order_hint(text: str) -> str:
    """For a date written with its day and month in numbers either way round (13/03/2013),
    which no time_format read: how to give the order."""
    match = re.match(NUMERIC_DATE, text)
    if not match:
        return ""
    example = _day_first(match[2])
    if int(match[1]) > 12 >= int(match[3]):
        return (f" (a day-first date; the rows before it were read month-first: set "
                f"[data] time_format or --time-format, e.g. {example!r})")
    return (f" (if the dates are day-first, set [data] time_format or --time-format, "
            f"e.g. {example!r})")


def _shown(value) -> str:
    """A cell as a message shows it: text quoted, a number as written (25, not
    np.int64(25))."""
    if isinstance(value, str):
        return repr(value)
    if pd.isna(value):
        return "(empty or n/a)"
    number = float(value) if isinstance(value, (int, float, np.number)) else None
    return f"{number:g}" if number is not None else str(value)


#: The values a year, month, day or hour column may hold (hour 24: the end of a day).
TIME_PART_RANGES = {"year": READABLE_YEARS, "month": (1, 12), "day": (1, 31), "hour": (0, 24)}


def _utc_offset(text: str) -> pd.Timedelta:
    """'+08:00', '+0800', '-05:00' or 'Z' as a Timedelta east of UTC."""
    match = re.fullmatch(r"\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))\s*", str(text))
    if match is None:
        raise DataError(f"[data] utc_offset: {text!r} is not an offset such as +08:00 or -05:00")
    if match.group(1):
        return pd.Timedelta(0)
    hours, minutes = int(match.group(3)), int(match.group(4))
    sign = 1 if match.group(2) == "+" else -1
    if minutes > 59 or hours * 60 + minutes > (14 if sign > 0 else 12) * 60:
        raise DataError(f"[data] utc_offset: {text!r} is not an offset such as +08:00 or "
                        "-05:00 (clocks lie from -12:00 to +14:00)")
    return sign * pd.Timedelta(hours=hours, minutes=minutes)


def _clock(spec: dict) -> pd.Timedelta | ZoneInfo | None:
    """The clock a CSV's times are read on: ``utc_offset`` (a fixed offset east of UTC,
    for times written with their offsets), ``time_zone`` (an IANA zone such as
    "Europe/Paris": naive local times on its wall clock, daylight saving time included,
    and times with offsets alike are read on its standard time), or neither (times as
    written)."""
    offset, zone = spec.get("utc_offset"), spec.get("time_zone")
    if offset and zone:
        raise DataError("[data] utc_offset and time_zone both set: give one (time_zone reads "
                        "times on its standard time, utc_offset on that offset)")
    if offset:
        return _utc_offset(offset)
    if not zone:
        return None
    try:
        return ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(f"[data] time_zone: {zone!r} is not an IANA time zone such as "
                        "\"Europe/Paris\" or \"America/New_York\"") from None


def standard_offset(zone: ZoneInfo, year: int) -> pd.Timedelta:
    """The zone's standard time east of UTC in ``year``: the smaller of its offsets in
    mid-January and mid-July (daylight saving time adds to it, in either hemisphere)."""
    return pd.Timedelta(min(pd.Timestamp(year, month, 15, tz=zone).utcoffset()
                            for month in (1, 7)))


def _on_standard_time(instants: pd.Series, zone: ZoneInfo) -> pd.Series:
    """Time-zone-aware ``instants`` as naive times on ``zone``'s standard time."""
    utc = instants.dt.tz_convert("UTC").dt.tz_localize(None)
    return utc + standard_offset(zone, int(utc.dt.year.min()))


def _wall_clock(times: pd.Series, station: pd.Series, zone: ZoneInfo, source: str) -> pd.Series:
    """Naive local times of ``zone``'s wall clock (daylight saving time included) on its
    standard time, a clock whose every day has 24 hours. A time in the hour the clock
    repeats when daylight saving time ends is daylight time where the station's clock
    goes back after it (a later row of the station in that hour is no later than the row
    before it) and standard time otherwise: the first pass of a repeated hour is
    daylight time and the second standard time, with gaps in either, and a time given
    once is taken as the later of its two readings, so that no value is placed before it
    was measured. An hour the clock skips is an error."""
    ambiguous = (times.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
                 .isna() & times.notna()).to_numpy()
    daylight = np.zeros(len(times), dtype=bool)
    if ambiguous.any():
        rows = np.flatnonzero(ambiguous)
        wall = times.to_numpy()[rows]
        repeated = pd.DataFrame({"station": station.to_numpy()[rows], "time": wall,
                                 "night": pd.DatetimeIndex(wall).normalize()})
        by_night = repeated.groupby(["station", "night"], sort=False)["time"]
        # where a station's clock goes back within the repeated hour: its second pass
        goes_back = (repeated["time"] <= by_night.shift()).to_numpy()
        repeated["back"] = goes_back.astype(int)
        after = (repeated.iloc[::-1].groupby(["station", "night"], sort=False)["back"]
                 .cumsum().iloc[::-1].to_numpy() - goes_back)
        daylight[rows] = after > 0
    localized = times.dt.tz_localize(zone, ambiguous=daylight, nonexistent="NaT")
    skipped = localized.isna() & times.notna()
    if skipped.any():
        row = int(np.flatnonzero(skipped.to_numpy())[0])
        raise DataError(f"{source}: {times.iloc[row]:%Y-%m-%d %H:%M} on data row {row + 1} "
                        f"does not exist in {zone.key} (the clock skips that hour when "
                        "daylight saving time begins); if the file's times are on standard "
                        "time all year, set [data] utc_offset to that offset instead of "
                        "time_zone")
    return _on_standard_time(localized, zone)


def _parse_time(values: pd.Series, source: str, fmt: str | None,
                clock: pd.Timedelta | ZoneInfo | None = None, end: bool = False,
                station: pd.Series | None = None) -> pd.Series:
    """Local times of ``values``. Times with a UTC offset keep their clock time when the
    file has one offset; with several (daylight saving time) they need a ``clock``
    (:func:`_clock`), which is also applied to a file of one offset. Naive times with a
    time zone for ``clock`` are read on its wall clock (:func:`_wall_clock`; ``station``
    tells the stations' repeated hours apart). With ``end`` (times that label the end of
    their hour) "24:00" is midnight that ends the day written. Each distinct text is
    parsed once: a time repeats once per station."""
    codes, distinct = pd.factorize(values)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise DataError(f"{source}: no date on data row {row + 1} (its time cell is empty "
                        "or n/a)")
    # codes number the texts in order of appearance: each one's first row, in that order
    first_row = pd.Series(codes).drop_duplicates().index.to_numpy()
    parsed, aware = _parse_distinct(pd.Series(distinct), source, fmt, clock, end, first_row)
    times = pd.Series(parsed.to_numpy()[codes], index=values.index)
    if isinstance(clock, ZoneInfo) and not aware:
        if station is None:
            station = pd.Series("", index=values.index)
        times = _wall_clock(times, station, clock, source)
    return times


def _parse_distinct(values: pd.Series, source: str, fmt: str | None,
                    clock: pd.Timedelta | ZoneInfo | None, end: bool, first_row: np.ndarray
                    ) -> tuple[pd.Series, bool]:
    """:func:`_parse_time` of distinct texts, and whether they carried UTC offsets (then
    they are on ``clock`` already); ``first_row`` is the data row where each first
    occurs, for the messages."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # pandas reads a number as nanoseconds since 1970: Unix seconds, or 2014051300,
        # would all fall in the first seconds of 1970-01-01 and merge into one hour
        whole = (values == values.round()).to_numpy()
        if fmt is None or not whole.all():
            first = int(np.flatnonzero(~whole)[0]) if fmt else 0
            shown = f"{values.iloc[first]:.0f}" if whole[first] else f"{values.iloc[first]}"
            raise DataError(f"{source}: the time column holds numbers, not dates ({shown} on "
                            f"data row {int(first_row[first]) + 1}); write the times as dates, "
                            "or set [data] time_format for numbers such as 2014051300 "
                            "('%Y%m%d%H')")
        values = values.astype("int64").astype(str)
    text = values.astype("string")
    hour_24 = text.str.contains(r"(?:^|[ T])24:00(?::00)?(?:\s|$|[-+Z])", regex=True)
    hour_24 = hour_24.fillna(False).to_numpy(dtype=bool)
    if hour_24.any():
        if not end:
            first = int(np.flatnonzero(hour_24)[0])
            raise _hour_24(source, int(first_row[first]), str(values.iloc[first]))
        values = text.where(~hour_24, text.str.replace("24:00", "00:00", n=1, regex=False))
    mixed = False
    with warnings.catch_warnings():
        # times pandas cannot infer one format for (01/02/2013 01:00 PM) are parsed one
        # by one, as they should be; its UserWarning saying so is no news to the user
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        try:
            parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        except (ValueError, TypeError):
            try:            # several UTC offsets: one instant each, in UTC
                parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
                mixed = True
            except (ValueError, TypeError):
                parsed = pd.Series(pd.NaT, index=values.index)
    bad = parsed.isna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{source}: unparseable date {values.iloc[first]!r} on data row "
                        f"{int(first_row[first]) + 1}"
                        + (f" (read with time_format {fmt!r})" if fmt
                           else _order_hint(str(values.iloc[first]))))
    if hour_24.any():
        parsed = parsed + pd.to_timedelta(hour_24.astype(int), unit="D")
    if getattr(parsed.dt, "tz", None) is None:
        return parsed, False
    if isinstance(clock, ZoneInfo):
        return _on_standard_time(parsed, clock), True
    if clock is not None:
        return parsed.dt.tz_convert("UTC").dt.tz_localize(None) + clock, True
    if mixed:
        raise DataError(f"{source}: the times carry several UTC offsets (daylight saving "
                        "time?); set [data] time_zone, e.g. \"Europe/Paris\", or utc_offset, "
                        "e.g. \"+08:00\" for local standard time, to read them all on one clock")
    return parsed.dt.tz_localize(None), True


def load(dataset: str, *, data_dir=None, csv: dict | None = None, seed: int = 0,
         synthetic: dict | None = None) -> Loaded:
    """Load a dataset by name into a Loaded HourlyFrame."""
    dataset, path = parse_dataset_spec(dataset)
    if path:
        csv = {**(csv or {}), "path": path}
    if dataset == "beijing":
        return load_beijing(data_dir)
    if dataset == "beijing-multisite":
        return load_multisite(data_dir)
    if dataset == "csv":
        return load_csv(csv or {})
    if dataset == "synthetic":
        from .synthetic import generate_hourly, station_coordinates

        options = dict(synthetic or {})
        hourly = generate_hourly(seed=options.pop("seed", seed), **options)
        return Loaded(hourly, "synthetic", {}, synthetic=True,
                      units={"rain": "mm", "wind_speed": "m/s"},
                      coordinates=station_coordinates(options.get("n_stations", 1)))
    raise DataError(f"unknown dataset {dataset!r}; choose one of beijing, beijing-multisite, "
                    "synthetic, csv:PATH")

