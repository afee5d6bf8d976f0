"""Sequence networks over the hourly record: the last ``hourly_length`` hours up to the
end of the issue day D (``task.hourly``), joined with the static (tabular) features. In
forecast mode the window runs on to the end of the target day (its weather; its PM2.5
missing), and "the state after hour 23 of D" below is the state after the target day's
last hour.

``gru_hourly`` / ``lstm_hourly``:

    hourly (batch, H, channels) ── GRU/LSTM (layers) ── state after hour 23 of D ─┐
                                                                                  ├─ concat → head → ŷ
    x (+ station embedding) ── Linear → activation → Dropout ────────────────────┘

``tcn_hourly``:

    hourly (batch, H, channels) → 1×1 conv → residual blocks, dilation 1, 2, 4, …
        → state after hour 23 of D ─┐
                                    ├─ concat → head → ŷ
    x (+ station embedding) → Linear → act ┘

The TCN stacks enough blocks (at least ``layers``) for its receptive field,
1 + 2·(kernel − 1)·(2^blocks − 1) hours, to cover the whole window: 5 blocks (125 h) for
72 hours with kernel 3, and for the 96 of forecast mode. The hourly channels are
standardised, missing hours set to 0 with an indicator channel, exactly as the daily
sequence (:mod:`models.scaling`). The daily sequence ``seq`` is not read: the tabular
features already hold the daily lags, rolling means and day D's weather, and the static
branch sees them all (including the ``forecast_*`` weather of the target day in forecast
mode).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .base import Network, NetworkConfig, feedforward
from .tcn import ResidualBlock

CELLS = {"gru_hourly": nn.GRU, "lstm_hourly": nn.LSTM}


class HourlyRecurrent(Network):
    reads_hourly = True

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        c = config
        self.rnn = CELLS[c.kind](c.n_hourly_channels, c.hidden, num_layers=c.layers,
                                 batch_first=True, dropout=c.dropout if c.layers > 1 else 0.0)
        self.static = feedforward(self.n_static, c.hidden, 1, c.dropout, c.activation)
        self.head = feedforward(2 * c.hidden, c.hidden, 1, c.dropout, c.activation,
                                n_out=c.n_outputs)

    def forward(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor,
                hourly: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(hourly)               # (batch, H, hidden)
        last = outputs[:, -1]                       # the state at the end of day D
        static = self.static(self.static_inputs(x, station))
        return self.output(self.head(torch.cat([last, static], dim=-1)))


def blocks_to_cover(length: int, kernel_size: int) -> int:
    """Fewest residual blocks (dilations 1, 2, 4, …) whose receptive field,
    1 + 2·(kernel − 1)·(2^blocks − 1), reaches ``length`` steps."""
    needed = (max(length, 1) - 1) / (2 * (kernel_size - 1)) + 1
    return max(1, math.ceil(math.log2(needed)))


class HourlyTCN(Network):
    reads_hourly = True

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        c = config
        n_blocks = max(c.layers, blocks_to_cover(c.hourly_length, c.kernel_size))
        self.input = nn.Conv1d(c.n_hourly_channels, c.hidden, kernel_size=1)
        self.blocks = nn.Sequential(*[
            ResidualBlock(c.hidden, c.kernel_size, 2 ** i, c.dropout, c.activation)
            for i in range(n_blocks)
        ])
        self.static = feedforward(self.n_static, c.hidden, 1, c.dropout, c.activation)
        self.head = feedforward(2 * c.hidden, c.hidden, 1, c.dropout, c.activation,
                                n_out=c.n_outputs)

    def forward(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor,
                hourly: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.input(hourly.transpose(1, 2)))   # (batch, hidden, H)
        last = h[:, :, -1]                                    # the end of day D
        static = self.static(self.static_inputs(x, station))
        return self.output(self.head(torch.cat([last, static], dim=-1)))
