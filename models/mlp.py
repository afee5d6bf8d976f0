"""A multi-layer perceptron on the tabular features.

    x (+ station embedding) → [Linear → activation → Dropout] × layers → Linear → ŷ
"""

from __future__ import annotations

import torch

from .base import Network, NetworkConfig, feedforward


class MLP(Network):
    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        self.net = feedforward(self.n_static, config.hidden, config.layers, config.dropout,
                               config.activation, n_out=config.n_outputs)

    def forward(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor) -> torch.Tensor:
        return self.output(self.net(self.static_inputs(x, station)))
