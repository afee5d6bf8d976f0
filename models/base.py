"""What every network shares: its hyper-parameters (:class:`NetworkConfig`) and the plain
PyTorch base class (:class:`Network`).

A network file (``mlp.py``, ``recurrent.py``, ``tcn.py``, ``hourly.py``, ``by_hour.py``) only builds its
layers and writes ``forward(x, seq, station)`` on standardised inputs: tabular features
(batch, n_features), the daily sequence (batch, length, n_channels) and the station index
(batch,); a network with ``reads_hourly`` also gets the hourly window (batch, hours,
n_hourly_channels) as a fourth argument, and one with ``reads_target_hours`` the target
day's hours (batch, 24, n_target_hour_channels). It returns the scaled forecast (batch,), or with
a quantile head (``n_outputs`` > 1) the scaled quantiles (batch, n_outputs), through
``Network.output``. Everything about *training* (loss, optimiser, schedule, logging)
lives in the LightningModule of :mod:`models.module`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


@dataclass
class NetworkConfig:
    """Everything needed to rebuild a network: plain ints, floats and strings."""

    kind: str = "mlp"              # mlp | gru | lstm | tcn | gru_hourly | lstm_hourly | tcn_hourly
                                   # | gru_by_hour
    n_features: int = 1            # tabular inputs (standardised + missing indicators)
    n_channels: int = 1            # sequence channels (standardised + missing indicators)
    sequence_length: int = 14
    n_hourly_channels: int = 0     # hourly channels (+ indicators); *_hourly networks only
    hourly_length: int = 0         # hours in the hourly window
    n_target_hour_channels: int = 0  # the target day's hours (+ indicators); *_by_hour only
    target_offset: float = 0.0     # *_by_hour only: the scaled target of a zero forecast
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
    n_outputs: int = 1             # 1: the scaled forecast; more: quantiles at as many levels


def quantile_levels(n_outputs: int) -> list[float]:
    """The levels of a quantile head with ``n_outputs`` outputs: k / (n + 1), k = 1..n
    (99 outputs: 0.01, 0.02, ..., 0.99, the levels of forecast.uncertainty)."""
    return [round(k / (n_outputs + 1), 6) for k in range(1, n_outputs + 1)]


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


class Network(nn.Module):
    """Base of every network: subclasses build their layers in ``__init__`` and define
    ``forward(x, seq, station)`` → the scaled forecast, shape (batch,). Plain PyTorch:
    the training (loss, optimiser, logging) lives in :class:`models.module.ForecastModule`,
    so a fitted network is loaded and applied without Lightning. ``reads_hourly``: its
    ``forward`` takes the hourly window as a fourth argument; ``reads_target_hours``: it
    takes the target day's hours instead, and trains on the target day's hourly PM2.5
    through ``log_rates`` (:mod:`models.by_hour`)."""

    reads_hourly = False
    reads_target_hours = False

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.station_embedding = (nn.Embedding(config.n_stations, config.station_dim)
                                  if config.station_dim else None)

    @property
    def n_static(self) -> int:
        """Width of the static input: tabular features plus the station embedding."""
        return self.config.n_features + self.config.station_dim

    def static_inputs(self, x: torch.Tensor, station: torch.Tensor) -> torch.Tensor:
        """Tabular features, with the station's embedding appended for a global model."""
        if self.station_embedding is None:
            return x
        return torch.cat([x, self.station_embedding(station)], dim=-1)

    def output(self, raw: torch.Tensor) -> torch.Tensor:
        """The head's raw output (batch, n_outputs) → the forecast (batch,) or, for a
        quantile head, increasing quantiles (batch, n_outputs): the first level, then
        positive steps (softplus), so quantiles never cross."""
        if self.config.n_outputs == 1:
            return raw.squeeze(-1)
        steps = F.softplus(raw[..., 1:])
        return raw[..., :1] + torch.cat([torch.zeros_like(raw[..., :1]),
                                         torch.cumsum(steps, dim=-1)], dim=-1)

    def forward(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
