"""HourlyFrame → HourlyFrame: values that cannot be true are flagged and set missing.

The data-quality stage sits between a source's HourlyFrame and the DailyFrame, so no
model, aggregate or feature ever sees an impossible value. Each hourly value is checked,
in this order, and the first rule it breaks is its reason:

``sentinel``
    a missing-value code of station exports (−999, −9999, 9999, 99999, 999990, ...),
    in any numeric column;
``below_min`` / ``above_max``
    outside the physical bounds of its column (PM2.5 0–2,000 µg/m³, temperature −60 to
    60 °C, surface pressure 500–1,100 hPa so that high-altitude stations pass, wind
    speed 0–75 m/s, rain 0–300 mm/h, ...); negative PM2.5 is ``below_min``;
``dewp_above_temp``
    a dew point above the temperature of the same hour by more than a tolerance
    (1 °C): air cannot be more than saturated; the dew point is flagged;
``stuck``
    a PM2.5 value that the monitor has repeated for at least ``stuck_hours`` consecutive
    hours up to and including its hour (12): a run of 24 equal hours is flagged from its
    12th hour on. The rule looks back only, as a forecast issued during such a run sees
    it: counting the hours after it would let the data after an issue time change day
    D's features (a run of equal values at 16–23 h that goes on into the next day).
    Repeats at or below ``stuck_floor`` (5 µg/m³) are exempt: in clean air a monitor
    reports its detection floor hour after hour (the Beijing multi-site data hold such
    runs of 3 µg/m³ of up to 41 hours), which is a reading, not a fault.

A flagged value becomes missing; rows are never dropped. A weather column left with no
value at all is removed (treated as absent, as if the source had not provided it) and
listed in ``dropped_columns``. Isolated spikes are deliberately not flagged: the largest
hourly jumps of the Beijing data are New Year's fireworks (e.g. 994 µg/m³ at 01:00 on
2012-01-23), which are real.

The rules come from the ``[quality]`` table of the run config (see
``configs/example.toml``); :func:`check` returns the cleaned frame and a
:class:`QualityReport` with counts per column and reason and the first flagged value of
each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError
from .schema import EXTRA_POLLUTANTS, NUMERIC_WEATHER

REASONS = ("sentinel", "below_min", "above_max", "dewp_above_temp", "stuck")
REASON_TEXT = {
    "sentinel": "missing-value code",
    "below_min": "below the physical minimum",
    "above_max": "above the physical maximum",
    "dewp_above_temp": "dew point above the temperature",
    "stuck": "monitor stuck on one value",
    "invalid_direction": "wind direction outside 0–360°",
    "not_a_number": "text where a number belongs",
}
CHECKED_COLUMNS = ("pm25",) + NUMERIC_WEATHER + EXTRA_POLLUTANTS

#: The defaults of the ``[quality]`` config table.
DEFAULT_SENTINELS = [-999.0, -9999.0, -99999.0, 9999.0, 99999.0, 999990.0, 999999.0]
DEFAULT_BOUNDS = {
    "pm25": [0.0, 2000.0],         # µg/m³
    "temp": [-60.0, 60.0],         # °C
    "dewp": [-80.0, 60.0],         # °C
    "pres": [500.0, 1100.0],       # hPa, station (surface) pressure
    "wind_speed": [0.0, 75.0],     # m/s
    "rain": [0.0, 300.0],          # mm per hour (or a 0/1 flag)
    "snow": [0.0, 300.0],          # per hour (or a 0/1 flag)
}
DEFAULT_STUCK_HOURS = 12
DEFAULT_STUCK_FLOOR = 5.0          # µg/m³
DEFAULT_DEWPOINT_TOLERANCE = 1.0   # °C


@dataclass(frozen=True)
class QualityRules:
    """What counts as impossible; units are those of the canonical columns."""

    sentinels: tuple[float, ...] = tuple(DEFAULT_SENTINELS)
    bounds: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {k: tuple(v) for k, v in DEFAULT_BOUNDS.items()})
    dewpoint_tolerance: float = DEFAULT_DEWPOINT_TOLERANCE
    stuck_hours: int = DEFAULT_STUCK_HOURS
    stuck_floor: float = DEFAULT_STUCK_FLOOR

    @classmethod
    def from_config(cls, table: dict) -> QualityRules:
        """Rules from the ``[quality]`` config table (its scalars' ranges checked by
        :data:`forecast.config.RANGES`); a bad bounds entry is a DataError."""
        bounds = {}
        for column, pair in table["bounds"].items():
            if column not in CHECKED_COLUMNS:
                raise DataError(f"config: quality.bounds.{column}: not a numeric canonical "
                                f"column (one of {', '.join(CHECKED_COLUMNS)})")
            if (not isinstance(pair, list) or len(pair) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                               for v in pair) or not pair[0] < pair[1]):
                raise DataError(f"config: quality.bounds.{column} must be [low, high] with "
                                f"low < high, not {pair!r}")
            bounds[column] = (float(pair[0]), float(pair[1]))
        return cls(sentinels=tuple(float(v) for v in table["sentinels"]), bounds=bounds,
                   dewpoint_tolerance=float(table["dewpoint_tolerance"]),
                   stuck_hours=int(table["stuck_hours"]),
                   stuck_floor=float(table["stuck_floor"]))


@dataclass
class Flag:
    """Values of one column flagged for one reason, and the first of them."""

    column: str
    reason: str
    count: int
    station: str
    time: str          # "YYYY-MM-DD HH:MM", local time of the source
    value: float | str

    @classmethod
    def of(cls, frame: pd.DataFrame, column: str, reason: str, mask: np.ndarray,
           values: np.ndarray) -> Flag:
        """The flag of the rows of ``frame`` (with ``station`` and ``time``) selected by
        ``mask``; ``values`` are the flagged column's values as numbers."""
        first = int(np.flatnonzero(mask)[0])
        value = float(values[first])
        return cls(column=column, reason=reason, count=int(mask.sum()),
                   station=str(frame["station"].iloc[first]),
                   time=f"{frame['time'].iloc[first]:%Y-%m-%d %H:%M}",
                   # (1e300 as an int would be printed with its 301 digits)
                   value=int(value) if value.is_integer() and abs(value) < 1e15 else value)

    def describe(self) -> str:
        return (f"{self.column} = {self.value!r} at {self.station} {self.time} "
                f"({REASON_TEXT.get(self.reason, self.reason)})")


@dataclass
class QualityReport:
    """What the quality stage flagged: counts per column and reason, dropped columns."""

    flags: list[Flag] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    checked_rows: int = 0

    @property
    def total(self) -> int:
        return int(sum(f.count for f in self.flags))

    def count(self, column: str, reason: str | None = None) -> int:
        return int(sum(f.count for f in self.flags
                       if f.column == column and (reason is None or f.reason == reason)))

    def counts(self) -> dict[str, dict[str, int]]:
        """{column: {reason: count}}."""
        out: dict[str, dict[str, int]] = {}
        for f in self.flags:
            out.setdefault(f.column, {})[f.reason] = f.count
        return out

    def first(self) -> Flag | None:
        """The earliest flagged value (by time, then column order)."""
        return min(self.flags, key=lambda f: f.time, default=None)

    def to_dict(self) -> dict:
        return {"checked_rows": self.checked_rows, "total": self.total,
                "counts": self.counts(), "dropped_columns": list(self.dropped_columns),
                "flags": [vars(f).copy() for f in self.flags]}

    @classmethod
    def from_dict(cls, payload: dict) -> QualityReport:
        return cls(flags=[Flag(**f) for f in payload["flags"]],
                   dropped_columns=list(payload["dropped_columns"]),
                   checked_rows=int(payload["checked_rows"]))


def _stuck(frame: pd.DataFrame, hours: int, floor: float) -> np.ndarray:
    """Rows whose PM2.5 value (> floor) is the ``hours``-th or a later hour of a run of
    consecutive hours with that one value: the run up to the row, never after it."""
    values = frame["pm25"].to_numpy(dtype=float)
    station, _ = pd.factorize(frame["station"])     # codes: no string per row compared
    time = frame["time"].to_numpy()
    same = np.zeros(len(frame), dtype=bool)
    same[1:] = ((values[1:] == values[:-1]) & (station[1:] == station[:-1])
                & (time[1:] - time[:-1] == np.timedelta64(1, "h")))
    starts = np.flatnonzero(~same)
    hours_so_far = np.arange(len(frame)) - starts[np.cumsum(~same) - 1] + 1
    return (hours_so_far >= hours) & np.isfinite(values) & (values > floor)


def check(hourly: pd.DataFrame, rules: QualityRules | None = None,
          source_flags: list[Flag] | None = None) -> tuple[pd.DataFrame, QualityReport]:
    """Flag impossible values of an HourlyFrame (sorted by station, time) as missing.

    Returns a new frame (same rows, flagged values NaN, all-flagged weather columns
    removed) and the report. ``source_flags`` are flags a source raised while mapping
    its raw columns (e.g. wind bearings outside 0–360°), carried into the report.
    Raises DataError when no PM2.5 value is left.
    """
    rules = rules or QualityRules()
    out, report = impossible_values(hourly, rules, source_flags)
    _flag(out, report, "pm25", "stuck", _stuck(out, rules.stuck_hours, rules.stuck_floor))
    if out["pm25"].isna().all():
        raise DataError(f"{hourly.attrs.get('source', 'the data')}: every PM2.5 value is "
                        "missing or flagged as impossible (see forecast data)")
    for column in [c for c in CHECKED_COLUMNS if c in out.columns]:
        if column != "pm25" and out[column].isna().all() and hourly[column].notna().any():
            report.dropped_columns.append(column)
    out = out.drop(columns=report.dropped_columns)
    out.attrs.update(hourly.attrs)
    return out, report


def _flag(out: pd.DataFrame, report: QualityReport, column: str, reason: str,
          mask: np.ndarray) -> None:
    """Record ``column``'s values under ``mask`` for ``reason`` and set them missing."""
    if not mask.any():
        return
    report.flags.append(Flag.of(out, column, reason, mask, out[column].to_numpy()))
    out[column] = out[column].mask(mask)


def impossible_values(hourly: pd.DataFrame, rules: QualityRules,
                      source_flags: list[Flag] | None = None
                      ) -> tuple[pd.DataFrame, QualityReport]:
    """The checks of single values, which need no other hour: missing-value codes,
    physical bounds and a dew point above the temperature, flagged and set missing (a
    weather forecast's hours get these, :func:`forecast.predict.read_weather`)."""
    out = hourly.copy(deep=False)     # a column is copied only when one of its values is set
    report = QualityReport(flags=list(source_flags or []), checked_rows=len(out))
    sentinels = np.asarray(rules.sentinels, dtype=float)
    for column in [c for c in CHECKED_COLUMNS if c in out.columns]:
        values = out[column].to_numpy(dtype=float)
        if len(sentinels):
            _flag(out, report, column, "sentinel", np.isin(values, sentinels))
        if column in rules.bounds:
            low, high = rules.bounds[column]
            values = out[column].to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                _flag(out, report, column, "below_min", values < low)
                _flag(out, report, column, "above_max", values > high)
    if "dewp" in out.columns and "temp" in out.columns:
        with np.errstate(invalid="ignore"):
            supersaturated = (out["dewp"].to_numpy(dtype=float)
                              > out["temp"].to_numpy(dtype=float) + rules.dewpoint_tolerance)
        _flag(out, report, "dewp", "dewp_above_temp", supersaturated)
    return out, report


def strict_error(report: QualityReport) -> DataError | None:
    """The error ``--strict`` raises for a report with flagged values (None when clean)."""
    first = report.first()
    if first is None:
        return None
    return DataError(f"--strict: {report.total:,} flagged value(s); the first is "
                     f"{first.describe()}")


def warnings_for(report: QualityReport) -> list[str]:
    """One line per dropped column, for stderr."""
    return [f"warning: column {column!r} holds no valid value (every value is a "
            "missing-value code or impossible); it is treated as absent"
            for column in report.dropped_columns]
