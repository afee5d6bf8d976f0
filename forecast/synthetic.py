"""Synthetic hourly station data that behaves like Beijing, for tests and demos.

``generate_hourly`` returns an HourlyFrame (see :mod:`forecast.schema`) with the
mechanisms that make next-day PM2.5 forecastable in the real data:

* an annual cycle in temperature, dew point and pressure (cold, dry, high-pressure
  winters; hot, humid summers) plus diurnal cycles and synoptic noise;
* synoptic regimes drawn from a daily Markov chain whose transition probabilities
  follow the season: *stagnant* spells (calm or weak southerly wind, humid) during
  which PM2.5 builds up by roughly 20-40 % a day, *cold fronts* (north / north-west
  wind of 5-12 m/s, dry, pressure rise) that clear it within hours, and *normal*
  days in between; a regime change happens at a random hour of the day;
* precipitation events (mostly in July-August) that wash PM2.5 out; below freezing
  they fall as snow (``snow`` = 1, ``rain`` = 0 mm);
* a heating season (15 Nov - 15 Mar) that raises emissions, and a diurnal emission
  and mixing cycle with an evening rise, so the late hours of day D carry
  information about day D+1;
* PM2.5 from a one-box model solved hour by hour,
  ``C[t] = C[t-1] * exp(r[t] - k[t]) + E[t]``, with emissions ``E``, ventilation and
  deposition ``k`` (wind speed, mixing, rain) and humid secondary formation ``r``,
  i.e. an AR(1) in log space with time-varying coefficients; observed values carry
  a small multiplicative station noise;
* missing data: isolated PM2.5 hours plus a few multi-day gaps (the whole monitor,
  or PM2.5 only), ``missing_fraction`` of the PM2.5 hours in all;
* several stations share the regional weather and regimes, with their own
  emission, wind and temperature offsets and independent small noise.

Everything comes from one ``numpy.random.Generator`` seeded by ``seed``: the same
arguments give an identical frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from forecast.schema import CALM, WIND_DIR_DTYPE, WIND_DIRECTIONS, validate_hourly

SYNTHETIC_PREFIX = "synthetic-"

# Regimes of the daily Markov chain.
STAGNANT, NORMAL, FRONT = 0, 1, 2
_N_REGIMES = 3

# Daily transition matrices (row: today, column: tomorrow) in mid-winter and mid-summer;
# days in between interpolate linearly on a cosine of the day of year.
_TRANSITION_WINTER = np.array([
    [0.64, 0.16, 0.20],   # stagnant: spells of ~3 days, broken mostly by fronts
    [0.33, 0.42, 0.25],
    [0.12, 0.43, 0.45],   # fronts last 1-2 days
])
_TRANSITION_SUMMER = np.array([
    [0.60, 0.30, 0.10],
    [0.30, 0.58, 0.12],
    [0.12, 0.63, 0.25],
])

# Per-regime weather: wind-speed median (m/s) and log-sd of the daily draw, diurnal
# amplitude of the wind, hourly spread of the direction (compass points), offsets of
# temperature, dew point (°C) and pressure (hPa), and precipitation-probability factor.
_WIND_MEDIAN = np.array([0.9, 2.6, 7.0])
_WIND_DAY_SD = np.array([0.30, 0.30, 0.18])
_WIND_DIURNAL = np.array([0.40, 0.30, 0.12])
_DIR_SPREAD = np.array([1.8, 1.4, 0.6])
_TEMP_OFFSET = np.array([1.5, 0.0, -4.5])
_DEWP_OFFSET = np.array([3.5, 0.0, -8.0])
_PRES_OFFSET = np.array([-3.0, 0.0, 7.0])
_RAIN_FACTOR = np.array([0.6, 1.0, 1.4])

# Prevailing wind directions per regime (weights over COMPASS_16, clockwise from N).
_DIR_WEIGHTS = np.array([
    # N   NNE  NE   ENE  E    ESE  SE   SSE  S    SSW  SW   WSW  W    WNW  NW   NNW
    [0.0, 0.0, 0.0, 0.2, 0.4, 0.6, 1.2, 1.6, 2.0, 2.0, 1.5, 0.7, 0.3, 0.0, 0.0, 0.0],
    [0.9, 0.6, 0.6, 0.5, 0.5, 0.4, 0.6, 0.8, 1.0, 1.0, 0.8, 0.5, 0.5, 0.6, 1.0, 1.0],
    [2.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 1.0, 3.5, 3.0],
])
_DIR_WEIGHTS = _DIR_WEIGHTS / _DIR_WEIGHTS.sum(axis=1, keepdims=True)

_CALM_BELOW = 0.7          # m/s: slower winds are reported as "calm"
_HOURS = np.arange(24)


def _gauss(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hours - centre) / width) ** 2)


# Emissions by hour of day (mean 1): morning traffic peak, larger evening peak
# (traffic, cooking, heating) and a night-time low.
_EMISSION_DIURNAL = (0.25 + 0.5 * _gauss(_HOURS, 8.0, 1.5) + 0.5 * _gauss(_HOURS, 13.0, 3.0)
                     + 1.4 * _gauss(_HOURS, 19.5, 2.0))
_EMISSION_DIURNAL = _EMISSION_DIURNAL / _EMISSION_DIURNAL.mean()
# Mixing-layer factor on ventilation: deep in the afternoon, shallow at night.
_MIXING_DIURNAL = 1.0 + 0.3 * np.cos(2 * np.pi * (_HOURS - 14.0) / 24.0)


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) noise along axis 0 with marginal sd ``sd``."""
    shocks = rng.standard_normal(shape)
    shocks[0] *= sd
    if len(shocks) > 1:
        shocks[1:] *= sd * np.sqrt(1.0 - phi * phi)
    return lfilter([1.0], [1.0, -phi], shocks, axis=0)


def _smooth(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential smoothing along axis 0, started at the first value (no spin-up)."""
    zi = alpha * values[:1]
    out, _ = lfilter([1.0 - alpha], [1.0, -alpha], values, axis=0, zi=zi)
    return out


def _regime_chain(rng: np.random.Generator, winter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Daily regimes and the age (days since the regime began) of each day."""
    n_days = len(winter)
    w = winter[:, None, None]
    cumulative = np.cumsum(w * _TRANSITION_WINTER + (1 - w) * _TRANSITION_SUMMER, axis=2)
    cumulative = cumulative.tolist()
    draws = rng.random(n_days).tolist()
    regimes = np.empty(n_days, dtype=np.int64)
    ages = np.empty(n_days, dtype=np.int64)
    state, age = NORMAL, 0
    for day in range(n_days):
        if day:
            row = cumulative[day][state]
            u = draws[day]
            new = STAGNANT if u < row[0] else (NORMAL if u < row[1] else FRONT)
            age = age + 1 if new == state else 0
            state = new
        regimes[day] = state
        ages[day] = age
    return regimes, ages


def _gap_mask(rng: np.random.Generator, n_hours: int, n_missing: int) -> np.ndarray:
    """Multi-day gaps (1-7 days, random start hour) covering exactly ``n_missing`` hours."""
    mask = np.zeros(n_hours, dtype=bool)
    covered = 0
    while covered < n_missing:
        length = int(rng.integers(24, 7 * 24 + 1))
        start = int(rng.integers(0, max(1, n_hours - length)))
        segment = mask[start:start + length]
        new = np.flatnonzero(~segment)[: n_missing - covered]
        segment[new] = True
        covered += len(new)
    return mask


def station_coordinates(n_stations: int = 1) -> dict[str, tuple[float, float]]:
    """Where the synthetic stations stand (latitude, longitude, decimal degrees): evenly
    on a ring of about 15 km radius around central Beijing (39.93 N, 116.40 E), the
    first due north, then clockwise; one station at the centre. Fixed, not random, so
    the same stations always have the same neighbours (for the upwind feature)."""
    if n_stations == 1:
        return {f"{SYNTHETIC_PREFIX}1": (39.93, 116.40)}
    angles = 2 * np.pi * np.arange(n_stations) / n_stations
    return {f"{SYNTHETIC_PREFIX}{i + 1}": (round(float(39.93 + 0.135 * np.cos(a)), 4),
                                           round(float(116.40 + 0.176 * np.sin(a)), 4))
            for i, a in enumerate(angles)}


def generate_hourly(
    seed: int = 0,
    n_stations: int = 1,
    start: str = "2010-01-01",
    end: str = "2014-12-31",
    missing_fraction: float = 0.04,
) -> pd.DataFrame:
    """A synthetic, Beijing-like HourlyFrame, deterministic in ``seed``.

    Every hour from ``start`` 00:00 to ``end`` 23:00 inclusive for stations named
    ``synthetic-1`` ... ``synthetic-<n_stations>``, with all canonical weather
    columns (``rain`` in mm, ``snow`` a 0/1 flag). About ``missing_fraction`` of the
    PM2.5 hours of each station are missing. ``frame.attrs`` holds
    ``synthetic=True`` and ``source="synthetic (seed N)"``.
    """
    if n_stations < 1:
        raise ValueError(f"n_stations must be at least 1, got {n_stations}")
    if not 0.0 <= missing_fraction < 0.5:
        raise ValueError(f"missing_fraction must be in [0, 0.5), got {missing_fraction}")
    first_day = pd.Timestamp(start).normalize()
    last_day = pd.Timestamp(end).normalize()
    if last_day < first_day:
        raise ValueError(f"end {end} is before start {start}")
    rng = np.random.default_rng(seed)
    days = pd.date_range(first_day, last_day, freq="D")
    n_days, n_st = len(days), n_stations
    n_hours = 24 * n_days
    hour = np.tile(_HOURS, n_days)
    day_of_hour = np.repeat(np.arange(n_days), 24)

    # --- seasons ---------------------------------------------------------------------
    doy = days.dayofyear.to_numpy().astype(float)
    warm_phase = np.cos(2 * np.pi * (doy - 200.0) / 365.25)      # +1 late July, -1 January
    winter = 0.5 * (1.0 - np.cos(2 * np.pi * (doy - 200.0) / 365.25))  # 1 mid-Jan, 0 Jul
    month, mday = days.month.to_numpy(), days.day.to_numpy()
    heating = ((month == 11) & (mday >= 15)) | (month == 12) | (month <= 2) | (
        (month == 3) & (mday <= 15))
    heating = np.convolve(np.pad(heating.astype(float), 2, mode="edge"), np.ones(5) / 5, "valid")

    # --- synoptic regimes (daily chain, changing at a random hour) ---------------------
    regimes, ages = _regime_chain(rng, winter)
    change_hour = rng.integers(0, 24, n_days)
    previous = np.concatenate([regimes[:1], regimes[:-1]])
    regime_h = np.where(hour >= change_hour[day_of_hour], regimes[day_of_hour],
                        previous[day_of_hour])
    age_h = np.where(regime_h == regimes[day_of_hour], ages[day_of_hour], 0)

    # --- regional weather --------------------------------------------------------------
    t_hours = np.arange(n_hours, dtype=float)
    day_centres = np.arange(n_days) * 24.0 + 11.5

    def daily_noise(phi: float, sd: float) -> np.ndarray:
        return np.interp(t_hours, day_centres, _ar1(rng, (n_days,), phi, sd))

    warm_h = warm_phase[day_of_hour]
    temp = (12.5 + 15.5 * warm_h + _smooth(_TEMP_OFFSET[regime_h], 0.85)
            + daily_noise(0.7, 2.5)
            + (4.5 + 1.0 * (regime_h == FRONT) - 1.5 * (regime_h == STAGNANT))
            * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
            + _ar1(rng, (n_hours,), 0.8, 0.6))
    dewp = (2.0 + 19.0 * warm_h + _smooth(_DEWP_OFFSET[regime_h], 0.85)
            + daily_noise(0.7, 2.5) + 1.0 * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
            + _ar1(rng, (n_hours,), 0.8, 0.8))
    pres = (1016.0 - 10.5 * warm_h + _smooth(_PRES_OFFSET[regime_h], 0.9)
            + daily_noise(0.8, 3.0) + 0.8 * np.cos(4 * np.pi * (hour - 10.0) / 24.0)
            + _ar1(rng, (n_hours,), 0.9, 0.3))

    wind_day = _WIND_MEDIAN[:, None] * np.exp(
        _WIND_DAY_SD[:, None] * rng.standard_normal((_N_REGIMES, n_days)))
    wind = (wind_day[regime_h, day_of_hour]
            * (1.0 + _WIND_DIURNAL[regime_h] * np.cos(2 * np.pi * (hour - 14.0) / 24.0))
            * np.exp(_ar1(rng, (n_hours,), 0.6, 0.25)))
    wind = np.where(regime_h == FRONT, np.clip(wind, 4.5, 12.0), np.clip(wind, 0.0, 9.0))
    prevailing = np.stack([rng.choice(16, n_days, p=_DIR_WEIGHTS[r]) for r in range(_N_REGIMES)])
    direction = (prevailing[regime_h, day_of_hour]
                 + np.rint(_DIR_SPREAD[regime_h] * rng.standard_normal(n_hours))).astype(int) % 16

    # Precipitation: at most one event a day, mostly in summer, 1-12 hours long.
    summer_peak = np.exp(-0.5 * ((doy - 205.0) / 28.0) ** 2)
    p_event = (0.04 + 0.32 * summer_peak) * _RAIN_FACTOR[regimes]
    event = rng.random(n_days) < p_event
    event_start = rng.integers(0, 24, n_days)
    event_length = np.minimum(1 + rng.geometric(0.3, n_days), 12)
    event_mean = 1.5 + 5.0 * summer_peak                          # mm/h
    precip = np.zeros(n_hours)
    for offset in range(12):
        active = event & (event_length > offset)
        at = np.arange(n_days)[active] * 24 + event_start[active] + offset
        keep = at < n_hours
        precip[at[keep]] = rng.gamma(0.8, event_mean[active][keep] / 0.8)

    # --- stations -----------------------------------------------------------------------
    emission_factor = np.exp(0.10 * rng.standard_normal(n_st))
    wind_factor = np.exp(0.08 * rng.standard_normal(n_st))
    temp_offset = 0.6 * rng.standard_normal(n_st)
    pres_offset = 2.0 * rng.standard_normal(n_st)
    if n_st == 1:
        emission_factor[:] = wind_factor[:] = 1.0
        temp_offset[:] = pres_offset[:] = 0.0

    # Station arrays are (n_hours, n_stations); each becomes its output column (rounded,
    # one station after another in the order of their names, as validate_hourly sorts
    # them) as soon as the model is done with it, so that few are alive at a time.
    stations = [f"{SYNTHETIC_PREFIX}{i + 1}" for i in range(n_st)]
    by_name = np.argsort(stations)

    def station_major(values: np.ndarray, decimals: int) -> np.ndarray:
        out = values.T[by_name]         # a copy, (n_stations, n_hours)
        return np.round(out, decimals, out=out)

    temp_s = temp[:, None] + temp_offset + _ar1(rng, (n_hours, n_st), 0.7, 0.3)
    dewp_s = np.minimum(dewp[:, None] + _ar1(rng, (n_hours, n_st), 0.7, 0.3), temp_s)
    pres_s = pres[:, None] + pres_offset + 0.1 * rng.standard_normal((n_hours, n_st))
    pres_out = station_major(pres_s, 1)
    del pres_s
    wind_s = np.clip(wind[:, None] * wind_factor * np.exp(_ar1(rng, (n_hours, n_st), 0.5, 0.12)),
                     0.0, 13.0)
    precip_s = precip[:, None] * np.exp(0.3 * rng.standard_normal((n_hours, n_st)))
    frozen = temp_s < 0.5
    snow_out = station_major(((precip_s > 0) & frozen).astype(float), 0)
    rain_out = station_major(np.where(frozen, 0.0, precip_s), 1)

    # --- PM2.5: one-box model, solved a day at a time ------------------------------------
    rh = 100.0 * np.exp(17.625 * dewp_s / (243.04 + dewp_s) - 17.625 * temp_s / (243.04 + temp_s))
    temp_out, dewp_out = station_major(temp_s, 1), station_major(dewp_s, 1)
    del temp_s, dewp_s
    emissions = (3.6 * (1.0 + 0.9 * heating[day_of_hour]) * _EMISSION_DIURNAL[hour]
                 * np.exp(_ar1(rng, (n_hours,), 0.9, 0.3)))[:, None] * emission_factor
    mixing = (_MIXING_DIURNAL[hour] * (1.0 + 0.3 * warm_h))[:, None]
    loss = (0.012 + 0.012 * wind_s ** 1.9 * mixing
            + 0.15 * precip_s ** 0.7 * np.where(frozen, 0.3, 1.0))
    del precip_s, frozen
    age_factor = np.exp(-np.maximum(age_h - 3, 0) / 2.0)[:, None]
    formation = 0.055 * (rh / 100.0) ** 2 * np.exp(-wind_s / 1.5) * age_factor
    del rh
    wind_out = station_major(wind_s, 1)
    del wind_s
    growth = np.exp(np.clip(formation - loss, -1.5, 0.02)).reshape(n_days, 24, n_st)
    del formation, loss
    cum_growth = np.cumprod(growth, axis=1)
    del growth
    within = cum_growth * np.cumsum(emissions.reshape(n_days, 24, n_st) / cum_growth, axis=1)
    del emissions
    level = np.empty((n_days, n_st))        # concentration at the end of the previous day
    carry = np.full(n_st, 40.0)
    end_growth, end_within = cum_growth[:, -1].copy(), within[:, -1].copy()
    for day in range(n_days):
        level[day] = carry
        carry = end_growth[day] * carry + end_within[day]
    conc = (cum_growth * level[:, None, :] + within).reshape(n_hours, n_st)
    del cum_growth, within
    pm_out = station_major(conc * np.exp(_ar1(rng, (n_hours, n_st), 0.6, 0.18)) + 2.0, 1)
    del conc

    # --- missing data (station-major, like the output columns) ---------------------------
    pm_missing = np.zeros((n_st, n_hours), dtype=bool)
    monitor_missing = np.zeros((n_st, n_hours), dtype=bool)
    n_missing = int(round(missing_fraction * n_hours))
    n_gap = int(round(0.7 * n_missing))
    for s in range(n_st):
        gaps = _gap_mask(rng, n_hours, n_gap)
        # Each gap is either the whole monitor or PM2.5 only.
        opens = np.diff(gaps.astype(np.int8), prepend=0) == 1
        labels = np.cumsum(opens) * gaps            # 1, 2, ... per gap, 0 outside
        whole = rng.random(int(opens.sum()) + 1) < 0.5
        monitor_missing[s] = gaps & whole[labels]
        isolated = rng.choice(np.flatnonzero(~gaps), n_missing - n_gap, replace=False)
        pm_missing[s] = gaps
        pm_missing[s, isolated] = True
    pm_missing, monitor_missing = pm_missing[by_name], monitor_missing[by_name]

    pm_out[pm_missing] = np.nan
    dir_codes = np.where(wind_out < _CALM_BELOW, np.int8(WIND_DIRECTIONS.index(CALM)),
                         direction.astype(np.int8))
    dir_codes[monitor_missing] = -1
    for values in (temp_out, dewp_out, pres_out, wind_out, rain_out, snow_out):
        values[monitor_missing] = np.nan

    times = pd.date_range(first_day, periods=n_hours, freq="h").to_numpy().astype("datetime64[ns]")
    frame = pd.DataFrame({
        "station": pd.Categorical.from_codes(np.repeat(np.arange(n_st, dtype=np.int32), n_hours),
                                             categories=sorted(stations)),
        "time": np.tile(times, n_st),
        "pm25": pm_out.ravel(),
        "temp": temp_out.ravel(),
        "dewp": dewp_out.ravel(),
        "pres": pres_out.ravel(),
        "wind_speed": wind_out.ravel(),
        "wind_dir": pd.Categorical.from_codes(dir_codes.ravel(), dtype=WIND_DIR_DTYPE),
        "rain": rain_out.ravel(),
        "snow": snow_out.ravel(),
    }, copy=False)
    source = f"synthetic (seed {seed})"
    frame = validate_hourly(frame, source)
    frame.attrs["synthetic"] = True
    frame.attrs["source"] = source
    return frame
