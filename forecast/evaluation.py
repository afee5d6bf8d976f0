"""Forecast evaluation: point metrics, events, categories, bootstrap CIs and the DM test.

Everything here is a pure function of numpy arrays / pandas objects. Concentrations
(``y_true``, ``y_pred``, thresholds, breakpoints) are daily-mean PM2.5 in µg/m³, so
RMSE, MAE and bias are in µg/m³ too; R², skill, POD/FAR/CSI and accuracies are unitless.

The entry point for the pipeline is :func:`evaluate`, which takes a long table of
predictions (one row per date x station x split x model) and returns a JSON-ready dict
(plain Python floats / ints / strings / lists, NaN allowed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from . import uncertainty
from .constants import CHINA_PM25_BREAKPOINTS, LIMIT_24H, MONTH_TO_SEASON, SEASONS
from .significance import (
    ResamplePlan,
    daily_loss_differential,
    default_block_length,
    diebold_mariano_hac,
    moving_block_bootstrap_indices,
    percentile_interval,
    significant,
)

__all__ = ["CHINA_PM25_BREAKPOINTS", "LIMIT_24H", "SEASONS", "default_block_length",
           "moving_block_bootstrap_indices"]  # re-exported for callers

_MONTH_TO_SEASON = np.array(MONTH_TO_SEASON, dtype=object)
EVAL_SPLITS = ("val", "test")
REQUIRED_PREDICTION_COLUMNS = ("date", "station", "split", "model", "y_true", "y_pred")


# --------------------------------------------------------------------------- helpers


def _as_1d(x: ArrayLike) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return arr


def _check_arrays(**arrays: ArrayLike) -> dict[str, np.ndarray]:
    """Convert to 1-D float arrays; raise ValueError on length mismatch, NaN/inf or empty."""
    out = {name: _as_1d(value) for name, value in arrays.items()}
    lengths = {name: len(arr) for name, arr in out.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"length mismatch: {desc}")
    for name, arr in out.items():
        if len(arr) == 0:
            raise ValueError(f"{name} is empty")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")
    return out


def _rmse(err: np.ndarray) -> float:
    return float(np.sqrt(np.mean(err * err)))


def _safe_ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den != 0 else float("nan")


# --------------------------------------------------------------------------- point metrics


def point_metrics(y_true: ArrayLike, y_pred: ArrayLike, y_reference: ArrayLike | None = None
                  ) -> dict:
    """Point-forecast metrics of ``y_pred`` against ``y_true`` (both µg/m³).

    Returns ``n`` (int), ``rmse``, ``mae`` and ``bias`` = mean(y_pred - y_true) in µg/m³,
    ``r2`` = 1 - SS_res / SS_tot (unitless; NaN when y_true is constant). When
    ``y_reference`` (e.g. persistence predictions on the same rows) is given, also
    ``rmse_reference`` (µg/m³) and ``skill`` = 1 - rmse / rmse_reference (NaN when the
    reference is perfect). Raises ValueError on length mismatch, NaN/inf or empty input.
    """
    if y_reference is None:
        a = _check_arrays(y_true=y_true, y_pred=y_pred)
    else:
        a = _check_arrays(y_true=y_true, y_pred=y_pred, y_reference=y_reference)
    yt, yp = a["y_true"], a["y_pred"]
    err = yp - yt
    ss_res = float(np.sum(err * err))
    ss_tot = float(np.sum((yt - yt.mean()) ** 2))
    out = {
        "n": int(len(yt)),
        "rmse": _rmse(err),
        "mae": float(np.mean(np.abs(err))),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "bias": float(np.mean(err)),
    }
    if y_reference is not None:
        rmse_ref = _rmse(a["y_reference"] - yt)
        out["rmse_reference"] = rmse_ref
        out["skill"] = 1.0 - out["rmse"] / rmse_ref if rmse_ref > 0 else float("nan")
    return out


def season_of(dates) -> np.ndarray:
    """Meteorological season ('DJF', 'MAM', 'JJA', 'SON') of each datetime, as an object array."""
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates).reshape(-1)))
    if index.isna().any():
        raise ValueError("dates contain missing values")
    return _MONTH_TO_SEASON[np.asarray(index.month, dtype=int)]


def metrics_by_season(dates, y_true: ArrayLike, y_pred: ArrayLike,
                      y_reference: ArrayLike | None = None) -> dict[str, dict]:
    """:func:`point_metrics` (µg/m³) for each season present, keys in DJF, MAM, JJA, SON order."""
    season = season_of(dates)
    if y_reference is None:
        a = _check_arrays(y_true=y_true, y_pred=y_pred)
    else:
        a = _check_arrays(y_true=y_true, y_pred=y_pred, y_reference=y_reference)
    if len(season) != len(a["y_true"]):
        raise ValueError(f"length mismatch: dates={len(season)}, y_true={len(a['y_true'])}")
    out: dict[str, dict] = {}
    for s in SEASONS:
        mask = season == s
        if not mask.any():
            continue
        ref = None if y_reference is None else a["y_reference"][mask]
        out[s] = point_metrics(a["y_true"][mask], a["y_pred"][mask], ref)
    return out


# --------------------------------------------------------------------------- events, categories


def exceedance_scores(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = LIMIT_24H
                      ) -> dict:
    """Contingency scores for the event "daily mean > threshold" (threshold in µg/m³).

    A value equal to the threshold is not an exceedance. Returns integer counts ``hits``,
    ``misses``, ``false_alarms``, ``correct_negatives`` and the unitless
    ``pod`` = hits/(hits+misses), ``far`` = false_alarms/(hits+false_alarms),
    ``csi`` = hits/(hits+misses+false_alarms); each NaN when its denominator is 0.
    """
    a = _check_arrays(y_true=y_true, y_pred=y_pred)
    return {"threshold": float(threshold),
            **contingency(a["y_true"] > threshold, a["y_pred"] > threshold)}


def contingency(observed: np.ndarray, forecast: np.ndarray) -> dict:
    """Contingency scores of yes/no forecasts of an event against whether it happened
    (two boolean arrays): the counts ``hits``, ``misses``, ``false_alarms``,
    ``correct_negatives``, and ``pod``, ``far``, ``csi`` as in
    :func:`exceedance_scores`."""
    obs, fc = np.asarray(observed, dtype=bool), np.asarray(forecast, dtype=bool)
    hits = int(np.sum(obs & fc))
    misses = int(np.sum(obs & ~fc))
    false_alarms = int(np.sum(~obs & fc))
    correct_negatives = int(np.sum(~obs & ~fc))
    return {
        "hits": hits,
        "misses": misses,
        "false_alarms": false_alarms,
        "correct_negatives": correct_negatives,
        "pod": _safe_ratio(hits, hits + misses),
        "far": _safe_ratio(false_alarms, hits + false_alarms),
        "csi": _safe_ratio(hits, hits + misses + false_alarms),
    }


def pm25_category(values: ArrayLike, breakpoints: Sequence[float] = CHINA_PM25_BREAKPOINTS
                  ) -> np.ndarray:
    """Index category (0 .. len(breakpoints)) of each PM2.5 value in µg/m³.

    Category k holds values in (breakpoints[k-1], breakpoints[k]]; a value equal to a
    breakpoint belongs to the lower category (35 -> 0, 35.1 -> 1, 250 -> 4, 250.1 -> 5).
    Raises ValueError on NaN values or breakpoints that are not strictly increasing.
    """
    bp = np.asarray(breakpoints, dtype=float)
    if bp.ndim != 1 or len(bp) == 0 or np.any(np.diff(bp) <= 0):
        raise ValueError("breakpoints must be a non-empty, strictly increasing sequence")
    v = np.asarray(values, dtype=float)
    if np.any(np.isnan(v)):
        raise ValueError("values contain NaN")
    return np.searchsorted(bp, v, side="left").astype(int)


def category_accuracy(y_true: ArrayLike, y_pred: ArrayLike,
                      breakpoints: Sequence[float] = CHINA_PM25_BREAKPOINTS) -> float:
    """Fraction of rows whose predicted index category equals the observed one (unitless)."""
    a = _check_arrays(y_true=y_true, y_pred=y_pred)
    return float(np.mean(pm25_category(a["y_true"], breakpoints)
                         == pm25_category(a["y_pred"], breakpoints)))


# --------------------------------------------------------------------------- bootstrap


def _resample_plan(n: int, groups, block_length: int | None, n_boot: int,
                   seed: int | None) -> ResamplePlan:
    if groups is None:
        codes = np.arange(n)
        n_units = n
    else:
        g = np.asarray(groups).reshape(-1)
        if len(g) != n:
            raise ValueError(f"length mismatch: groups={len(g)}, rows={n}")
        codes, uniques = pd.factorize(g, sort=True)
        if np.any(codes < 0):
            raise ValueError("groups contain missing values")
        n_units = len(uniques)
    counts = np.bincount(codes, minlength=n_units).astype(float)
    if block_length is None:
        block_length = default_block_length(n_units)
    block_length = min(int(block_length), n_units)
    draws = moving_block_bootstrap_indices(n_units, block_length, n_boot,
                                           np.random.default_rng(seed))
    return ResamplePlan(codes=codes, counts=counts, draws=draws)


def bootstrap_rmse_ci(y_true: ArrayLike, y_pred: ArrayLike, *, groups=None,
                      block_length: int | None = None, n_boot: int = 1000,
                      seed: int | None = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile moving-block-bootstrap confidence interval (lo, hi) for the RMSE, µg/m³.

    Rows are assumed in time order. With ``groups`` (e.g. the forecast date of each row
    for multi-station data) the resampling unit is the group: blocks of consecutive
    unique groups (sorted) are drawn and all rows of a drawn group are taken together.
    ``block_length`` is in units (rows or groups), default :func:`default_block_length`
    of the number of units (capped at it). Same seed -> same interval.
    """
    a = _check_arrays(y_true=y_true, y_pred=y_pred)
    err = a["y_pred"] - a["y_true"]
    plan = _resample_plan(len(err), groups, block_length, n_boot, seed)
    return percentile_interval(plan.rmse(err * err), level)


def bootstrap_rmse_diff_ci(y_true: ArrayLike, pred_a: ArrayLike, pred_b: ArrayLike, *,
                           groups=None, block_length: int | None = None, n_boot: int = 1000,
                           seed: int | None = 0, level: float = 0.95
                           ) -> tuple[float, float, float]:
    """(rmse_a - rmse_b, lo, hi) in µg/m³, with a paired percentile block-bootstrap interval.

    Both models are scored on the same resamples; resampling as in
    :func:`bootstrap_rmse_ci`. A negative difference means model a is more accurate.
    """
    a = _check_arrays(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    ea = a["pred_a"] - a["y_true"]
    eb = a["pred_b"] - a["y_true"]
    plan = _resample_plan(len(ea), groups, block_length, n_boot, seed)
    diffs = plan.rmse(ea * ea) - plan.rmse(eb * eb)
    lo, hi = percentile_interval(diffs, level)
    return _rmse(ea) - _rmse(eb), lo, hi


# --------------------------------------------------------------------------- Diebold-Mariano


def diebold_mariano(y_true: ArrayLike, pred_a: ArrayLike, pred_b: ArrayLike, *,
                    horizon: int = 1, power: float = 2, lag: int | None = None
                    ) -> tuple[float, float]:
    """Diebold-Mariano test of equal accuracy of forecasts a and b (values in µg/m³).

    Loss |e|**power, d_t = loss_a - loss_b (in time order), then
    :func:`forecast.significance.diebold_mariano_hac`: a Newey–West long-run variance
    with ``lag`` (default: the rule of thumb, never below horizon − 1), the
    Harvey-Leybourne-Newbold factor and a Student t(n − 1) p-value. Returns
    (stat, p_value); a negative stat means model a is more accurate. When d has zero
    variance: (0.0, 1.0) if it is all 0 (identical losses), else (±inf, 0.0).
    """
    if power <= 0:
        raise ValueError(f"power must be > 0, got {power}")
    a = _check_arrays(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    loss_a = np.abs(a["pred_a"] - a["y_true"]) ** power
    loss_b = np.abs(a["pred_b"] - a["y_true"]) ** power
    stat, p_value, _ = diebold_mariano_hac(loss_a - loss_b, horizon=horizon, lag=lag)
    return stat, p_value


# --------------------------------------------------------------------------- evaluate


def split_rows(predictions: pd.DataFrame, split: str
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The positions of ``split``'s rows in ``predictions``, and {model: indices into
    those positions of its rows, in table order}."""
    rows = np.flatnonzero((predictions["split"] == split).to_numpy())
    codes, names = pd.factorize(predictions["model"].take(rows))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return rows, {str(name): order[bounds[j]:bounds[j + 1]] for j, name in enumerate(names)}


def rows_by_model(predictions: pd.DataFrame, split: str) -> dict[str, np.ndarray]:
    """{model: positions of its rows of ``split`` in ``predictions``, in table order}: to
    take one model's rows without a boolean mask over the whole table, which copied
    every column of every row for each model."""
    rows, of_model = split_rows(predictions, split)
    return {model: rows[mine] for model, mine in of_model.items()}


def _wide_split(frame: pd.DataFrame, split: str, models: list[str],
                rows_of: dict[str, np.ndarray]
                ) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]:
    """Align every model's rows of one split on (date, station), sorted by date then station.

    Returns (keys frame with date/station, y_true, {model: y_pred}). The expected rows are
    those shared by most models (ties: the first model); raises ValueError naming each
    model whose rows are duplicated, missing or extra, or whose y_true differs. ``rows_of``:
    each model's rows of the split (:func:`rows_by_model`).
    """
    key_cols = ["date", "station"]
    columns = frame[[*key_cols, "y_true", "y_pred"]]
    per_model: dict[str, pd.DataFrame] = {}
    signatures: dict[str, bytes] = {}
    for model in models:
        rows = columns.iloc[rows_of.get(model, [])]
        if rows.empty:
            raise ValueError(
                f"model {model!r} has no rows in split {split!r}; every model must have "
                f"exactly the same (date, station) rows within each evaluated split")
        if rows.duplicated(key_cols).any():
            raise ValueError(
                f"model {model!r} has duplicate (date, station) rows in split {split!r}")
        rows = rows.sort_values(key_cols, kind="mergesort").reset_index(drop=True)
        per_model[model] = rows
        signatures[model] = pd.util.hash_pandas_object(rows[key_cols], index=False
                                                       ).to_numpy().tobytes()
    counts: dict[bytes, int] = {}
    for sig in signatures.values():
        counts[sig] = counts.get(sig, 0) + 1
    expected_sig = max(counts, key=counts.__getitem__)  # first model wins ties
    reference_model = next(m for m in models if signatures[m] == expected_sig)
    keys = per_model[reference_model][key_cols]
    bad = []
    for model in models:
        if signatures[model] != expected_sig:
            both = keys.merge(per_model[model][key_cols], on=key_cols, how="outer",
                              indicator=True)
            n_missing = int((both["_merge"] == "left_only").sum())
            n_extra = int((both["_merge"] == "right_only").sum())
            bad.append(f"{model!r} ({n_missing} missing, {n_extra} extra)")
    if bad:
        raise ValueError(
            f"in split {split!r} the (date, station) rows of model(s) {', '.join(bad)} differ "
            f"from those of model {reference_model!r}; every model must have exactly the "
            f"same rows within a split")
    y_true = per_model[reference_model]["y_true"].to_numpy(dtype=float)
    preds: dict[str, np.ndarray] = {}
    for model in models:
        yt = per_model[model]["y_true"].to_numpy(dtype=float)
        yp = per_model[model]["y_pred"].to_numpy(dtype=float)
        if not (np.all(np.isfinite(yt)) and np.all(np.isfinite(yp))):
            raise ValueError(f"model {model!r} has NaN/inf y_true or y_pred in split {split!r}")
        if not np.allclose(yt, y_true, rtol=1e-9, atol=1e-9):
            raise ValueError(
                f"model {model!r} has different y_true values from model "
                f"{reference_model!r} in split {split!r}")
        preds[model] = yp
    return keys.reset_index(drop=True), y_true, preds


def _py(value):
    """Recursively convert numpy scalars to plain Python types."""
    if isinstance(value, dict):
        return {k: _py(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_py(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value)
    return value


def evaluate(predictions: pd.DataFrame, *, reference: str = "persistence",
             baselines: Sequence[str] | None = None,
             n_boot: int = 1000, seed: int = 0, threshold: float = LIMIT_24H,
             horizon: int = 1) -> dict:
    """Score every model on the 'val' and 'test' splits of a long prediction table.

    ``predictions`` has columns ``date`` (the day being forecast), ``station``, ``split``,
    ``model``, ``y_true`` and ``y_pred`` (µg/m³). 'train' rows (and any split other than
    'val'/'test') are ignored. Within an evaluated split every model must have exactly
    the same (date, station) rows with the same y_true (ValueError naming the model
    otherwise).

    Returns a JSON-ready dict:

    * ``models[model][split]``: :func:`point_metrics` with ``rmse_reference`` / ``skill``
      against the ``reference`` model (NaN when it is absent), ``rmse_ci`` [lo, hi]
      (block bootstrap over whole dates), ``by_season``, ``exceedance`` (> threshold, default LIMIT_24H) and
      ``category_accuracy``; with the predictive distributions in the table (the columns
      :data:`~forecast.uncertainty.DISTRIBUTION_COLUMNS`), also
      :func:`~forecast.uncertainty.probabilistic_metrics`.
    * ``best_baseline``: {"val": name, "test": name}, the baseline from ``baselines``
      (default: every baseline of the registry)
      with the lowest val RMSE (ties: first in ``baselines``), used for both splits;
      None when no baseline (or no 'val' split) is present.
    * ``comparisons``: for each evaluated split and each model other than the best
      baseline: ``rmse_diff`` = rmse(model) - rmse(best) with a paired bootstrap
      ``rmse_diff_ci``, ``dm_stat`` / ``dm_p_value`` (DM test with a Newey–West variance
      whose lag is at least ``horizon`` − 1, HLN-corrected, squared error, on the
      per-date mean loss differential across stations) and ``significant``
      (CI excludes 0 and p < 0.05).
    """
    if baselines is None:
        from .registry import BASELINE_MODELS as baselines
    missing = [c for c in REQUIRED_PREDICTION_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions is missing columns: {missing}")
    distribution = all(c in predictions.columns for c in uncertainty.DISTRIBUTION_COLUMNS)
    columns = list(REQUIRED_PREDICTION_COLUMNS) + (
        list(uncertainty.DISTRIBUTION_COLUMNS) if distribution else [])
    frame = predictions.loc[:, columns]    # copy-on-write: nothing is copied here
    if not pd.api.types.is_datetime64_any_dtype(frame["date"]):
        frame = frame.assign(date=pd.to_datetime(frame["date"]))
    if not pd.api.types.is_string_dtype(frame["model"]):
        frame = frame.assign(model=frame["model"].astype(str))
    splits = [s for s in EVAL_SPLITS if (frame["split"] == s).any()]
    if not splits:
        raise ValueError("predictions has no 'val' or 'test' rows to evaluate")
    models = [str(m) for m in pd.unique(frame.loc[frame["split"].isin(splits), "model"])]

    result: dict = {"models": {m: {} for m in models}}
    aligned: dict[str, tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]] = {}
    for split in splits:
        rows_of = rows_by_model(frame, split)
        keys, y_true, preds = _wide_split(frame, split, models, rows_of)
        aligned[split] = (keys, y_true, preds)
        dates = keys["date"].to_numpy()
        plan = _resample_plan(len(y_true), dates, None, n_boot, seed)
        y_ref = preds.get(reference)
        for model, y_pred in preds.items():
            m = point_metrics(y_true, y_pred, y_ref)
            if y_ref is None:
                m["rmse_reference"] = float("nan")
                m["skill"] = float("nan")
            err = y_pred - y_true
            m["rmse_ci"] = list(percentile_interval(plan.rmse(err * err), 0.95))
            m["by_season"] = metrics_by_season(dates, y_true, y_pred, y_ref)
            m["exceedance"] = exceedance_scores(y_true, y_pred, threshold)
            m["category_accuracy"] = category_accuracy(y_true, y_pred)
            if distribution:
                m.update(uncertainty.probabilistic_metrics(frame.iloc[rows_of[model]],
                                                           threshold))
            result["models"][model][split] = m

    best: str | None = None
    if "val" in aligned:
        val_preds = aligned["val"][2]
        candidates = [b for b in baselines if b in val_preds]
        if candidates:
            best = min(candidates,
                       key=lambda b: (result["models"][b]["val"]["rmse"], candidates.index(b)))
    result["best_baseline"] = {"val": best, "test": best}

    comparisons = []
    if best is not None:
        for split in splits:
            keys, y_true, preds = aligned[split]
            if best not in preds:
                continue
            dates = keys["date"].to_numpy()
            plan = _resample_plan(len(y_true), dates, None, n_boot, seed)
            eb = preds[best] - y_true
            rmse_b = plan.rmse(eb * eb)
            for model, y_pred in preds.items():
                if model == best:
                    continue
                ea = y_pred - y_true
                lo, hi = percentile_interval(plan.rmse(ea * ea) - rmse_b, 0.95)
                daily_d = daily_loss_differential(dates, y_true, y_pred, preds[best])
                if len(daily_d) > max(2, horizon):
                    dm_stat, dm_p, _ = diebold_mariano_hac(daily_d, horizon=horizon)
                else:
                    dm_stat, dm_p = float("nan"), float("nan")
                comparisons.append({
                    "split": split,
                    "model": model,
                    "against": best,
                    "rmse_diff": _rmse(ea) - _rmse(eb),
                    "rmse_diff_ci": [lo, hi],
                    "dm_stat": dm_stat,
                    "dm_p_value": dm_p,
                    "significant": significant(lo, hi, dm_p),
                })
    result["comparisons"] = comparisons
    return _py(result)
