"""``forecast predict RUN_DIR``: tomorrow's forecast from a finished run and the latest data.

Networks are loaded from the run's ``models/*.pt`` (``torch.load(weights_only=True)``:
tensors and plain values only, never a pickle). Baselines are cheap and deterministic,
so they are refitted from the run's own config on the same training period instead of
being unpickled.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import registry
from .config import BASELINE_MODELS, load_config
from .errors import DataError
from .pipeline import load_data, make_task


def predict_latest(run_dir: Path, data_dir: str | None = None) -> pd.DataFrame:
    """One row per station and model: the forecast for the day after the latest data day.

    Columns: ``station``, ``issue_day`` (the latest day in the data), ``target_day``
    (issue_day + horizon), ``model``, ``pm25_forecast`` (daily mean, µg/m³) and
    ``recommended`` (the model the run's report recommends).
    """
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise DataError(f"{run_dir} is not a run directory (no config.toml)")
    config = load_config(config_path)
    if data_dir:
        config["data"]["data_dir"] = str(data_dir)
    loaded, daily = load_data(config)
    task = make_task(loaded, daily, config)
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
        if name in BASELINE_MODELS:
            predictions[name] = registry.build(name, config, seed=config["run"]["seed"]) \
                .fit(task).predict(task, rows)
    weights = sorted((run_dir / "models").glob("*.pt")) if (run_dir / "models").is_dir() else []
    if weights:
        from models import load_network

        members: dict[str, list[np.ndarray]] = {}
        for path in weights:
            network = load_network(path)
            try:
                values = network.predict(task, rows)
            except (RuntimeError, ValueError, IndexError) as exc:
                raise DataError(f"{path}: cannot be applied to this data ({exc})") from None
            predictions[path.stem] = values
            members.setdefault(path.stem.split("_seed")[0], []).append(values)
        for name, values in members.items():
            if len(values) > 1:
                predictions[f"{name}_ensemble"] = np.mean(values, axis=0)
    recommended = None
    metrics_path = run_dir / "metrics.json"
    if metrics_path.is_file():
        from .report import verdict

        recommended = verdict(json.loads(metrics_path.read_text()))[1]
    frames = [pd.DataFrame({
        "station": task.rows.loc[rows, "station"].to_numpy(),
        "issue_day": task.rows.loc[rows, "issue_day"].dt.strftime("%Y-%m-%d").to_numpy(),
        "target_day": task.rows.loc[rows, "target_day"].dt.strftime("%Y-%m-%d").to_numpy(),
        "model": name,
        "pm25_forecast": np.round(values, 1),
        "recommended": name == recommended,
    }) for name, values in predictions.items()]
    return pd.concat(frames, ignore_index=True)
