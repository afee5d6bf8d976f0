"""What a model's forecasts rely on: grouped permutation importance on validation rows.

For each group of inputs (:data:`GROUPS`: PM2.5's daily means up to day D and its values
within the days, the wind and the other weather up to day D, the calendar, the
neighbouring stations, and in forecast mode the change from day D to the target day and
the target day's wind and other weather; and :data:`COMBINED`, all PM2.5 and all weather
at once) the group's values are shuffled
across the validation rows — every column of the group together, and the same channels
of the daily sequence, of the hourly window and of the target day's hours, so that a
row keeps its other inputs and gets another day's values of the group — and the rise of
the validation RMSE (µg/m³) says how much the model relies on it. Repeated with
:data:`REPEATS` shuffles; the spread between them is reported with the mean.

Written by hand rather than with :func:`sklearn.inspection.permutation_importance`, which
permutes the columns of one matrix, one at a time: these models read a matrix, windows of
days and of hours, and a group must move together (the lags of PM2.5 carry the same
information; shuffled one at a time each would seem unimportant).

Groups that carry the same information share its credit: with PM2.5 within the days
shuffled, its daily means still say much of it. A small rise is therefore "this group
adds little beside the others", not "the model ignores it"; and the parts of a combined
group can rise by more than the whole, where a model's weights on them offset each other.
Day D's weather and the target day's cannot be told apart: the change from one to the
other is an input of its own (and the by-hour models read the target day's dew point and
pressure as changes from the issue hour). The validation rows are those of the main
fold, forecast by the model fitted on the training years alone. Two kinds of noise are
reported: the shuffles' spread (the permutation's noise on those days) and a 95 % interval
over the days themselves — a moving-block bootstrap of the validation dates, every
station of a drawn date together (:mod:`forecast.significance`), the shuffles held fixed —
for each rise and, paired on the same draws, for the difference between two models'
rises: whether other validation days could have said otherwise. The interval is
conditional on the shuffles: the noise of their mean is the spread's, not the interval's.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from .significance import Units, percentile_interval
from .task import ForecastTask, sample_rows
from .windows import Windows

#: The input groups: (name, a pattern matching the features' and channels' names). A
#: name is in the first group whose pattern it matches in full; forecast mode's target
#: day's hours (``target_hours``) are the "target day" groups' whatever their names.
#: "Up to day D": day D and the days before it (the daily sequence's 14 days, the hourly
#: window's 72 hours).
GROUPS = (
    ("PM2.5 daily means up to day D", r"(log_)?pm25_(lag\d+|lag1_missing|missing_days_\d+"
                                      r"|last_valid|roll\d+_\w+|filled|valid)|days_since_valid"),
    ("PM2.5 within the days (hours, evenings)",
     r"(log_)?pm25(_h\d+|_evening_\w+|_day_max|_last_hour)?"),
    ("wind up to day D", r"wind_\w+|calm_hours|hours_since_(north_)?wind|north_wind_hours"),
    ("other weather up to day D", r"(temp|dewp|pres|rh|rain|snow)(_\w+)?"),
    ("calendar", r"doy_sin|doy_cos|weekday|heating_season|holiday"),
    ("neighbouring stations", r"(region|upwind)_\w+"),
    ("change from day D to the target day", r"forecast_(temp|dewp|pres)_change"),
    ("target day's wind", r"forecast_(wind_\w+|calm_hours\w*|north_wind_hours"
                          r"|hours_since_north_wind|first_north_wind_hour)"),
    ("target day's other weather", r"forecast_\w+"),
)
#: Groups shuffled together as well, as their parts share credit and offset each other:
#: (name, its groups).
COMBINED = (
    ("all PM2.5 up to day D", ("PM2.5 daily means up to day D",
                               "PM2.5 within the days (hours, evenings)")),
    ("all weather", ("wind up to day D", "other weather up to day D",
                     "change from day D to the target day", "target day's wind",
                     "target day's other weather")),
)
COMBINED_NAMES = frozenset(name for name, _ in COMBINED)
TARGET_WIND_CHANNELS = ("wind_speed", "wind_u", "wind_v", "strong_north_wind")
#: Shuffles per group, and most validation rows scored (a seeded sample beyond).
REPEATS, MAX_ROWS = 5, 20_000


def group_of(name: str) -> str:
    """The group of a feature or channel name (:data:`GROUPS`), "other" for none."""
    for group, pattern in GROUPS:
        if re.fullmatch(pattern, name):
            return group
    return "other"


def _target_hour_group(name: str) -> str:
    return "target day's wind" if name in TARGET_WIND_CHANNELS else "target day's other weather"


def _parts(task: ForecastTask) -> list[tuple[str, np.ndarray | None, list[str], object]]:
    """(array, its hours or None for the matrix and the sequence, its channel names, the
    group of a name) for every input of the task. The hourly window's hours after the
    issue time (forecast mode: the target day's weather) and the target day's hours
    belong to the target day's groups; the latter's first hour, the issue time, with
    them: the models read it as the start of the target day's sequence (their dew point
    and pressure features are changes from it), and shuffled apart from the hours after
    it, it would make changes no day had."""
    parts = [("X", None, task.feature_names, group_of),
             ("sequence", None, task.sequence_names, group_of)]
    if task.hourly is not None:
        hours, end = task.hourly.shape[1], task.issue_position
        parts.append(("hourly", np.arange(end), task.hourly_names, group_of))
        if end < hours:
            parts.append(("hourly", np.arange(end, hours), task.hourly_names,
                          _target_hour_group))
    if task.target_hours is not None:
        parts.append(("target_hours", np.arange(task.target_hours.shape[1]),
                      task.target_hour_names, _target_hour_group))
    return parts


def input_groups(task: ForecastTask) -> dict[str, list[tuple[str, np.ndarray | None,
                                                             list[int]]]]:
    """{group: [(array, its hours or None, the positions of the group's columns or
    channels)]} for the groups the task has inputs of, in :data:`GROUPS` order, then the
    :data:`COMBINED` groups of which the task has at least two parts."""
    groups: dict[str, list] = {}
    for part, hours, names, group_of_name in _parts(task):
        by_group: dict[str, list[int]] = {}
        for position, name in enumerate(names):
            by_group.setdefault(group_of_name(name), []).append(position)
        for group, columns in by_group.items():
            groups.setdefault(group, []).append((part, hours, columns))
    order = [g for g, _ in GROUPS] + ["other"]
    ordered = {g: groups[g] for g in order if g in groups}
    for name, parts in COMBINED:
        present = [g for g in parts if g in ordered]
        if len(present) > 1:
            ordered[name] = [item for g in present for item in ordered[g]]
    return ordered


def _shuffled(task: ForecastTask, rows: np.ndarray, where: list, order: np.ndarray,
              restore: list) -> ForecastTask:
    """The task with the group's inputs of ``rows`` taken from the rows ``rows[order]``.
    The daily sequence is a new :class:`~forecast.windows.Windows` whose shuffled windows
    are appended; the matrix, hourly window and target day's hours are changed in place
    (at scale a copy of each is gigabytes), each change recorded in ``restore`` as it is
    made, so that the caller can put back whatever was changed even if this fails."""
    sequence = task.sequence
    channels = [c for part, _, columns in where if part == "sequence" for c in columns]
    if channels:
        windows = sequence[rows]                       # (rows, L, channels)
        windows[:, :, channels] = windows[order][:, :, channels]
        index = sequence.index.copy()
        length = windows.shape[1]
        index[rows] = len(sequence.table) + np.arange(len(rows) * length).reshape(-1, length)
        sequence = Windows(np.concatenate([sequence.table,
                                           windows.reshape(-1, windows.shape[2])]), index)
    for part, hours, columns in where:
        if part == "sequence":
            continue
        array = getattr(task, part)
        block = np.ix_(rows, columns) if hours is None else np.ix_(rows, hours, columns)
        original = array[block]
        restore.append((array, block, original))
        array[block] = original[order]
    return dataclasses.replace(task, sequence=sequence)


def permutation_importance(models: dict, task: ForecastTask, rows: np.ndarray, *,
                           repeats: int = REPEATS, seed: int = 0, n_boot: int = 1000,
                           level: float = 0.95) -> dict:
    """Grouped permutation importance of each of ``models`` ({name: a model with
    ``predict(task, rows)``, µg/m³}) on ``rows`` (positions or a mask of the task's rows,
    with observed targets), every model on the same shuffles: {name: {"rows", "rmse"
    (unshuffled), "groups": [{"group", "n_inputs" (its features and daily channels),
    "rise" (mean RMSE rise over the shuffles, µg/m³), "rise_low", "rise_high" (the
    smallest and largest), "rise_ci" (its ``level`` interval over ``n_boot`` block
    bootstrap draws of the rows' dates), "against" ({other model: the interval of this
    model's rise minus the other's, paired on the same draws})}]}}, the groups in
    :data:`GROUPS` order, then the :data:`COMBINED` ones. The task's arrays are as they
    were afterwards, also when a forecast or a shuffle fails."""
    rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.sort(rows)
    rows = rows[np.isfinite(task.y[rows])]
    y = task.y[rows]
    selected = np.zeros(len(task.y), dtype=bool)     # the models take a mask of the rows
    selected[rows] = True
    plan = Units.of(task.rows["issue_day"].to_numpy()[rows]).plan(n_boot, seed)

    def rmse(model, on: ForecastTask) -> tuple[float, np.ndarray]:
        """The RMSE of ``model``'s forecasts of ``on``, and of each bootstrap draw."""
        squared = (np.asarray(model.predict(on, selected), dtype=float) - y) ** 2
        return float(np.sqrt(np.mean(squared))), plan.rmse(squared)

    base = {name: rmse(model, task) for name, model in models.items()}
    rng = np.random.default_rng(seed)
    groups = input_groups(task)
    rises: dict = {name: {group: [] for group in groups} for name in models}
    drawn: dict = {name: {} for name in models}     # each group's rise in each draw
    for group, where in groups.items():
        totals = {name: np.zeros(n_boot) for name in models}
        for _ in range(repeats):
            order, restore = rng.permutation(len(rows)), []
            try:
                shuffled = _shuffled(task, rows, where, order, restore)
                for name, model in models.items():
                    value, draws = rmse(model, shuffled)
                    rises[name][group].append(value - base[name][0])
                    totals[name] += draws
            finally:
                for array, block, original in reversed(restore):
                    array[block] = original
        for name in models:
            drawn[name][group] = totals[name] / repeats - base[name][1]

    def interval(draws: np.ndarray) -> list[float]:
        return list(percentile_interval(draws, level))

    return {name: {"rows": int(len(rows)), "rmse": base[name][0], "groups": [
        {"group": group,
         "n_inputs": sum(len(columns) for part, _, columns in groups[group]
                         if part in ("X", "sequence")),
         "rise": float(np.mean(values)), "rise_low": float(np.min(values)),
         "rise_high": float(np.max(values)), "rise_ci": interval(drawn[name][group]),
         "against": {other: interval(drawn[name][group] - drawn[other][group])
                     for other in models if other != name}}
        for group, values in rises[name].items()]} for name in models}


def importance_of(models: dict, task: ForecastTask, *, seed: int = 0,
                  max_rows: int = MAX_ROWS, n_boot: int = 1000) -> dict:
    """:func:`permutation_importance` of ``models`` ({entry name: fitted model}) on the
    validation rows of ``task`` (at most ``max_rows``, a seeded sample)."""
    rows = sample_rows(np.flatnonzero(task.mask("val")), max_rows, seed)
    return permutation_importance(models, task, rows, seed=seed, n_boot=n_boot)
