"""The LightningModule: the network, its loss, optimiser, LR schedule and logging.

* the loss: mean squared error on the scaled target (the target transformed by the
  task's ``target_transform`` and standardised with the training mean and std, see
  :mod:`models.scaling`), so a loss of 1.0 is what predicting the training mean scores;
* ``configure_optimizers``: AdamW, SGD with momentum or RMSprop, weight decay, and a
  learning-rate schedule (ReduceLROnPlateau on ``val_loss``, cosine, or none);
* per-epoch logging of ``train_loss``, ``val_loss``, ``grad_norm`` (L2 norm of all
  gradients before clipping, the epoch's mean) and ``lr`` (used in the epoch);
* divergence: a training loss that is not finite or above ``DIVERGED_LOSS`` (10⁶ times
  the variance of the target) stops training and is recorded in ``self.failure``.

One Lightning training step is one epoch: the DataModule's training loader yields the
epoch's minibatches together, and ``training_step`` takes an optimiser step on each
(Lightning's manual optimisation: ``manual_backward``, the LightningOptimizer's ``step``,
the schedule stepped once an epoch). The minibatches, their order and the arithmetic are
those of one Lightning step per minibatch; what changes is that the Trainer's per-step
machinery (about 0.3 ms of hooks, closures and bookkeeping, half the arithmetic of a
small network's step on a CPU) runs once an epoch instead of once a minibatch.

Batches are tuples ``(x, seq, station, y)``: tabular features (batch, n_features),
the daily sequence (batch, length, n_channels), the station index (batch,) and the
scaled target (batch,); for a network that reads the hourly window, ``(x, seq, station,
hourly, y)``. Every tensor but the last is handed to the network in order. A network that
forecasts the target day hour by hour (``gru_by_hour``) gets ``(x, seq, station,
target_hours, y_hours, y)`` and its loss, training and validation, is the Poisson deviance
of its hourly forecasts against ``y_hours`` (:func:`models.by_hour.poisson_deviance`).
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F

from forecast.errors import raise_if_interrupted

from .base import NetworkConfig, quantile_levels
from .by_hour import poisson_deviance
from .networks import build_network_module

DIVERGED_LOSS = 1e6
PLATEAU_FACTOR = 0.5     # ReduceLROnPlateau: halve the learning rate ...
PLATEAU_PATIENCE = 5     # ... after this many epochs without a better val_loss


class ForecastModule(L.LightningModule):
    """Trains one network (``self.network``, plain PyTorch) built from ``config``."""

    def __init__(self, config: NetworkConfig,
                 learning_rates: tuple[float, ...] | None = None,
                 gradient_clip: float | None = None) -> None:
        super().__init__()
        self.automatic_optimization = False   # several optimiser steps a training step
        self.config = config
        self.gradient_clip = gradient_clip    # max L2 norm of the gradients; None: no clip
        # a refit (NetworkForecaster.refitted): the learning rate of each epoch, replayed
        # from the fit that chose the number of epochs; no validation loss to schedule on
        self.learning_rates = learning_rates
        self.network = build_network_module(config)
        self.failure: str | None = None
        # the quantile levels of a quantile head (pinball loss); None: MSE on the forecast
        self.levels = (torch.tensor(quantile_levels(config.n_outputs), dtype=torch.float32)
                       if config.n_outputs > 1 else None)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.network(*inputs)

    def __setattr__(self, name: str, value) -> None:
        # Lightning sets ``_current_fx_name`` (a str or None) twice around every hook it
        # calls, about 40 times a step; ``nn.Module.__setattr__`` checks each value against
        # parameters, modules and buffers, about 10 % of a small network's epoch.
        # Lightning's own ``_ResultMetric`` skips those checks the same way.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # ------------------------------------------------------------------ steps

    # Epoch means are accumulated here and logged once per epoch. Only ``val_loss``, which
    # EarlyStopping, ModelCheckpoint and ReduceLROnPlateau monitor, goes through
    # ``self.log``: a call costs 1.5-2 ms (Lightning's result collection), a tenth of a
    # small network's whole epoch. The curves' other columns go straight to the logger.

    def _loss(self, batch) -> torch.Tensor:
        """MSE on the scaled target, for a quantile head the pinball loss averaged over its
        levels, for a network by hour the Poisson deviance of its hours; its
        batch-weighted sum goes into the epoch's mean."""
        *inputs, y = batch
        if self.network.reads_target_hours:
            *inputs, y_hours = inputs
            loss = poisson_deviance(self.network.log_rates(*inputs), y_hours)
        elif self.levels is None:
            loss = F.mse_loss(self(*inputs), y)
        else:
            error = y[:, None] - self(*inputs)
            loss = torch.maximum(self.levels * error, (self.levels - 1) * error).mean()
        self._sums["loss"] += loss.detach().double() * len(y)
        self._sums["rows"] += len(y)
        return loss

    def _reset(self) -> None:
        self._sums = {"loss": torch.zeros((), dtype=torch.float64, device=self.device),
                      "rows": 0, "grad": 0.0, "steps": 0}

    def _epoch_mean(self) -> torch.Tensor | None:
        """The epoch's mean loss, averaged over the processes when there are several."""
        if not self._sums["rows"]:
            return None
        mean = (self._sums["loss"] / self._sums["rows"]).float()
        return self.trainer.strategy.reduce(mean, reduce_op="mean")

    def on_fit_start(self) -> None:
        if self.levels is not None:
            self.levels = self.levels.to(self.device)

    def on_train_epoch_start(self) -> None:
        self._reset()
        self._epoch_lr = float(self.trainer.optimizers[0].param_groups[0]["lr"])

    def training_step(self, batches, batch_idx) -> None:
        """One epoch: an optimiser step on each of its minibatches, in order."""
        raise_if_interrupted()
        optimizer = self.optimizers()
        for batch in batches:
            loss = self._loss(batch)
            value = loss.item()
            if not (value <= DIVERGED_LOSS):  # also catches NaN
                self.failure = (f"training loss {value:.3g} at epoch {self.current_epoch + 1}, "
                                f"step {self.global_step + 1} (diverged)")
                self.trainer.should_stop = True
                return  # no backward, no optimiser step, no further minibatch
            optimizer.zero_grad()
            self.manual_backward(loss)
            self._clip_gradients()
            optimizer.step()

    def _log_epoch(self) -> None:
        """The epoch's row of the curves: mean training loss, mean gradient norm and the
        learning rate used in it (the validation loss is logged by validation)."""
        if self.logger is None:
            return
        metrics = {"epoch": self.current_epoch, "lr": self._epoch_lr}
        if (train_loss := self._epoch_mean()) is not None:
            metrics["train_loss"] = float(train_loss)
        if self._sums["steps"]:
            grad_norm = torch.tensor(self._sums["grad"] / self._sums["steps"],
                                     dtype=torch.float32, device=self.device)
            metrics["grad_norm"] = float(self.trainer.strategy.reduce(grad_norm,
                                                                       reduce_op="mean"))
        self.logger.log_metrics(metrics, step=self.global_step)

    def on_train_epoch_end(self) -> None:
        self._log_epoch()
        self._step_schedule()

    def on_validation_epoch_start(self) -> None:
        self._train_sums = getattr(self, "_sums", None)
        self._reset()

    def validation_step(self, batch, batch_idx):
        self._loss(batch)

    def on_validation_epoch_end(self) -> None:
        if self._sums["rows"]:
            self.log("val_loss", (self._sums["loss"] / self._sums["rows"]).float(),
                     on_step=False, on_epoch=True, sync_dist=True)
        if self._train_sums is not None:
            self._sums = self._train_sums   # validation runs inside the training epoch

    def _clip_gradients(self) -> None:
        """Clip the gradients' L2 norm to ``gradient_clip`` and add the norm before
        clipping to the epoch's sum (``clip_grad_norm_`` returns it: one pass for both)."""
        parameters = [p for p in self.parameters() if p.grad is not None]
        if not parameters:
            return
        if self.gradient_clip:
            norm = torch.nn.utils.clip_grad_norm_(parameters, float(self.gradient_clip))
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in parameters], norm_type=2.0)
        self._sums["grad"] += float(norm)
        self._sums["steps"] += 1

    def _step_schedule(self) -> None:
        """The learning-rate schedule's step at the end of an epoch (after validation):
        ReduceLROnPlateau reads the epoch's ``val_loss``."""
        scheduler = self.lr_schedulers()
        if scheduler is None or self.failure is not None:
            return
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            val_loss = self.trainer.callback_metrics.get("val_loss")
            if val_loss is not None:
                scheduler.step(val_loss)
        else:
            scheduler.step()

    # ------------------------------------------------------------------ optimiser

    def configure_optimizers(self):
        c = self.config
        if c.optimizer == "adamw":
            optimizer = torch.optim.AdamW(self.parameters(), lr=c.learning_rate,
                                          weight_decay=c.weight_decay)
        elif c.optimizer == "sgd":
            optimizer = torch.optim.SGD(self.parameters(), lr=c.learning_rate,
                                        momentum=c.momentum, weight_decay=c.weight_decay)
        elif c.optimizer == "rmsprop":
            optimizer = torch.optim.RMSprop(self.parameters(), lr=c.learning_rate,
                                            weight_decay=c.weight_decay)
        else:
            raise ValueError(f"unknown optimizer {c.optimizer!r}")
        if self.learning_rates:
            rates = self.learning_rates
            for group in optimizer.param_groups:
                group["lr"] = rates[0]
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda epoch: rates[min(epoch, len(rates) - 1)] / rates[0])
            return {"optimizer": optimizer, "lr_scheduler": scheduler}
        if c.lr_schedule == "none":
            return optimizer
        if c.lr_schedule == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                                   T_max=max(1, c.max_epochs))
            return {"optimizer": optimizer, "lr_scheduler": scheduler}
        if c.lr_schedule == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE)
            return {"optimizer": optimizer, "lr_scheduler": scheduler}   # steps on val_loss
        raise ValueError(f"unknown lr_schedule {c.lr_schedule!r}")
