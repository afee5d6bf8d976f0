"""What a weather forecast every 3 hours costs a forecast-mode run, against hourly.

A forecast-mode run reads the target day's weather hour by hour; a weather model
publishes it every 3 or 6 hours. This script scores the run's stored models (the fits
that forecast its test period) on the main split's test rows three ways, changing only
the target day's weather (the ``forecast_*`` features and the hours ``hgb_by_hour``
reads; day D's observed record stays hourly):

- ``hourly``: as the run scored them (the observed weather of the target day);
- ``3-hourly, interpolated``: each day's weather at 00, 03, ... 21 h only, made hourly
  as ``forecast predict --weather`` does it (:func:`forecast.predict.weather_hours`);
- ``3-hourly, hours missing``: the same rows with the other hours left missing, as a
  3-hourly file was read before that interpolation.

    python benchmarks/coarse_weather.py reports/<forecast-mode run> [--step 3]

It prints the test RMSE (µg/m³) of every stored model each way. The target day's
observed weather stands in for a forecast (perfect prognosis), so the figures measure
the step alone, not a weather model's errors.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forecast import daily as daily_module  # noqa: E402
from forecast import registry  # noqa: E402
from forecast.config import load_config  # noqa: E402
from forecast.pipeline import load_data, make_task  # noqa: E402
from forecast.predict import weather_hours  # noqa: E402
from forecast.results import RunResult  # noqa: E402
from forecast.schema import WEATHER_COLUMNS  # noqa: E402
from forecast.task import without_features  # noqa: E402


def coarse(hourly: pd.DataFrame, step: int, interpolate: bool, rain_is_flag: bool
           ) -> pd.DataFrame:
    """``hourly`` with each day's weather kept at every ``step``-th hour, the other hours
    interpolated day by day as a forecast file of that day would be, or left missing."""
    weather = [c for c in WEATHER_COLUMNS if c in hourly.columns]
    kept = hourly["time"].dt.hour % step == 0
    out = hourly.copy()
    if not interpolate:
        for column in weather:
            out.loc[~kept, column] = np.nan
        return out
    rows = hourly.loc[kept, ["station", "time", *weather]].reset_index(drop=True)
    # one "station" per station and day: each day is a file of its own
    day = rows["station"].astype(str) + " " + rows["time"].dt.strftime("%Y-%m-%d")
    rows["station"] = pd.Categorical(day)
    rows = rows.sort_values(["station", "time"], kind="stable").reset_index(drop=True)
    filled, _ = weather_hours(rows, "benchmark", rain_is_flag=rain_is_flag)
    filled["station"] = filled["station"].astype(str).str.rsplit(" ", n=1).str[0]
    merged = out[["station", "time"]].assign(station=out["station"].astype(str)).merge(
        filled, on=["station", "time"], how="left")
    for column in weather:
        if column == "wind_dir":
            out[column] = pd.Categorical(merged[column], dtype=hourly[column].dtype)
        else:
            out[column] = merged[column].to_numpy()
    return out


def with_target_day_of(task, loaded, hourly: pd.DataFrame, config: dict, dropped: list[str]):
    """``task`` with the target day's weather inputs (the ``forecast_*`` columns and
    ``target_hours``) those of the data with the hourly record ``hourly`` instead; day
    D's inputs and the targets stay ``task``'s."""
    original = loaded.hourly
    loaded.hourly = hourly
    try:
        other = without_features(
            make_task(loaded, daily_module.to_daily(hourly, config["data"]["min_hours"]),
                      config), dropped)
    finally:
        loaded.hourly = original
    assert (other.rows["issue_day"].to_numpy() == task.rows["issue_day"].to_numpy()).all()
    columns = [task.feature_names.index(c) for c in task.forecast_columns()]
    X = task.X.copy()
    X[:, columns] = other.X[:, columns]
    return replace(task, X=X, target_hours=other.target_hours)


def rmse_table(run_dir: Path, tasks: dict, rows: np.ndarray) -> pd.DataFrame:
    """Test RMSE (µg/m³) of every stored model (rows) on each task (columns)."""
    y = next(iter(tasks.values())).y[rows]
    scores: dict = {}
    for label, one in tasks.items():
        for name, values in predictions(run_dir, one, rows).items():
            scores.setdefault(name, {})[label] = float(np.sqrt(np.mean((values - y) ** 2)))
    return pd.DataFrame(scores).T.round(2)


def load_run(run_dir: Path):
    """The forecast-mode run's config, result, loaded data and task (its main split)."""
    config = load_config(run_dir / "config.toml")
    if config["task"]["mode"] != "forecast":
        sys.exit(f"{run_dir}: not a forecast-mode run")
    result = RunResult.read(run_dir)
    loaded, daily = load_data(config, notes_to_stderr=False)
    task = without_features(make_task(loaded, daily, config), result.dropped_features)
    return config, result, loaded, task


def predictions(run_dir: Path, task, rows) -> dict[str, np.ndarray]:
    from baselines import load_baseline
    from models import load_model

    out = {}
    for path in sorted((run_dir / "models").iterdir()):
        name = path.stem
        if name in ("persistence", "climatology"):
            continue
        model = load_baseline(path) if path.suffix == ".skops" else load_model(path)
        out[name] = model.predict(task, rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--step", type=int, default=3, help="hours between the rows kept")
    args = parser.parse_args()
    config, result, loaded, task = load_run(args.run_dir)
    rows = task.mask("test")
    rain_is_flag = loaded.rain_is_flag
    tasks = {"hourly": task}
    for label, interpolate in (("interpolated", True), ("hours missing", False)):
        tasks[f"{args.step}-hourly, {label}"] = with_target_day_of(
            task, loaded, coarse(loaded.hourly, args.step, interpolate, rain_is_flag),
            config, result.dropped_features)
    table = rmse_table(args.run_dir, tasks, rows)
    first, last = task.rows.loc[rows, "target_day"].agg(["min", "max"])
    print(f"{args.run_dir}: test RMSE (µg/m³) on {int(rows.sum())} target days "
          f"({first:%Y-%m-%d} .. {last:%Y-%m-%d}), the target day's weather each way")
    print(table.to_string())
    print(f"(registry: {', '.join(n for n in table.index if registry.kind_of(n) == 'network')}"
          " are networks)")


if __name__ == "__main__":
    main()
