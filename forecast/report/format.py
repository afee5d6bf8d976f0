"""Number and text formatting for the report: units, intervals, p-values, a dash for
anything missing."""

from __future__ import annotations

import math

from ..constants import UNIT

DASH = "—"
FORECAST_MODE_LABEL = ("uses observed next-day weather as a perfect forecast — an upper bound "
                       "on what a real weather forecast gives")


def forecast_mode_label(config: dict) -> str:
    """:data:`FORECAST_MODE_LABEL`, or what the run took for the weather forecast when
    it was not perfect and hourly (``task.weather_step``, ``task.weather_error``)."""
    task = config.get("task", {})
    step, error = int(task.get("weather_step", 1)), float(task.get("weather_error", 0.0))
    if step == 1 and not error:
        return FORECAST_MODE_LABEL
    made = []
    if step != 1:
        made.append(f"at {step}-hourly steps (task.weather_step = {step}: its values at 00, "
                    f"{step:02d}, … h, made hourly)")
    if error:
        from ..constants import TYPICAL_FORECAST_ERRORS

        sizes = {**TYPICAL_FORECAST_ERRORS, **task.get("weather_error_sizes", {})}
        made.append(
            f"with day-level errors of standard deviation {error:g} × (temperature "
            f"{sizes['temp']:g} °C, dew point {sizes['dewp']:g} °C, pressure "
            f"{sizes['pres']:g} hPa, wind speed × exp({sizes['wind_speed']:g}), wind "
            f"direction {sizes['wind_dir']:g}°) (task.weather_error, weather_error_sizes: "
            "assumed sizes)")
    return ("uses observed next-day weather as its weather forecast, " + " and ".join(made)
            + (" — an upper bound on what a real weather forecast gives" if not error
               else " — what a forecast with errors of that size would give"))


def num(value) -> float | None:
    """A finite float, or None for missing / NaN / non-numbers."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def fixed(value, digits: int = 1) -> str:
    x = num(value)
    return DASH if x is None else f"{x:.{digits}f}"


def signed(value, digits: int = 1) -> str:
    x = num(value)
    return DASH if x is None else f"{x:+.{digits}f}"


def pct(value, digits: int = 0, signed: bool = False) -> str:
    x = num(value)
    if x is None:
        return DASH
    return f"{x * 100:+.{digits}f} %" if signed else f"{x * 100:.{digits}f} %"


def pval(value) -> str:
    x = num(value)
    if x is None:
        return DASH
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def p_eq(value) -> str:
    """'p < 0.001' or 'p = 0.123' for use inside a sentence."""
    text = pval(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def count(value) -> str:
    x = num(value)
    return DASH if x is None else f"{int(round(x)):,}"


def seconds(value) -> str:
    x = num(value)
    if x is None:
        return DASH
    if x < 0.1:
        return "< 0.1 s"
    if x < 120:
        return f"{x:.1f} s"
    return f"{x / 60:.1f} min"


def ci(pair, digits: int = 1, with_sign: bool = False) -> str:
    """"lo to hi" of an interval, signed with ``with_sign``."""
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return DASH
    fmt = signed if with_sign else fixed
    lo, hi = fmt(pair[0], digits), fmt(pair[1], digits)
    return DASH if DASH in (lo, hi) else f"{lo} to {hi}"


def interval_side(pair) -> int:
    """1 for an interval above 0, −1 below 0, 0 for one that holds 0 (or none): whether a
    difference is beyond noise, and which way."""
    if not isinstance(pair, list | tuple) or len(pair) != 2 or any(
            x is None or x != x for x in pair):
        return 0
    return 1 if pair[0] > 0 else -1 if pair[1] < 0 else 0


def short(text, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def no_brier_skill(test: dict) -> bool:
    """Whether scores that have a Brier skill have none to show: NaN where the threshold
    was never or always exceeded (:func:`never_or_always` says why)."""
    return "brier_skill" in test and num(test["brier_skill"]) is None


def never_or_always(test: dict, where: str) -> str:
    """Why an exceedance probability has no Brier skill: its threshold was never (or
    always) exceeded on ``where``."""
    which = "never" if not test.get("exceedance_frequency") else "always"
    return (f"{test['threshold']:g} {UNIT} was {which} exceeded on {where}, so a probability "
            "of exceeding it has no skill to show")
