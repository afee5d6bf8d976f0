"""Lightning networks (MLP, GRU/LSTM, TCN) behind the common model interface.

``build_network(name, config, seed)`` gives an unfitted :class:`NetworkForecaster`;
``fit`` raises :class:`TrainingFailed` when training diverges. :mod:`models.diagnostics`
trains small sweeps and reads training curves (capacity, learning curve, verdicts).
"""

from .diagnostics import (
    capacity_sweep,
    diagnose,
    diagnose_capacity,
    diagnose_learning_curve,
    learning_curve,
)
from .training import NETWORKS, NetworkForecaster, TrainingFailed


def build_network(name: str, config: dict | None = None, seed: int = 0) -> NetworkForecaster:
    """A fresh, unfitted network ``name`` (mlp, gru, lstm or tcn) from the run config."""
    return NetworkForecaster(name, config, seed=seed)


def load_network(path) -> NetworkForecaster:
    """A fitted network saved with ``NetworkForecaster.save`` (no pickle)."""
    return NetworkForecaster.load(path)


__all__ = [
    "NETWORKS",
    "NetworkForecaster",
    "TrainingFailed",
    "build_network",
    "capacity_sweep",
    "diagnose",
    "diagnose_capacity",
    "diagnose_learning_curve",
    "learning_curve",
    "load_network",
]
