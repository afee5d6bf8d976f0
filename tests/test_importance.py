"""Grouped permutation importance: a group's inputs move together across the validation
rows (matrix, daily sequence, hourly window, target day's hours), a model that does not
read a group is not moved by it, and the task is as it was afterwards."""

import numpy as np
import pytest

from baselines import SklearnBaseline
from forecast import daily
from forecast.importance import (
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
        == "PM2.5 of the past days"
    assert group_of("pm25_h21") == group_of("pm25") == group_of("pm25_evening_mean") \
        == group_of("log_pm25_last_hour") == "PM2.5 of day D, hour by hour"
    assert group_of("wind_frac_NW") == group_of("calm_hours") == "wind of day D"
    assert group_of("dewp_trend_12h") == group_of("rh_mean") == group_of("rain") \
        == "other weather of day D"
    assert group_of("forecast_wind_u_night") == group_of("forecast_first_north_wind_hour") \
        == "target day's wind"
    assert group_of("forecast_dewp_change") == "target day's other weather"
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
        for where in groups.values():
            for name, hours, columns in where:
                if name == part and hours is None:
                    covered[columns] += 1
                elif name == part:
                    covered[np.ix_(hours, columns)] += 1
        assert (covered == 1).all(), part
    assert "target day's wind" in groups and "calendar" in groups
    # the hourly window's target-day hours are the target day's, its earlier hours day D's
    end = task.hourly.shape[1] - 24
    wind = task.hourly_names.index("wind_u")
    for group, where in groups.items():
        for name, hours, columns in where:
            if name == "hourly" and wind in columns:
                assert group == ("target day's wind" if hours[0] >= end else "wind of day D")


@pytest.mark.parametrize("part, name, group", [
    ("X", "pm25_lag1", "PM2.5 of the past days"),
    ("X", "wind_speed_mean", "wind of day D"),
    ("sequence", "pm25_filled", "PM2.5 of the past days"),
    ("sequence", "temp_mean", "other weather of day D"),
    ("hourly", "pm25", "PM2.5 of day D, hour by hour"),
    ("target_hours", "wind_u", "target day's wind"),
    ("hourly_ahead", "wind_v", "target day's wind"),
    ("target_hours", "dewp", "target day's other weather"),
])
def test_only_the_group_a_model_reads_moves_its_error(task, part, name, group):
    X, table, hours = task.X.copy(), task.sequence.table.copy(), task.hourly.copy()
    target = task.target_hours.copy()
    rows = np.flatnonzero(task.mask("val"))
    result = permutation_importance(Reads(part, name), task, rows, repeats=2)
    rises = {g["group"]: g["rise"] for g in result["groups"]}
    assert rises[group] != 0, rises            # (a poor forecast may even gain)
    assert all(rise == 0 for g, rise in rises.items() if g != group), rises
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
    assert top in ("PM2.5 of the past days", "PM2.5 of day D, hour by hour",
                   "target day's wind"), rises
    for g in rises.values():
        assert g["rise_low"] <= g["rise"] <= g["rise_high"]
    assert first["rows"] == int(task.mask("val").sum())
    assert importance_of({"ridge": ridge}, task, max_rows=50)["ridge"]["rows"] == 50
