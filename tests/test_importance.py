"""Grouped permutation importance: a group's inputs move together across the validation
rows (matrix, daily sequence, hourly window, target day's hours), a model that does not
read a group is not moved by it, and the task is as it was afterwards."""

import numpy as np
import pytest

from baselines import SklearnBaseline
from forecast import daily
from forecast.importance import (
    COMBINED,
    GROUPS,
    group_of,
    importance_of,
    input_groups,
    permutation_importance,
)
from forecast.synthetic import generate_hourly
from forecast.task import build_task


@pytest.fixture(scope="module")
def hourly():
    return generate_hourly(seed=3, start="2010-01-01", end="2012-12-31")


@pytest.fixture(scope="module")
def task(hourly):
    """Forecast mode with the hourly window and the target day's hours: every part."""
    return build_task(hourly, daily.to_daily(hourly), dataset="synthetic", mode="forecast",
                      hourly_hours=24, target_hours=True)


class Reads:
    """A model whose forecast is one input of the task: a column of the matrix, a channel
    of the daily sequence's last day, of the hourly window's last hour or of the target
    day's first hour (plus the observed mean, so that its RMSE is that input's spread)."""

    def __init__(self, part: str, name: str) -> None:
        self.part, self.name = part, name

    def predict(self, task, rows):
        return np.nan_to_num(self._read(task, rows))          # missing inputs: 0

    def _read(self, task, rows):
        if self.part == "X":
            return task.X[rows, task.feature_names.index(self.name)].astype(float)
        if self.part == "sequence":
            return task.sequence[rows][:, -1, task.sequence_names.index(self.name)]
        if self.part == "hourly":       # the issue hour: the target day's 24 hours after it
            return task.hourly[rows, -25, task.hourly_names.index(self.name)]
        if self.part == "hourly_ahead":
            return task.hourly[rows, -1, task.hourly_names.index(self.name)]
        return task.target_hours[rows, 1, task.target_hour_names.index(self.name)]


def test_every_input_has_a_group_and_the_groups_are_those_named():
    assert group_of("pm25_lag3") == group_of("pm25_roll7_max") == group_of("pm25_filled") \
        == "PM2.5 daily means up to day D"
    assert group_of("pm25_h21") == group_of("pm25") == group_of("pm25_evening_mean") \
        == group_of("log_pm25_last_hour") == "PM2.5 within the days (hours, evenings)"
    assert group_of("wind_frac_NW") == group_of("calm_hours") == "wind up to day D"
    assert group_of("dewp_trend_12h") == group_of("rh_mean") == group_of("rain") \
        == "other weather up to day D"
    assert group_of("forecast_wind_u_night") == group_of("forecast_first_north_wind_hour") \
        == "target day's wind"
    assert group_of("forecast_dewp_change") == "change from day D to the target day"
    assert group_of("forecast_dewp_trend_12h") == "target day's other weather"
    assert group_of("upwind_pm25_evening") == "neighbouring stations"
    assert group_of("something_new") == "other"
    assert len({g for g, _ in GROUPS}) == len(GROUPS)


def test_the_task_groups_cover_each_input_once(task):
    groups = input_groups(task)
    for part, shape in (("X", task.X.shape), ("sequence", task.sequence.shape),
                        ("hourly", task.hourly.shape),
                        ("target_hours", task.target_hours.shape)):
        covered = np.zeros(shape[1:] if part in ("hourly", "target_hours") else shape[-1:],
                           dtype=int)
        combined = {name for name, _ in COMBINED}
        for where in (w for g, w in groups.items() if g not in combined):
            for name, hours, columns in where:
                if name == part and hours is None:
                    covered[columns] += 1
                elif name == part:
                    covered[np.ix_(hours, columns)] += 1
        assert (covered == 1).all(), part
    assert "target day's wind" in groups and "calendar" in groups
    # a combined group is its parts together
    for name, parts in COMBINED:
        assert groups[name] == [item for g in parts if g in groups for item in groups[g]]
    # the hourly window's target-day hours are the target day's, its earlier hours day D's
    end = task.hourly.shape[1] - 24
    wind = task.hourly_names.index("wind_u")
    for group, where in groups.items():
        for name, hours, columns in where:
            if name == "hourly" and wind in columns and group not in combined:
                assert group == ("target day's wind" if hours[0] >= end else "wind up to day D")


@pytest.mark.parametrize("part, name, group", [
    ("X", "pm25_lag1", "PM2.5 daily means up to day D"),
    ("X", "wind_speed_mean", "wind up to day D"),
    ("sequence", "pm25_filled", "PM2.5 daily means up to day D"),
    ("sequence", "temp_mean", "other weather up to day D"),
    ("hourly", "pm25", "PM2.5 within the days (hours, evenings)"),
    ("target_hours", "wind_u", "target day's wind"),
    ("hourly_ahead", "wind_v", "target day's wind"),
    ("target_hours", "dewp", "target day's other weather"),
])
def test_only_the_group_a_model_reads_moves_its_error(task, part, name, group):
    X, table, hours = task.X.copy(), task.sequence.table.copy(), task.hourly.copy()
    target = task.target_hours.copy()
    rows = np.flatnonzero(task.mask("val"))
    result = permutation_importance({"reads": Reads(part, name)}, task, rows, repeats=2)
    rises = {g["group"]: g["rise"] for g in result["reads"]["groups"]}
    assert rises[group] != 0, rises            # (a poor forecast may even gain)
    combined = {name for name, parts in COMBINED if group in parts}
    assert all(rises[name] != 0 for name in combined if name in rises), rises
    assert all(rise == 0 for g, rise in rises.items() if g != group and g not in combined), \
        rises
    # the task is as it was
    assert np.array_equal(task.X, X, equal_nan=True)
    assert np.array_equal(task.sequence.table, table, equal_nan=True)
    assert np.array_equal(task.hourly, hours, equal_nan=True)
    assert np.array_equal(task.target_hours, target, equal_nan=True)


def test_a_fitted_model_relies_most_on_what_drives_the_target(task):
    ridge = SklearnBaseline("ridge").fit(task)
    first = importance_of({"ridge": ridge}, task, seed=0)["ridge"]
    again = importance_of({"ridge": ridge}, task, seed=0)["ridge"]
    assert first == again                                   # the same shuffles
    assert first["rmse"] == pytest.approx(np.sqrt(np.mean(
        (ridge.predict(task, task.mask("val")) - task.y[task.mask("val")]) ** 2)), rel=1e-6)
    rises = {g["group"]: g for g in first["groups"]}
    # the synthetic PM2.5 persists and follows the target day's wind
    top = max(rises, key=lambda g: rises[g]["rise"])
    assert top in ("PM2.5 daily means up to day D", "PM2.5 within the days (hours, evenings)",
                   "all PM2.5 up to day D", "target day's wind", "all weather"), rises
    for g in rises.values():
        assert g["rise_low"] <= g["rise"] <= g["rise_high"]
    assert first["rows"] == int(task.mask("val").sum())
    assert importance_of({"ridge": ridge}, task, max_rows=50)["ridge"]["rows"] == 50


def test_the_task_is_restored_when_a_shuffle_or_a_forecast_fails(task, monkeypatch):
    X, hours = task.X.copy(), task.hourly.copy()
    rows = np.flatnonzero(task.mask("val"))

    class FailsShuffled:
        calls = 0

        def predict(self, on, rows):
            FailsShuffled.calls += 1
            if FailsShuffled.calls > 1:        # the unshuffled forecast, then a failure
                raise RuntimeError("a forecast that fails")
            return np.zeros(int(rows.sum()))

    with pytest.raises(RuntimeError):
        permutation_importance({"fails": FailsShuffled()}, task, rows, repeats=1)
    assert np.array_equal(task.X, X, equal_nan=True)
    # the second group (PM2.5 within the days: the matrix's columns, then the hourly
    # window's channel) whose hourly block cannot be taken: its matrix columns, changed
    # first, are put back
    from forecast import importance

    taken, ix = [], np.ix_

    def second_fails(*args):
        taken.append(args)
        if len(taken) == 3:
            raise MemoryError
        return ix(*args)

    monkeypatch.setattr(importance.np, "ix_", second_fails)
    with pytest.raises(MemoryError):
        permutation_importance({"reads": Reads("X", "pm25_lag1")}, task, rows, repeats=1)
    assert len(taken) == 3 and len(taken[2]) == 3      # the hourly window's block
    assert np.array_equal(task.X, X, equal_nan=True)
    assert np.array_equal(task.hourly, hours, equal_nan=True)


def test_each_rise_has_an_interval_over_the_days_and_two_models_a_paired_one(task):
    """A model reading one group has an interval above 0 for it and exactly 0 for the
    others; against a model reading another input, the difference's interval excludes 0
    where only one of them reads the group, and is the other's negated."""
    rows = np.flatnonzero(task.mask("val"))
    models = {"lag": Reads("X", "pm25_lag1"), "evening": Reads("X", "pm25_evening_mean")}
    result = permutation_importance(models, task, rows, repeats=2, n_boot=200)
    lag = {g["group"]: g for g in result["lag"]["groups"]}
    evening = {g["group"]: g for g in result["evening"]["groups"]}
    daily, within = "PM2.5 daily means up to day D", "PM2.5 within the days (hours, evenings)"
    assert lag[daily]["rise_ci"][0] > 0 and evening[within]["rise_ci"][0] > 0
    assert lag[within]["rise_ci"] == [0.0, 0.0] and lag[within]["rise"] == 0
    low, high = lag[daily]["against"]["evening"]
    assert low > 0 and high >= low
    assert evening[daily]["against"]["lag"] == pytest.approx([-high, -low])
    assert set(lag[daily]["against"]) == {"evening"}
    # a model that reads nothing of any group: every interval is 0
    same = permutation_importance({"a": models["lag"], "b": models["lag"]}, task, rows,
                                  repeats=1, n_boot=50)
    assert all(g["against"]["b"] == [0.0, 0.0] for g in same["a"]["groups"])

