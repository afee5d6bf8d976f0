"""The final fit: a model's settings are chosen on the validation year, then it is fitted
again on the training and validation years together before it forecasts the test year.

Every choice stays a validation choice: the refit (``model.refitted(final_task)``, with
``final_task = task.for_final_fit()``) keeps the penalty, the trees' settings and the
target transform a baseline chose, and trains a network for the number of epochs its
validation loss chose, at the learning rates it used in them. Only the data grow: a year
more, the year nearest the test period. The training and validation rows are still
forecast by the model fitted on the training rows alone, so the validation scores that
choose models, fit the combination's weights and calibrate the forecast distributions
are those of models that never saw the validation year.

Measured on validation years only (single site; settings chosen on 2011 or 2012, scored
on the next year, which is a later fold's validation year): refitting on one more year
lowered the RMSE of ridge by 1.0 and 1.8 µg/m³ and of hgb by 2.9 and 2.2; lasso's rose
by 0.2 and fell by 0.8 (the 12-site figures are in docs/architecture.md).
"""

from __future__ import annotations

import numpy as np

from .errors import ModelFailed
from .task import ForecastTask

#: forecasting methods whose test rows come from the final fit, where the model has them
ROUTED = ("predict_and_clip", "at_output_clip", "predict_quantiles")
#: what stores a model (a network's): the final fit, which forecasts beyond the data
DEPLOYED = ("save", "state")


class Refitted:
    """A fitted model (``selected``: fitted on the training rows, its settings chosen on
    the validation rows) and the same model fitted on training + validation rows
    (``final``); the test rows of a task are forecast by ``final``, all others by
    ``selected``. ``save`` and ``state`` store the final fit (what forecasts beyond the
    data); anything else (``info``, ``history``, ...) is ``selected``'s, with
    ``info["refit"]`` saying what the final fit was."""

    def __init__(self, selected, final, failure: str | None = None) -> None:
        self.selected = selected
        self.final = final
        self.failure = failure

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("selected", "final", "failure"):
            raise AttributeError(name)
        value = getattr(self.selected, name)
        if name in ROUTED:   # only where the selected model has it (a network's)
            return lambda task, rows: self._routed(name, task, rows)
        if name in DEPLOYED:
            return getattr(self.deployed, name)
        return value

    @property
    def info(self) -> dict:
        if self.final is None:
            return {**self.selected.info,
                    "refit": {"failed": self.failure, "test_forecast_by": "the fit on train"}}
        final = self.final.info
        facts = {"rows": "train + val", "seconds": final.get("fit_seconds", 0.0)}
        if "refit_on_rows" in final:
            facts.update(epochs=final.get("best_epoch"), rows_trained=final["refit_on_rows"])
        return {**self.selected.info, "refit": facts}

    def _routed(self, method: str, task: ForecastTask, rows: np.ndarray):
        test = rows & (task.split == "test")
        # the selected model forecasts all of ``rows``, test rows too, so the other rows'
        # forecasts are bit for bit those without a final fit (a subset changes the
        # floating-point blocking of a matrix product in the last digit)
        selected = getattr(self.selected, method)(task, rows)
        if self.final is None or not test.any():
            return selected
        final = getattr(self.final, method)(task, test)
        within = test[rows]      # the test rows among the selected ones, in order
        if isinstance(selected, tuple):
            for mine, theirs in zip(selected, final, strict=True):
                mine[within] = theirs
            return selected
        selected[within] = final
        return selected

    def predict(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        return self._routed("predict", task, rows)

    @property
    def deployed(self):
        """What forecasts beyond the run's data (``models/NAME.pt``, ``forecast
        predict``): the final fit, or the selected one where the final fit failed."""
        return self.final if self.final is not None else self.selected


def refit(model, task: ForecastTask) -> Refitted:
    """``model`` (fitted on ``task``) with its final fit on ``task.for_final_fit()``. A
    final fit that fails (a network diverging) leaves the test rows to ``model`` and says
    so in ``info["refit"]``."""
    try:
        return Refitted(model, model.refitted(task.for_final_fit()))
    except ModelFailed as exc:
        return Refitted(model, None, failure=str(exc))
