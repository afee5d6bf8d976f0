"""What every baseline shares: the estimator base, no training history, facts in ``info``,
and a fitted baseline stored without pickle (skops)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
from sklearn.base import BaseEstimator, clone

from forecast.errors import DataError
from forecast.task import check_inputs

#: what a fitted baseline holds that skops does not trust by default: each is loaded
#: only when it is one of these (gradient boosting's trees, and its functions)
STORED_TYPES = frozenset({
    "numpy.dtype",
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
})


class Baseline(BaseEstimator):
    """Base of the baselines; ``fit`` sets ``info_``, and ``feature_names_in_`` and
    ``stations_in_`` (the task's, through :meth:`_fitted_on`)."""

    @classmethod
    def from_config(cls, name: str, config: dict, seed: int = 0) -> Baseline:
        return cls()

    def refitted(self, final_task) -> Baseline:
        """A copy fitted on ``final_task`` (:meth:`forecast.task.ForecastTask.for_final_fit`:
        training and validation rows together) with the settings this fit chose; a
        baseline without choices is simply fitted again."""
        return clone(self).fit(final_task)

    @property
    def history(self) -> pd.DataFrame:
        return pd.DataFrame()

    @property
    def info(self) -> dict:
        return getattr(self, "info_", {})

    def _fitted_on(self, task) -> None:
        """Remember the task's features and stations: the fit reads them by position."""
        self.feature_names_in_ = list(task.feature_names)
        self.stations_in_ = [str(s) for s in task.stations]

    def save(self, path: str | Path) -> None:
        """The fitted baseline as a skops file (no pickle): its class, settings and every
        fitted attribute (those whose names end in ``_``)."""
        import skops.io

        fitted = {k: v for k, v in vars(self).items() if k.endswith("_")}
        skops.io.dump({"class": type(self).__name__, "params": self.get_params(),
                       "fitted": fitted}, path, compression=zipfile.ZIP_DEFLATED)
        # what load_baseline would refuse is refused here, when the run is made, not
        # when forecast predict needs the whole run's models
        beyond = _untrusted(path) - STORED_TYPES
        if beyond:
            Path(path).unlink()
            raise TypeError(f"{type(self).__name__} holds types that forecast predict does "
                            f"not load ({', '.join(sorted(beyond))}): add them to "
                            "baselines.base.STORED_TYPES if loading them is safe")

    def check_task(self, task, path: str | Path = "the fitted baseline") -> None:
        """DataError unless ``task`` gives the features and stations it was fitted on."""
        features = getattr(self, "feature_names_in_", None)
        if features is not None:
            check_inputs({"features": features}, task, str(path))
        hourly = getattr(self, "hourly_names_in_", None)   # a model of the hourly record
        if hourly is not None:
            check_inputs({"hourly channels": hourly}, task, str(path))
        stations = getattr(self, "stations_in_", None)
        if stations is not None and [str(s) for s in task.stations] != stations:
            raise DataError(f"{path}: fitted on the stations {', '.join(stations[:5])}"
                            f"{' …' if len(stations) > 5 else ''}; the data has "
                            f"{', '.join(map(str, task.stations[:5]))}"
                            f"{' …' if len(task.stations) > 5 else ''}")


def load_baseline(path: str | Path) -> Baseline:
    """A baseline stored by :meth:`Baseline.save`. A file holding any type beyond those
    skops trusts and :data:`STORED_TYPES` is refused (DataError), not loaded."""
    import skops.io

    from . import Climatology, Persistence, SklearnBaseline

    classes = {c.__name__: c for c in (Climatology, Persistence, SklearnBaseline)}
    try:
        untrusted = _untrusted(path)
        if untrusted - STORED_TYPES:
            raise DataError(f"{path}: holds types a fitted baseline does not "
                            f"({', '.join(sorted(untrusted - STORED_TYPES))}); not loaded")
        saved = skops.io.load(path, trusted=sorted(untrusted))
    except DataError:
        raise
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: not a fitted baseline ({exc})") from None
    if not isinstance(saved, dict) or saved.get("class") not in classes:
        raise DataError(f"{path}: not a fitted baseline")
    model = classes[saved["class"]](**saved["params"])
    for name, value in saved["fitted"].items():
        setattr(model, name, value)
    return model


def _untrusted(path: str | Path) -> set[str]:
    """The types in a skops file that skops does not trust by default."""
    import skops.io

    return set(skops.io.get_untrusted_types(file=path))
