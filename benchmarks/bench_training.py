"""Training speed: one epoch of Lightning vs a plain PyTorch loop, and the default networks.

    python benchmarks/bench_training.py [--seeds 3] [--threads 1] [--epochs 5] [--rounds 3]
                                        [--batch-sizes 64,256,1024]

1. For ``mlp`` and ``gru`` with the default configuration: the time of one epoch
   (training pass + validation pass) through ``lightning.Trainer`` and through a plain
   PyTorch loop on the same module, loaders, optimiser and gradient clipping, and the
   ratio (Lightning's per-epoch overhead). The two loops alternate for ``--rounds``
   rounds of ``--epochs`` epochs each; the figure is the fastest epoch of each loop
   (other processes on the machine only ever add time) with the median beside it.
2. The wall time of ``NetworkForecaster.fit`` for mlp, gru, lstm and tcn with the default
   configuration and ``--seeds`` seeds (what ``forecast run`` spends on networks).

Data: the single-site Beijing file under $FORECAST_DATA_DIR or ../shared/data (never
downloaded); synthetic data of the same span when it is absent.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lightning as L  # noqa: E402
from common import data_dir  # noqa: E402
from lightning.pytorch.callbacks import Callback  # noqa: E402

import models  # noqa: E402
from forecast import daily, sources  # noqa: E402
from forecast import task as T  # noqa: E402
from forecast.config import DEFAULTS  # noqa: E402
from forecast.errors import DataError  # noqa: E402
from forecast.synthetic import generate_hourly  # noqa: E402
from models.datamodule import ForecastDataModule  # noqa: E402
from models.module import ForecastModule  # noqa: E402
from models.training import quiet_lightning  # noqa: E402


def load_task() -> tuple[T.ForecastTask, str]:
    folder = data_dir()
    try:
        if folder is None:
            raise DataError("no FORECAST_DATA_DIR and no ../shared/data")
        hourly = sources.load_beijing(folder, allow_download=False).hourly
        dataset, label = "beijing", f"beijing (single site) from {folder}"
    except DataError as exc:
        hourly = generate_hourly(seed=0, start="2010-01-01", end="2014-12-31")
        dataset, label = "synthetic", f"synthetic 2010-2014 (real data unavailable: {exc})"
    task = T.build_task(hourly, daily.to_daily(hourly), dataset=dataset)
    if dataset == "synthetic":
        task = task.with_splits("2012-12-31", "2013-12-31", "2014-12-31")
    return task, label


class EpochTimer(Callback):
    """Wall time of each epoch: training pass plus validation pass."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # after validation in 2.x
        self.times.append(time.perf_counter() - self.start)


def lightning_epoch(kind: str, task: T.ForecastTask, epochs: int,
                    batch_size: int = DEFAULTS["training"]["batch_size"]) -> list[float]:
    forecaster = models.NetworkForecaster.from_config(kind, {}, seed=0)
    L.seed_everything(0, verbose=False)
    data = ForecastDataModule(task, batch_size=batch_size, seed=0)
    data.setup("fit")
    module = ForecastModule(forecaster.make_network_config(task, data.scalers),
                            gradient_clip=DEFAULTS["training"]["gradient_clip"])
    timer = EpochTimer()
    with quiet_lightning():
        trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, num_sanity_val_steps=0,
                            callbacks=[timer])
        trainer.fit(module, datamodule=data)
    return timer.times


def plain_epoch(kind: str, task: T.ForecastTask, epochs: int,
                batch_size: int = DEFAULTS["training"]["batch_size"]) -> list[float]:
    forecaster = models.NetworkForecaster.from_config(kind, {}, seed=0)
    torch.manual_seed(0)
    data = ForecastDataModule(task, batch_size=batch_size, seed=0)
    data.setup("fit")
    module = ForecastModule(forecaster.make_network_config(task, data.scalers))
    optimizer = module.configure_optimizers()["optimizer"]
    train_loader, val_loader = data.train_batches(), data.val_dataloader()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        module.train()
        for x, seq, station, y in train_loader:
            loss = F.mse_loss(module(x, seq, station), y)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(),
                                           DEFAULTS["training"]["gradient_clip"])
            optimizer.step()
        module.eval()
        with torch.no_grad():
            val = [F.mse_loss(module(x, seq, station), y) for x, seq, station, y in val_loader]
        float(torch.stack(val).mean())
        times.append(time.perf_counter() - start)
    return times


def compare(kind: str, task: T.ForecastTask, epochs: int, rounds: int,
            batch_size: int = DEFAULTS["training"]["batch_size"]) -> tuple[list, list]:
    """Epoch times (s) of the Lightning and the plain loop, alternating round by round
    so that a change in the machine's load touches both."""
    lightning_s, plain_s = [], []
    for _ in range(rounds):
        lightning_s += lightning_epoch(kind, task, epochs, batch_size)
        plain_s += plain_epoch(kind, task, epochs, batch_size)
    return lightning_s, plain_s


def row(label: str, lightning_s: list, plain_s: list) -> str:
    fastest, median = min(lightning_s) / min(plain_s), (statistics.median(lightning_s)
                                                       / statistics.median(plain_s))
    return (f"{label} {min(lightning_s) * 1000:8.1f}ms {min(plain_s) * 1000:8.1f}ms "
            f"{fastest:6.2f}   (medians {statistics.median(lightning_s) * 1000:.1f} / "
            f"{statistics.median(plain_s) * 1000:.1f} ms, ratio {median:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=5, help="epochs timed per loop and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each loop, alternating")
    parser.add_argument("--batch-sizes", default="",
                        help="also the mlp's ratio at these batch sizes (e.g. 64,256,1024)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    task, label = load_task()
    n_train, n_val = int(task.mask("train").sum()), int(task.mask("val").sum())
    print(f"data: {label}; {n_train} training and {n_val} validation rows, "
          f"{task.X.shape[1]} features, sequence {task.sequence.shape[1:]}; "
          f"torch threads {args.threads}")

    print(f"\none epoch (train + validation), fastest of {args.rounds} × {args.epochs} per loop, "
          f"batch size {DEFAULTS['training']['batch_size']}:")
    print(f"{'network':8} {'lightning':>10} {'plain':>10} {'ratio':>6}")
    lightning_epoch("mlp", task, 2)   # warm-up: the first Trainer of a process pays imports
    plain_epoch("mlp", task, 2)
    for kind in ("mlp", "gru"):
        print(row(f"{kind:8}", *compare(kind, task, args.epochs, args.rounds)))

    if args.batch_sizes:
        print("\nmlp at other batch sizes (fewer steps per epoch):")
        for size in (int(s) for s in args.batch_sizes.split(",")):
            steps = -(-n_train // size)
            print(row(f"batch {size:5} ({steps:3} steps)",
                      *compare("mlp", task, args.epochs, args.rounds, size)))

    print(f"\ndefault networks, {args.seeds} seeds each (NetworkForecaster.fit, early stopping):")
    config = {"training": {**DEFAULTS["training"], "progress_bar": False}}
    val = task.mask("val")
    total = time.perf_counter()
    for kind in ("mlp", "gru", "lstm", "tcn"):
        start = time.perf_counter()
        epochs, rmse = [], []
        for seed in range(args.seeds):
            forecaster = models.NetworkForecaster.from_config(kind, config, seed=seed).fit(task)
            epochs.append(forecaster.info["epochs_run"])
            rmse.append(np.sqrt(np.mean((forecaster.predict(task, val) - task.y[val]) ** 2)))
        print(f"{kind:8} {time.perf_counter() - start:7.1f}s  epochs {epochs}  "
              f"val RMSE {np.mean(rmse):.1f} µg/m³")
    print(f"{'total':8} {time.perf_counter() - total:7.1f}s")


if __name__ == "__main__":
    main()
