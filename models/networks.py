"""The network architectures by kind, as plain PyTorch modules."""

from __future__ import annotations

from .base import Network, NetworkConfig
from .by_hour import ByHourRecurrent
from .hourly import HourlyRecurrent, HourlyTCN
from .mlp import MLP
from .recurrent import Recurrent
from .tcn import TCN

NETWORKS = {"mlp": MLP, "gru": Recurrent, "lstm": Recurrent, "tcn": TCN,
            "gru_hourly": HourlyRecurrent, "lstm_hourly": HourlyRecurrent,
            "tcn_hourly": HourlyTCN, "gru_by_hour": ByHourRecurrent}


def build_network_module(config: NetworkConfig) -> Network:
    return NETWORKS[config.kind](config)
