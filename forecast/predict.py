"""``forecast predict RUN_DIR``: tomorrow's forecast from a finished run and the latest data.

Networks are loaded from the run's ``models/NAME.pt`` — a single network or a seed
ensemble, one model per file — with ``torch.load(weights_only=True)``: tensors and plain
values only, never a pickle. Baselines are cheap and deterministic, so they are refitted
from the run's own config on the same training period instead of being unpickled. The
recommended model is the one the run's validation-only rule chose
(:mod:`forecast.selection`); nothing here imports matplotlib or the report.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import registry, selection
from .config import load_config
from .errors import DataError
from .pipeline import load_data, make_task
from .results import RunResult
from .task import without_features


def predict_latest(run_dir: Path, data_dir: str | None = None) -> pd.DataFrame:
    """One row per station and model: the forecast for the day after the latest data day.

    Columns: ``station``, ``issue_day`` (the latest day in the data), ``target_day``
    (issue_day + horizon), ``model`` (a baseline, or a network as its seed ensemble),
    ``pm25_forecast`` (daily mean, µg/m³) and ``recommended`` (the run's recommendation).
    """
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise DataError(f"{run_dir} is not a run directory (no config.toml)")
    result = RunResult.read(run_dir)
    config = load_config(config_path)
    if data_dir:
        config["data"]["data_dir"] = str(data_dir)
    loaded, daily = load_data(config)
    task = without_features(make_task(loaded, daily, config), result.dropped_features)
    latest_day = task.rows.groupby("station")["issue_day"].transform("max")
    rows = (task.rows["issue_day"] == latest_day).to_numpy()
    if task.mode == "forecast":
        missing = np.isnan(task.X[rows][:, [task.feature_names.index(c)
                                            for c in task.forecast_columns()]]).any()
        if missing:
            print("forecast: warning: forecast mode needs the weather of the target day, which "
                  "the data does not have yet; those inputs are imputed", file=sys.stderr)
    predictions: dict[str, np.ndarray] = {}
    for name in config["models"]["names"]:
        if registry.kind_of(name) == "baseline" and name in result.entries:
            predictions[name] = registry.build(name, config, seed=config["run"]["seed"]) \
                .fit(task).predict(task, rows)
        elif registry.kind_of(name) == "network" and (run_dir / "models" / f"{name}.pt").is_file():
            from models import load_model

            path = run_dir / "models" / f"{name}.pt"
            model = load_model(path)
            try:
                values = model.predict(task, rows)
            except (RuntimeError, ValueError, IndexError) as exc:
                raise DataError(f"{path}: cannot be applied to this data ({exc})") from None
            entry = result.representative(name)
            predictions[entry.name if entry is not None else name] = values
    recommended = selection.recommended(result)
    frames = [pd.DataFrame({
        "station": task.rows.loc[rows, "station"].to_numpy(),
        "issue_day": task.rows.loc[rows, "issue_day"].dt.strftime("%Y-%m-%d").to_numpy(),
        "target_day": task.rows.loc[rows, "target_day"].dt.strftime("%Y-%m-%d").to_numpy(),
        "model": name,
        "pm25_forecast": np.round(values, 1),
        "recommended": name == recommended,
    }) for name, values in predictions.items()]
    return pd.concat(frames, ignore_index=True)
