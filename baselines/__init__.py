"""Naive and scikit-learn baselines behind the common model interface."""

from .linear import SklearnBaseline
from .naive import Climatology, Persistence


def build_baseline(name: str, config: dict, seed: int = 0):
    if name == "persistence":
        return Persistence()
    if name == "climatology":
        return Climatology()
    return SklearnBaseline(name, seed=seed)


__all__ = ["Climatology", "Persistence", "SklearnBaseline", "build_baseline"]
