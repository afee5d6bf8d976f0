"""The whole flow on one screen: data → daily → task → models → evaluation → run directory.

Each stage is a plain function of the previous stage's value (see docs/architecture.md). The run
directory is written under a temporary name and renamed when complete, so an
interrupted or failed run never leaves a half-written directory and never replaces an
earlier run.
"""

from __future__ import annotations

import gc
import os
import platform
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import combination as combination_module
from . import config as config_module
from . import daily as daily_module
from . import evaluation, quality, registry, rolling, selection, sources, uncertainty
from . import warning as warning_module
from .constants import (
    DEFAULT_HEATING_SEASON,
    PREDICTION_TEXT_COLUMNS,
    REFERENCE_MODELS,
    SEEDS,
)
from .coordinates import require_coordinates
from .errors import DataError, ModelFailed, raise_if_interrupted
from .evaluation import EVAL_SPLITS
from .progress import RunProgress
from .refit import refit
from .registry import BASELINE_MODELS
from .results import ModelEntry, RunResult, representative
from .schema import WEATHER_COLUMNS
from .task import SPLITS, ForecastTask, build_task, drop_uninformative

DISPLAY = RunProgress()


def progress(message: str) -> None:
    """One progress line per stage, on stdout (stderr is kept for errors)."""
    raise_if_interrupted()
    DISPLAY.message(message)


# ---------------------------------------------------------------- stages


def csv_spec(data: dict) -> dict:
    """The ``[data]`` table's keys that describe a CSV of one's own
    (:func:`forecast.sources.load_csv`), those left empty left out."""
    return {k: data[k] for k in config_module.CSV_ONLY_KEYS if data[k] not in ("", [], {})}


def load_data(config: dict, notes_to_stderr: bool = True, summary_only: bool = False
              ) -> tuple[sources.Loaded, pd.DataFrame]:
    """The configured source as an HourlyFrame (stations filtered, impossible values
    set missing by the data-quality stage) and its DailyFrame.

    ``loaded.quality`` is the quality report; with ``quality.strict`` any flagged value
    is a DataError naming the first one. A weather column with no valid value left is
    treated as absent, with a warning on stderr; what reading converted
    (``loaded.notes``) is said there too, unless the caller prints it itself. Data
    without a single valid daily mean is a DataError, unless ``summary_only`` (``forecast
    data``, which counts them).
    """
    data = config["data"]
    csv = csv_spec(data)
    synthetic = {"n_stations": data["synthetic_stations"], "start": data["synthetic_start"],
                 "end": data["synthetic_end"]}
    loaded = sources.load(data["dataset"], data_dir=data["data_dir"] or None, csv=csv,
                          seed=config["run"]["seed"], synthetic=synthetic)
    if data["stations"]:
        unknown = sorted(set(data["stations"]) - set(loaded.hourly["station"]))
        if unknown:
            raise DataError(f"unknown station(s) {', '.join(unknown)}; the data has "
                            f"{', '.join(sorted(loaded.hourly['station'].unique()))}")
        hourly = loaded.hourly[loaded.hourly["station"].isin(data["stations"])]
        hourly.attrs.update(loaded.hourly.attrs)
        hourly["station"] = hourly["station"].cat.remove_unused_categories()
        loaded.hourly = hourly.reset_index(drop=True)
    require_coordinates(loaded.coordinates, loaded.hourly["station"].unique())
    loaded.hourly, loaded.quality = quality.check(
        loaded.hourly, quality.QualityRules.from_config(config["quality"]), loaded.source_flags)
    if config["quality"]["strict"] and (error := quality.strict_error(loaded.quality)):
        raise error
    if (config["task"]["mode"] == "forecast" and not summary_only
            and not any(c in loaded.hourly.columns for c in WEATHER_COLUMNS)):
        # its models would read nothing of the target day, and the report would say
        # they read its observed weather: refused, not warned
        unread = loaded.unmapped_weather
        raise DataError(
            "forecast mode reads the target day's weather, and the data have no weather "
            f"column ({', '.join(WEATHER_COLUMNS)}) with a value: "
            + (f"map the file's {', '.join(unread)} in [data.columns]" if unread
               else "map the file's weather columns in [data.columns]")
            + ", or run --mode observed")
    if ignored := config_module.ignored_data_keys(data):
        print(f"forecast: warning: {', '.join(ignored)} "
              + ("is" if len(ignored) == 1 else "are")
              + f" not read for dataset {data['dataset']!r} (CSV keys are for --dataset "
              "csv:PATH, synthetic_* for the synthetic data)", file=sys.stderr)
    for line in loaded.notes if notes_to_stderr else ():
        print(f"forecast: note: {line}", file=sys.stderr)
    for line in quality.warnings_for(loaded.quality):
        print(f"forecast: {line}", file=sys.stderr)
    if loaded.unmapped_weather:
        print(f"forecast: warning: {csv.get('path', 'the file')}: it has column(s) "
              f"{', '.join(loaded.unmapped_weather)} that [data.columns] does not map; they "
              "are not read", file=sys.stderr)
    for line in loaded.warnings:
        print(f"forecast: warning: {line}", file=sys.stderr)
    daily = daily_module.to_daily(loaded.hourly, data["min_hours"])
    valid_days = daily.groupby("station", observed=True)["valid"].sum()
    empty = [str(station) for station in valid_days.index[valid_days.to_numpy() == 0]]
    if empty and len(empty) == len(valid_days) and not summary_only:
        most = int(daily["pm25_hours"].max()) if len(daily) else 0
        raise DataError(f"no valid daily mean: a day needs at least {data['min_hours']} hourly "
                        f"PM2.5 values ([data] min_hours) and the data's days have at most "
                        f"{most}")
    if empty:
        print(f"forecast: warning: {len(empty)} station(s) without a single valid daily mean "
              f"(≥ {data['min_hours']} hourly PM2.5 values): {', '.join(empty[:10])}"
              + (", …" if len(empty) > 10 else "") + "; they give no training or scored day",
              file=sys.stderr)
    return loaded, daily


def make_task(loaded: sources.Loaded, daily: pd.DataFrame, config: dict,
              require_splits: bool = True) -> ForecastTask:
    """The ForecastTask of the config; ``require_splits``: see :func:`build_task`."""
    task_config, split = config["task"], config["split"]
    task = build_task(
        loaded.hourly, daily, dataset=loaded.dataset, mode=task_config["mode"],
        horizon=task_config["horizon"], lags=task_config["lags"],
        sequence_length=task_config["sequence_length"],
        hourly_hours=config_module.hourly_hours(config),
        target_hours=config_module.target_hours(config),
        max_fill_days=task_config["max_fill_days"],
        target_transform=task_config["target_transform"],
        train_end=split["train_end"], val_end=split["val_end"], test_end=split["test_end"],
        coordinates=loaded.coordinates, weather_step=task_config["weather_step"],
        rain_is_flag=loaded.rain_is_flag,
        weather_error=float(task_config["weather_error"]),
        weather_error_seed=config["run"]["seed"],
        weather_error_sizes=task_config["weather_error_sizes"],
        forecast_from=loaded.hourly.attrs.get("forecast_from"), require_splits=require_splits,
        holidays=task_config["holidays"], heating_season=task_config["heating_season"])
    if not task_config["train_issue_hours"]:
        # nothing will rebuild it at other issue hours: the hourly record it holds for
        # that need not travel with the task to the training processes
        task = replace(task, issue_hour_source=None)
    return task


@dataclass
class Fitted:
    """What fitting the requested models on one task produced.

    ``entries``: one :class:`~forecast.results.ModelEntry` per forecast series (info set,
    metrics not yet); ``models``: the fitted model of each requested name (a baseline, a
    network, or a network's SeedEnsemble), what ``models/NAME.pt`` saves;
    ``histories``: per-epoch curves of each single-network entry; ``failed``: entry or
    model name → reason.
    """

    predictions: pd.DataFrame
    entries: dict[str, ModelEntry] = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    histories: dict[str, pd.DataFrame] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _prediction_rows(task: ForecastTask, rows: np.ndarray, name: str,
                     values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "date": task.rows.loc[rows, "target_day"].to_numpy(),
        "station": task.rows.loc[rows, "station"].to_numpy(),
        "split": task.rows.loc[rows, "split"].to_numpy(),
        "model": name,
        "y_true": task.y[rows],
        "y_pred": np.asarray(values, dtype=float),
    })


def forecast_rows(task: ForecastTask, rows: np.ndarray, name: str, model,
                  values: np.ndarray, reference: dict[str, np.ndarray],
                  threshold: float,
                  heating_season: tuple[str, str] | None = DEFAULT_HEATING_SEASON
                  ) -> tuple[pd.DataFrame, dict]:
    """The prediction rows of one entry with its calibrated distribution
    (:data:`~forecast.uncertainty.DISTRIBUTION_COLUMNS`), and the calibration, fitted on
    the validation rows among ``rows`` only (``reference``: the climatological
    reference's columns for the same rows, :func:`~forecast.uncertainty.reference_columns`;
    ``heating_season``: ``[task] heating_season``, which the calibration may split by)."""
    raw = uncertainty.raw_quantiles(model, task, rows, point=values)
    validation = task.split[rows] == "val"
    if validation.sum() < uncertainty.MIN_CALIBRATION_DAYS:
        unit = "day" if len(task.stations) == 1 else "station-day"
        raise DataError(f"the validation split has {int(validation.sum())} scored {unit}(s); "
                        f"calibrating the forecast distributions needs at least "
                        f"{uncertainty.MIN_CALIBRATION_DAYS} (set [split] val_end later)")
    y = task.y[rows]
    target_days = task.rows.loc[rows, "target_day"].to_numpy()
    dates = target_days[validation]
    raw_validation = uncertainty.point_or_quantiles(raw)[validation]
    # the validation rows' distributions (read by the rule's CRPS test and the report)
    # come from calibrations chosen and fitted on the other blocks of validation dates
    # (nested): fitted, or chosen, on the rows they score they would favour the
    # calibration with more shifts
    calibration, out_of_block, nested = uncertainty.Calibration.fit_with_out_of_block(
        y[validation], raw_validation, dates, heating_season=heating_season)
    where = np.flatnonzero(validation)
    parts = [(np.flatnonzero(~validation), calibration)] + (
        [(where, calibration)] if out_of_block is None else
        [(where[held_out], fitted) for held_out, fitted in out_of_block])
    columns: dict[str, np.ndarray] = {}
    for at, fitted in parts:
        if len(at) == 0:
            continue
        part = uncertainty.in_blocks(
            lambda block, fitted=fitted: uncertainty.forecast_columns(
                fitted.apply(raw[block], target_days[block]), y[block], threshold), at)
        for column, values_at in part.items():
            if column not in columns:
                columns[column] = np.full(len(y), np.nan)
            columns[column][at] = values_at
    frame = _prediction_rows(task, rows, name, values)
    saved = {**calibration.to_dict(),
             # False: too few validation dates for the blocks, the rows calibrated in sample
             "validation_out_of_block": out_of_block is not None,
             # the blocks' settings chosen out of block too (not so in a run from before,
             # nor for a quantile head on many rows)
             "validation_choice_out_of_block": nested}
    return frame.assign(**columns, **reference), saved


def usable_forecasts(entry: str, model, task: ForecastTask, rows: np.ndarray,
                     outputs: tuple[np.ndarray, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, dict]:
    """``model``'s forecasts (µg/m³) of the selected rows and facts about them;
    ModelFailed when any forecast is not finite. For a network the facts count the
    forecasts that reached its output clip (``forecasts_at_output_clip``); ``outputs``:
    its ``predict_and_clip`` already computed (e.g. a seed ensemble's, from its members')."""
    facts = {}
    if outputs is None and hasattr(model, "predict_and_clip"):  # a network: one forward pass
        outputs = model.predict_and_clip(task, rows)
    if outputs is not None:
        values, clipped = outputs
        facts["forecasts_at_output_clip"] = int(clipped.sum())
    else:
        values = model.predict(task, rows)
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        first = task.rows.loc[rows, "target_day"].to_numpy()[np.flatnonzero(bad)[0]]
        raise ModelFailed(f"{entry}: {int(bad.sum())} of {len(values)} forecasts are not "
                          f"finite, the first for {pd.Timestamp(first):%Y-%m-%d}")
    return values, facts


def fits_per_model(name: str, config: dict) -> int:
    """How many trainings model ``name`` takes: a network one per seed, others one."""
    return int(config["training"]["seeds"]) if registry.kind_of(name) == "network" else 1


@dataclass
class Training:
    """A run's trainings in one pool of ``training.jobs`` processes
    (:class:`models.pool.TrainingPool`): every seed of every network of every fold, then
    the diagnostics' fits on the main fold, whose short fits fill the processes that the
    networks' last fits leave idle.

    ``networks[k]``: fold k's {name: (unfitted model, job numbers of its members)};
    ``plans``: the diagnostics' plans (:func:`diagnostic_plans`) and
    ``diagnostic_jobs`` their job numbers.
    """

    pool: object
    networks: list[dict[str, tuple]]
    plans: dict[str, tuple]
    diagnostic_jobs: list[int]

    def wait(self) -> None:
        """Until every fit of the pool has ended."""
        self.pool.wait(range(len(self.pool.jobs)))

    def trained(self, k: int) -> dict[str, tuple]:
        """Fold k's {name: (unfitted model, outcomes)} for :func:`fit_models`, waiting
        for them."""
        return {name: (model, self.pool.wait(numbers))
                for name, (model, numbers) in self.networks[k].items()}

    def diagnostic_tables(self) -> dict:
        """The diagnostics' tables, waiting for their fits."""
        from models import diagnostics

        summaries = self.pool.wait(self.diagnostic_jobs)
        return dict(zip(self.plans, diagnostics.plan_tables(list(self.plans.values()),
                                                            summaries), strict=True))


def member_number(seed: int, base_seed: int) -> int:
    """Which member of a seed ensemble seeded from ``base_seed`` (1, 2, ...) the seed
    ``seed`` is (:func:`~forecast.constants.nth_seed`: the seeds wrap round at SEEDS)."""
    return (seed - base_seed) % SEEDS + 1


def start_training(tasks: list[ForecastTask], config: dict, stages: list[str]) -> Training:
    """Submit every network of every task (one per fold, the main fold last), then the
    diagnostics of the main fold, to one pool of ``training.jobs`` processes, each seed of
    each network its own job, so no process waits for another network's last seed.
    The networks are adopted by :func:`fit_models` as if it had trained them itself
    (same seeds, same networks)."""
    from models import diagnostics
    from models.ensemble import fit_member
    from models.pool import TrainingPool

    from .progress import QueueProgress

    base_seed = config["run"]["seed"]
    seeds = int(config["training"]["seeds"])
    names = [n for n in config["models"]["names"] if registry.kind_of(n) == "network"]
    networks: list[dict[str, tuple]] = [{} for _ in tasks]
    jobs, owners = [], []
    epochs = DISPLAY.listen()   # on a terminal: the processes report their epochs
    for k, task in enumerate(tasks):
        for name in names:
            model = registry.build(name, config, seed=base_seed)
            members = model.unfitted_members() if hasattr(model, "seeds") else [model]
            networks[k][name] = (model, list(range(len(jobs), len(jobs) + len(members))))
            for member in members:
                label = (f"{stages[k]}{name} seed {member_number(member.seed, base_seed)} of "
                         f"{seeds}")
                jobs.append((fit_member, (member, task, (),
                                          QueueProgress(epochs, label) if epochs else None,
                                          bool(config["split"]["refit"]))))
                owners.append(label)
    plans = diagnostic_plans(tasks[-1], config) if names else {}
    diagnostic_jobs = diagnostics.plan_jobs(list(plans.values()))
    first = len(jobs)
    n_jobs = int(config["training"]["jobs"])
    progress(f"training {len(names)} network(s) × {seeds} seed(s) on {len(tasks)} fold(s)"
             + (f", then the {' and the '.join(n.replace('_', ' ') for n in plans)}"
                if plans else "")
             + f": {first} fits of the networks"
             + (f" and {len(diagnostic_jobs)} of the diagnostics" if diagnostic_jobs else "")
             + f" in {n_jobs} processes")

    def done(number: int, outcome) -> None:
        if number >= first:    # a diagnostic fit: reported with its table
            return
        failed = isinstance(outcome, str)
        DISPLAY.finished(owners[number],
                         0.0 if failed else outcome.info.get("fit_seconds", 0.0),
                         "failed" if failed else f"{outcome.info.get('epochs_run', '?')} epochs")

    pool = TrainingPool(jobs + diagnostic_jobs, n_jobs, on_done=done)
    return Training(pool, networks, plans, list(range(first, first + len(diagnostic_jobs))))


def _adopt(model, outcomes: list):
    """A model built by the registry, given the outcomes of training its members
    elsewhere (:func:`start_training`); ModelFailed as if it had been fitted here."""
    if hasattr(model, "adopt"):
        return model.adopt(outcomes)
    if isinstance(outcomes[0], str):
        from models.training import TrainingFailed

        raise TrainingFailed(outcomes[0])
    return outcomes[0]


def _refit(model, task: ForecastTask):
    """``model``, fitted on ``task``, with its final fit on training + validation rows
    (:mod:`forecast.refit`); a seed ensemble's members each get theirs."""
    if hasattr(model, "members_"):
        model.members_ = {seed: refit(member, task) for seed, member in model.members_.items()}
        return model
    return refit(model, task)


def fit_models(task: ForecastTask, config: dict, stage: str = "",
               trained: dict[str, tuple] | None = None,
               splits: tuple[str, ...] = SPLITS) -> Fitted:
    """Fit every requested model built by the registry; every entry forecasts every
    scored row of ``splits`` (train, val and test; the calibration and the combination
    read the validation rows, so ``splits`` must hold "val"). ``trained``: networks
    already trained (:meth:`Training.trained`), adopted instead of fitted here.

    A network with several seeds is a SeedEnsemble: each member becomes an entry of kind
    ``network`` (``NAME_seedK``, K counted from 0) and the ensemble one of kind
    ``ensemble`` (``NAME_ensemble``). A model, or a member, whose training fails or whose
    forecasts are not finite is recorded in ``failed`` and the others go on.
    """
    if "val" not in splits:
        raise ValueError(f"splits {splits} lack 'val', which the calibration fits on")
    scored = np.isin(task.split, splits) & np.isfinite(task.y)
    frames, fitted = [], Fitted(predictions=pd.DataFrame())
    threshold = float(config["evaluation"]["exceedance_threshold"])
    reference = uncertainty.in_blocks(
        lambda quantiles, y: uncertainty.reference_columns(quantiles, y, threshold),
        uncertainty.climatology(task, scored), task.y[scored])

    def rows_of(entry: str, model, values: np.ndarray, info: dict) -> dict:
        frame, calibration = forecast_rows(task, scored, entry, model, values, reference,
                                           threshold, config["task"]["heating_season"])
        frames.append(frame)
        return {**info, "calibration": calibration}

    base_seed = config["run"]["seed"]
    seeds = int(config["training"]["seeds"])
    for position, name in enumerate(config["models"]["names"], start=1):
        kind = registry.kind_of(name)
        label = f"{stage}model {position} of {len(config['models']['names'])}: {name}"
        pretrained = trained is not None and name in trained
        if not pretrained:
            DISPLAY.start_fit(label)
        model = registry.build(name, config, seed=base_seed)
        ensemble = hasattr(model, "seeds")   # a SeedEnsemble: one entry per member too
        fits = fits_per_model(name, config)
        try:
            if pretrained:
                model, outcomes = trained[name]
                model = _adopt(model, outcomes)
            elif kind == "network":
                from .progress import EpochReporter

                options = {"callbacks": [EpochReporter(DISPLAY)]}
                if ensemble:
                    options["on_member"] = lambda seed, label=label: DISPLAY.set_label(
                        f"{label} seed {member_number(seed, base_seed)} of {seeds}")
                model.fit(task, **options)
            else:
                model.fit(task)
            if config["split"]["refit"] and not pretrained:
                model = _refit(model, task)
        except ModelFailed as exc:  # a diverged network must not stop the run
            fitted.failed[name] = str(exc)
            if not pretrained:
                DISPLAY.end_fit("failed", fits=fits)
            progress(f"{name} failed: {exc}")
            continue
        if kind == "baseline":
            try:
                values, facts = usable_forecasts(name, model, task, scored)
            except ModelFailed as exc:
                fitted.failed[name] = str(exc)
                DISPLAY.end_fit("failed")
                progress(f"{name} failed: {exc}")
                continue
            DISPLAY.end_fit()
            fitted.entries[name] = ModelEntry(
                name, name, "baseline", info=rows_of(name, model, values, {**model.info, **facts}))
            fitted.models[name] = model
            continue
        members = dict(model.members_) if ensemble else {base_seed: model}
        for seed, reason in getattr(model, "failed_", {}).items():
            fitted.failed[f"{name}_seed{seed - base_seed}"] = reason
            progress(f"{name}_seed{seed - base_seed} failed: {reason}")
        names, outputs = [], {}
        for seed, member in members.items():
            entry = f"{name}_seed{seed - base_seed}" if ensemble else name
            try:
                outputs[seed] = member.predict_and_clip(task, scored)
                values, facts = usable_forecasts(entry, member, task, scored, outputs[seed])
            except ModelFailed as exc:
                fitted.failed[entry] = str(exc)
                progress(f"{entry} failed: {exc}")
                if ensemble and len(model.members_) > 1:
                    model.drop(seed, str(exc))
                continue
            fitted.entries[entry] = ModelEntry(
                entry, name, "network", seed=int(seed),
                info=rows_of(entry, member, values, {**member.info, **facts}))
            fitted.histories[entry] = member.history
            names.append(entry)
        if not pretrained:
            DISPLAY.set_label(label)
            DISPLAY.end_fit(f"{len(names)} of {len(model.seeds)} seed(s) usable"
                            if ensemble else "", fits=fits)
        if not names:
            fitted.failed.setdefault(name, "every seed failed")
            continue
        fitted.models[name] = model
        if ensemble:
            entry = f"{name}_ensemble"
            kept = [outputs[seed] for seed in model.members_]  # = model.predict_and_clip
            values, facts = usable_forecasts(
                entry, model, task, scored,
                (np.mean([v for v, _ in kept], axis=0), np.any([c for _, c in kept], axis=0)))
            fitted.entries[entry] = ModelEntry(
                entry, name, "ensemble", members=names,
                info=rows_of(entry, model, values, {**model.info, **facts}))
    members = [e.name for name in config["models"]["names"]
               if name not in REFERENCE_MODELS
               and (e := representative(fitted.entries, name)) is not None]
    if config["models"]["combination"] and len(members) >= 2:
        frames[:] = [pd.concat(frames, ignore_index=True)]  # concatenated once, then extended
        values, keys, info = combination_module.combine(frames[0], members)
        combined = pd.Series(values, index=pd.MultiIndex.from_frame(keys[["date", "station"]]))
        values = combined.loc[pd.MultiIndex.from_arrays(
            [task.rows.loc[scored, "target_day"], task.rows.loc[scored, "station"]])].to_numpy()
        info["n_parameters"] = sum(int(fitted.entries[m].info.get("n_parameters", 0))
                                   for m in members) + len(members)
        fitted.entries["combination"] = ModelEntry(
            "combination", "combination", "combination", members=members,
            info=rows_of("combination", None, values, info))
    fitted.predictions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return fitted


@dataclass
class FoldResult:
    """One rolling-origin fold: its task (uninformative features dropped) and its fits."""

    fold: rolling.Fold
    task: ForecastTask | None     # None once the run has what it needs of it
    dropped_features: list[str]
    fitted: Fitted


def fit_folds(task: ForecastTask, dataset: str,
              config: dict) -> tuple[list[FoldResult], Training | None]:
    """Fit every model on every rolling-origin fold, oldest first; the last is the main
    split. Each fold chooses every setting on its own validation year. With
    ``training.jobs`` > 1 the networks and the diagnostics train in one pool of
    processes (:func:`start_training`), returned so that :func:`run_diagnostics` can
    collect the diagnostics; else None."""
    ends = [task.splits[name][1] for name in ("train", "val", "test")]
    first_day = task.rows.loc[np.isfinite(task.y), "target_day"].min()
    folds = rolling.rolling_folds(dataset, *ends, first_day, config["split"]["folds"])
    if config["split"]["folds"] > len(folds):
        print(f"forecast: warning: split.folds = {config['split']['folds']}, but the data have "
              f"room for {len(folds)} (each earlier fold needs {rolling.MIN_TRAIN_DAYS} days of "
              f"training targets from {pd.Timestamp(first_day):%Y-%m-%d}): running "
              f"{len(folds)}", file=sys.stderr)
    global DISPLAY
    DISPLAY.close()
    names = config["models"]["names"]
    DISPLAY = RunProgress(total=len(folds) * sum(fits_per_model(n, config) for n in names))
    tasks, stages = [], []
    for k, fold in enumerate(folds, start=1):
        fold_task = task.with_splits(fold.train_end, fold.val_end, fold.test_end)
        tasks.append(drop_uninformative(fold_task))
        stages.append(f"fold {k} of {len(folds)}, ")
    training = None
    if config["training"]["jobs"] > 1 and any(registry.kind_of(n) == "network" for n in names):
        training = start_training([t for t, _ in tasks], config, stages)
        # Every fit of the pool ends before the baselines start: beside its busy
        # processes, the baselines' OpenMP and BLAS threads spin-wait (multi-site hgb
        # took 35-102 s instead of 12 s, and the whole run was slower).
        training.wait()
    results = []
    for k, (fold, (fold_task, dropped)) in enumerate(zip(folds, tasks, strict=True), start=1):
        trained = training.trained(k - 1) if training is not None else None
        progress(f"fold {k} of {len(folds)}: test {fold.test_start} .. {fold.test_end}"
                 + (" (development period)" if fold.development else "")
                 + (f"; {len(dropped)} uninformative feature(s) dropped" if dropped else ""))
        # earlier folds forecast only what the pooled scores read (their training rows'
        # forecasts were thrown away; 24 hours a row for hgb_by_hour); the main fold its
        # training rows too, for predictions.csv, unless run.train_forecasts is false
        main = k == len(folds) and config["run"]["train_forecasts"]
        fitted = fit_models(fold_task, config, stage=stages[k - 1], trained=trained,
                            splits=SPLITS if main else EVAL_SPLITS)
        fitted.predictions.insert(0, "fold", fold.name)
        fitted.predictions = fitted.predictions.astype(
            {column: "category" for column in PREDICTION_TEXT_COLUMNS})
        results.append(FoldResult(fold, fold_task, dropped, fitted))
    return results, training


def concat_predictions(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The folds' prediction tables as one, their :data:`PREDICTION_TEXT_COLUMNS` still
    categories (pandas turns categories that differ between frames into text)."""
    union = {column: sorted(set().union(*(f[column].cat.categories for f in frames)))
             for column in PREDICTION_TEXT_COLUMNS}
    return pd.concat([f.assign(**{c: f[c].cat.set_categories(union[c]) for c in union})
                      for f in frames], ignore_index=True)


def pool_folds(folds: list[FoldResult], predictions: pd.DataFrame, config: dict,
               horizon: int, n_stations: int) -> dict:
    """Scores pooled over folds and stations of the folds' ``predictions`` (every fold's
    table, :func:`concat_predictions`), and the validation-only recommendation
    (:mod:`forecast.selection`). An entry that failed in any fold is left out."""
    main = folds[-1].fitted
    everywhere = set.intersection(*(set(f.fitted.entries) for f in folds))
    entries = {n: e for n, e in main.entries.items() if n in everywhere}
    options = {"horizon": horizon, "n_boot": config["evaluation"]["n_boot"],
               "seed": config["run"]["seed"]}
    # each reads the validation and test rows of the entries it scores: an entry that
    # failed in some fold has no rows there, and adds none to the others'
    pooled = rolling.pooled_scores(predictions, list(entries), baselines=BASELINE_MODELS,
                                   threshold=config["evaluation"]["exceedance_threshold"],
                                   **options)
    candidates = selection.candidates_of(entries, config["models"]["names"])
    pooled["network_spread"] = network_spread(predictions, pooled, candidates, **options)
    if "combination" in entries:
        members = [m for m in entries["combination"].members if m in entries]
        keys, y_true, forecasts = rolling.aligned(predictions, "val", members)
        pooled["combination_bound"] = combination_module.in_sample_bound(keys, y_true,
                                                                          forecasts)
    recommendation = selection.recommend(predictions, candidates, **options)
    if recommendation["model"] is not None:
        pooled["test_rival"] = selection.test_rival(predictions, pooled, candidates,
                                                    recommendation["model"], **options)
    scope = (f"the {len(folds)} folds' validation years" if len(folds) > 1
             else "the validation period")
    if n_stations > 1:
        scope += f" and the {n_stations} stations"
    recommendation["rule"] = selection.RULE.format(
        scope=scope, test_clause=selection.TEST_CLAUSE["rolling" if len(folds) > 1
                                                       else "single"])
    if len(folds) > 1 and recommendation["model"] is not None:
        recommendation.update(selection.rule_on_test(
            predictions, candidates, [f.fold.name for f in folds], recommendation["model"],
            threshold=config["evaluation"]["exceedance_threshold"], **options))
    if recommendation["model"] is not None:
        # when to warn: chosen as the recommendation is, fold by fold
        by_fold = recommendation.get("by_fold") or selection.rule_fold_by_fold(
            predictions, candidates, [f.fold.name for f in folds], recommendation["model"],
            **options)
        pooled["warning"] = warning_module.warning_rule(
            predictions, by_fold, config["evaluation"]["exceedance_threshold"],
            cost_loss=config["evaluation"]["warning_cost_loss"], n_boot=options["n_boot"],
            seed=options["seed"])
    return {"folds": [{**f.fold.to_dict(), "dropped_features": f.dropped_features,
                       "failed": f.fitted.failed} for f in folds],
            "entries": list(entries), **pooled, "recommendation": recommendation}


def network_spread(predictions: pd.DataFrame, pooled: dict, candidates: list, *,
                   horizon: int, n_boot: int, seed: int) -> dict | None:
    """The networks with the lowest and the highest pooled validation RMSE (each family
    as one model, its seed ensemble) compared on the same validation rows (:func:`
    rolling.compare`: worst − best), so that the report says whether the architecture
    matters by more than noise; None with fewer than two networks."""
    networks = [c.name for c in candidates if c.kind == "network"
                and pooled["models"].get(c.name, {}).get("val")]
    if len(networks) < 2:
        return None
    rmse = {n: pooled["models"][n]["val"]["rmse"] for n in networks}
    best, worst = min(networks, key=rmse.get), max(networks, key=rmse.get)
    keys, y_true, forecasts = rolling.aligned(predictions, "val", [worst, best])
    return {"best": best, "worst": worst,
            **rolling.compare(keys, y_true, forecasts[worst], forecasts[best],
                              horizon=horizon, n_boot=n_boot, seed=seed)}


def diagnostic_plans(task: ForecastTask, config: dict) -> dict[str, tuple]:
    """The capacity sweep's and the learning curve's fits on ``task`` (the main fold), as
    far as the config asks for them: {name: plan} (:mod:`models.diagnostics`)."""
    from models import diagnostics

    options = config["diagnostics"]
    model = registry.build(options["sweep_model"], config, seed=config["run"]["seed"], seeds=1)
    plans = {}
    if options["capacity_sweep"]:
        plans["capacity_sweep"] = diagnostics.sweep_plan(
            task, model, options["sweep_hidden"], options["sweep_layers"], options["max_epochs"])
    if options["learning_curve"]:
        plans["learning_curve"] = diagnostics.curve_plan(
            task, model, options["learning_fractions"], options["max_epochs"])
    return plans


def run_diagnostics(task: ForecastTask, config: dict, run_dir: Path, histories: dict,
                    training: Training | None = None) -> dict:
    """Curve diagnosis of every network, the capacity sweep and the learning curve
    (trained here, or collected from ``training``'s pool)."""
    from models import diagnostics

    out: dict = {"curves": {}}
    for entry, history in histories.items():
        out["curves"][entry] = diagnostics.diagnose(history)
    kind = config["diagnostics"]["sweep_model"]
    if training is not None:
        plans = training.plans
        if plans:
            progress(" and ".join(n.replace("_", " ") for n in plans) + f" ({kind}): "
                     "collecting the fits")
        tables = training.diagnostic_tables()
    else:
        plans = diagnostic_plans(task, config)
        if plans:
            progress(" and ".join(n.replace("_", " ") for n in plans) + f" ({kind})")
        tables = dict(zip(plans, diagnostics.run_plans(list(plans.values())), strict=True))
    folder = run_dir / "diagnostics"
    folder.mkdir(exist_ok=True)
    if "capacity_sweep" in tables:
        tables["capacity_sweep"].to_csv(folder / "capacity_sweep.csv", index=False)
        limits, evidence = diagnostics.capacity_limits(tables["capacity_sweep"])
        out["capacity_sweep"] = {"model": kind,
                                 "text": diagnostics.diagnose_capacity(tables["capacity_sweep"]),
                                 "limits": limits, "evidence": evidence}
    if "learning_curve" in tables:
        tables["learning_curve"].to_csv(folder / "learning_curve.csv", index=False)
        out["learning_curve"] = {"model": kind,
                                 **diagnostics.diagnose_learning_curve(tables["learning_curve"])}
    return out


def model_importance(task: ForecastTask, fitted: Fitted, config: dict) -> dict:
    """What each model of the main fold relies on (:mod:`forecast.importance`): every
    fitted model that reads inputs (not the :data:`REFERENCE_MODELS`) as its entry (a
    network as its seed ensemble), on the main fold's validation rows."""
    from . import importance

    models = {}
    for name, model in fitted.models.items():
        entry = representative(fitted.entries, name)
        if name in REFERENCE_MODELS or entry is None:
            continue
        models[entry.name] = model
    if not models:
        return {}
    started = time.perf_counter()
    try:
        scores = importance.importance_of(models, task, seed=config["run"]["seed"],
                                          n_boot=config["evaluation"]["n_boot"])
    except MemoryError:     # a diagnostic: the run's forecasts do not need it
        progress("importance of the inputs left out: not enough memory (--no-importance "
                 "skips it)")
        return {}
    rows = max(s["rows"] for s in scores.values())
    progress(f"importance of the inputs ({len(models)} models, {rows:,} validation rows): "
             f"{time.perf_counter() - started:.1f} s")
    return scores


# ---------------------------------------------------------------- run directory


def versions() -> dict:
    import lightning
    import sklearn
    import torch

    from . import __version__

    return {"pm25_forecast": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "lightning": lightning.__version__,
            "scikit_learn": sklearn.__version__, "pandas": pd.__version__,
            "numpy": np.__version__}


def new_run_dir(out: Path, config: dict) -> tuple[Path, Path]:
    """The run directory's wanted path (:func:`publish` takes the next free name when
    that one is a run already), and a temporary path of this process to write into
    (:func:`make_temporary` creates it; two runs never share one)."""
    name = config["run"]["name"] or (
        f"{datetime.now():%Y%m%d-%H%M%S}-{config['data']['dataset']}-{config['task']['mode']}")
    return out / name, out / f".tmp-{name}-{os.getpid()}"


def check_out(out: Path) -> None:
    """``run.out`` can hold a run: a folder, or one that can be made inside the nearest
    folder above it that exists (checked before the data are read, so that a run is not
    lost at its end; :func:`make_temporary` still says why when the system refuses)."""
    above = out
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise DataError(f"run.out {out}: {above} is a file, not a folder")
    if not os.access(above, os.W_OK | os.X_OK):
        raise DataError(f"run.out {out}: {above} is not writable")


def make_temporary(tmp: Path) -> Path:
    """Create the run's temporary directory (its name unique to this process and call)
    with the owner's pid inside; returns it. Its mode is what the umask leaves of 0777,
    as for any folder the user makes (``tempfile.mkdtemp``'s is the owner's alone, and
    the run directory keeps it: others on a shared machine could not read the report)."""
    try:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        while True:
            made = tmp.parent / f"{tmp.name}-{secrets.token_hex(4)}"
            try:
                made.mkdir(mode=0o777)
                break
            except FileExistsError:
                continue
        (made / OWNER_FILE).write_text(str(os.getpid()))
    except OSError as exc:
        raise DataError(f"run.out {tmp.parent}: cannot write a run there "
                        f"({exc.strerror or exc})") from None
    return made


def publish(tmp: Path, wanted: Path) -> Path:
    """Rename the finished temporary directory to ``wanted``, or to the next free name
    (``wanted``-2, -3, …) when that one is a run, made before this one or while it ran; a
    finished run is never replaced. Returns the run directory."""
    final, k = wanted, 1
    while True:
        if not final.exists():
            try:
                tmp.rename(final)
                return final
            except OSError:
                if not final.exists():
                    raise
        k += 1
        final = wanted.with_name(f"{wanted.name}-{k}")


OWNER_FILE = ".owner-pid"
#: A temporary directory without an owner file younger than this is left alone.
FRESH_SECONDS = 60


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Remove the temporary run directories under ``out`` whose run is dead (killed with
    SIGKILL, or the machine went down): their owner process no longer exists."""
    removed = []
    for tmp in sorted(out.glob(".tmp-*")) if out.is_dir() else []:
        try:
            pid = int((tmp / OWNER_FILE).read_text())
        except (OSError, ValueError):
            pid = None
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue
        if pid is None and time.time() - tmp.stat().st_mtime < FRESH_SECONDS:
            continue          # just made by a run that has yet to write its owner file
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def stored_config(config: dict) -> dict:
    """``config`` as the run folder stores it: the data's ``path`` and ``data_dir``
    absolute (a relative one is read from the folder the run was started in), so that
    ``forecast predict`` finds the data from any folder."""
    data = dict(config["data"])
    for key in ("path", "data_dir"):
        if data.get(key):
            data[key] = os.path.abspath(Path(data[key]).expanduser())
    return {**config, "data": data}


def check_one_process(config: dict) -> None:
    """A DataError when the run would be started in several processes (``training.devices``
    or ``num_nodes`` above 1, or a launcher's ``WORLD_SIZE``): each would fit the
    baselines and write a run directory of its own. ``forecast train`` is the command to
    spread one network's training over devices."""
    training = config["training"]
    world = os.environ.get("WORLD_SIZE", "1")
    several = {"training.devices": training["devices"],
               "training.num_nodes": training["num_nodes"],
               "WORLD_SIZE": int(world) if world.isdigit() else 1}
    for name, value in several.items():
        if int(value) > 1:
            raise DataError(f"{name} = {value}: a whole forecast run in several processes is "
                            "not supported (each would fit every model and write a run "
                            "directory); use 1, or forecast train NETWORK to train one "
                            "network over several devices")


def run(config: dict) -> Path:
    """Run the whole pipeline for a validated config; return the run directory."""
    started = time.perf_counter()
    check_one_process(config)
    if any(registry.kind_of(name) == "network" for name in config["models"]["names"]):
        from models.training import check_hardware

        check_hardware(config["training"])
    final, tmp = new_run_dir(Path(config["run"]["out"]), config)
    check_out(tmp.parent)
    try:
        progress(f"loading {config['data']['dataset']}")
        loaded, daily = load_data(config)
        summary = daily_module.summarise(loaded.hourly, daily, loaded.quality)
        progress(f"building the {config['task']['mode']}-mode task")
        task = make_task(loaded, daily, config)
        # the task holds all the fits need: the hourly record (GiBs at hundreds of
        # stations) and the daily table would otherwise stay for the whole run
        loaded.hourly = daily = None
        for name, why in task.omitted_features.items():
            progress(f"{name} not built: {why}")
        remove_stale_temporaries(tmp.parent)
        tmp = make_temporary(tmp)
        (tmp / "config.toml").write_text(config_module.dumps(stored_config(config)))
        folds, training = fit_folds(task, loaded.dataset, config)
        task, fitted = folds[-1].task, folds[-1].fitted
        if any(f.fitted.predictions.empty for f in folds):
            raise DataError("every model failed; nothing to evaluate")
        write_artifacts(tmp, fitted)
        diagnostics = {}
        if fitted.histories:
            diagnostics = run_diagnostics(task, config, tmp, fitted.histories, training)
        if config["diagnostics"]["importance"]:
            diagnostics["importance"] = model_importance(task, fitted, config)
        # what the result needs of the task: the evaluation reads the forecasts alone,
        # and the tasks (at 1,000 stations 3.3 GiB) would stay through it otherwise
        described = {
            "mode": task.mode, "horizon": task.horizon, "stations": task.stations,
            "splits": {name: {"start": start, "end": end,
                              "scored_days": int(task.mask(name).sum()),
                              "station_days": int(task.mask(name, scored=False).sum())}
                       for name, (start, end) in task.splits.items()},
            "features": task.feature_names, "sequence_features": task.sequence_names}
        omitted = dict(task.omitted_features)
        del task, training
        predictions = concat_predictions([f.fitted.predictions for f in folds])
        for f in folds:    # each fold's forecasts are in ``predictions`` now
            f.task, f.fitted.predictions, f.fitted.models = None, pd.DataFrame(), {}
        gc.collect()
        progress("evaluating")
        written = write_predictions(predictions, tmp / "predictions.csv",
                                    config["training"]["jobs"])
        pooled = pool_folds(folds, predictions, config, described["horizon"],
                            len(described["stations"]))
        main_scored = ((predictions["fold"] == folds[-1].fold.name)
                       & predictions["split"].isin(("val", "test"))).to_numpy()
        scores = evaluation.evaluate(predictions[main_scored], baselines=BASELINE_MODELS,
                                     n_boot=config["evaluation"]["n_boot"],
                                     seed=config["run"]["seed"], horizon=described["horizon"],
                                     threshold=config["evaluation"]["exceedance_threshold"])
        for name, entry in fitted.entries.items():
            entry.metrics = scores["models"].get(name, {})
        failed = {(f"{name} (fold {f.fold.name})" if len(folds) > 1 else name): reason
                  for f in folds for name, reason in f.fitted.failed.items()}
        result = RunResult(
            dataset=loaded.dataset, synthetic=loaded.synthetic, **described,
            seed=config["run"]["seed"], config=config,
            data={**summary, "files": loaded.files, "units": loaded.units,
                  "conversions": loaded.notes,
                  "min_hours": config["data"]["min_hours"], "omitted_features": omitted},
            quality=loaded.quality.to_dict(),
            dropped_features=folds[-1].dropped_features, entries=fitted.entries,
            best_baseline=scores["best_baseline"]["val"], comparisons=scores["comparisons"],
            failed=failed, diagnostics=diagnostics, pooled=pooled, versions=versions(),
            wall_seconds=time.perf_counter() - started)
        written()
        result.write(tmp)
        # the report reads the run directory: the fits and the forecasts held here are
        # no longer needed, and would double the peak memory of a large run
        del folds, fitted, predictions, result
        gc.collect()
        progress("writing the report")
        from .report import write_report

        write_report(tmp)
        (tmp / OWNER_FILE).unlink()
        wanted, final = final, publish(tmp, final)
        if final != wanted:
            print(f"forecast: note: {wanted} is an earlier run, left as it was; this run is "
                  f"{final}", file=sys.stderr)
    finally:
        DISPLAY.close()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    progress(f"done in {time.perf_counter() - started:.0f} s")
    return final


#: Below this many values (about two seconds of pandas' CSV writer) predictions.csv is
#: written in the run's own process: handing it to another costs more than it saves.
BACKGROUND_CSV_VALUES = 2_000_000


def _write_csv(frame: pd.DataFrame, path: Path, header: bool = True) -> None:
    frame.to_csv(path, index=False, header=header, date_format="%Y-%m-%d")


def write_predictions(predictions: pd.DataFrame, path: Path, n_jobs: int):
    """Write ``predictions.csv``; returns a function that waits until it is written.

    With ``n_jobs`` > 1 and a table of more than ``BACKGROUND_CSV_VALUES`` values, the
    training pool's processes write it, up to ``n_jobs`` consecutive parts of its rows at
    once (a part per ``BACKGROUND_CSV_VALUES`` values at most), while this one scores the
    folds; waiting joins the parts into the file. pandas' CSV writer needs about a
    microsecond per value: 13-15 s for the 12-site run's 614,000 rows × 19 columns, about
    130 s for 12.6 million rows at 1,000 stations."""
    if n_jobs <= 1 or predictions.size <= BACKGROUND_CSV_VALUES:
        _write_csv(predictions, path)
        return lambda: None
    from joblib import Parallel, delayed

    n_parts = min(n_jobs, predictions.size // max(BACKGROUND_CSV_VALUES, 1))
    bounds = np.linspace(0, len(predictions), n_parts + 1).astype(int)
    parts = [path.with_name(f"{path.name}.part{k}") for k in range(n_parts)]
    pending = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
        delayed(_write_csv)(predictions.iloc[start:end], part, header=k == 0)
        for k, (start, end, part) in enumerate(zip(bounds[:-1], bounds[1:], parts, strict=True)))

    def wait() -> None:
        list(pending)
        with path.open("wb") as joined:
            for part in parts:
                with part.open("rb") as written:
                    shutil.copyfileobj(written, joined, 1 << 24)
                part.unlink()
    return wait


def write_artifacts(run_dir: Path, fitted: Fitted) -> None:
    """Training curves (``curves/ENTRY.csv``) and the fitted models that forecast beyond
    the data (the final fits, where the run made them): networks as ``models/NAME.pt`` (a
    single network, or a seed ensemble as one file), baselines as ``models/NAME.skops``."""
    curves = run_dir / "curves"
    for entry, history in fitted.histories.items():
        curves.mkdir(exist_ok=True)
        history.to_csv(curves / f"{entry}.csv", index=False)
    for name, model in fitted.models.items():
        if hasattr(model, "save"):
            path = registry.model_file(run_dir, name)
            path.parent.mkdir(exist_ok=True)
            model.save(path)
