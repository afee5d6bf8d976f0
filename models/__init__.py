"""Lightning networks (MLP, GRU/LSTM, TCN, and their hourly variants) behind the common
model interface.

:class:`NetworkForecaster` is one network (a scikit-learn estimator whose parameters are
the ``[training]`` options); :class:`SeedEnsemble` averages it over several seeds;
``fit`` raises :class:`TrainingFailed` when training diverges. :mod:`models.diagnostics`
trains small sweeps and reads training curves (capacity, learning curve, verdicts).
Build them by name through :func:`forecast.registry.build`.
"""

from .diagnostics import (
    capacity_sweep,
    diagnose,
    diagnose_capacity,
    diagnose_learning_curve,
    learning_curve,
)
from .ensemble import SeedEnsemble, load_model
from .training import NETWORKS, NetworkForecaster, TrainingFailed

__all__ = [
    "NETWORKS",
    "NetworkForecaster",
    "SeedEnsemble",
    "TrainingFailed",
    "capacity_sweep",
    "diagnose",
    "diagnose_capacity",
    "diagnose_learning_curve",
    "learning_curve",
    "load_model",
]
