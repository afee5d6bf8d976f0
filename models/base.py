"""The LightningModule every network shares: loss, optimiser, LR schedule and logging.

A network file (``mlp.py``, ``recurrent.py``, ``tcn.py``) only builds its layers and
writes ``forward(x, seq, station)``; everything about *training* lives here:

* the loss: mean squared error on the scaled target (the target transformed by the
  task's ``target_transform`` and standardised with the training mean and std, see
  :mod:`models.datamodule`), so a loss of 1.0 is what predicting the training mean
  scores;
* ``configure_optimizers``: AdamW, SGD with momentum or RMSprop, weight decay, and a
  learning-rate schedule (ReduceLROnPlateau on ``val_loss``, cosine, or none);
* per-epoch logging of ``train_loss``, ``val_loss``, ``grad_norm`` (mean L2 norm of all
  gradients before clipping) and ``lr``;
* divergence: a training loss that is not finite or above ``DIVERGED_LOSS`` (10⁶ times
  the variance of the target) stops training and is recorded in ``self.failure``.

Batches are tuples ``(x, seq, station, y)``: tabular features (batch, n_features),
the daily sequence (batch, length, n_channels), the station index (batch,) and the
scaled target (batch,).
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
DIVERGED_LOSS = 1e6
PLATEAU_FACTOR = 0.5     # ReduceLROnPlateau: halve the learning rate ...
PLATEAU_PATIENCE = 5     # ... after this many epochs without a better val_loss


@dataclass
class NetworkConfig:
    """Everything needed to rebuild a network: plain ints, floats and strings."""

    kind: str = "mlp"              # mlp | gru | lstm | tcn
    n_features: int = 1            # tabular inputs (standardised + missing indicators)
    n_channels: int = 1            # sequence channels (standardised + missing indicators)
    sequence_length: int = 14
    n_stations: int = 1
    station_dim: int = 0           # size of the station embedding; 0 = one station, none
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.2
    activation: str = "relu"       # relu | tanh | gelu
    kernel_size: int = 3           # tcn only
    optimizer: str = "adamw"       # adamw | sgd | rmsprop
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9          # sgd only
    lr_schedule: str = "plateau"   # plateau | cosine | none
    max_epochs: int = 150          # the cosine schedule's period


def feedforward(n_in: int, hidden: int, layers: int, dropout: float, activation: str,
                n_out: int | None = None) -> nn.Sequential:
    """``layers`` × (Linear → activation → Dropout), then an optional Linear to ``n_out``."""
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [nn.Linear(n_in if i == 0 else hidden, hidden), ACTIVATIONS[activation](),
                   nn.Dropout(dropout)]
    if n_out is not None:
        blocks.append(nn.Linear(hidden if layers else n_in, n_out))
    return nn.Sequential(*blocks)


class ForecastNetwork(L.LightningModule):
    """Base class: subclasses build their layers in ``__init__`` and define ``forward``."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.station_embedding = (nn.Embedding(config.n_stations, config.station_dim)
                                  if config.station_dim else None)
        self.failure: str | None = None

    @property
    def n_static(self) -> int:
        """Width of the static input: tabular features plus the station embedding."""
        return self.config.n_features + self.config.station_dim

    def static_inputs(self, x: torch.Tensor, station: torch.Tensor) -> torch.Tensor:
        """Tabular features, with the station's embedding appended for a global model."""
        if self.station_embedding is None:
            return x
        return torch.cat([x, self.station_embedding(station)], dim=-1)

    def forward(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # ------------------------------------------------------------------ steps

    def _logged_loss(self, batch, name: str) -> torch.Tensor:
        """MSE on the scaled target, logged as the epoch mean under ``name``."""
        x, seq, station, y = batch
        loss = F.mse_loss(self(x, seq, station), y)
        self.log(name, loss, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True)
        return loss

    def training_step(self, batch, batch_idx):
        loss = self._logged_loss(batch, "train_loss")
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], on_step=False,
                 on_epoch=True, sync_dist=True)  # the learning rate used in this epoch
        value = loss.item()
        if not (value <= DIVERGED_LOSS):  # also catches NaN
            self.failure = (f"training loss {value:.3g} at epoch {self.current_epoch + 1}, "
                            f"step {self.global_step + 1} (diverged)")
            self.trainer.should_stop = True
            return None  # skip backward and the optimiser step
        return loss

    def validation_step(self, batch, batch_idx):
        self._logged_loss(batch, "val_loss")

    def on_before_optimizer_step(self, optimizer) -> None:
        # called after backward and before gradient clipping
        norms = [p.grad.detach().norm(2) for p in self.parameters() if p.grad is not None]
        if norms:
            self.log("grad_norm", torch.stack(norms).norm(2), on_step=False, on_epoch=True,
                     sync_dist=True)

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
        if c.lr_schedule == "none":
            return optimizer
        if c.lr_schedule == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                                   T_max=max(1, c.max_epochs))
            return {"optimizer": optimizer, "lr_scheduler": scheduler}
        if c.lr_schedule == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE)
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"}}
        raise ValueError(f"unknown lr_schedule {c.lr_schedule!r}")
