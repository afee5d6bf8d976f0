"""How fast a forecast-mode run loses its accuracy when the weather forecast is wrong.

Forecast mode is fitted and scored with the target day's *observed* weather standing in
for a weather forecast (perfect prognosis): an upper bound. A real day-ahead forecast
errs. This script scores the run's stored models (the fits that forecast its test
period) on the main split's test rows with the target day's weather perturbed by
errors of a chosen size, day D's record and the targets unchanged, so an analyst can
see how much of the bound survives and which model holds up best.

The errors are an assumption, not a measured weather model: those a run with
``task.weather_error`` is fitted for (:func:`forecast.task.forecast_errors`, with the
default ``[task.weather_error_sizes]``). Day-ahead
forecast errors are mostly synoptic: one error per day for the whole region (every
station alike) and every hour of it, drawn for each day independently:

- temperature + N(0, 1.5 °C), dew point + N(0, 2 °C), pressure + N(0, 1 hPa);
- wind speed × exp(N(0, 0.3)); the wind direction turned by N(0, 30°) (to the nearest
  of the 16 compass points; calm stays calm);
- rain unchanged;

each standard deviation times ``--scale`` (default 0.5, 1 and 2: a good, a typical and a
poor day-ahead forecast). Each RMSE is the mean over ``--draws`` independent draws (3);
the seeds are fixed, so the figures repeat.

    python benchmarks/weather_errors.py reports/<forecast-mode run> [--scale 0.5,1,2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coarse_weather import load_run, rmse_table, with_target_day_of  # noqa: E402

from forecast.daily import complete_hours  # noqa: E402
from forecast.task import forecast_errors  # noqa: E402


def perturbed(hourly: pd.DataFrame, scale: float, seed: int) -> pd.DataFrame:
    """``hourly`` (every hour of every day) with :func:`forecast.task.forecast_errors`."""
    return forecast_errors(complete_hours(hourly), scale, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--scale", default="0.5,1,2",
                        help="error sizes, times the typical day-ahead errors")
    parser.add_argument("--draws", type=int, default=3,
                        help="independent draws of the errors; the RMSE is their mean")
    args = parser.parse_args()
    scales = [float(s) for s in args.scale.split(",")]
    config, result, loaded, task = load_run(args.run_dir)
    rows = task.mask("test")
    table = rmse_table(args.run_dir, {"observed (perfect)": task}, rows)
    for scale in scales:
        draws = [rmse_table(args.run_dir, {"one": with_target_day_of(
            task, loaded, perturbed(loaded.hourly, scale, seed), config,
            result.dropped_features)}, rows)["one"] for seed in range(args.draws)]
        table[f"errors × {scale:g}"] = pd.concat(draws, axis=1).mean(axis=1).round(2)
    first, last = task.rows.loc[rows, "target_day"].agg(["min", "max"])
    print(f"{args.run_dir}: test RMSE (µg/m³) on {int(rows.sum())} target days "
          f"({first:%Y-%m-%d} .. {last:%Y-%m-%d}), the target day's weather with day-level "
          "errors (× the typical day-ahead sizes: temperature 1.5 °C, dew point 2 °C, "
          f"pressure 1 hPa, wind speed ×exp(0.3), direction 30°), mean of {args.draws} draws")
    print(table.sort_values(table.columns[-1]).to_string())


if __name__ == "__main__":
    main()
