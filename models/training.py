"""``NetworkForecaster``: a Lightning network behind the common model interface.

``fit(task)`` seeds everything, fits the scalers on the training rows, and trains with a
Lightning ``Trainer`` (early stopping and checkpointing on ``val_loss``, CSV logging into
a temporary folder); the best epoch's weights are kept. ``predict(task, rows)`` returns
µg/m³. ``history`` has one row per epoch (``epoch`` counted from 1, ``train_loss``,
``val_loss``, ``grad_norm``, ``lr``); losses are in scaled units (see
:mod:`models.base`). A run whose loss becomes non-finite or explodes raises
:class:`TrainingFailed` with ``info["status"] = "failed: <reason>"``.

``save(path)`` / ``NetworkForecaster.load(path)`` store weights, hyper-parameters and
scalers as tensors and plain values: ``torch.load(..., weights_only=True)``, no pickle.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from forecast.config import DEFAULTS
from forecast.errors import ModelFailed
from forecast.task import ForecastTask

from .base import ForecastNetwork, NetworkConfig
from .datamodule import ForecastDataModule, Scalers
from .mlp import MLP
from .recurrent import Recurrent
from .tcn import TCN

NETWORKS = {"mlp": MLP, "gru": Recurrent, "lstm": Recurrent, "tcn": TCN}
HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "grad_norm", "lr"]
MAX_STATION_DIM = 8
TCN_KERNEL = 3


class TrainingFailed(ModelFailed):
    """A network's training diverged; the pipeline goes on with the other models."""


def build_module(config: NetworkConfig) -> ForecastNetwork:
    return NETWORKS[config.kind](config)


def training_options(config: dict) -> dict:
    """The ``[training]`` table of a run config, defaults filled in."""
    return {**DEFAULTS["training"], **(config or {}).get("training", {})}


@contextmanager
def quiet_lightning():
    """Hide Lightning's INFO banners (GPU available, tips) and the few-workers warning."""
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*does not have many workers.*")
            warnings.filterwarnings("ignore", ".*LeafSpec.*")
            warnings.filterwarnings("ignore", ".*`training_step` returned `None`.*")
            yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


def read_history(metrics_csv: Path) -> pd.DataFrame:
    """CSVLogger's metrics.csv → one row per epoch (epoch counted from 1)."""
    if not metrics_csv.is_file():  # e.g. on a DDP rank other than 0: only rank 0 logs
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    raw = pd.read_csv(metrics_csv)
    per_epoch = raw.groupby("epoch", sort=True).first().reset_index()
    per_epoch["epoch"] = per_epoch["epoch"].astype(int) + 1
    return per_epoch.reindex(columns=HISTORY_COLUMNS).reset_index(drop=True)


def _divergence(history: pd.DataFrame) -> str | None:
    for column in ("train_loss", "val_loss"):
        values = history[column].to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values) & ~pd.isna(history[column]).to_numpy())
        if len(bad):
            epoch = int(history["epoch"].iloc[bad[0]])
            return f"{column} became {values[bad[0]]} at epoch {epoch} (diverged)"
    return None


class NetworkForecaster:
    """mlp, gru, lstm or tcn behind the common model interface."""

    def __init__(self, kind: str, config: dict | None = None, seed: int = 0) -> None:
        if kind not in NETWORKS:
            raise ValueError(f"unknown network {kind!r}; known: {', '.join(NETWORKS)}")
        self.name = kind
        self.kind = kind
        self.seed = seed
        self.options = training_options(config or {})
        self.network_config: NetworkConfig | None = None
        self.model: ForecastNetwork | None = None
        self.scalers: Scalers | None = None
        self.history = pd.DataFrame(columns=HISTORY_COLUMNS)
        self.info: dict = {"status": "not fitted"}

    # ------------------------------------------------------------------ fit

    def make_network_config(self, task: ForecastTask, scalers: Scalers) -> NetworkConfig:
        o = self.options
        n_stations = len(task.stations)
        return NetworkConfig(
            kind=self.kind, n_features=scalers.n_features, n_channels=scalers.n_channels,
            sequence_length=int(task.sequence.shape[1]), n_stations=n_stations,
            station_dim=min(MAX_STATION_DIM, n_stations) if n_stations > 1 else 0,
            hidden=int(o["hidden"]), layers=int(o["layers"]), dropout=float(o["dropout"]),
            activation=o["activation"], kernel_size=TCN_KERNEL, optimizer=o["optimizer"],
            learning_rate=float(o["learning_rate"]), weight_decay=float(o["weight_decay"]),
            momentum=float(o["momentum"]), lr_schedule=o["lr_schedule"],
            max_epochs=int(o["max_epochs"]),
        )

    def fit(self, task: ForecastTask) -> NetworkForecaster:
        threads = int(self.options.get("threads", 0))
        previous = torch.get_num_threads()
        if threads > 0:
            # small networks on a small CPU: more threads mostly add contention
            torch.set_num_threads(threads)
        try:
            return self._fit(task)
        finally:
            torch.set_num_threads(previous)

    def _fit(self, task: ForecastTask) -> NetworkForecaster:
        o = self.options
        start = time.perf_counter()
        L.seed_everything(self.seed, workers=True, verbose=False)
        torch.use_deterministic_algorithms(True, warn_only=True)
        data = ForecastDataModule(task, batch_size=int(o["batch_size"]), seed=self.seed)
        data.setup("fit")
        self.scalers = data.scalers
        self.network_config = self.make_network_config(task, data.scalers)
        model = build_module(self.network_config)
        self.info = {"name": self.kind, "seed": self.seed, "status": "running",
                     "n_parameters": sum(p.numel() for p in model.parameters()),
                     **{k: o[k] for k in ("hidden", "layers", "dropout", "activation",
                                          "learning_rate", "weight_decay", "batch_size",
                                          "optimizer", "lr_schedule", "max_epochs",
                                          "patience")}}

        with tempfile.TemporaryDirectory(prefix="pm25-train-") as tmp, quiet_lightning():
            early_stopping = EarlyStopping(monitor="val_loss", patience=int(o["patience"]),
                                           check_finite=True)
            checkpoint = ModelCheckpoint(dirpath=Path(tmp) / "checkpoints", monitor="val_loss",
                                         save_top_k=1, save_weights_only=True)
            logger = CSVLogger(tmp, name="logs", version=0)
            trainer = L.Trainer(
                accelerator=o["accelerator"], devices=o["devices"], strategy=o["strategy"],
                max_epochs=int(o["max_epochs"]),
                gradient_clip_val=float(o["gradient_clip"]) or None,
                deterministic="warn",  # torch.use_deterministic_algorithms(True, warn_only)
                callbacks=[early_stopping, checkpoint], logger=logger,
                enable_progress_bar=bool(o["progress_bar"]), enable_model_summary=False,
                num_sanity_val_steps=0, log_every_n_steps=1, default_root_dir=tmp,
            )
            trainer.fit(model, datamodule=data)
            trainer.strategy.barrier()
            self.history = read_history(Path(logger.log_dir) / "metrics.csv")
            failure = model.failure or _divergence(self.history)
            best_score = checkpoint.best_model_score
            if failure is None and (best_score is None or not math.isfinite(float(best_score))):
                failure = "no finite validation loss (diverged)"
            if failure is None:
                best = torch.load(checkpoint.best_model_path, map_location="cpu",
                                  weights_only=True)
                model.load_state_dict(best["state_dict"])
                best_epoch = int(best["epoch"]) + 1
            trainer.strategy.barrier()  # every rank has read the checkpoint before cleanup

        self.info["fit_seconds"] = round(time.perf_counter() - start, 3)
        self.info["epochs_run"] = int(trainer.current_epoch)
        self.info["stopped_early"] = bool(early_stopping.stopped_epoch > 0)
        if failure is not None:
            self.info["status"] = f"failed: {failure}"
            self.model = None
            raise TrainingFailed(f"{self.kind} (seed {self.seed}): {failure}")
        self.model = model.cpu().eval()
        self.info.update(status="ok", best_epoch=best_epoch,
                         best_val_loss=float(best_score))
        return self

    # ------------------------------------------------------------------ predict

    def predict(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        """Forecasts in µg/m³ (finite, ≥ 0) for the rows selected by the mask ``rows``."""
        return self.scalers.to_target(self._scaled_outputs(task, rows))

    def at_output_clip(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        """For each selected row, whether the network's raw output reached the clip that
        keeps forecasts within the training targets' range ± a margin (see
        :meth:`models.datamodule.Scalers.output_clip`): a sign of inputs it cannot handle."""
        return self.scalers.at_output_clip(self._scaled_outputs(task, rows))

    def _scaled_outputs(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        if self.model is None or self.scalers is None:
            raise RuntimeError(f"{self.kind}: fit (or load) the network before predicting")
        if rows.any() and task.station_index[rows].max() >= self.network_config.n_stations:
            raise ValueError(f"{self.kind}: the task has more stations than the "
                             f"{self.network_config.n_stations} the network was fitted on")
        loader = ForecastDataModule(task, scalers=self.scalers).predict_loader(rows)
        self.model.eval()
        with torch.no_grad():
            scaled = [self.model(x, seq, station) for x, seq, station in loader]
        return torch.cat(scaled).numpy() if scaled else np.zeros(0)

    # ------------------------------------------------------------------ save / load

    def save(self, path: str | Path) -> None:
        if self.model is None:
            raise RuntimeError(f"{self.kind}: nothing to save, the network is not fitted")
        hyper = {**asdict(self.network_config), "seed": self.seed,
                 "target_transform": self.scalers.target_transform,
                 "options": {k: v for k, v in self.options.items()
                             if isinstance(v, (int, float, str))}}
        info = {k: v for k, v in self.info.items() if isinstance(v, (int, float, str, bool))}
        torch.save({"state_dict": self.model.state_dict(), "hyper": hyper,
                    "scalers": self.scalers.state(), "info": info}, path)

    @classmethod
    def load(cls, path: str | Path) -> NetworkForecaster:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        hyper = dict(saved["hyper"])
        seed = hyper.pop("seed")
        transform = hyper.pop("target_transform")
        options = hyper.pop("options")
        forecaster = cls(hyper["kind"], {"training": options}, seed=seed)
        forecaster.network_config = NetworkConfig(**hyper)
        forecaster.scalers = Scalers.from_state(saved["scalers"], transform)
        forecaster.model = build_module(forecaster.network_config)
        forecaster.model.load_state_dict(saved["state_dict"])
        forecaster.model.eval()
        forecaster.info = dict(saved.get("info", {}))
        return forecaster
