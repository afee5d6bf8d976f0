"""The model interface and the registry that builds every model by name.

Every model — baseline or network — offers the same small surface:

``fit(task)``
    learn from the task's training rows (``task.mask("train")``); the validation rows
    may be used for model selection and early stopping, never the test rows.
``predict(task, rows)``
    daily-mean PM2.5 forecasts (µg/m³) for the rows selected by the boolean mask
    ``rows``, one finite value per selected row, whatever inputs are missing.
``history``
    per-epoch training history (DataFrame with ``epoch``, ``train_loss``, ``val_loss``
    and more for networks; empty for the rest).
``info``
    a dict of facts for the report: ``n_parameters``, ``fit_seconds`` and the chosen
    hyper-parameters.

``baselines`` and ``models`` import from ``forecast``; ``forecast`` reaches them only
through :func:`build`, so the dependency points one way.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from .config import BASELINE_MODELS, NETWORK_MODELS
from .errors import DataError
from .task import ForecastTask


class Forecaster(Protocol):
    name: str
    history: pd.DataFrame
    info: dict

    def fit(self, task: ForecastTask) -> Forecaster: ...

    def predict(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray: ...


def build(name: str, config: dict, seed: int = 0) -> Forecaster:
    """A fresh, unfitted model called ``name`` configured from the run config."""
    if name in BASELINE_MODELS:
        from baselines import build_baseline

        return build_baseline(name, config, seed=seed)
    if name in NETWORK_MODELS:
        from models import build_network

        return build_network(name, config, seed=seed)
    raise DataError(f"unknown model {name!r}; known: {', '.join(BASELINE_MODELS + NETWORK_MODELS)}")
