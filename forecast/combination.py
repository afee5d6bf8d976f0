"""A validation-chosen combination of the candidate models, scored honestly.

The combination forecasts a day as Σ w_m ŷ_m over the candidate models m (every
baseline but persistence and climatology, and every network as its seed ensemble), with
non-negative weights fitted by non-negative least squares (``scipy.optimize.nnls``) on
the validation rows of the fold. Weights fitted on the validation rows would make the
combination's validation score look better than it is, and that score decides the
recommendation, so its validation forecasts are cross-fitted: the validation dates are
cut into :data:`BLOCKS` consecutive blocks, and each block is forecast with the weights
fitted on the other blocks (blocked cross-validation inside the validation year). The
test and training rows use the weights fitted on every validation row. The test periods
never enter it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import nnls

BLOCKS = 5


def nonnegative_weights(forecasts: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """Weights w ≥ 0 minimising ‖forecasts @ w − y‖² (forecasts (n, m), µg/m³)."""
    weights, _ = nnls(np.asarray(forecasts, dtype=float), np.asarray(y_true, dtype=float))
    if not weights.any():  # degenerate: fall back to the plain mean
        weights = np.full(forecasts.shape[1], 1.0 / forecasts.shape[1])
    return weights


def combine(predictions: pd.DataFrame, members: list[str]) -> tuple[np.ndarray, pd.DataFrame,
                                                                      dict]:
    """The combination's forecasts for the rows of one fold's ``predictions`` (the long
    table of every entry: ``date``, ``station``, ``split``, ``model``, ``y_true``,
    ``y_pred``).

    Returns ``(forecasts, keys, info)``: one forecast per row of ``keys`` (date, station,
    split, y_true), the validation rows cross-fitted by blocks of dates; ``info`` holds
    the weights fitted on every validation row and the blocks' weights.
    """
    wide = predictions[predictions["model"].isin(members)].pivot_table(
        index=["date", "station", "split"], columns="model", values="y_pred",
        aggfunc="first", sort=True)[members]
    truth = predictions.groupby(["date", "station", "split"], sort=True)["y_true"].first()
    keys = wide.index.to_frame(index=False)
    keys["y_true"] = truth.loc[wide.index].to_numpy(dtype=float)
    X = wide.to_numpy(dtype=float)
    y = keys["y_true"].to_numpy()
    validation = (keys["split"] == "val").to_numpy()
    weights = nonnegative_weights(X[validation], y[validation])
    out = X @ weights
    dates = np.sort(keys.loc[validation, "date"].unique())
    blocks = np.array_split(dates, min(BLOCKS, len(dates)))
    block_weights = []
    for block in blocks:
        held_out = validation & keys["date"].isin(block).to_numpy()
        fitted_on = validation & ~held_out
        w = nonnegative_weights(X[fitted_on], y[fitted_on])
        out[held_out] = X[held_out] @ w
        block_weights.append([round(float(v), 4) for v in w])
    # the weights unrounded: forecast predict forecasts with them
    info = {"members": members, "weights": {m: float(w)
                                            for m, w in zip(members, weights, strict=True)},
            "cross_fitted_blocks": len(blocks), "block_weights": block_weights,
            "n_parameters": len(members)}
    return np.maximum(out, 0.0), keys, info


def in_sample_forecasts(folds, y_true: np.ndarray, forecasts: dict[str, np.ndarray]
                        ) -> tuple[np.ndarray, dict[str, dict[str, float]]]:
    """The forecasts (µg/m³, ≥ 0) of non-negative weights over ``forecasts`` fitted, fold
    by fold (``folds``: each row's fold), on the very rows they forecast, and those
    weights per fold: not a model, the raw material of :func:`in_sample_bound`."""
    members = list(forecasts)
    X = np.column_stack([forecasts[m] for m in members])
    bound = np.empty(len(y_true))
    weights = {}
    folds = np.asarray(folds)
    for fold in pd.unique(folds):
        rows = np.flatnonzero(folds == fold)
        w = nonnegative_weights(X[rows], y_true[rows])
        bound[rows] = np.maximum(X[rows] @ w, 0.0)
        weights[str(fold)] = {m: round(float(v), 4) for m, v in zip(members, w, strict=True)}
    return bound, weights


def in_sample_bound(keys: pd.DataFrame, y_true: np.ndarray,
                    forecasts: dict[str, np.ndarray]) -> dict:
    """An optimistic bound on any combination of ``forecasts``: the RMSE (µg/m³) of
    non-negative weights fitted, fold by fold, on the very rows they score (``keys``
    with a ``fold`` column, as :func:`forecast.rolling.aligned` gives them). No honest
    combination of these models can be expected to beat it; the gap between it and the
    cross-fitted combination is what fitting weights on their own rows would flatter."""
    bound, weights = in_sample_forecasts(keys["fold"].to_numpy(), y_true, forecasts)
    return {"members": list(forecasts),
            "rmse": float(np.sqrt(np.mean((bound - y_true) ** 2))), "weights": weights}
