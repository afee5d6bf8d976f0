"""``NetworkForecaster``: a network trained with Lightning, behind the common model interface.

``fit(task)`` seeds everything, fits the scalers on the training rows, and trains with a
Lightning ``Trainer`` (early stopping and checkpointing on ``val_loss``, CSV logging into
a temporary folder); the best epoch's weights are kept. ``predict(task, rows)`` returns
µg/m³. ``history`` has one row per epoch (``epoch`` counted from 1, ``train_loss``,
``val_loss``, ``grad_norm``, ``lr``); losses are in scaled units (see
:mod:`models.base`). A run whose loss becomes non-finite or explodes raises
:class:`TrainingFailed` with ``info["status"] = "failed: <reason>"``.

``train_issue_hours`` (the run config's ``task.train_issue_hours``; empty by default): also
train on the rows issued at those hours of the issue day, whose target is the same daily
mean (:meth:`forecast.task.ForecastTask.with_issue_hours`); validation, early stopping and
every forecast stay on the end-of-day rows, which the network then reads with
``issue_hours_before_end`` = 0.

``save(path)`` / ``NetworkForecaster.load(path)`` store weights, hyper-parameters and
scalers as tensors and plain values: ``torch.load(..., weights_only=True)``, no pickle.
Lightning is imported only to train: a fitted or loaded network forecasts with plain
PyTorch (so ``forecast predict`` needs neither Lightning nor, through it, matplotlib).
"""

from __future__ import annotations

import gc
import logging
import math
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone

from forecast.config import DEFAULTS
from forecast.errors import DataError, ModelFailed
from forecast.task import EXTRA_TRAIN, ForecastTask, check_inputs, row_indices
from forecast.uncertainty import LEVELS

from .base import NetworkConfig
from .networks import NETWORKS, build_network_module
from .scaling import EVAL_BATCH_SIZE, Scalers

HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "grad_norm", "lr"]
#: rows whose inputs a forecast builds at a time, whole evaluation batches (so the
#: batches, and the forecasts, are those of all rows at once): at 1,000 stations in
#: forecast mode gru_by_hour's target-day hours of every row of a run (1.8 million)
#: would take about 5 GiB at once
PREDICT_ROWS = 12 * EVAL_BATCH_SIZE
MAX_STATION_DIM = 8
TCN_KERNEL = 3


class TrainingFailed(ModelFailed):
    """A network's training diverged; the pipeline goes on with the other models."""


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


def check_hardware(training: dict) -> None:
    """The config's ``training`` accelerator, devices, strategy and nodes as Lightning's
    Trainer takes them: DataError in one line when this machine cannot give them (no GPU
    for "gpu", fewer GPUs than ``devices``), before any data are read or any directory
    made. "auto" and "cpu" need no check (Lightning's CPU is always there)."""
    accelerator = training["accelerator"]
    if accelerator in ("auto", "cpu"):
        return
    import lightning as L
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        with quiet_lightning():
            L.Trainer(accelerator=accelerator, devices=training["devices"],
                      strategy=training["strategy"], num_nodes=int(training["num_nodes"]),
                      logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False)
    except (MisconfigurationException, ValueError, RuntimeError, ImportError) as exc:
        said = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"config: training.accelerator = {accelerator!r} with devices = "
                        f"{training['devices']}: Lightning cannot train so here ({said}); "
                        "'auto' trains on what there is") from None


@contextmanager
def torch_threads(threads: int):
    """PyTorch's intra-op threads set to ``threads`` (0: left as they are) while training:
    small networks on a small CPU, where more threads mostly add contention."""
    previous = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def released_on_return():
    """Collect the fit's garbage once it returns: the Trainer, the LightningModule and the
    DataModule refer to one another, so their tensors (every training row on the device)
    wait for Python's cycle collector otherwise. At 200 stations each fit left 0.4 GiB
    behind, and a run's peak memory depended on when the collector happened to run."""
    try:
        yield
    finally:
        gc.collect()


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


#: The ``[training]`` options that are a network's constructor arguments (all but seeds).
TRAINING_PARAMETERS = ("hidden", "layers", "dropout", "activation", "learning_rate",
                       "weight_decay", "optimizer", "momentum", "batch_size",
                       "max_steps_per_epoch", "max_batch_size", "max_val_rows", "max_epochs",
                       "patience",
                       "gradient_clip", "lr_schedule", "accelerator", "devices", "strategy",
                       "num_nodes", "progress_bar", "threads", "loss")


class NetworkForecaster(BaseEstimator):
    """mlp, gru, lstm, tcn or an hourly network (gru_hourly, lstm_hourly, tcn_hourly)
    behind the common model interface.

    Every argument is a hyper-parameter (``get_params`` / ``set_params``,
    ``sklearn.base.clone``); the defaults are those of the ``[training]`` config table.
    Fitted state: ``model_`` (the LightningModule, best epoch, on the CPU), ``scalers_``,
    ``network_config_``, ``history_`` and ``info_``.
    """

    def __init__(self, kind: str = "mlp", hidden: int = DEFAULTS["training"]["hidden"],
                 layers: int = DEFAULTS["training"]["layers"],
                 dropout: float = DEFAULTS["training"]["dropout"],
                 activation: str = DEFAULTS["training"]["activation"],
                 learning_rate: float = DEFAULTS["training"]["learning_rate"],
                 weight_decay: float = DEFAULTS["training"]["weight_decay"],
                 optimizer: str = DEFAULTS["training"]["optimizer"],
                 momentum: float = DEFAULTS["training"]["momentum"],
                 batch_size: int = DEFAULTS["training"]["batch_size"],
                 max_steps_per_epoch: int = DEFAULTS["training"]["max_steps_per_epoch"],
                 max_batch_size: int = DEFAULTS["training"]["max_batch_size"],
                 max_val_rows: int = DEFAULTS["training"]["max_val_rows"],
                 max_epochs: int = DEFAULTS["training"]["max_epochs"],
                 patience: int = DEFAULTS["training"]["patience"],
                 gradient_clip: float = DEFAULTS["training"]["gradient_clip"],
                 lr_schedule: str = DEFAULTS["training"]["lr_schedule"],
                 accelerator: str = DEFAULTS["training"]["accelerator"],
                 devices: int = DEFAULTS["training"]["devices"],
                 strategy: str = DEFAULTS["training"]["strategy"],
                 num_nodes: int = DEFAULTS["training"]["num_nodes"],
                 progress_bar: bool = DEFAULTS["training"]["progress_bar"],
                 threads: int = DEFAULTS["training"]["threads"],
                 loss: str = DEFAULTS["training"]["loss"],
                 train_issue_hours: tuple[int, ...] = (), seed: int = 0) -> None:
        self.kind = kind
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.activation = activation
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_steps_per_epoch = max_steps_per_epoch
        self.max_batch_size = max_batch_size
        self.max_val_rows = max_val_rows
        self.max_epochs = max_epochs
        self.patience = patience
        self.gradient_clip = gradient_clip
        self.lr_schedule = lr_schedule
        self.accelerator = accelerator
        self.devices = devices
        self.strategy = strategy
        self.num_nodes = num_nodes
        self.progress_bar = progress_bar
        self.threads = threads
        self.loss = loss
        self.train_issue_hours = train_issue_hours
        self.seed = seed

    @classmethod
    def from_config(cls, name: str, config: dict, seed: int = 0) -> NetworkForecaster:
        """The network ``name`` with the run config's ``[training]`` options and its
        ``task.train_issue_hours``."""
        training = {**DEFAULTS["training"], **(config or {}).get("training", {})}
        hours = (config or {}).get("task", {}).get("train_issue_hours",
                                                   DEFAULTS["task"]["train_issue_hours"])
        return cls(kind=name, seed=seed, train_issue_hours=tuple(int(h) for h in hours),
                   **{k: training[k] for k in TRAINING_PARAMETERS})

    @property
    def history(self) -> pd.DataFrame:
        return getattr(self, "history_", pd.DataFrame(columns=HISTORY_COLUMNS))

    @property
    def info(self) -> dict:
        return getattr(self, "info_", {"status": "not fitted"})

    # ------------------------------------------------------------------ fit

    def training_task(self, task: ForecastTask) -> ForecastTask:
        """``task`` with the rows issued at ``train_issue_hours`` that train the network
        (``train_extra``); ``task`` itself when there are none to add."""
        return task.with_issue_hours(self.train_issue_hours) if self.train_issue_hours else task

    def input_names(self, task: ForecastTask) -> dict[str, list[str]]:
        """The names of the inputs this network reads of ``task``, by kind
        (:meth:`ForecastTask.input_names`): the hourly window's, or the target day's
        hours', only if it reads them."""
        names = task.input_names()
        return {kind: names[kind] for kind in ("features", "sequence channels")
                + (("hourly channels",) if NETWORKS[self.kind].reads_hourly else ())
                + (("target-hour channels",) if NETWORKS[self.kind].reads_target_hours
                   else ())}

    def check_task(self, task: ForecastTask, path: str | Path = "the fitted network") -> None:
        """DataError unless ``task`` gives the inputs it was fitted on, in the same order
        (a network from before they were stored is not checked)."""
        if getattr(self, "inputs_", None):
            check_inputs(self.inputs_, task, str(path))

    def input_task(self, task: ForecastTask) -> ForecastTask:
        """``task`` as the network reads it: with ``issue_hours_before_end`` when it was
        trained on other issue hours (0 for the end-of-day rows it forecasts)."""
        return task.with_issue_hour_feature() if self.train_issue_hours else task

    def make_network_config(self, task: ForecastTask, scalers: Scalers) -> NetworkConfig:
        n_stations = len(task.stations)
        reads_hourly = scalers.n_hourly_channels > 0
        by_hour = NETWORKS[self.kind].reads_target_hours
        return NetworkConfig(
            kind=self.kind, n_features=scalers.n_features, n_channels=scalers.n_channels,
            sequence_length=int(task.sequence.shape[1]),
            n_hourly_channels=scalers.n_hourly_channels,
            hourly_length=int(task.hourly.shape[1]) if reads_hourly else 0,
            n_target_hour_channels=scalers.n_target_hour_channels,
            target_offset=-scalers.y_mean / scalers.y_std if by_hour else 0.0,
            n_stations=n_stations,
            station_dim=min(MAX_STATION_DIM, n_stations) if n_stations > 1 else 0,
            hidden=int(self.hidden), layers=int(self.layers), dropout=float(self.dropout),
            activation=self.activation, kernel_size=TCN_KERNEL, optimizer=self.optimizer,
            learning_rate=float(self.learning_rate), weight_decay=float(self.weight_decay),
            momentum=float(self.momentum), lr_schedule=self.lr_schedule,
            max_epochs=int(self.max_epochs),
            n_outputs=len(LEVELS) if self.predicts_quantiles else 1,
        )

    def fit(self, task: ForecastTask, callbacks=()) -> NetworkForecaster:
        """Train on ``task``; ``callbacks``: extra Lightning callbacks (e.g. progress)."""
        if self.kind not in NETWORKS:
            raise ValueError(f"unknown network {self.kind!r}; known: {', '.join(NETWORKS)}")
        with torch_threads(int(self.threads)), released_on_return():
            return self._fit(task, list(callbacks))

    def refitted(self, final_task: ForecastTask) -> NetworkForecaster:
        """A copy trained on ``final_task`` (:meth:`forecast.task.ForecastTask.for_final_fit`:
        training and validation rows together, no validation rows) for the number of
        epochs this fit's validation loss chose (``best_epoch``), with the learning rate
        of each of those epochs replayed from this fit's history, and the same seed. Its
        weights are those after the last epoch: nothing is left to choose them on."""
        if getattr(self, "model_", None) is None:
            raise RuntimeError(f"{self.kind}: fit the network before refitting it")
        epochs = int(self.info_["best_epoch"])
        rates = tuple(float(r) for r in self.history_["lr"].to_numpy()[:epochs])
        if len(rates) < epochs or not all(math.isfinite(r) for r in rates):
            rates = (float(self.learning_rate),) * epochs
        with torch_threads(int(self.threads)), released_on_return():
            return clone(self)._fit(final_task, [], learning_rates=rates)

    def _fit(self, task: ForecastTask, callbacks: list,
             learning_rates: tuple[float, ...] | None = None) -> NetworkForecaster:
        """Early stopping on the validation rows; with ``learning_rates`` (a refit)
        exactly that many epochs at those rates, no validation."""
        import lightning as L
        from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
        from lightning.pytorch.loggers import CSVLogger

        from .datamodule import ForecastDataModule
        from .module import ForecastModule

        start = time.perf_counter()
        self.inputs_ = self.input_names(task)
        task = self.training_task(task)
        L.seed_everything(self.seed, workers=True, verbose=False)
        torch.use_deterministic_algorithms(True, warn_only=True)
        data = ForecastDataModule(task, batch_size=int(self.batch_size), seed=self.seed,
                                  hourly=NETWORKS[self.kind].reads_hourly,
                                  target_hours=NETWORKS[self.kind].reads_target_hours,
                                  max_steps_per_epoch=int(self.max_steps_per_epoch),
                                  max_batch_size=int(self.max_batch_size),
                                  max_val_rows=int(self.max_val_rows))
        data.setup("fit")
        self.scalers_ = data.scalers
        self.network_config_ = self.make_network_config(task, data.scalers)
        model = ForecastModule(self.network_config_, learning_rates,
                               gradient_clip=float(self.gradient_clip) or None)
        self.info_ = {"name": self.kind, "seed": self.seed, "status": "running",
                      "n_parameters": sum(p.numel() for p in model.parameters()),
                      **{k: getattr(self, k) for k in (
                          "hidden", "layers", "dropout", "activation", "learning_rate",
                          "weight_decay", "batch_size", "optimizer", "lr_schedule",
                          "max_epochs", "patience")},
                      "batch_size_used": data.train_batch_size,
                      "training_rows": data.n_training_rows,
                      "rows_per_epoch": data.rows_per_epoch or data.n_training_rows}
        if self.train_issue_hours:
            self.info_.update(train_issue_hours=sorted({int(h) for h in self.train_issue_hours}),
                              n_train_rows=int(task.mask("train").sum()),
                              n_extra_train_rows=int(task.mask(EXTRA_TRAIN).sum()))

        refit = learning_rates is not None
        if not refit:    # the rows whose loss stops training early (all, or a sample)
            self.info_["val_loss_rows"] = len(data.val_loss_rows)
        with tempfile.TemporaryDirectory(prefix="pm25-train-") as tmp, quiet_lightning():
            early_stopping = EarlyStopping(monitor="val_loss", patience=int(self.patience),
                                           check_finite=True)
            checkpoint = ModelCheckpoint(dirpath=Path(tmp) / "checkpoints", monitor="val_loss",
                                         save_top_k=1, save_weights_only=True)
            logger = CSVLogger(tmp, name="logs", version=0)
            trainer = L.Trainer(
                accelerator=self.accelerator, devices=self.devices, strategy=self.strategy,
                num_nodes=int(self.num_nodes),
                max_epochs=len(learning_rates) if refit else int(self.max_epochs),
                deterministic="warn",  # torch.use_deterministic_algorithms(True, warn_only)
                callbacks=[*callbacks] if refit else [early_stopping, checkpoint, *callbacks],
                logger=logger, enable_checkpointing=not refit,
                limit_val_batches=0 if refit else None,
                enable_progress_bar=bool(self.progress_bar), enable_model_summary=False,
                num_sanity_val_steps=0, log_every_n_steps=1, default_root_dir=tmp,
            )
            trainer.fit(model, datamodule=data)
            trainer.strategy.barrier()
            self.history_ = read_history(Path(logger.log_dir) / "metrics.csv")
            failure = model.failure or _divergence(self.history_)
            best_score = None if refit else checkpoint.best_model_score
            if failure is None and not refit and (best_score is None
                                                  or not math.isfinite(float(best_score))):
                failure = "no finite validation loss (diverged)"
            if refit:
                best_epoch = int(trainer.current_epoch)
            elif failure is None:
                best = torch.load(checkpoint.best_model_path, map_location="cpu",
                                  weights_only=True)
                model.load_state_dict(best["state_dict"])
                best_epoch = int(best["epoch"]) + 1
            trainer.strategy.barrier()  # every rank has read the checkpoint before cleanup

        self.info_["fit_seconds"] = round(time.perf_counter() - start, 3)
        self.info_["epochs_run"] = int(trainer.current_epoch)
        self.info_["world_size"] = int(trainer.world_size)
        self.info_["stopped_early"] = bool(early_stopping.stopped_epoch > 0)
        if failure is not None:
            self.info_["status"] = f"failed: {failure}"
            self.model_ = None
            raise TrainingFailed(f"{self.kind} (seed {self.seed}): {failure}")
        self.model_ = model.network.cpu().eval()
        self.info_.update(status="ok", best_epoch=best_epoch)
        if refit:
            self.info_["refit_on_rows"] = int(task.training_rows().sum())
        else:
            self.info_["best_val_loss"] = float(best_score)
        return self

    # ------------------------------------------------------------------ predict

    @property
    def predicts_quantiles(self) -> bool:
        """Whether the network has a quantile head (``loss="pinball"``; a network by hour
        keeps its Poisson loss on the hours and forecasts their mean)."""
        return self.loss == "pinball" and not NETWORKS[self.kind].reads_target_hours

    def predict(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        """Forecasts in µg/m³ (finite, ≥ 0) for the rows selected by the mask ``rows``;
        for a quantile head the mean of its quantiles (the mean of its distribution)."""
        return self.predict_and_clip(task, rows)[0]

    def predict_quantiles(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        """A quantile head's quantiles (µg/m³) at the levels of
        :data:`forecast.uncertainty.LEVELS`, (rows, levels), increasing."""
        if not self.predicts_quantiles:
            raise RuntimeError(f"{self.kind}: trained with loss={self.loss!r}, no quantile head")
        return self._quantiles(self._scaled_outputs(task, rows))

    def _quantiles(self, scaled: np.ndarray) -> np.ndarray:
        """A quantile head's scaled outputs (rows, levels) → increasing µg/m³ quantiles."""
        return np.sort(self.scalers_.to_target(scaled), axis=1)

    def at_output_clip(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        """For each selected row, whether the network's raw output (a quantile head's
        median) reached the clip that keeps forecasts within the training targets' range
        ± a margin (see :meth:`models.datamodule.Scalers.output_clip`): a sign of inputs it
        cannot handle."""
        return self.predict_and_clip(task, rows)[1]

    def predict_and_clip(self, task: ForecastTask, rows: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` and :meth:`at_output_clip` from one forward pass."""
        scaled = self._scaled_outputs(task, rows)
        if scaled.ndim == 2:   # a quantile head: the mean of its sorted quantiles
            values = self._quantiles(scaled).mean(axis=1)
            scaled = scaled[:, scaled.shape[1] // 2]
        else:
            values = self.scalers_.to_target(scaled)
        return values, self.scalers_.at_output_clip(scaled)

    def _scaled_outputs(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        if getattr(self, "model_", None) is None:
            raise RuntimeError(f"{self.kind}: fit (or load) the network before predicting")
        n_stations = self.network_config_.n_stations
        if rows.any() and task.station_index[rows].max() >= n_stations:
            raise ValueError(f"{self.kind}: the task has more stations than the "
                             f"{n_stations} the network was fitted on")
        task = self.input_task(task)
        index = row_indices(rows)
        self.model_.eval()
        scaled = []
        # the inputs of PREDICT_ROWS rows at a time: a network that reads hours (the
        # window, the target day's) holds 24 or more values per channel and row
        for start in range(0, len(index), PREDICT_ROWS):
            # (x, seq, station[, hourly or target hours])
            inputs = self.scalers_.inputs(task, index[start:start + PREDICT_ROWS])
            with torch.no_grad():
                scaled += [self.model_(*(t[i:i + EVAL_BATCH_SIZE] for t in inputs))
                           for i in range(0, len(inputs[0]), EVAL_BATCH_SIZE)]
        return torch.cat(scaled).numpy() if scaled else np.zeros(0)

    # ------------------------------------------------------------------ save / load

    def state(self) -> dict:
        """The fitted network as tensors and plain values (what ``save`` writes)."""
        if getattr(self, "model_", None) is None:
            raise RuntimeError(f"{self.kind}: nothing to save, the network is not fitted")
        info = {k: v for k, v in self.info.items() if isinstance(v, (int, float, str, bool))}
        return {"state_dict": self.model_.state_dict(), "params": self.get_params(),
                "network": asdict(self.network_config_),
                "target_transform": self.scalers_.target_transform,
                "scalers": self.scalers_.state(), "info": info,
                "inputs": dict(getattr(self, "inputs_", None) or {})}

    @classmethod
    def from_state(cls, saved: dict) -> NetworkForecaster:
        forecaster = cls(**saved["params"])
        forecaster.network_config_ = NetworkConfig(**saved["network"])
        forecaster.scalers_ = Scalers.from_state(saved["scalers"], saved["target_transform"])
        forecaster.model_ = build_network_module(forecaster.network_config_)
        forecaster.model_.load_state_dict(saved["state_dict"])
        forecaster.model_.eval()
        forecaster.info_ = dict(saved.get("info", {}))
        forecaster.inputs_ = {k: list(v) for k, v in saved.get("inputs", {}).items()}
        return forecaster

    def save(self, path: str | Path) -> None:
        torch.save({"format": "network", **self.state()}, path)

    @classmethod
    def load(cls, path: str | Path) -> NetworkForecaster:
        return cls.from_state(torch.load(path, map_location="cpu", weights_only=True))
