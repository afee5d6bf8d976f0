"""Naive and scikit-learn baselines behind the common model interface (see
:mod:`forecast.registry`)."""

from .base import load_baseline
from .linear import FAMILIES, SklearnBaseline
from .naive import Climatology, Persistence

__all__ = ["FAMILIES", "Climatology", "Persistence", "SklearnBaseline", "load_baseline"]
