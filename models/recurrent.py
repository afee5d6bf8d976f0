"""A GRU or LSTM over the daily sequence, joined with the static (tabular) features.

    seq (batch, L, channels) ── GRU/LSTM (layers) ── last hidden state ─┐
                                                                       ├─ concat → head → ŷ
    x (+ station embedding) ── Linear → activation → Dropout ──────────┘

The static branch sees every tabular feature, including the ``forecast_*`` weather of
the target day in forecast mode, which the sequence (days up to D) cannot hold.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Network, NetworkConfig, feedforward

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


class Recurrent(Network):
    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        c = config
        self.rnn = CELLS[c.kind](c.n_channels, c.hidden, num_layers=c.layers, batch_first=True,
                                 dropout=c.dropout if c.layers > 1 else 0.0)
        self.static = feedforward(self.n_static, c.hidden, 1, c.dropout, c.activation)
        self.head = feedforward(2 * c.hidden, c.hidden, 1, c.dropout, c.activation,
                                n_out=c.n_outputs)

    def forward(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(seq)                  # (batch, L, hidden)
        last = outputs[:, -1]                       # the state at the end of day D
        static = self.static(self.static_inputs(x, station))
        return self.output(self.head(torch.cat([last, static], dim=-1)))
