"""The calendar facts of a region that the task's calendar features flag: its public
holidays and its heating season.

Both are facts of a day known long in advance, so a forecast may read them for its
target day. They are options of ``[task]``:

* ``holidays``: a country code of the ``holidays`` package (ISO 3166, e.g. ``"CN"``,
  ``"DE"``, ``"IN"``), optionally with one of its subdivisions after a hyphen
  (``"US-CA"``, ``"DE-BY"``); ``""`` for none;
* ``heating_season``: the season's first and last day as ``["MM-DD", "MM-DD"]``, both
  inclusive, wrapping over the new year when the first comes after the last (the default
  ``["11-15", "03-15"]``: 15 November to 15 March); one day when they are equal; ``[]``
  for none.

:func:`in_season` is the one definition of a day in a season; :func:`holiday_flags` of a
day on a holiday. :func:`check_season` refuses a bad season with a one-line
:class:`~forecast.errors.DataError`; ``forecast.config`` checks both options before any
data are read.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import DataError

_MONTH_DAY = re.compile(r"(\d\d)-(\d\d)")


def _month_day(text: str) -> int:
    """``"MM-DD"`` as the number month × 100 + day (``"11-15"`` → 1115); DataError for
    text of another form or a day no year has (29 February is one some years have)."""
    match = _MONTH_DAY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise DataError(f"config: task.heating_season days are written MM-DD (e.g. "
                        f"\"11-15\" for 15 November), not {text!r}")
    month, day = int(match[1]), int(match[2])
    try:
        datetime.date(2000, month, day)      # a leap year: 02-29 is a day
    except ValueError:
        raise DataError(f"config: task.heating_season: {text!r} is no day of the year "
                        "(MM-DD: month 01-12, then a day that month has)") from None
    return month * 100 + day


def check_season(season: Sequence[str] | None) -> tuple[str, str] | None:
    """``task.heating_season`` as (first day, last day), MM-DD, or None for no season
    (``[]``); DataError unless it is empty or two days written MM-DD."""
    if season is None or len(season) == 0:
        return None
    if isinstance(season, str) or len(season) != 2:
        given = season if isinstance(season, str) else list(season)
        raise DataError(f"config: task.heating_season must be two days, the season's first "
                        f"and last, as [\"MM-DD\", \"MM-DD\"] (e.g. [\"11-15\", \"03-15\"]), "
                        f"or [] for none; not {given!r}")
    first, last = season
    _month_day(first), _month_day(last)
    return first, last


def in_season(days: pd.DatetimeIndex, season: Sequence[str] | None) -> np.ndarray:
    """Per day of ``days``: True when its calendar date lies in ``season``, the season's
    first and last day as ``("MM-DD", "MM-DD")``, both inclusive; the season wraps over
    the new year when its first day comes after its last (``("11-15", "03-15")``:
    15 November to 15 March), is one day when they are equal, and is empty for None or
    ``()``. Dates only: the time of day and the year are not read (a season ending on
    02-29 ends on 02-28 in other years; one starting on it, on 03-01)."""
    days = pd.DatetimeIndex(days)
    checked = check_season(season)
    if checked is None:
        return np.zeros(len(days), dtype=bool)
    first, last = (_month_day(day) for day in checked)
    month_day = days.month.to_numpy() * 100 + days.day.to_numpy()
    if first <= last:
        return (month_day >= first) & (month_day <= last)
    return (month_day >= first) | (month_day <= last)


def describe_season(season: Sequence[str] | None) -> str:
    """The season in words, e.g. ``"15 Nov – 15 Mar"``; ``"none"`` for no season."""
    checked = check_season(season)
    if checked is None:
        return "none"
    words = []
    for day in checked:
        month, mday = divmod(_month_day(day), 100)
        words.append(f"{mday} {calendar.month_abbr[month]}")
    return words[0] if words[0] == words[1] else " – ".join(words)


def country_and_subdivision(code: str) -> tuple[str, str | None]:
    """A ``task.holidays`` code as (country, subdivision): ``"US-CA"`` → ("US", "CA"),
    ``"DE"`` → ("DE", None)."""
    country, _, subdivision = code.partition("-")
    return country, subdivision or None


@functools.lru_cache(maxsize=16)
def _holiday_set(code: str, years: tuple[int, ...]) -> np.ndarray:
    """The public holidays of ``code`` (country[-subdivision]) in ``years``, as sorted
    days (datetime64[D], read-only)."""
    import holidays

    country, subdivision = country_and_subdivision(code)
    days = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    out = np.array(sorted(np.datetime64(day, "D") for day in days), dtype="datetime64[D]")
    out.flags.writeable = False          # cached: shared by every caller
    return out


def holiday_flags(days: pd.DatetimeIndex, code: str) -> np.ndarray:
    """1.0 on the public holidays of ``code`` (``task.holidays``: a country of the
    ``holidays`` package, optionally with a subdivision, ``"US-CA"``), else 0.0; all 0.0
    for ``""``. The calendar date is read, not the time of day."""
    days = pd.DatetimeIndex(days)
    if not code:
        return np.zeros(len(days))
    calendar_days = _holiday_set(code, tuple(sorted(set(days.year))))
    as_days = days.to_numpy().astype("datetime64[D]")
    return np.isin(as_days, calendar_days).astype(float)
