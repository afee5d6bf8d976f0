"""When to warn of an exceedance: the probability of exceeding the threshold (75 µg/m³ by
default) at or above which a forecast should trigger a warning, chosen on validation rows
alone, and what warning at it scored on the test periods.

Each model's calibrated distribution gives ``p_exceed``, the probability that the target
day's daily mean exceeds the threshold. A warning is issued when ``p_exceed`` reaches
the warning probability. Of :data:`WARNING_PROBABILITIES`, the one with the highest
critical success index (CSI = hits / (hits + misses + false alarms)) on the validation
rows is chosen: the CSI ignores the many quiet days both forecasts get right, and weighs a
missed episode as much as a false alarm. Like the recommendation, it is chosen fold by
fold from the validation years before each fold's test period, for the model the rule
chose there (:func:`forecast.selection.rule_fold_by_fold`), so that every test period
is scored by a choice that never saw it; the latest fold's probability, chosen on every
validation year, is the one ``forecast predict`` warns at.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluation import contingency

#: The warning probabilities compared (5 % … 95 %).
WARNING_PROBABILITIES = tuple(round(0.05 * k, 2) for k in range(1, 20))


def best_probability(y_true: np.ndarray, p_exceed: np.ndarray, threshold: float
                     ) -> float | None:
    """The probability of :data:`WARNING_PROBABILITIES` whose warnings (``p_exceed`` at or
    above it) have the highest CSI against ``y_true`` > ``threshold`` (µg/m³); of equal
    ones the highest (fewer warnings). None when no row exceeds the threshold, as no
    warning can then be right."""
    observed = np.asarray(y_true, dtype=float) > threshold
    if not observed.any():
        return None
    p_exceed = np.asarray(p_exceed, dtype=float)
    best, best_csi = None, -1.0
    for probability in WARNING_PROBABILITIES:
        csi = contingency(observed, p_exceed >= probability)["csi"]
        if np.isfinite(csi) and csi >= best_csi:
            best, best_csi = probability, csi
    return best


def _rows(predictions: pd.DataFrame, folds: list[str], model: str, split: str
          ) -> pd.DataFrame:
    """``model``'s rows of ``split`` in ``folds`` with an observed target and a
    probability."""
    mask = (predictions["fold"].isin(folds).to_numpy()
            & (predictions["model"] == model).to_numpy()
            & (predictions["split"] == split).to_numpy())
    rows = predictions.loc[mask, ["y_true", "y_pred", "p_exceed"]]
    return rows[np.isfinite(rows["y_true"].to_numpy(dtype=float))
                & np.isfinite(rows["p_exceed"].to_numpy(dtype=float))]


def warning_rule(predictions: pd.DataFrame, by_fold: list[dict], threshold: float
                 ) -> dict | None:
    """The warning probability chosen fold by fold and its test scores.

    ``by_fold``: one {"fold", "model", "validation_folds"} per fold, oldest first (the
    rule's choices, :func:`~forecast.selection.rule_fold_by_fold`). For each fold the
    probability is chosen on its model's validation rows of ``validation_folds`` and
    scored on its test rows. Returns {"threshold", "score": "csi", "model" and
    "probability" (the latest fold's, for forecasts from now on), "by_fold": [{"fold",
    "model", "probability"}], "val" (the latest choice's contingency on the rows that
    chose it), "val_curve" (the same at 10 %, 20 % … 90 % and the chosen probability), "test" (the warnings'
    contingency pooled over the folds' test rows) and
    "test_point_forecast" (that of a point forecast above the threshold on the same
    rows)}; None when the predictions have no probabilities or a fold's validation rows
    no exceedance.
    """
    if "p_exceed" not in predictions or not by_fold:
        return None
    chosen, observed, warned, point = [], [], [], []
    for fold in by_fold:
        if fold.get("model") is None:
            return None
        seen = _rows(predictions, fold["validation_folds"], fold["model"], "val")
        probability = best_probability(seen["y_true"].to_numpy(), seen["p_exceed"].to_numpy(),
                                       threshold)
        if probability is None:
            return None
        chosen.append({"fold": fold["fold"], "model": fold["model"],
                       "probability": probability})
        test = _rows(predictions, [fold["fold"]], fold["model"], "test")
        observed.append(test["y_true"].to_numpy(dtype=float) > threshold)
        warned.append(test["p_exceed"].to_numpy(dtype=float) >= probability)
        point.append(test["y_pred"].to_numpy(dtype=float) > threshold)
    observed_all = np.concatenate(observed)
    # the latest choice's trade-off between caught episodes and false alarms, on the
    # validation rows that chose it, for an analyst whose costs differ from the CSI's
    y_seen, p_seen = seen["y_true"].to_numpy(dtype=float), seen["p_exceed"].to_numpy(dtype=float)
    latest = chosen[-1]["probability"]
    curve = {probability: contingency(y_seen > threshold, p_seen >= probability)
             for probability in sorted({*WARNING_PROBABILITIES[1::2], latest})}
    return {"threshold": float(threshold), "score": "csi",
            "model": chosen[-1]["model"], "probability": latest,
            "by_fold": chosen, "val": curve[latest],
            "val_curve": [{"probability": p, **scores} for p, scores in curve.items()],
            "test": contingency(observed_all, np.concatenate(warned)),
            "test_point_forecast": contingency(observed_all, np.concatenate(point))}
