"""A temporal convolutional network: dilated causal 1-D convolutions over the sequence.

    seq (batch, L, channels) → 1×1 conv → residual block (dilation 1) → (dilation 2)
        → (dilation 4) … → last time step ─┐
                                           ├─ concat → head → ŷ
    x (+ station embedding) → Linear → act ┘

Each residual block is two causal convolutions (kernel ``kernel_size``, left padding only,
so step t sees steps ≤ t) with activation and dropout, added to its input. With
kernel 3 and ``layers`` blocks the receptive field is 1 + 2·2·(2^layers − 1) days.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import ACTIVATIONS, Network, NetworkConfig, feedforward


class CausalConv1d(nn.Conv1d):
    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__(channels, channels, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_pad, 0)))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float,
                 activation: str) -> None:
        super().__init__()
        self.net = nn.Sequential(
            CausalConv1d(channels, kernel_size, dilation), ACTIVATIONS[activation](),
            nn.Dropout(dropout),
            CausalConv1d(channels, kernel_size, dilation), ACTIVATIONS[activation](),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class TCN(Network):
    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        c = config
        self.input = nn.Conv1d(c.n_channels, c.hidden, kernel_size=1)
        self.blocks = nn.Sequential(*[
            ResidualBlock(c.hidden, c.kernel_size, 2 ** i, c.dropout, c.activation)
            for i in range(c.layers)
        ])
        self.static = feedforward(self.n_static, c.hidden, 1, c.dropout, c.activation)
        self.head = feedforward(2 * c.hidden, c.hidden, 1, c.dropout, c.activation,
                                n_out=c.n_outputs)

    def forward(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.input(seq.transpose(1, 2)))   # (batch, hidden, L)
        last = h[:, :, -1]                                 # the end of day D
        static = self.static(self.static_inputs(x, station))
        return self.output(self.head(torch.cat([last, static], dim=-1)))
