"""The model interface and the one table of every model the tool can run.

Every model, baseline or network, is a scikit-learn estimator
(``sklearn.base.BaseEstimator``): its hyper-parameters are the arguments of its
constructor, stored under the same names (``get_params`` / ``set_params``, so
``sklearn.base.clone`` works), and what fitting learns ends in ``_``. It offers:

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
``from_config(name, config, seed)``
    (class method) the model configured from a run config: the one place where the
    config's options become constructor arguments.

:data:`REGISTRY` maps each name to its kind and its class (imported lazily, so that
``forecast`` reaches ``baselines`` and ``models`` only through this table). A network
asked for with ``training.seeds > 1`` comes back as a
:class:`models.ensemble.SeedEnsemble` of that many seeds: a model in its own right.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from .constants import HGB_HOURLY_HOURS, nth_seed
from .errors import DataError


class Forecaster(Protocol):
    history: pd.DataFrame
    info: dict

    def fit(self, task) -> Forecaster: ...

    def predict(self, task, rows: np.ndarray) -> np.ndarray: ...

    def get_params(self, deep: bool = True) -> dict: ...

    def set_params(self, **params) -> Forecaster: ...


@dataclass(frozen=True)
class ModelSpec:
    """One row of the registry: a model's name, kind and class ("module:Class"); whether
    it reads the hourly window ``task.hourly`` (built only when a requested model does):
    all of it (``task.hourly_hours`` hours) or, with ``hourly_hours``, its last that many
    hours up to the issue time; whether it reads the target day's weather hour by hour
    (``task.target_hours``: forecast mode only) and whether it is in the default model
    list (of the modes it runs in)."""

    name: str
    kind: str          # baseline | network
    factory: str
    hourly: bool = False
    default: bool = True
    target_hours: bool = False
    hourly_hours: int = 0

    def model_class(self) -> type:
        module, _, cls = self.factory.partition(":")
        return getattr(importlib.import_module(module), cls)


REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("persistence", "baseline", "baselines.naive:Persistence"),
    ModelSpec("climatology", "baseline", "baselines.naive:Climatology"),
    ModelSpec("linear", "baseline", "baselines.linear:SklearnBaseline"),
    ModelSpec("ridge", "baseline", "baselines.linear:SklearnBaseline"),
    ModelSpec("lasso", "baseline", "baselines.linear:SklearnBaseline"),
    ModelSpec("elasticnet", "baseline", "baselines.linear:SklearnBaseline"),
    ModelSpec("hgb", "baseline", "baselines.linear:SklearnBaseline"),
    # hgb with the last 24 hours up to the issue time too; opt-in (--models): in observed
    # mode it validates better than hgb, but its fits take the default run to its time
    # bound (in forecast mode it validated no better than hgb)
    ModelSpec("hgb_hourly", "baseline", "baselines.linear:SklearnBaseline", hourly=True,
              default=False, hourly_hours=HGB_HOURLY_HOURS),
    # each hour of the target day from its hourly weather; forecast mode only
    ModelSpec("hgb_by_hour", "baseline", "baselines.linear:SklearnBaseline",
              target_hours=True),
    ModelSpec("mlp", "network", "models.training:NetworkForecaster"),
    ModelSpec("gru", "network", "models.training:NetworkForecaster"),
    ModelSpec("lstm", "network", "models.training:NetworkForecaster"),
    ModelSpec("tcn", "network", "models.training:NetworkForecaster"),
    # the last task.hourly_hours hours beside the tabular features; opt-in (--models)
    ModelSpec("gru_hourly", "network", "models.training:NetworkForecaster", hourly=True,
              default=False),
    ModelSpec("lstm_hourly", "network", "models.training:NetworkForecaster", hourly=True,
              default=False),
    ModelSpec("tcn_hourly", "network", "models.training:NetworkForecaster", hourly=True,
              default=False),
    # each hour of the target day, its hours one sequence; forecast mode only
    ModelSpec("gru_by_hour", "network", "models.training:NetworkForecaster",
              target_hours=True),
)}

BASELINE_MODELS = tuple(n for n, s in REGISTRY.items() if s.kind == "baseline")
NETWORK_MODELS = tuple(n for n, s in REGISTRY.items() if s.kind == "network")
ALL_MODELS = tuple(REGISTRY)


def default_models(mode: str) -> tuple[str, ...]:
    """The models a run of ``mode`` fits unless told otherwise: in forecast mode also
    those that read the target day's hourly weather."""
    return tuple(n for n, s in REGISTRY.items()
                 if s.default and (mode == "forecast" or not s.target_hours))


#: the default model list of observed mode (forecast mode's: :func:`default_models`)
DEFAULT_MODELS = default_models("observed")


def reads_target_hours(names) -> bool:
    """Whether any of the models ``names`` reads ``task.target_hours``."""
    return any(spec(name).target_hours for name in names)


def kind_of(name: str) -> str:
    return spec(name).kind


#: the file a run stores a fitted model in, by kind: ``models/NAME.pt`` (a network's
#: weights, ``torch.load(weights_only=True)``) or ``models/NAME.skops`` (a baseline)
MODEL_FILE_SUFFIX = {"network": ".pt", "baseline": ".skops"}


def model_file(run_dir, name: str):
    """Where the run in ``run_dir`` (a Path) stores the fitted model ``name``."""
    return run_dir / "models" / f"{name}{MODEL_FILE_SUFFIX[kind_of(name)]}"


def hourly_hours_read(names) -> tuple[bool, int]:
    """Of the models ``names`` that read the hourly window: whether any reads all of it
    (``task.hourly_hours`` hours), and the most hours up to the issue time that any of
    the others reads (0: none)."""
    readers = [spec(name) for name in names if spec(name).hourly]
    return (any(not s.hourly_hours for s in readers),
            max((s.hourly_hours for s in readers), default=0))


def spec(name: str) -> ModelSpec:
    if name not in REGISTRY:
        raise DataError(f"unknown model {name!r}; known: {', '.join(ALL_MODELS)}")
    return REGISTRY[name]


def built_as(model) -> str | None:
    """The registry name a (fitted or loaded) model was built as: a network's ``kind``,
    a scikit-learn baseline's ``family``, else the one name registered for its class;
    None when none fits. :func:`forecast.predict` checks it against the file's name."""
    for attribute in ("kind", "family"):
        if isinstance(value := getattr(model, attribute, None), str):
            return value
    names = [n for n, s in REGISTRY.items()
             if s.factory.rpartition(":")[2] == type(model).__name__]
    return names[0] if len(names) == 1 else None


def build(name: str, config: dict, seed: int = 0, seeds: int | None = None) -> Forecaster:
    """A fresh, unfitted model ``name`` configured from the run ``config``.

    A network with ``seeds`` (default ``training.seeds``) above 1 is a SeedEnsemble of
    members seeded ``seed``, ``seed + 1``, ... (past 2**32 - 1, the last seed NumPy and
    Lightning take, from 0 on again)
    """
    model_spec = spec(name)
    model = model_spec.model_class().from_config(name, config, seed=seed)
    if model_spec.kind == "network":
        seeds = int(config["training"]["seeds"] if seeds is None else seeds)
        if seeds > 1:
            from models.ensemble import SeedEnsemble

            return SeedEnsemble(model, seeds=[nth_seed(seed, k) for k in range(seeds)],
                                n_jobs=int(config["training"]["jobs"]))
    return model
