"""The same task with the peer libraries: skforecast, Darts and NeuralForecast.

Single site (the UCI Beijing set), tomorrow's daily-mean PM2.5 issued at the end of day
D, scored on the target days of 2014 whose daily mean is valid, the days this project's
main test split scores. Every library reads the same daily table this project builds
(its daily means under the 75 % rule, and the daily weather: means of temperature, dew
point, pressure and wind speed, the day's strongest wind, rain and snow hours, and the
fractions of hours from each wind sector), and nothing of the hourly record:

- observed mode: the PM2.5 history and the weather up to day D;
- forecast mode: also the target day's weather (the stand-in for a weather forecast).

Each library is used as its documentation shows, with its defaults where this script
does not say otherwise:

- skforecast ``ForecasterRecursive`` over scikit-learn's ``HistGradientBoostingRegressor``
  with 14 lags and the weather as exogenous variables, fitted on every target day up to
  2013-12-31 (the training and validation years, as this project's final fit);
- Darts ``BlockRNNModel`` (GRU) and ``TCNModel``, 14 days in, one out, the weather as past
  covariates (in forecast mode with the next day's weather beside each day's), target and
  covariates scaled on the training years;
- NeuralForecast ``LSTM`` (h = 1, 14 days in), the weather as historic exogenous
  variables (in forecast mode the target day's as future exogenous ones);
- and, to tell the inputs from the learner, skforecast's gradient boosting again with
  this project's features of the mode (``features_MODE.csv``: day D's, from the hourly
  record too, and in forecast mode the target day's) instead of the daily weather.

The networks train on 2010–2012 and stop early on the 2013 validation year (patience 5
epochs for Darts, 5 validation checks for NeuralForecast), then forecast 2014 one day at
a time without refitting; each is an ensemble of ``--seeds`` seeds (the mean of their
forecasts), as this project's networks are. Missing daily means are linearly
interpolated in the series the libraries read (none of them takes gaps); only valid
days are scored.

Two steps, as the peers need their own environment (pandas < 3)::

    # in this project's environment: the daily table and the features
    python benchmarks/peers.py daily --out /tmp/peers
    # in a separate one (benchmarks/peers-constraints.txt pins it):
    python3 -m venv .venv-peers
    .venv-peers/bin/pip install torch==2.13.0
    .venv-peers/bin/pip install -c benchmarks/peers-constraints.txt skforecast darts neuralforecast
    .venv-peers/bin/python benchmarks/peers.py score /tmp/peers --mode observed \\
        --run reports/<run-id>

``--run`` adds this project's forecasts of the same days from a run directory of the same
mode (``forecast run [--mode forecast]``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

TEST_START, TEST_END = pd.Timestamp("2014-01-01"), pd.Timestamp("2014-12-31")
VAL_START = pd.Timestamp("2013-01-01")
LAGS = 14
WEATHER = ["temp_mean", "dewp_mean", "pres_mean", "wind_speed_mean", "wind_speed_max",
           "rain_total", "snow_total", "wind_frac_N", "wind_frac_NE", "wind_frac_E",
           "wind_frac_SE", "wind_frac_S", "wind_frac_SW", "wind_frac_W", "wind_frac_NW",
           "wind_frac_calm"]


def write_daily(out: Path, dataset: str) -> None:
    """This project's daily table of ``dataset`` (one station) as ``out/daily.csv``, and
    its task's features in each mode as ``out/features_MODE.csv`` (one row per target
    day: the features at the end of the day before, and in forecast mode the target
    day's weather), for the peer given this project's inputs."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from forecast.config import load_config
    from forecast.pipeline import load_data, make_task

    loaded, daily = load_data(load_config(overrides={"data": {"dataset": dataset}}))
    if daily["station"].nunique() != 1:
        raise SystemExit("the peers' comparison is for one station")
    out.mkdir(parents=True, exist_ok=True)
    daily[["date", "daily_mean_pm25", *WEATHER]].to_csv(out / "daily.csv", index=False)
    print(out / "daily.csv")
    for mode in ("observed", "forecast"):
        config = load_config(overrides={"data": {"dataset": dataset}, "task": {"mode": mode}})
        task = make_task(loaded, daily, config)
        features = pd.DataFrame(task.X, columns=task.feature_names)
        features.insert(0, "date", task.rows["target_day"].to_numpy())
        features.to_csv(out / f"features_{mode}.csv", index=False)
        print(out / f"features_{mode}.csv")


def read_daily(folder: Path) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """(daily mean PM2.5 with NaN where not valid, the same interpolated, the weather),
    on a daily index that ends with the test year."""
    daily = pd.read_csv(folder / "daily.csv", parse_dates=["date"]).set_index("date")
    daily = daily.asfreq("D").loc[:TEST_END]
    y = daily["daily_mean_pm25"].astype(float)
    weather = daily[WEATHER].astype(float).interpolate(limit_direction="both")
    return y, y.interpolate(limit_direction="both"), weather


def rmse(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(f) - np.asarray(y)) ** 2)))


# ------------------------------------------------------------------ skforecast


def skforecast_hgb(y: pd.Series, weather: pd.DataFrame, mode: str, seed: int,
                   exog: pd.DataFrame | None = None) -> pd.Series:
    """``exog``: instead of the daily weather, these variables, one row per target day."""
    from skforecast.model_selection import TimeSeriesFold, backtesting_forecaster
    from skforecast.recursive import ForecasterRecursive
    from sklearn.ensemble import HistGradientBoostingRegressor

    if exog is None:
        # skforecast's exogenous row t goes with the target of day t: day t − 1's weather
        # is what an issue at the end of day t − 1 knows; forecast mode adds day t's own
        exog = weather.shift(1).add_prefix("issue_day_")
        if mode == "forecast":
            exog = pd.concat([exog, weather.add_prefix("target_day_")], axis=1)
    start = y.index[1]
    y, exog = y.loc[start:], exog.loc[start:]
    forecaster = ForecasterRecursive(HistGradientBoostingRegressor(random_state=seed),
                                     lags=LAGS)
    fold = TimeSeriesFold(steps=1, initial_train_size=int((y.index < TEST_START).sum()),
                          refit=False, verbose=False)
    _, predictions = backtesting_forecaster(forecaster, y=y, exog=exog, cv=fold,
                                            metric="mean_squared_error", n_jobs=1,
                                            show_progress=False)
    return predictions["pred"]


# ------------------------------------------------------------------ Darts


def darts_model(kind: str, y: pd.Series, weather: pd.DataFrame, mode: str,
                seed: int) -> pd.Series:
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel, TCNModel
    from pytorch_lightning.callbacks import EarlyStopping

    covariates = weather.add_prefix("day_")
    if mode == "forecast":   # a past covariate at day t holds day t + 1's weather too
        covariates = pd.concat([covariates, weather.shift(-1).add_prefix("next_day_")],
                               axis=1).ffill()
    series = TimeSeries.from_series(y.astype("float32"))
    past = TimeSeries.from_dataframe(covariates.astype("float32"))
    scale_y, scale_x = Scaler(), Scaler()
    scale_y.fit(series.drop_after(VAL_START))
    scale_x.fit(past.drop_after(VAL_START))
    series, past = scale_y.transform(series), scale_x.transform(past)
    train = series.drop_after(VAL_START)
    val = series.slice(VAL_START - pd.Timedelta(days=LAGS), TEST_START - pd.Timedelta(days=1))
    options = dict(input_chunk_length=LAGS, output_chunk_length=1, n_epochs=200,
                   random_state=seed, pl_trainer_kwargs={
                       "accelerator": "cpu", "enable_progress_bar": False, "logger": False,
                       "enable_model_summary": False,
                       "callbacks": [EarlyStopping(monitor="val_loss", patience=5)]})
    model = (BlockRNNModel(model="GRU", **options) if kind == "gru"
             else TCNModel(**options))
    model.fit(train, past_covariates=past, val_series=val, val_past_covariates=past,
              verbose=False)
    forecasts = model.historical_forecasts(series, past_covariates=past, start=TEST_START,
                                           forecast_horizon=1, stride=1, retrain=False,
                                           last_points_only=True, verbose=False)
    return scale_y.inverse_transform(forecasts).to_series().rename("pred")


# ------------------------------------------------------------------ NeuralForecast


def neuralforecast_lstm(y: pd.Series, weather: pd.DataFrame, mode: str,
                        seed: int) -> pd.Series:
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM

    frame = pd.concat([y.rename("y"), weather], axis=1).rename_axis("ds").reset_index()
    frame.insert(0, "unique_id", "site")
    exogenous = {"futr_exog_list" if mode == "forecast" else "hist_exog_list": WEATHER}
    model = LSTM(h=1, input_size=LAGS, max_steps=1000, val_check_steps=20,
                 early_stop_patience_steps=5, scaler_type="robust", random_seed=seed,
                 accelerator="cpu", enable_progress_bar=False, logger=False,
                 enable_model_summary=False, **exogenous)
    n_test = int((frame["ds"] >= TEST_START).sum())
    n_val = int(((frame["ds"] >= VAL_START) & (frame["ds"] < TEST_START)).sum())
    forecasts = NeuralForecast(models=[model], freq="D").cross_validation(
        df=frame, n_windows=n_test, step_size=1, val_size=n_val, refit=False)
    return forecasts.set_index("ds")["LSTM"].rename("pred")


def project_features(folder: Path, mode: str, index: pd.DatetimeIndex) -> pd.DataFrame:
    """This project's features of ``mode`` (``features_MODE.csv``) on the daily index."""
    features = pd.read_csv(folder / f"features_{mode}.csv", parse_dates=["date"])
    return features.set_index("date").reindex(index)


#: name → fit(y, weather, mode, seed, folder): its forecasts of 2014's days
PEERS = {
    "skforecast hgb": lambda y, w, mode, seed, folder: skforecast_hgb(y, w, mode, seed),
    # the same learner given this project's inputs instead of the daily weather: how much
    # of the gap is in the inputs
    "skforecast hgb (our inputs)": lambda y, w, mode, seed, folder: skforecast_hgb(
        y, w, mode, seed, project_features(folder, mode, y.index)),
    "darts gru": lambda y, w, mode, seed, folder: darts_model("gru", y, w, mode, seed),
    "darts tcn": lambda y, w, mode, seed, folder: darts_model("tcn", y, w, mode, seed),
    "neuralforecast lstm": lambda y, w, mode, seed, folder: neuralforecast_lstm(y, w, mode,
                                                                                seed),
}
#: Deterministic for a seed: one fit is all there is to average.
SINGLE_FIT = ("skforecast hgb", "skforecast hgb (our inputs)")


def ours(run_dir: Path, days: pd.DatetimeIndex, y: pd.Series) -> dict[str, float]:
    """This project's forecasts of ``days`` in a run directory (the main fold's test)."""
    import json

    metrics = json.loads((run_dir / "metrics.json").read_text())
    predictions = pd.read_csv(run_dir / "predictions.csv", parse_dates=["date"],
                              dtype={"fold": str})
    test = predictions[(predictions["split"] == "test")
                       & predictions["date"].between(TEST_START, TEST_END)]
    wide = test.pivot_table(index="date", columns="model", values="y_pred")
    if not wide.index.equals(days):
        raise SystemExit(f"{run_dir}: its 2014 test days are not the valid days of the "
                         "daily table")
    recommended = metrics["pooled"]["recommendation"]["model"]
    names = [m for m in wide.columns if "_seed" not in m]
    return {f"pm25-forecast {m}" + (" (recommended)" if m == recommended else ""):
            rmse(y.loc[days], wide[m]) for m in names}


def score(folder: Path, mode: str, seeds: int, peers: list[str], run_dir: Path | None
          ) -> None:
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    y, y_filled, weather = read_daily(folder)
    days = y.loc[TEST_START:TEST_END].dropna().index
    print(f"single site, {mode} mode: RMSE (µg/m³) on the {len(days)} valid target days of "
          "2014")
    rows = []
    for name in peers:
        start = time.perf_counter()
        fits = [PEERS[name](y_filled, weather, mode, seed, folder)
                for seed in range(1 if name in SINGLE_FIT else seeds)]
        ensemble = pd.concat(fits, axis=1).mean(axis=1)
        if not ensemble.index.equals(pd.date_range(TEST_START, TEST_END)):
            raise SystemExit(f"{name}: forecasts for {len(ensemble)} days, not 2014's")
        each = [rmse(y.loc[days], f.loc[days]) for f in fits]
        rows.append((name, rmse(y.loc[days], ensemble.loc[days]),
                     f"{np.mean(each):.1f} ± {np.std(each):.1f} ({len(each)})"
                     if len(each) > 1 else "", time.perf_counter() - start))
        print(f"  {name:<30}{rows[-1][1]:>7.1f}   seeds {rows[-1][2]:<16}"
              f"{rows[-1][3]:>6.0f} s", flush=True)
    if run_dir is not None:
        for name, value in sorted(ours(run_dir, days, y).items(), key=lambda kv: kv[1]):
            print(f"  {name:<50}{value:>7.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    daily = commands.add_parser("daily", help="write this project's daily table")
    daily.add_argument("--out", type=Path, required=True)
    daily.add_argument("--dataset", default="beijing")
    scoring = commands.add_parser("score", help="fit the peers and score 2014")
    scoring.add_argument("folder", type=Path, help="the folder holding daily.csv")
    scoring.add_argument("--mode", choices=("observed", "forecast"), default="observed")
    scoring.add_argument("--seeds", type=int, default=3)
    scoring.add_argument("--peers", default=",".join(PEERS),
                         help=f"comma-separated, of: {', '.join(PEERS)}")
    scoring.add_argument("--run", type=Path, help="a run directory of the same mode")
    args = parser.parse_args(argv)
    if args.command == "daily":
        write_daily(args.out, args.dataset)
        return
    peers = [p.strip() for p in args.peers.split(",")]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")
    score(args.folder, args.mode, args.seeds, peers, args.run)


if __name__ == "__main__":
    main()
