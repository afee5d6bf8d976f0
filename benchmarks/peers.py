"""The same task with the peer libraries: skforecast, Darts and NeuralForecast.

Tomorrow's daily-mean PM2.5 issued at the end of day D, on the single site (the UCI
Beijing set) or on the 12 sites (the UCI Beijing Multi-Site set, one global model over
the stations), scored on the valid target days of this project's main test period: 2014
for the single site, 2016-03-01 to 2017-02-28 for the 12 sites (``split.json``, written
from this project's task). Every library reads the same daily table this project builds
(its daily means under the 75 % rule, and the daily weather: means of temperature, dew
point, pressure and wind speed, the day's strongest wind, rain (and, on the single site,
snow) hours, and the fractions of hours from each wind sector), and nothing of the hourly
record:

- observed mode: the PM2.5 history and the weather up to day D;
- forecast mode: also the target day's weather (the stand-in for a weather forecast).

Each library is used as its documentation shows, with its defaults where this script
does not say otherwise:

- skforecast ``ForecasterRecursive`` (several stations: ``ForecasterRecursiveMultiSeries``,
  the station an ordinal category) over scikit-learn's ``HistGradientBoostingRegressor``
  with 14 lags and the weather as exogenous variables, fitted on every target day before
  the test period (the training and validation years, as this project's final fit);
- Darts ``BlockRNNModel`` (GRU) and ``TCNModel``, 14 days in, one out, the weather as past
  covariates (in forecast mode with the next day's weather beside each day's), target and
  covariates scaled on the training years (each station's series on its own), one model
  trained on every station's series;
- NeuralForecast ``LSTM`` (h = 1, 14 days in), the weather as historic exogenous
  variables (in forecast mode the target day's as future exogenous ones), one
  ``unique_id`` a station;
- and, to tell the inputs from the learner, skforecast's gradient boosting again with
  this project's features of the mode (``features_MODE.csv``: day D's, from the hourly
  record too, on the 12 sites the neighbouring stations' too, and in forecast mode the
  target day's) instead of the daily weather.

The networks train on the training years and stop early on the validation year (patience
5 epochs for Darts, 5 validation checks for NeuralForecast), then forecast the test
period one day at a time without refitting; each is an ensemble of ``--seeds`` seeds (the
mean of their forecasts), as this project's networks are. Missing daily means (and
weather) are linearly interpolated in the series the libraries read (none of them takes
gaps); only valid days are scored, pooled over the stations.

Two steps, as the peers need their own environment (pandas < 3)::

    # in this project's environment: the daily table, the features and the split
    python benchmarks/peers.py daily --out /tmp/peers [--dataset beijing-multisite]
    # in a separate one (benchmarks/peers-constraints.txt pins it):
    python3 -m venv .venv-peers
    .venv-peers/bin/pip install torch==2.13.0
    .venv-peers/bin/pip install -c benchmarks/peers-constraints.txt skforecast darts neuralforecast
    .venv-peers/bin/python benchmarks/peers.py score /tmp/peers --mode observed \\
        --run reports/<run-id>

``--run`` adds this project's forecasts of the same days from a run directory of the same
dataset and mode (``forecast run [--dataset ...] [--mode forecast]``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

LAGS = 14
WEATHER = ["temp_mean", "dewp_mean", "pres_mean", "wind_speed_mean", "wind_speed_max",
           "rain_total", "snow_total", "wind_frac_N", "wind_frac_NE", "wind_frac_E",
           "wind_frac_SE", "wind_frac_S", "wind_frac_SW", "wind_frac_W", "wind_frac_NW",
           "wind_frac_calm"]


def write_daily(out: Path, dataset: str) -> None:
    """This project's daily table of ``dataset`` as ``out/daily.csv`` (the weather columns
    of ``WEATHER`` it has), its task's features in each mode as ``out/features_MODE.csv``
    (one row per station and target day: the features at the end of the day before, and
    in forecast mode the target day's weather), and its main split's first validation,
    first test and last test target days as ``out/split.json``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from forecast.config import load_config
    from forecast.pipeline import load_data, make_task

    loaded, daily = load_data(load_config(overrides={"data": {"dataset": dataset}}))
    out.mkdir(parents=True, exist_ok=True)
    weather = [c for c in WEATHER if c in daily.columns]
    daily[["station", "date", "daily_mean_pm25", *weather]].to_csv(out / "daily.csv",
                                                                   index=False)
    print(out / "daily.csv")
    for mode in ("observed", "forecast"):
        config = load_config(overrides={"data": {"dataset": dataset}, "task": {"mode": mode}})
        task = make_task(loaded, daily, config)
        features = pd.DataFrame(task.X, columns=task.feature_names)
        features.insert(0, "date", task.rows["target_day"].to_numpy())
        features.insert(0, "station", task.rows["station"].astype(str).to_numpy())
        features.to_csv(out / f"features_{mode}.csv", index=False)
        print(out / f"features_{mode}.csv")
        if mode == "observed":
            days = task.rows["target_day"]
            split = {"dataset": dataset,
                     "val_start": str(days[task.split == "val"].min().date()),
                     "test_start": str(days[task.split == "test"].min().date()),
                     "test_end": str(days[task.split == "test"].max().date())}
            (out / "split.json").write_text(json.dumps(split, indent=1) + "\n")
            print(out / "split.json")


@dataclass
class Panel:
    """The daily table of ``daily.csv`` by station, each on a daily index that ends with
    the test period: ``y`` (daily mean PM2.5, µg/m³, NaN where not valid; columns the
    stations), ``y_filled`` (the same interpolated), ``weather`` (station → its daily
    weather, interpolated), and the split's dates."""

    y: pd.DataFrame
    y_filled: pd.DataFrame
    weather: dict[str, pd.DataFrame]
    val_start: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    @property
    def stations(self) -> list[str]:
        return list(self.y.columns)

    @property
    def weather_columns(self) -> list[str]:
        return list(next(iter(self.weather.values())).columns)

    def scored(self) -> pd.Series:
        """The valid test days' daily means, indexed by (station, date)."""
        test = self.y.loc[self.test_start:self.test_end].rename_axis("date").reset_index()
        test = test.melt(id_vars="date", var_name="station", value_name="y").dropna()
        return test.set_index(["station", "date"])["y"].sort_index()


def read_panel(folder: Path) -> Panel:
    split_file = folder / "split.json"
    if not split_file.exists():
        raise SystemExit(f"{split_file} is missing: write the folder again with "
                         "`peers.py daily`")
    split = {k: pd.Timestamp(v) for k, v in json.loads(split_file.read_text()).items()
             if k != "dataset"}
    daily = pd.read_csv(folder / "daily.csv", parse_dates=["date"], dtype={"station": str})
    columns = [c for c in daily.columns if c not in ("station", "date", "daily_mean_pm25")]
    y, weather = {}, {}
    for station, rows in daily.groupby("station", sort=True):
        rows = rows.set_index("date").asfreq("D").loc[:split["test_end"]]
        y[station] = rows["daily_mean_pm25"].astype(float)
        weather[station] = rows[columns].astype(float).interpolate(limit_direction="both")
    y = pd.DataFrame(y)
    return Panel(y=y, y_filled=y.interpolate(limit_direction="both"), weather=weather,
                 **split)


def rmse(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(f) - np.asarray(y)) ** 2)))


def long(forecasts: dict[str, pd.Series]) -> pd.Series:
    """Station → forecasts by date, as one Series indexed by (station, date)."""
    return pd.concat(forecasts, names=["station", "date"]).rename("pred")


# ------------------------------------------------------------------ skforecast


def skforecast_hgb(panel: Panel, mode: str, seed: int,
                   exog: dict[str, pd.DataFrame] | None = None) -> pd.Series:
    """``exog``: instead of the daily weather, these variables (station → one row per
    target day)."""
    from skforecast.model_selection import (
        TimeSeriesFold,
        backtesting_forecaster,
        backtesting_forecaster_multiseries,
    )
    from skforecast.recursive import ForecasterRecursive, ForecasterRecursiveMultiSeries
    from sklearn.ensemble import HistGradientBoostingRegressor

    if exog is None:
        # skforecast's exogenous row t goes with the target of day t: day t − 1's weather
        # is what an issue at the end of day t − 1 knows; forecast mode adds day t's own
        exog = {}
        for station, weather in panel.weather.items():
            exog[station] = weather.shift(1).add_prefix("issue_day_")
            if mode == "forecast":
                exog[station] = pd.concat([exog[station], weather.add_prefix("target_day_")],
                                          axis=1)
    start = panel.y_filled.index[1]
    series = {s: panel.y_filled[s].loc[start:] for s in panel.stations}
    exog = {s: exog[s].loc[start:] for s in panel.stations}
    fold = TimeSeriesFold(steps=1, initial_train_size=int(
        (panel.y_filled.loc[start:].index < panel.test_start).sum()), refit=False,
        verbose=False)
    estimator = HistGradientBoostingRegressor(random_state=seed)
    if len(series) == 1:
        (station,) = series
        _, predictions = backtesting_forecaster(
            ForecasterRecursive(estimator, lags=LAGS), y=series[station],
            exog=exog[station], cv=fold, metric="mean_squared_error", n_jobs=1,
            show_progress=False)
        return long({station: predictions["pred"]})
    _, predictions = backtesting_forecaster_multiseries(
        ForecasterRecursiveMultiSeries(estimator, lags=LAGS), series=series, exog=exog,
        cv=fold, metric="mean_squared_error", n_jobs=1, show_progress=False)
    return long({s: rows["pred"] for s, rows in predictions.groupby("level")})


# ------------------------------------------------------------------ Darts


def darts_model(kind: str, panel: Panel, mode: str, seed: int) -> pd.Series:
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel, TCNModel
    from pytorch_lightning.callbacks import EarlyStopping

    series, past = [], []
    for station in panel.stations:
        weather = panel.weather[station]
        covariates = weather.add_prefix("day_")
        if mode == "forecast":   # a past covariate at day t holds day t + 1's weather too
            covariates = pd.concat([covariates, weather.shift(-1).add_prefix("next_day_")],
                                   axis=1).ffill()
        series.append(TimeSeries.from_series(panel.y_filled[station].astype("float32")))
        past.append(TimeSeries.from_dataframe(covariates.astype("float32")))
    scale_y, scale_x = Scaler(), Scaler()   # one scaler a series, fitted on its training years
    scale_y.fit([s.drop_after(panel.val_start) for s in series])
    scale_x.fit([p.drop_after(panel.val_start) for p in past])
    series, past = scale_y.transform(series), scale_x.transform(past)
    train = [s.drop_after(panel.val_start) for s in series]
    val = [s.slice(panel.val_start - pd.Timedelta(days=LAGS),
                   panel.test_start - pd.Timedelta(days=1)) for s in series]
    options = dict(input_chunk_length=LAGS, output_chunk_length=1, n_epochs=200,
                   random_state=seed, pl_trainer_kwargs={
                       "accelerator": "cpu", "enable_progress_bar": False, "logger": False,
                       "enable_model_summary": False,
                       "callbacks": [EarlyStopping(monitor="val_loss", patience=5)]})
    model = (BlockRNNModel(model="GRU", **options) if kind == "gru"
             else TCNModel(**options))
    model.fit(train, past_covariates=past, val_series=val, val_past_covariates=past,
              verbose=False)
    forecasts = model.historical_forecasts(series, past_covariates=past,
                                           start=panel.test_start, forecast_horizon=1,
                                           stride=1, retrain=False, last_points_only=True,
                                           verbose=False)
    forecasts = scale_y.inverse_transform(forecasts)
    return long({s: f.to_series() for s, f in zip(panel.stations, forecasts, strict=True)})


# ------------------------------------------------------------------ NeuralForecast


def neuralforecast_lstm(panel: Panel, mode: str, seed: int) -> pd.Series:
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM

    frame = pd.concat([pd.concat([panel.y_filled[s].rename("y"), panel.weather[s]], axis=1)
                       .rename_axis("ds").reset_index().assign(unique_id=s)
                       for s in panel.stations], ignore_index=True)
    columns = panel.weather_columns
    exogenous = {"futr_exog_list" if mode == "forecast" else "hist_exog_list": columns}
    model = LSTM(h=1, input_size=LAGS, max_steps=1000, val_check_steps=20,
                 early_stop_patience_steps=5, scaler_type="robust", random_seed=seed,
                 accelerator="cpu", enable_progress_bar=False, logger=False,
                 enable_model_summary=False, **exogenous)
    days = panel.y_filled.index
    n_test = int((days >= panel.test_start).sum())
    n_val = int(((days >= panel.val_start) & (days < panel.test_start)).sum())
    forecasts = NeuralForecast(models=[model], freq="D").cross_validation(
        df=frame[["unique_id", "ds", "y", *columns]], n_windows=n_test, step_size=1,
        val_size=n_val, refit=False)
    return forecasts.set_index(["unique_id", "ds"])["LSTM"].rename_axis(
        ["station", "date"]).rename("pred")


def project_features(folder: Path, mode: str, panel: Panel) -> dict[str, pd.DataFrame]:
    """This project's features of ``mode`` (``features_MODE.csv``), station → on the
    daily index."""
    features = pd.read_csv(folder / f"features_{mode}.csv", parse_dates=["date"],
                           dtype={"station": str})
    return {s: rows.drop(columns="station").set_index("date").reindex(panel.y.index)
            for s, rows in features.groupby("station", sort=True)}


#: name → fit(panel, mode, seed, folder): its forecasts of the test period, indexed by
#: (station, date)
PEERS = {
    "skforecast hgb": lambda panel, mode, seed, folder: skforecast_hgb(panel, mode, seed),
    # the same learner given this project's inputs instead of the daily weather: how much
    # of the gap is in the inputs
    "skforecast hgb (our inputs)": lambda panel, mode, seed, folder: skforecast_hgb(
        panel, mode, seed, project_features(folder, mode, panel)),
    "darts gru": lambda panel, mode, seed, folder: darts_model("gru", panel, mode, seed),
    "darts tcn": lambda panel, mode, seed, folder: darts_model("tcn", panel, mode, seed),
    "neuralforecast lstm": lambda panel, mode, seed, folder: neuralforecast_lstm(
        panel, mode, seed),
}
#: Deterministic for a seed: one fit is all there is to average.
SINGLE_FIT = ("skforecast hgb", "skforecast hgb (our inputs)")


def ours(run_dir: Path, truth: pd.Series, panel: Panel) -> dict[str, float]:
    """This project's forecasts of the scored days (``truth``'s (station, date) index) in
    a run directory (its main fold's test)."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    predictions = pd.read_csv(run_dir / "predictions.csv", parse_dates=["date"],
                              dtype={"fold": str, "station": str})
    test = predictions[(predictions["split"] == "test")
                       & predictions["date"].between(panel.test_start, panel.test_end)]
    wide = test.pivot_table(index=["station", "date"], columns="model", values="y_pred")
    if not wide.index.equals(truth.index):
        raise SystemExit(f"{run_dir}: its test days are not the valid days of the daily "
                         "table (a run of another dataset?)")
    recommended = metrics["pooled"]["recommendation"]["model"]
    names = [m for m in wide.columns if "_seed" not in m]
    return {f"pm25-forecast {m}" + (" (recommended)" if m == recommended else ""):
            rmse(truth, wide[m]) for m in names}


def score(folder: Path, mode: str, seeds: int, peers: list[str], run_dir: Path | None
          ) -> None:
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    panel = read_panel(folder)
    truth = panel.scored()
    where = ("single site" if len(panel.stations) == 1
             else f"{len(panel.stations)} stations, pooled")
    print(f"{where}, {mode} mode: RMSE (µg/m³) on the {len(truth)} valid target days "
          f"from {panel.test_start.date()} to {panel.test_end.date()}")
    expected = pd.MultiIndex.from_product(
        [panel.stations, pd.date_range(panel.test_start, panel.test_end)],
        names=["station", "date"])
    for name in peers:
        start = time.perf_counter()
        fits = [PEERS[name](panel, mode, seed, folder).sort_index()
                for seed in range(1 if name in SINGLE_FIT else seeds)]
        ensemble = pd.concat(fits, axis=1).mean(axis=1)
        if not ensemble.index.equals(expected):
            raise SystemExit(f"{name}: {len(ensemble)} forecasts, not one for each "
                             "station and day of the test period")
        each = [rmse(truth, f.loc[truth.index]) for f in fits]
        seconds = time.perf_counter() - start
        spread = (f"{np.mean(each):.1f} ± {np.std(each):.1f} ({len(each)})"
                  if len(each) > 1 else "")
        print(f"  {name:<30}{rmse(truth, ensemble.loc[truth.index]):>7.1f}   "
              f"seeds {spread:<16}{seconds:>6.0f} s", flush=True)
    if run_dir is not None:
        for name, value in sorted(ours(run_dir, truth, panel).items(), key=lambda kv: kv[1]):
            print(f"  {name:<50}{value:>7.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    daily = commands.add_parser("daily", help="write this project's daily table")
    daily.add_argument("--out", type=Path, required=True)
    daily.add_argument("--dataset", default="beijing",
                       choices=("beijing", "beijing-multisite"))
    scoring = commands.add_parser("score", help="fit the peers and score the test period")
    scoring.add_argument("folder", type=Path, help="the folder `daily` wrote")
    scoring.add_argument("--mode", choices=("observed", "forecast"), default="observed")
    scoring.add_argument("--seeds", type=int, default=3)
    scoring.add_argument("--peers", default=",".join(PEERS),
                         help=f"comma-separated, of: {', '.join(PEERS)}")
    scoring.add_argument("--run", type=Path,
                         help="a run directory of the same dataset and mode")
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
