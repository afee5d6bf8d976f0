"""Which model to recommend: a rule that reads the validation data alone.

The rule (stated in every report): among the candidates — every baseline, every
network as one model (its seed ensemble) and the combination of models
(:mod:`forecast.combination`) — take the simplest (baselines, then networks, then the
combination; then fewest parameters, then lowest validation RMSE) whose validation RMSE,
pooled over the folds' validation years and the stations, is not significantly worse
than the lowest, and whose validation CRPS (the accuracy of its calibrated predictive
distribution) is not significantly worse than the lowest CRPS either. "Significantly
worse" needs both the paired block-bootstrap 95 % interval of the difference above 0
and a Diebold–Mariano p below 0.05, in the spirit of the one-standard-error rule: a
simpler model within the noise of the best wins. When no candidate passes both, the
RMSE alone decides. Only validation rows enter it. With rolling-origin folds an earlier
fold's test period is a later fold's validation year, so the rule has seen every test
period but the latest; :func:`rule_fold_by_fold` runs it as it would have run at each
fold's time, from the validation years before that fold's test period alone, and the
report scores those choices on the test periods they never saw.

The pipeline applies the rule when it writes a run (it needs the validation forecasts)
and stores the outcome in ``metrics.json``; :func:`recommended` reads it back for the
report and ``forecast predict``. This module imports neither matplotlib nor the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .results import RunResult, representative
from .rolling import aligned, aligned_values, compare, compare_crps, pooled_scores
from .significance import Units

RULE = ("The recommendation is the simplest model (baselines, then networks, then the "
        "combination of models; then fewest parameters) whose validation RMSE and validation CRPS, pooled over {scope}, are "
        "each not significantly worse than the lowest: the paired block-bootstrap 95 % "
        "interval of the difference includes 0 or the Diebold–Mariano p-value is at least "
        "0.05 (when no model passes on both, the RMSE alone decides). {test_clause}")

#: How the rule's text ends: one test period plays no part; with rolling-origin folds an
#: earlier test period is a later fold's validation year.
TEST_CLAUSE = {
    "single": "The test period plays no part in it.",
    "rolling": ("Only validation rows enter it. As the folds roll forward, each earlier "
                "fold's test period is a later fold's validation year, so of the test "
                "periods only the latest is unseen by it; the expected error is that of the "
                "rule applied fold by fold, each test period forecast by the model chosen "
                "on the validation years before it."),
}


#: Simplest first: a baseline, then a network, then a combination of models.
KIND_ORDER = {"baseline": 0, "network": 1, "combination": 2}


@dataclass(frozen=True)
class Candidate:
    """A model the rule may recommend: a baseline, or a network (its seed ensemble)."""

    name: str
    kind: str              # baseline | network | combination
    n_parameters: int


def recommend(predictions: pd.DataFrame, candidates: list[Candidate], *, horizon: int = 1,
              n_boot: int = 1000, seed: int = 0) -> dict:
    """Apply the validation-only rule to the validation rows of every fold.

    Returns ``model`` (recommended), ``best_on_validation``, ``order`` (the candidates,
    simplest first) and ``comparisons`` {name: pooled validation comparison against the
    best}; with a ``crps`` column also ``val_crps``, ``best_crps_on_validation``,
    ``crps_comparisons`` (against the lowest CRPS) and ``rmse_alone_decides``. Only rows
    whose split is "val" are read: nothing the test periods hold can change the result.
    """
    names = [c.name for c in candidates]
    distribution = "crps" in predictions.columns
    keys, y_true, values = aligned_values(predictions, "val", names,
                                          ("y_pred", "crps") if distribution else ("y_pred",))
    forecasts = values["y_pred"]
    units = Units.of(keys["date"], keys["fold"])
    rmse = {n: float(np.sqrt(np.mean((forecasts[n] - y_true) ** 2))) for n in names}
    best = min(names, key=lambda n: (rmse[n], names.index(n)))
    order = sorted(candidates, key=lambda c: (KIND_ORDER.get(c.kind, 1), c.n_parameters,
                                              rmse[c.name]))
    comparisons = {n: compare(keys, y_true, forecasts[n], forecasts[best], horizon=horizon,
                              n_boot=n_boot, seed=seed, units=units)
                   for n in names if n != best}

    outcome: dict = {}
    if distribution:
        crps = values["crps"]
        mean_crps = {n: float(np.mean(crps[n])) for n in names}
        best_crps = min(names, key=lambda n: (mean_crps[n], names.index(n)))
        crps_comparisons = {n: compare_crps(keys, crps[n], crps[best_crps], horizon=horizon,
                                            n_boot=n_boot, seed=seed, units=units)
                            for n in names if n != best_crps}
        outcome = {"val_crps": mean_crps, "best_crps_on_validation": best_crps,
                   "crps_comparisons": crps_comparisons,
                   "rmse_alone_decides": all(_failures(names, comparisons,
                                                       crps_comparisons).values())}
    failed = _failures(names, comparisons, None if outcome.get("rmse_alone_decides", True)
                       else outcome["crps_comparisons"])
    chosen = next(c.name for c in order if failed[c.name] is None)
    return {"model": chosen, "best_on_validation": best, "val_rmse": rmse,
            "order": [c.name for c in order], "comparisons": comparisons,
            "folds": int(keys["fold"].nunique()), **outcome}


def _failures(names: list[str], comparisons: dict, crps_comparisons: dict | None
              ) -> dict[str, str | None]:
    """For each of ``names``, the rule's first test it fails: "RMSE" when its validation
    RMSE is significantly worse than the lowest (``comparisons``, against the best, which
    has none), else "CRPS" when its validation CRPS is significantly worse than the lowest
    (``crps_comparisons``; None where the CRPS does not count); None when it passes."""
    def fails(name: str) -> str | None:
        c = comparisons.get(name)
        if c and c["significant"] and c["rmse_diff"] > 0:
            return "RMSE"
        k = (crps_comparisons or {}).get(name)
        if k and k["crps_significant"] and k["crps_diff"] > 0:
            return "CRPS"
        return None
    return {n: fails(n) for n in names}


def failed_tests(recommendation: dict) -> dict[str, str | None]:
    """Which of the rule's tests each candidate failed, read from a stored recommendation
    (:func:`recommend`'s result, as ``metrics.json`` holds it): "RMSE", "CRPS" (only where
    the CRPS counted) or None for those that passed."""
    counted = None if recommendation.get("rmse_alone_decides") else recommendation.get(
        "crps_comparisons")
    return _failures(recommendation.get("order") or [], recommendation.get("comparisons") or {},
                     counted)


def rule_fold_by_fold(predictions: pd.DataFrame, candidates: list[Candidate],
                      folds: list[str], latest: str, **options) -> list[dict]:
    """The rule as it would have run at each fold's time: for fold k (oldest first), on the
    validation rows of folds 1..k alone, which all precede fold k's test period.

    Returns [{"fold", "model", "validation_folds"}], one per fold; the latest fold's choice
    is ``latest``, the run's recommendation, made on the same rows. ``options`` as for
    :func:`recommend`.
    """
    out = []
    for k, fold in enumerate(folds):
        seen = folds[:k + 1]
        if k == len(folds) - 1:
            chosen = latest
        else:
            rows = predictions["fold"].isin(seen).to_numpy() & (
                predictions["split"] == "val").to_numpy()
            chosen = recommend(predictions[rows], candidates, **options)["model"]
        out.append({"fold": fold, "model": chosen, "validation_folds": seen})
    return out


def rule_test_rows(predictions: pd.DataFrame, by_fold: list[dict], *,
                   name: str = "rule", persistence: str = "persistence") -> pd.DataFrame:
    """The test rows of the model the rule chose in each fold (:func:`rule_fold_by_fold`),
    as one model called ``name``, with ``persistence``'s test rows beside them for the
    skill: every test period forecast by a choice that never saw it."""
    test = predictions["split"] == "test"
    chosen = [predictions[test & (predictions["fold"] == f["fold"])
                          & (predictions["model"] == f["model"])] for f in by_fold]
    reference = predictions[test & (predictions["model"] == persistence)]
    frame = pd.concat([*(part.assign(model=name) for part in chosen), reference],
                      ignore_index=True)
    # the parts' categories differ: the key columns as text, alike in every part
    return frame.assign(**{c: frame[c].astype(str) for c in ("fold", "station", "split", "model")})


def rule_on_test(predictions: pd.DataFrame, candidates: list[Candidate], folds: list[str],
                 latest: str, *, threshold: float, **options) -> dict:
    """The rule applied fold by fold (:func:`rule_fold_by_fold`) and its test rows scored
    pooled over the folds and stations (:func:`~forecast.rolling.pooled_scores`, skill
    against persistence where it ran): {"by_fold": [...], "test": metrics}."""
    by_fold = rule_fold_by_fold(predictions, candidates, folds, latest, **options)
    rows = rule_test_rows(predictions, by_fold)
    persistence = "persistence" if (rows["model"] == "persistence").any() else None
    scored = pooled_scores(rows, ["rule", *([persistence] if persistence else [])],
                           persistence=persistence, threshold=threshold, **options)
    return {"by_fold": by_fold, "test": scored["models"]["rule"].get("test", {})}


def test_rival(predictions: pd.DataFrame, pooled: dict, candidates: list[Candidate],
               chosen: str, *, horizon: int = 1, n_boot: int = 1000, seed: int = 0
               ) -> dict | None:
    """The candidate other than the recommended model ``chosen`` with the lowest pooled
    test RMSE (``pooled``: :func:`~forecast.rolling.pooled_scores`) against ``chosen`` on
    the same test rows, paired (:func:`~forecast.rolling.compare`, the sign as rival −
    chosen), with its name under ``model``; None when ``chosen`` has no test score or no
    other candidate has one. It only lets the report say whether the test periods
    contradict the choice, or back it, by more than noise: nothing is chosen from it."""
    scored = {c.name: pooled["models"][c.name]["test"]["rmse"] for c in candidates
              if pooled["models"].get(c.name, {}).get("test")}
    if chosen not in scored or len(scored) < 2:
        return None
    rival = min((n for n in scored if n != chosen), key=scored.get)
    keys, y_true, forecasts = aligned(predictions, "test", [rival, chosen])
    return {"model": rival, **compare(keys, y_true, forecasts[rival], forecasts[chosen],
                                      horizon=horizon, n_boot=n_boot, seed=seed)}


def candidates_of(result_entries: dict, names_in_order: list[str]) -> list[Candidate]:
    """The candidates among entries (name → ModelEntry): baselines, each network family
    as one model, and the combination, in the order of the requested ``names_in_order``
    (the combination last)."""
    out = []
    for name in [*names_in_order, "combination"]:
        chosen = representative(result_entries, name)
        if chosen is None:
            continue
        kind = chosen.kind if chosen.kind in ("baseline", "combination") else "network"
        out.append(Candidate(chosen.name, kind, int(chosen.info.get("n_parameters", 0))))
    return out


def recommended(result: RunResult) -> str | None:
    """The model the run recommends (None when no model could be scored)."""
    return result.recommendation.get("model")
