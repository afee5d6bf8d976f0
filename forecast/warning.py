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

An analyst whose costs are not the CSI's gives a cost/loss ratio
(``evaluation.warning_cost_loss``, ``--warning-cost-loss``; ``forecast predict
--warning-cost-loss`` re-chooses from a finished run's stored validation counts): acting
on a warning costs C, an exceedance nobody was warned of costs L, and the probability with
the lowest mean expense C × warnings + L × misses on the validation rows is chosen. Its
score is the relative economic value (Richardson 2000, Q. J. R. Meteorol. Soc. 126):
0 for the better of always and never acting, 1 for a perfect forecast. With calibrated
probabilities the best level is near the ratio itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluation import contingency
from .significance import Units, percentile_interval

#: The warning probabilities compared (5 % … 95 %).
WARNING_PROBABILITIES = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: The cost/loss ratios at which the report scores the warnings' value (a value curve).
COST_LOSS_RATIOS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def warning_of(pooled: dict, model: str | None) -> dict | None:
    """The run's warning rule (``pooled["warning"]`` of ``metrics.json``) when it is
    ``model``'s, the model the run recommends, else None: a warning probability chosen
    for another model's distribution says nothing of this one's."""
    warning = pooled.get("warning")
    return warning if warning and model is not None and warning.get("model") == model \
        else None


def _days(scores: dict) -> int:
    return (scores["hits"] + scores["misses"] + scores["false_alarms"]
            + scores["correct_negatives"])


def expense(scores: dict, cost_loss: float) -> float:
    """Mean expense a day of acting on the warnings, in units of the loss L an
    exceedance without a warning costs: ``cost_loss`` (C/L) for every warning plus 1 for
    every miss, over all days of ``scores`` (a :func:`~forecast.evaluation.contingency`)."""
    days = _days(scores)
    warnings = scores["hits"] + scores["false_alarms"]
    return (cost_loss * warnings + scores["misses"]) / days if days else float("nan")


def _references(base_rate, cost_loss: float):
    """E_climate, the expense of always or never acting, whichever is lower (min(C/L,
    base rate)), and E_perfect, that of warning on exactly the exceedances (base rate ×
    C/L): scalars or arrays like ``base_rate``."""
    return np.minimum(cost_loss, base_rate), base_rate * cost_loss


def value(scores: dict, cost_loss: float) -> float:
    """Relative economic value of the warnings of ``scores`` to a user whose cost/loss
    ratio is ``cost_loss``: (E_climate − E) / (E_climate − E_perfect), where E is
    :func:`expense` and the references are :func:`_references`'. 1: perfect; 0: no
    better than climatology; NaN when every day or none exceeded (no forecast can then
    add value)."""
    days = _days(scores)
    if not days:
        return float("nan")
    climate, perfect = _references((scores["hits"] + scores["misses"]) / days, cost_loss)
    if climate - perfect <= 0:
        return float("nan")
    return float((climate - expense(scores, cost_loss)) / (climate - perfect))


def choose(curve: dict, cost_loss: float = 0.0) -> float | None:
    """The probability of ``curve`` ({probability: contingency}) to warn at: the highest
    CSI (``cost_loss`` 0) or the lowest :func:`expense` at that cost/loss ratio; of equal
    ones the highest probability (fewer warnings). None when no row exceeded the
    threshold, as no warning can then be right."""
    best, best_score = None, -np.inf
    for probability in sorted(curve):
        scores = curve[probability]
        if scores["hits"] + scores["misses"] == 0:
            return None
        score = (-expense(scores, cost_loss) if cost_loss > 0 else scores["csi"])
        if np.isfinite(score) and score >= best_score:
            best, best_score = probability, score
    return best


def contingency_curve(observed: np.ndarray, p_exceed: np.ndarray) -> dict:
    """{probability: the contingency of warning when ``p_exceed`` reaches it} for every
    probability of :data:`WARNING_PROBABILITIES` (``observed``: the days that
    exceeded)."""
    observed, p_exceed = np.asarray(observed, dtype=bool), np.asarray(p_exceed, dtype=float)
    return {probability: contingency(observed, p_exceed >= probability)
            for probability in WARNING_PROBABILITIES}


def best_probability(y_true: np.ndarray, p_exceed: np.ndarray, threshold: float,
                     cost_loss: float = 0.0) -> float | None:
    """The probability of :data:`WARNING_PROBABILITIES` whose warnings (``p_exceed`` at or
    above it) score best against ``y_true`` > ``threshold`` (µg/m³): :func:`choose`."""
    return choose(contingency_curve(np.asarray(y_true, dtype=float) > threshold, p_exceed),
                  cost_loss)


def point_levels(threshold: float) -> tuple[float, ...]:
    """The thresholds of the point forecast (µg/m³) among which a warning level for it is
    chosen as the probability's is: ¼ to 2½ times the exceedance threshold in steps of
    1/20 of it (for 75 µg/m³: 18.75, 22.5 … 187.5)."""
    return tuple(threshold * k / 20 for k in range(5, 51))


def value_difference_ci(observed: np.ndarray, warned: np.ndarray, point: np.ndarray,
                        units: Units, cost_loss: float, *, n_boot: int = 1000,
                        seed: int | None = 0) -> tuple[float, float]:
    """95 % interval of value(``warned``) − value(``point``) at ``cost_loss`` (two
    warnings of the same days, booleans per row): a paired block bootstrap over the
    days (``units``: each row's fold and date, :class:`~forecast.significance.Units`),
    as the RMSE differences' intervals are. Resamples without an exceedance, or with
    exceedances only, have no value and are left out; (nan, nan) when all are."""
    plan = units.plan(n_boot, seed)
    observed = np.asarray(observed, dtype=float)
    climate, perfect = _references(plan.mean(observed), cost_loss)

    def spent(warnings: np.ndarray) -> np.ndarray:
        warnings = np.asarray(warnings, dtype=float)
        return plan.mean(cost_loss * warnings + observed * (1.0 - warnings))

    # (value_warned − value_point): the same denominator, so the expenses' difference over it
    usable = climate - perfect > 0
    differences = (spent(point) - spent(warned))[usable] / (climate - perfect)[usable]
    if not len(differences):
        return float("nan"), float("nan")
    return percentile_interval(differences, 0.95)


def _rows(predictions: pd.DataFrame, folds: list[str], model: str, split: str
          ) -> pd.DataFrame:
    """``model``'s rows of ``split`` in ``folds`` with an observed target and a
    probability."""
    mask = (predictions["fold"].isin(folds).to_numpy()
            & (predictions["model"] == model).to_numpy()
            & (predictions["split"] == split).to_numpy())
    rows = predictions.loc[mask, ["date", "y_true", "y_pred", "p_exceed"]]
    return rows[np.isfinite(rows["y_true"].to_numpy(dtype=float))
                & np.isfinite(rows["p_exceed"].to_numpy(dtype=float))]


def warning_rule(predictions: pd.DataFrame, by_fold: list[dict], threshold: float,
                 cost_loss: float = 0.0, *, n_boot: int = 1000, seed: int | None = 0
                 ) -> dict | None:
    """The warning probability chosen fold by fold and its test scores.

    ``by_fold``: one {"fold", "model", "validation_folds"} per fold, oldest first (the
    rule's choices, :func:`~forecast.selection.rule_fold_by_fold`). For each fold the
    probability is chosen (:func:`choose`, by the CSI or at ``cost_loss``) on its model's
    validation rows of ``validation_folds`` and scored on its test rows. Returns
    {"threshold", "score": "csi" or "value", "cost_loss", "model" and
    "probability" (the latest fold's, for forecasts from now on), "by_fold": [{"fold",
    "model", "probability"}], "val" (the latest choice's contingency on the rows that
    chose it), "val_curve" (the same at every probability of
    :data:`WARNING_PROBABILITIES`, from which ``forecast predict`` can choose at another
    cost/loss ratio), "test" (the warnings' contingency pooled over the folds' test rows)
    and "test_point_forecast" (that of a point forecast above the threshold on the same
    rows), "by_cost_loss" (for each ratio of :data:`COST_LOSS_RATIOS`: each fold's
    probability chosen at it, "probabilities", and on the test rows the POD, FAR and
    value of warning at them; "point_levels", each fold's threshold of the point forecast
    (µg/m³, of :func:`point_levels`) chosen the same way on validation, and the value of
    warning at them, "tuned_point_value"; the value of the point forecast above the
    threshold, "point_forecast_value"; and the 95 % intervals of the probability's value
    minus either, "tuned_difference_ci" and "difference_ci", :func:`value_difference_ci`
    with ``n_boot`` and ``seed``)}; each
    contingency with its "value" at ``cost_loss`` when that is above 0.
    None when the predictions have no probabilities or a fold's validation rows no
    exceedance.
    """
    if "p_exceed" not in predictions or not by_fold:
        return None
    folds = []   # per fold: the validation curves of P and of the point forecast, the test rows
    for fold in by_fold:
        if fold.get("model") is None:
            return None
        seen = _rows(predictions, fold["validation_folds"], fold["model"], "val")
        exceeded = seen["y_true"].to_numpy(dtype=float) > threshold
        curve = contingency_curve(exceeded, seen["p_exceed"].to_numpy(dtype=float))
        if choose(curve) is None:
            return None
        forecast = seen["y_pred"].to_numpy(dtype=float)
        point_curve = {level: contingency(exceeded, forecast >= level)
                       for level in point_levels(threshold)}
        test = _rows(predictions, [fold["fold"]], fold["model"], "test")
        folds.append({"fold": fold, "curve": curve, "point_curve": point_curve,
                      "observed": test["y_true"].to_numpy(dtype=float) > threshold,
                      "p_exceed": test["p_exceed"].to_numpy(dtype=float),
                      "y_pred": test["y_pred"].to_numpy(dtype=float),
                      "dates": test["date"].to_numpy(),
                      "folds": np.full(len(test), str(fold["fold"]))})
    observed = np.concatenate([f["observed"] for f in folds])
    point_warned = np.concatenate([f["y_pred"] for f in folds]) > threshold
    point = contingency(observed, point_warned)
    units = Units.of(np.concatenate([f["dates"] for f in folds]),
                     np.concatenate([f["folds"] for f in folds]))

    def warned_at(ratio: float, curve: str = "curve", column: str = "p_exceed"
                  ) -> tuple[list[float], np.ndarray]:
        """Each fold's level chosen at ``ratio`` on its validation ``curve`` and the test
        rows whose ``column`` reaches it."""
        chosen = [choose(f[curve], ratio) for f in folds]
        return chosen, np.concatenate([f[column] >= level
                                       for f, level in zip(folds, chosen, strict=True)])

    def scored(scores: dict) -> dict:
        return {**scores, "value": value(scores, cost_loss)} if cost_loss > 0 else scores

    chosen, warned = warned_at(cost_loss)
    test = contingency(observed, warned)
    by_cost_loss = []
    for ratio in COST_LOSS_RATIOS:
        probabilities, warned = warned_at(ratio)
        levels, point_tuned = warned_at(ratio, "point_curve", "y_pred")
        scores, tuned = contingency(observed, warned), contingency(observed, point_tuned)
        by_cost_loss.append({
            "cost_loss": ratio, "probabilities": probabilities, "pod": scores["pod"],
            "far": scores["far"], "value": value(scores, ratio),
            "point_levels": levels, "tuned_point_value": value(tuned, ratio),
            "tuned_difference_ci": list(value_difference_ci(
                observed, warned, point_tuned, units, ratio, n_boot=n_boot, seed=seed)),
            "point_forecast_value": value(point, ratio),
            "difference_ci": list(value_difference_ci(
                observed, warned, point_warned, units, ratio, n_boot=n_boot, seed=seed))})
    # the latest choice's trade-off between caught episodes and false alarms, on the
    # validation rows that chose it, for an analyst whose costs differ from the rule's
    curve, latest = folds[-1]["curve"], chosen[-1]
    return {"threshold": float(threshold), "score": "value" if cost_loss > 0 else "csi",
            "cost_loss": float(cost_loss), "model": by_fold[-1]["model"],
            "probability": latest,
            "by_fold": [{"fold": f["fold"]["fold"], "model": f["fold"]["model"],
                         "probability": p} for f, p in zip(folds, chosen, strict=True)],
            "val": scored(curve[latest]),
            "val_curve": [{"probability": p, **scored(scores)} for p, scores in curve.items()],
            "test": scored(test), "test_point_forecast": scored(point),
            "by_cost_loss": by_cost_loss}
