"""The run configuration: defaults, TOML loading, flag overrides and validation.

Every option lives in one nested table (see ``configs/example.toml`` for the
documented version). A key that is not a known option is an error that suggests the
nearest known name, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import itertools
import math
import os
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from .calendars import check_season, country_and_subdivision
from .constants import (
    DEFAULT_HEATING_SEASON,
    DEFAULT_HOLIDAYS,
    DEFAULT_MIN_HOURS,
    DEFAULT_TARGET_TRANSFORM,
    LIMIT_24H,
    SEEDS,
    TARGET_TRANSFORMS,
    TYPICAL_FORECAST_ERRORS,
    WEATHER_STEPS,
)
from .coordinates import check_coordinates
from .errors import DataError
from .quality import (
    DEFAULT_BOUNDS,
    DEFAULT_DEWPOINT_TOLERANCE,
    DEFAULT_SENTINELS,
    DEFAULT_STUCK_FLOOR,
    DEFAULT_STUCK_HOURS,
    QualityRules,
)
from .registry import (  # noqa: F401 (re-exported)
    ALL_MODELS,
    BASELINE_MODELS,
    DEFAULT_MODELS,
    NETWORK_MODELS,
    default_models,
    hourly_hours_read,
    reads_target_hours,
    spec,
)
from .schema import CSV_CANONICAL, UNIT_CONVERSIONS, unit_key

DEFAULTS: dict[str, Any] = {
    "data": {
        "dataset": "beijing",       # beijing | beijing-multisite | synthetic | csv
        "data_dir": "",             # folder searched for the UCI files (also FORECAST_DATA_DIR)
        "min_hours": DEFAULT_MIN_HOURS,            # hourly values needed for a valid daily mean (75 % rule)
        "stations": [],             # restrict to these stations (empty: all)
        # csv only (see README "Bringing your own CSV")
        "path": "",
        "station": "",
        "station_column": "",
        "time_column": "",
        "time_columns": [],
        "time_format": "",
        "utc_offset": "",           # times with UTC offsets read on this clock, e.g. "+08:00"
        "time_zone": "",            # or an IANA zone: its wall clock (DST) read on its standard time
        "time_label": "start",      # a time labels the start of its period, its end (hours 1-24) or its middle
        "parameter_column": "",     # a row per time, station and parameter: the parameter's name ...
        "value_column": "",         # ... and its value (then [data.columns] maps parameter names)
        "stations_in_columns": False,  # a column per station (every column but time and parameter)
        "wind_dir_degrees": False,
        "columns": {},
        "units": {},
        "coordinates": {},          # station = [latitude, longitude], for the upwind feature
        # synthetic only
        "synthetic_stations": 1,
        "synthetic_start": "2010-01-01",
        "synthetic_end": "2014-12-31",
    },
    "task": {
        "mode": "observed",         # observed: inputs up to day D; forecast: + day D+1 weather
        "horizon": 1,               # target = daily mean of day D + horizon
        "lags": 7,                  # daily-mean PM2.5 lags 1..lags
        "sequence_length": 14,      # days of daily features fed to sequence networks
        "hourly_hours": 72,         # hours up to the end of day D fed to the *_hourly networks
                                    # (forecast mode adds the target day's 24 hours of weather)
        "hourly_sequence": False,   # build that hourly window even when no model reads it
        "max_fill_days": 2,         # daily gaps up to this long are filled from the past
        "weather_step": 1,          # forecast mode: hours between the weather forecast's values
        "weather_error": 0.0,       # forecast mode: its day-level errors, × typical day-ahead ones
        "weather_error_sizes": dict(TYPICAL_FORECAST_ERRORS),  # those at weather_error = 1
        "target_transform": "auto",  # networks: auto | none | log1p (baselines choose theirs on validation)
        "train_issue_hours": [],    # networks also train on forecasts issued at these hours (0..22) of day D
        "holidays": DEFAULT_HOLIDAYS,  # the target day's public holidays: a country code of the holidays package ("US-CA": with a subdivision); "": none
        "heating_season": list(DEFAULT_HEATING_SEASON),  # its first and last day, MM-DD, inclusive (may wrap the new year); []: none
    },
    "split": {
        "train_end": "",            # inclusive target days; empty: the dataset's default
        "val_end": "",
        "test_end": "",
        "folds": 0,                 # rolling-origin folds, one a year back: 0 all that fit, 1 main split only
        "refit": True,              # test rows forecast by each model refitted on train + val (forecast/refit.py)
    },
    "models": {
        "names": list(DEFAULT_MODELS),   # observed mode's; forecast mode adds the *_by_hour models
        "combination": True,        # also a validation-fitted combination of the candidates
    },
    "training": {
        "seeds": 3,
        "max_epochs": 150,
        "patience": 10,
        "batch_size": 64,
        "max_steps_per_epoch": 256, # larger data: batches grow so an epoch takes at most this many steps
        "max_batch_size": 512,      # ... up to this many rows; beyond, each epoch samples its rows (0: no cap)
        "max_val_rows": 50000,      # early stopping's validation loss on at most this many rows (0: all)
        "learning_rate": 0.003,
        "weight_decay": 0.0001,
        "optimizer": "adamw",       # adamw | sgd | rmsprop
        "momentum": 0.9,            # sgd only
        "activation": "relu",       # relu | tanh | gelu
        "hidden": 64,
        "layers": 1,
        "dropout": 0.2,
        "gradient_clip": 1.0,
        "lr_schedule": "plateau",   # plateau | cosine | none
        "accelerator": "auto",
        "devices": 1,
        "strategy": "auto",
        "num_nodes": 1,
        "progress_bar": False,      # Lightning's own per-epoch bars (the run has one display)
        "jobs": 0,                  # processes for the run's trainings (0: one per CPU core)
        "threads": 1,               # torch CPU threads per training (0: torch's default)
        "loss": "mse",              # mse: a point forecast | pinball: a quantile head (99 levels)
    },
    "diagnostics": {
        "capacity_sweep": True,
        "sweep_model": "mlp",
        "sweep_hidden": [8, 32, 128],
        "sweep_layers": [1, 2, 3],
        "learning_curve": True,
        "learning_fractions": [0.25, 0.5, 0.75, 1.0],
        "max_epochs": 60,
        "importance": True,         # what each model relies on: grouped permutation importance on validation
    },
    "quality": {                    # impossible values become missing (forecast/quality.py)
        "strict": False,            # refuse data with any flagged value instead
        "sentinels": list(DEFAULT_SENTINELS),    # missing-value codes, any numeric column
        "stuck_hours": DEFAULT_STUCK_HOURS,      # PM2.5 repeating one value this long: stuck
        "stuck_floor": DEFAULT_STUCK_FLOOR,      # µg/m³; repeats at or below it are exempt
        "dewpoint_tolerance": DEFAULT_DEWPOINT_TOLERANCE,  # °C a dew point may exceed temp
        "bounds": {k: list(v) for k, v in DEFAULT_BOUNDS.items()},  # column = [low, high]
    },
    "evaluation": {
        "n_boot": 1000,
        "exceedance_threshold": LIMIT_24H,
        "warning_cost_loss": 0.0,   # when to warn: 0 the best CSI; C/L the lowest expense (forecast/warning.py)
    },
    "run": {
        "seed": 0,
        "out": "reports",
        "name": "",
        "train_forecasts": True,    # the main fold's training rows forecast too (predictions.csv)
    },
}

CHOICES = {
    ("data", "dataset"): ("beijing", "beijing-multisite", "synthetic", "csv"),
    ("data", "time_label"): ("start", "end", "middle"),
    ("task", "mode"): ("observed", "forecast"),
    ("task", "target_transform"): ("auto", *TARGET_TRANSFORMS),
    ("training", "optimizer"): ("adamw", "sgd", "rmsprop"),
    ("training", "activation"): ("relu", "tanh", "gelu"),
    ("training", "lr_schedule"): ("plateau", "cosine", "none"),
    ("training", "loss"): ("mse", "pinball"),
}


def _at_least(low, what: str | None = None) -> tuple:
    """A range rule: ``low`` or more (``what`` says so in the message's words)."""
    return lambda v: v >= low, what or ("0 or more" if low == 0 else f"at least {low}")


#: Most daily lags a task takes (ten years).
MAX_LAGS = 3650
#: Longest run name: the temporary directory adds about 30 characters to it, and a file
#: system's names stop at 255 bytes.
MAX_NAME = 200

#: Numeric options outside whose range a run cannot mean anything: (test, what it needs).
RANGES = {
    **{("task", key): _at_least(1) for key in ("horizon", "sequence_length",
                                                "hourly_hours")},
    ("task", "lags"): (lambda v: 1 <= v <= MAX_LAGS, f"from 1 to {MAX_LAGS} (days)"),
    **{("training", key): _at_least(1) for key in ("seeds", "batch_size",
                                                    "max_steps_per_epoch", "max_epochs",
                                                    "hidden", "layers", "devices",
                                                    "num_nodes")},
    **{(section, key): _at_least(0) for section, key in (
        ("task", "max_fill_days"), ("training", "patience"), ("training", "weight_decay"),
        ("quality", "stuck_floor"), ("quality", "dewpoint_tolerance"))},
    ("data", "synthetic_stations"): _at_least(1),
    ("data", "min_hours"): (lambda v: 1 <= v <= 24, "from 1 to 24 (hours of a day)"),
    ("diagnostics", "max_epochs"): _at_least(1),
    ("quality", "stuck_hours"): _at_least(2),
    ("evaluation", "n_boot"): _at_least(10),
    ("split", "folds"): _at_least(0, "0 (as many as fit) or more"),
    ("training", "max_batch_size"): _at_least(0, "0 (no cap) or more"),
    ("training", "max_val_rows"): _at_least(0, "0 (every validation row) or more"),
    ("training", "jobs"): _at_least(0, "0 (one per CPU core) or more"),
    ("training", "gradient_clip"): _at_least(0, "0 (none) or more"),
    ("training", "threads"): _at_least(0, "0 (torch's default) or more"),
    ("task", "weather_error"): (lambda v: 0 <= v <= 10, "between 0 (a perfect forecast) and "
                                "10 times the typical day-ahead errors"),
    ("training", "learning_rate"): (lambda v: v > 0, "above 0"),
    ("training", "momentum"): (lambda v: 0 <= v < 1, "from 0 to below 1"),
    ("training", "dropout"): (lambda v: 0 <= v < 1, "from 0 to below 1"),
    ("evaluation", "exceedance_threshold"): (lambda v: v > 0, "above 0 µg/m³"),
    # (forecast predict --warning-cost-loss reads this rule too)
    ("evaluation", "warning_cost_loss"): (
        lambda v: 0 <= v < 1, "0 (warn at the best CSI) or a cost/loss ratio above 0 and "
        "below 1 (acting on a warning costs this share of the loss it avoids)"),
    ("run", "seed"): (lambda v: 0 <= v < SEEDS, "from 0 to 2**32 - 1"),
}
#: Most networks in a seed ensemble, units in a layer, layers, devices (or nodes, or torch
#: threads), bootstrap resamples and synthetic stations; beyond these a value cannot be
#: meant and fails deep in the run (an overflow, a hang, memory, a crash of the threads).
MAX_SEEDS, MAX_HIDDEN, MAX_LAYERS, MAX_DEVICES = 1000, 65536, 100, 1024
MAX_BOOT, MAX_SYNTHETIC_STATIONS = 100_000, 10_000
#: Most of any other count (rows in a batch, epochs, steps, jobs, hours, folds).
MAX_COUNT = 10 ** 9
#: Upper bounds of numeric options whose RANGES rule gives only the lower one:
#: (highest value, its unit in the message).
MAXIMA = {
    ("task", "horizon"): (MAX_LAGS, " (days)"),
    ("task", "sequence_length"): (MAX_LAGS, " (days)"),
    ("task", "max_fill_days"): (MAX_LAGS, " (days)"),
    ("task", "hourly_hours"): (24 * MAX_LAGS, " (hours)"),
    ("training", "seeds"): (MAX_SEEDS, ""),
    ("training", "hidden"): (MAX_HIDDEN, ""),
    ("training", "layers"): (MAX_LAYERS, ""),
    **{("training", key): (MAX_DEVICES, "") for key in ("devices", "num_nodes", "threads")},
    **{(section, key): (MAX_COUNT, "") for section, key in (
        ("training", "batch_size"), ("training", "max_batch_size"), ("training", "max_val_rows"),
        ("training", "max_steps_per_epoch"), ("training", "max_epochs"),
        ("training", "patience"), ("training", "jobs"), ("diagnostics", "max_epochs"),
        ("quality", "stuck_hours"), ("split", "folds"))},
    ("evaluation", "n_boot"): (MAX_BOOT, ""),
    ("data", "synthetic_stations"): (MAX_SYNTHETIC_STATIONS, ""),
}
#: Lists whose every element must be of one kind and pass a test: (kind, test, what).
LIST_RANGES = {
    ("models", "names"): (str, lambda v: True, "model names"),
    ("data", "stations"): (str, lambda v: True, "station names"),
    ("data", "time_columns"): (str, lambda v: True, "column names"),
    ("quality", "sentinels"): ((int, float), math.isfinite, "finite numbers"),
    ("diagnostics", "sweep_hidden"): (int, lambda v: 1 <= v <= MAX_HIDDEN,
                                      f"whole numbers from 1 to {MAX_HIDDEN}"),
    ("diagnostics", "sweep_layers"): (int, lambda v: 1 <= v <= MAX_LAYERS,
                                      f"whole numbers from 1 to {MAX_LAYERS}"),
    ("diagnostics", "learning_fractions"): ((int, float), lambda v: 0 < v <= 1,
                                            "shares above 0 and at most 1"),
}
#: Lightning's accelerators, by the names its Trainer takes.
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu", "hpu")
FREE_TABLES = {("data", "columns"), ("data", "units"), ("data", "coordinates"),
               ("quality", "bounds")}


def did_you_mean(word: str, choices, cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the nearest of ``choices`` to ``word``, or ``""``;
    letter case aside (``RIDGE`` is near ``ridge``)."""
    by_lower = {str(c).lower(): c for c in choices}
    near = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=cutoff)
    return f" (did you mean {by_lower[near[0]]!r}?)" if near else ""


def _check(values: dict, defaults: dict, where: str) -> None:
    for key, value in values.items():
        path = f"{where}.{key}" if where else key
        if key not in defaults:
            raise DataError(f"config: unknown option {path!r}{did_you_mean(key, defaults)}")
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise DataError(f"config: {path} must be a table")
            if tuple(path.split(".")) not in FREE_TABLES:
                _check(value, default, path)
            continue
        if isinstance(value, datetime.date) and isinstance(default, str):
            value = values[key] = value.isoformat()     # an unquoted TOML date
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, list):
            ok = isinstance(value, list)
        else:
            ok = isinstance(value, str)
        if not ok and path == "task.heating_season" and isinstance(value, str):
            check_season(value)         # its own wording: two days, as ["MM-DD", "MM-DD"]
        if not ok:
            raise DataError(f"config: {path} must be {type(default).__name__}, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise DataError(f"config: {path} must be a finite number, not {value!r}")
        key = tuple(path.split("."))
        rule = RANGES.get(key)
        if rule and not rule[0](value):
            raise DataError(f"config: {path} must be {rule[1]}, not {value!r}")
        highest, unit = MAXIMA.get(key, (None, ""))
        if highest is not None and value > highest:
            raise DataError(f"config: {path} must be at most {highest}{unit}, not {value!r}")
        listed = LIST_RANGES.get(key)
        if listed:
            kind, test, what = listed
            bad = [v for v in value
                   if isinstance(v, bool) or not isinstance(v, kind) or not test(v)]
            if bad:
                raise DataError(f"config: {path} must hold {what}, not {bad[0]!r}")
        choices = CHOICES.get(key)
        if choices and value not in choices:
            raise DataError(f"config: {path} = {value!r} is not one of {', '.join(choices)}")


def _merge(base: dict, update: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("columns", "units", "coordinates"):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    """Defaults, then the TOML file, then ``overrides`` (from flags); validated."""
    config = copy.deepcopy(DEFAULTS)
    names_given = bool(overrides and "names" in overrides.get("models", {}))
    if path:
        file = Path(path)
        if file.is_dir():
            raise DataError(f"config file {file} is a folder, not a TOML file")
        if not file.is_file():
            raise DataError(f"config file {file} not found")
        try:
            # utf-8-sig: a byte-order mark, as some editors on Windows write, is no statement
            loaded = tomllib.loads(file.read_text(encoding="utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"config file {file}: invalid TOML ({exc})") from None
        _check(loaded, DEFAULTS, "")
        config = _merge(config, loaded)
        names_given |= "names" in loaded.get("models", {})
    if overrides:
        _check(overrides, DEFAULTS, "")
        config = _merge(config, overrides)
    if not names_given:
        config["models"]["names"] = list(default_models(config["task"]["mode"]))
    validate(config)
    if config["training"]["jobs"] == 0:
        config["training"]["jobs"] = available_cores()
    if config["task"]["target_transform"] == "auto":
        config["task"]["target_transform"] = auto_target_transform(config["task"]["mode"])
    return config


def auto_target_transform(mode: str) -> str:
    """The networks' target transform for ``target_transform = "auto"``, chosen on the
    pooled validation years of the single-site data (three folds, seeds ensembled):
    ``log1p`` in forecast mode, where it lowered the combination's validation RMSE from
    32.3 to 31.9 µg/m³ and every network's validation CRPS; none in observed mode, where
    it raised every network's validation RMSE (mlp 49.9 → 50.6, tcn 50.4 → 51.7). On the
    12-site data in forecast mode (two folds) log1p leaves the combination's validation
    RMSE as it was (26.24 → 26.23), lowers the networks' validation CRPS by about 1 µg/m³
    (mlp 13.8 → 12.8) and raises their RMSE a little (mlp 27.1 → 27.4, gru 27.2 → 27.8)."""
    return "log1p" if mode == "forecast" else DEFAULT_TARGET_TRANSFORM


def available_cores() -> int:
    """The CPU cores this process may run on (``training.jobs = 0``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not on Linux
        return max(1, os.cpu_count() or 1)


def validate(config: dict) -> None:
    _check(config, DEFAULTS, "")
    names = config["models"]["names"]
    unknown = [n for n in names if n not in ALL_MODELS]
    if unknown:
        raise DataError(f"unknown model {unknown[0]!r}{did_you_mean(unknown[0], ALL_MODELS)}; "
                        f"known: {', '.join(ALL_MODELS)}")
    if not names:
        raise DataError("no models to run: give at least one with --models")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"config: models.names lists {twice[0]!r} twice")
    if reads_target_hours(names) and config["task"]["mode"] != "forecast":
        needs = [n for n in names if reads_target_hours([n])]
        raise DataError(f"model {needs[0]!r} forecasts from the target day's hourly weather: "
                        "it runs in forecast mode only (--mode forecast)")
    sweep_model = config["diagnostics"]["sweep_model"]
    if (sweep_model in ALL_MODELS and reads_target_hours([sweep_model])
            and config["task"]["mode"] != "forecast"):
        raise DataError(f"config: diagnostics.sweep_model = {sweep_model!r} forecasts from the "
                        "target day's hourly weather: forecast mode only (--mode forecast)")
    task = config["task"]
    built, (_, last) = hourly_hours(config), hourly_hours_read(names)
    if built < last:
        reader = next(n for n in names if spec(n).hourly_hours == last)
        raise DataError(f"model {reader!r} reads the last {last} hours up to the issue time: "
                        f"task.hourly_hours (--hourly-hours) must be at least {last} with it, "
                        f"not {task['hourly_hours']}")
    check_issue_hours(task["train_issue_hours"])
    check_holidays(task["holidays"])
    check_season(task["heating_season"])
    if task["weather_step"] not in WEATHER_STEPS:
        raise DataError(f"config: task.weather_step must be one of "
                        f"{', '.join(map(str, WEATHER_STEPS))} hours (a whole number of "
                        f"steps a day), not {task['weather_step']}")
    for key in ("weather_step", "weather_error"):
        if task[key] != DEFAULTS["task"][key] and task["mode"] != "forecast":
            raise DataError(f"config: task.{key} describes the target day's weather "
                            "forecast, an input in forecast mode only (--mode forecast)")
    negative = {k: v for k, v in task["weather_error_sizes"].items() if v < 0}
    if negative:
        raise DataError(f"config: task.weather_error_sizes.{next(iter(negative))} must be 0 "
                        f"or more, not {next(iter(negative.values()))}")
    if config["diagnostics"]["sweep_model"] not in NETWORK_MODELS:
        raise DataError(f"config: diagnostics.sweep_model = "
                        f"{config['diagnostics']['sweep_model']!r} is not one of "
                        f"{', '.join(NETWORK_MODELS)}")
    # an empty grid gives the diagnostic nothing to fit (it would fail after the models)
    for key, switch, flag in (("sweep_hidden", "capacity_sweep", "--no-capacity-sweep"),
                              ("sweep_layers", "capacity_sweep", "--no-capacity-sweep"),
                              ("learning_fractions", "learning_curve", "--no-learning-curve")):
        if config["diagnostics"][switch] and not config["diagnostics"][key]:
            raise DataError(f"config: diagnostics.{key} is empty: give at least one value, "
                            f"or turn diagnostics.{switch} off ({flag})")
    QualityRules.from_config(config["quality"])
    check_coordinates(config["data"]["coordinates"])
    _check_data(config["data"])
    _check_run_name(config["run"]["name"])
    _check_run_out(config["run"]["out"])
    _check_split(config["split"])
    _check_strategy(config["training"]["strategy"])
    if config["training"]["accelerator"] not in ACCELERATORS:
        raise DataError(f"config: training.accelerator = "
                        f"{config['training']['accelerator']!r} is not one of "
                        f"{', '.join(ACCELERATORS)}")


#: the ``[data]`` keys that describe a CSV of one's own (read only for dataset csv)
CSV_ONLY_KEYS = ("path", "station", "station_column", "time_column", "time_columns",
                 "time_format", "utc_offset", "time_zone", "time_label", "parameter_column",
                 "value_column", "stations_in_columns", "wind_dir_degrees", "columns", "units",
                 "coordinates")
SYNTHETIC_ONLY_KEYS = ("synthetic_stations", "synthetic_start", "synthetic_end")
#: read only for the built-in UCI sets (the folder searched for their files)
BUILTIN_ONLY_KEYS = ("data_dir",)


def ignored_data_keys(data: dict) -> list[str]:
    """The ``[data]`` keys set away from their defaults that the configured dataset does not
    read: the CSV keys under a built-in or synthetic dataset, the synthetic ones under
    any other (``data.columns`` or ``data.units`` under ``dataset = "beijing"``, say), and
    ``data_dir`` (``--data-dir``) under a CSV or the synthetic data."""
    dataset = data["dataset"]     # a config's is a name: the CLI splits csv:PATH
    unread = (() if dataset == "csv" else CSV_ONLY_KEYS) + (
        () if dataset == "synthetic" else SYNTHETIC_ONLY_KEYS) + (
        () if dataset in ("beijing", "beijing-multisite") else BUILTIN_ONLY_KEYS)
    return [f"data.{k}" for k in unread if data[k] != DEFAULTS["data"][k]]


def _check_data(data: dict) -> None:
    """The ``[data]`` options that only make sense together, and the synthetic period."""
    if data["station"] and data["station_column"]:
        raise DataError("config: data.station names the one station of a file without a "
                        "station column; data.station_column names that column: set one")
    for column, name in data["columns"].items():
        # (a list, a table or "" gave "mapped column(s) not in the file" on reading; a
        # whole number is a header or a parameter code written as a number, e.g. 88101)
        if isinstance(name, bool) or not isinstance(name, (str, int)) or not str(name).strip():
            raise DataError(f"config: data.columns.{column} must be the file's column name "
                            f"(text, or a whole number), not {name!r}")
    for column, unit in data["units"].items():
        if column not in CSV_CANONICAL:
            raise DataError(f"config: data.units.{column}: not a canonical column"
                            + did_you_mean(column, CSV_CANONICAL, cutoff=0.5)
                            + f"; the units table is keyed by {', '.join(CSV_CANONICAL)}")
        if not isinstance(unit, str):
            raise DataError(f"config: data.units.{column} must be a unit's name, not {unit!r}")
        known = UNIT_CONVERSIONS.get(column)
        flag = column in ("rain", "snow") and unit.strip().startswith("0/1")
        if known is not None and not flag and unit_key(unit) not in known:
            raise DataError(f"config: data.units.{column} = {unit!r} is not a unit this tool "
                            f"converts; known: {', '.join(sorted(known))}")
    if data["dataset"] == "synthetic":
        days = []
        for key in ("synthetic_start", "synthetic_end"):
            try:
                day = pd.Timestamp(data[key])
            except (ValueError, TypeError, OverflowError):
                day = pd.NaT
            if pd.isna(day) or day != day.normalize() or not 1900 <= day.year <= 2200:
                raise DataError(f"config: data.{key} must be a date (YYYY-MM-DD), "
                                f"not {data[key]!r}")
            days.append(day)
        if days[1] <= days[0]:
            raise DataError("config: data.synthetic_end must come after data.synthetic_start "
                            f"({days[0]:%Y-%m-%d} to {days[1]:%Y-%m-%d})")


def _check_strategy(strategy: str) -> None:
    """``training.strategy``: "auto" or a name in Lightning's strategy registry (read only
    when another name is given: importing Lightning takes a second)."""
    if strategy == "auto":
        return
    from lightning.pytorch.strategies import StrategyRegistry

    known = ["auto", *StrategyRegistry.available_strategies()]
    if strategy not in known:
        raise DataError(f"config: training.strategy = {strategy!r} is not a Lightning "
                        f"strategy{did_you_mean(strategy, known)}; e.g. auto, ddp, "
                        "ddp_spawn, fsdp")


def _check_run_name(name: str) -> None:
    """A run directory's name: one visible folder inside ``run.out`` (a name starting
    with "." is hidden, and ``.tmp-*`` are the temporary directories of runs, which a
    later run removes once their owner has gone)."""
    if name and (name.startswith(".") or any(c in name for c in "/\\\0")):
        raise DataError(f"config: run.name must be one folder's name (no '/' or '\\', not "
                        f"starting with '.'), not {name!r}")
    if len(name.encode()) > MAX_NAME:
        raise DataError(f"config: run.name is {len(name.encode())} bytes long; at most "
                        f"{MAX_NAME}")


def _check_run_out(out: str) -> None:
    """``run.out``, the folder run directories are written in: an empty one would write
    them in the current folder. (An empty ``data.data_dir`` or ``data.path`` means "not
    set": the UCI files are looked up elsewhere, and a CSV without a path is an error.)"""
    if not out.strip():
        raise DataError("config: run.out must name a folder, not an empty string "
                        f"(the default is {DEFAULTS['run']['out']!r})")


def _check_split(split: dict) -> None:
    """``split.*_end``: empty (the dataset's default) or a day written YYYY-MM-DD, in the
    order train_end < val_end < test_end where several are given."""
    days = {}
    for key in ("train_end", "val_end", "test_end"):
        text = split[key]
        if not text:
            continue
        try:
            days[key] = datetime.datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            raise DataError(f"config: split.{key} must be a day written YYYY-MM-DD, not "
                            f"{text!r}") from None
    for earlier, later in itertools.pairwise(days):
        if days[earlier] >= days[later]:
            raise DataError(f"config: split.{earlier} ({split[earlier]}) must come before "
                            f"split.{later} ({split[later]})")


def check_issue_hours(hours: list) -> None:
    """``task.train_issue_hours``: distinct whole hours 0..22 (23, the end of the issue
    day, is the forecast every model makes and is scored on)."""
    for hour in hours:
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 22:
            raise DataError(f"config: task.train_issue_hours must hold whole hours 0..22 "
                            f"(23, the end of the issue day, is always used), not {hour!r}")
    if len(set(hours)) != len(hours):
        raise DataError(f"config: task.train_issue_hours lists an hour twice: {hours}")


def check_holidays(code: str) -> None:
    """``task.holidays``: ``""`` (none) or a country code the ``holidays`` package knows
    (ISO 3166, alpha-2 or alpha-3), optionally followed by ``-`` and one of that
    country's subdivisions (``"US-CA"``); one line naming the nearest known code
    otherwise. The package is imported only for a code to check."""
    if code == "":
        return
    if code.strip().lower() in ("none", "off", "false"):     # not "no": Norway
        raise DataError(f"config: task.holidays = {code!r}: for no holidays give \"\" "
                        "(--holidays \"\")")
    if code.endswith("-"):
        raise DataError(f"config: task.holidays = {code!r} has an empty subdivision: give "
                        f"{code[:-1]!r} alone or a subdivision after the hyphen (\"US-CA\")")
    import holidays

    supported = holidays.list_supported_countries()
    country, subdivision = country_and_subdivision(code)
    if country not in supported:
        # a country's name ("Germany") is met by its code, else the nearest code
        by_name = _holiday_country_names().get("".join(filter(str.isalpha, code.lower())))
        hint = f" (did you mean {by_name!r}?)" if by_name else did_you_mean(country, supported)
        raise DataError(f"config: task.holidays = {code!r} is not a country the holidays "
                        f"package knows{hint}; give an ISO 3166 "
                        "code such as \"CN\", \"DE\", \"IN\" or \"US\" (with a "
                        "subdivision: \"US-CA\"), or \"\" for none")
    if subdivision is None or subdivision in supported[country]:
        return
    known = supported[country]
    listed = (f"; known: {', '.join(known[:20])}" + (", …" if len(known) > 20 else "")
              if known else f"; the holidays package has none for {country}: give "
              f"{country!r} alone")
    raise DataError(f"config: task.holidays = {code!r}: {country} has no subdivision "
                    f"{subdivision!r}{did_you_mean(subdivision, known)}{listed}")


def _holiday_country_names() -> dict[str, str]:
    """The ``holidays`` package's countries by name, lower case and letters only
    (``"unitedstates"`` → ``"US"``), from its registry; empty where a version lacks it."""
    try:
        from holidays.registry import COUNTRIES
    except ImportError:
        return {}
    return {"".join(filter(str.isalpha, entry[0].lower())): entry[1]
            for entry in COUNTRIES.values() if len(entry) >= 2}


def hourly_hours(config: dict) -> int:
    """Hours of the hourly window the task builds: ``task.hourly_hours`` when a requested
    model (or the capacity sweep's) reads all of it or ``task.hourly_sequence`` asks for
    it; else the most hours up to the issue time a requested model reads (hgb_hourly's
    24); else 0 (none, so a run without such a model does not hold it in memory)."""
    names = [*config["models"]["names"], config["diagnostics"]["sweep_model"]]
    whole, last = hourly_hours_read(names)
    if config["task"]["hourly_sequence"] or whole:
        return int(config["task"]["hourly_hours"])
    return last


def target_hours(config: dict) -> bool:
    """Whether the task builds the target day's weather and PM2.5 hour by hour: when a
    requested model (or the capacity sweep's) reads them (forecast mode only,
    :func:`validate`)."""
    return reads_target_hours([*config["models"]["names"],
                               config["diagnostics"]["sweep_model"]])


def dumps(config: dict) -> str:
    return tomli_w.dumps(config)
