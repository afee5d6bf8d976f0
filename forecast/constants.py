"""Every constant and default that more than one module needs, in one home.

Concentrations are daily-mean PM2.5 in µg/m³.
"""

from __future__ import annotations

#: µg/m³, China GB 3095-2012 grade II 24-hour limit for PM2.5: the default threshold of
#: the exceedance scores (configurable as ``evaluation.exceedance_threshold``).
LIMIT_24H = 75.0
#: µg/m³, upper edges of the Chinese PM2.5 index categories (HJ 633-2012 IAQI):
#: 0 excellent (≤35), 1 good (≤75), 2 lightly (≤115), 3 moderately (≤150),
#: 4 heavily (≤250), 5 severely polluted (>250).
CHINA_PM25_BREAKPOINTS = (35.0, 75.0, 115.0, 150.0, 250.0)
CHINA_PM25_CATEGORIES = ("excellent", "good", "lightly polluted", "moderately polluted",
                         "heavily polluted", "severely polluted")

#: Meteorological seasons, in the order reports list them, and the season of each month
#: (index 1..12).
SEASONS = ("DJF", "MAM", "JJA", "SON")
SEASON_NAMES = dict(zip(SEASONS, ("winter", "spring", "summer", "autumn"), strict=True))
MONTH_TO_SEASON = ("", "DJF", "DJF", "MAM", "MAM", "MAM", "JJA", "JJA", "JJA",
                   "SON", "SON", "SON", "DJF")

#: The reference baselines: they read no input, so they are neither combined nor scored
#: for what inputs they rely on, and a gain over them alone says little.
REFERENCE_MODELS = ("persistence", "climatology")

#: Hourly values needed for a valid daily mean (the 75 % completeness rule).
DEFAULT_MIN_HOURS = 18
#: Target transform of the networks (baselines choose theirs on validation).
TARGET_TRANSFORMS = ("none", "log1p")
DEFAULT_TARGET_TRANSFORM = "none"

UNIT = "µg/m³"

#: The text columns of a prediction table and of predictions.csv (a fold's name may look
#: like a year): a few distinct values over millions of rows at a national network's
#: scale, so the pipeline holds them, and the report reads them, as categories.
PREDICTION_TEXT_COLUMNS = ("fold", "station", "split", "model")

#: Steps (hours) the target day's weather forecast may come at (``task.weather_step``):
#: the divisors of a day.
WEATHER_STEPS = (1, 2, 3, 4, 6, 8, 12)

#: The standard deviation of each day's weather forecast error at ``task.weather_error``
#: = 1, meant as a typical day-ahead forecast (an assumption, not a measured weather
#: model), the defaults of ``[task.weather_error_sizes]``: temperature and dew point °C,
#: pressure hPa, wind speed as the logarithm of the factor it is multiplied by, wind
#: direction degrees.
TYPICAL_FORECAST_ERRORS = {"temp": 1.5, "dewp": 2.0, "pres": 1.0, "wind_speed": 0.3,
                           "wind_dir": 30.0}

#: The calendar of the built-in Beijing sets, the defaults of ``[task] holidays`` and
#: ``[task] heating_season``: China's public holidays (the ``holidays`` package's country
#: code) and Northern China's heating season, its first and last day as MM-DD (inclusive).
DEFAULT_HOLIDAYS = "CN"
DEFAULT_HEATING_SEASON = ("11-15", "03-15")

#: Seeds are 0 .. SEEDS - 1, all NumPy and Lightning take; a run's further seeds (seed + 1,
#: ... for hgb's draws and a seed ensemble's members) wrap round to 0 past the last.
SEEDS = 2 ** 32


def nth_seed(seed: int, k: int) -> int:
    """The ``k``-th seed after ``seed`` (k = 0: ``seed`` itself), wrapping at SEEDS."""
    return (seed + k) % SEEDS


#: Hours of the hourly record up to the issue time that hgb_hourly reads, one column per
#: hour and channel (on the single site 24 validated better than 12, 48 or 72).
HGB_HOURLY_HOURS = 24
