"""Capacity sweep, learning curve, and plain-language verdicts on training curves.

Losses are the scaled-target MSE of :mod:`models.base` (1.0 ≈ predicting the training
mean). The verdicts follow simple, fixed rules:

``diagnose(history)`` — one network's per-epoch curves; with ``b`` the epoch of the
lowest validation loss and ``E`` the last epoch:

1. **diverged**: no epochs, or a non-finite training or validation loss;
2. **overfits**: validation loss at ``E``, or its median over the epochs after ``b``
   (early stopping can end a run on a dip back), is at least ``OVERFIT_RISE`` (10 %)
   above its minimum, the minimum is at least ``MIN_EPOCHS_AFTER_BEST`` (3) epochs
   before ``E``, and the training loss at ``E`` is below the training loss at ``b``
   (still falling);
3. **underfits**: the best validation loss is at least ``UNDERFIT_LOSS`` (0.9: barely
   better than predicting the mean), or validation loss is still falling at the end:
   ``b`` is within the last ``max(1, E // 10)`` epochs and it fell at least
   ``STILL_IMPROVING`` (2 %) over the last quarter of the epochs;
4. **good fit** otherwise: the minimum is reached and validation loss stays within 10 %.

``diagnose_learning_curve(df)`` — best validation score with growing training windows:
**limited by data** when going from the second-largest to the largest window lowers it
by at least ``DATA_GAIN`` (2 %) and, where the table has the paired comparison, by more
than noise on the validation days (95 % block-bootstrap interval clear of 0 and
Diebold–Mariano p < 0.05), else **saturated**.

``diagnose_capacity(df)`` — one or two sentences: which size validates best and what
happens with more capacity, and whether the largest size's lead over the next best is
more than noise.

The sweep and the curve train one seed each on the main fold, so one size or window can
come out ahead by chance; every row of their tables is therefore also compared, on the
same validation days, with the sweep's best size (``rmse_diff_vs_best`` …) or with the
whole training period (``rmse_diff_vs_full`` …), as the report's other comparisons are
(:func:`forecast.rolling.compare`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.base import clone

from forecast.rolling import compare
from forecast.significance import significant
from forecast.task import ForecastTask

from .networks import NETWORKS
from .pool import TrainingPool
from .training import NetworkForecaster, TrainingFailed

OVERFIT_RISE = 0.10
MIN_EPOCHS_AFTER_BEST = 3
UNDERFIT_LOSS = 0.9
STILL_IMPROVING = 0.02
DATA_GAIN = 0.02
SIMILAR = 0.02   # capacity: validation losses within 2 % count as equal
#: the columns a paired comparison adds to the sweep's and the curve's tables
COMPARISON_COLUMNS = ("rmse_diff", "rmse_diff_ci_low", "rmse_diff_ci_high", "dm_p_value")


# ------------------------------------------------------------------ training sweeps


def _fit_summary(forecaster: NetworkForecaster, task: ForecastTask) -> dict:
    """Train one network; best losses from its history (NaN when training failed) and its
    forecasts of the scored validation rows (``val_pred``, µg/m³; None when it failed)."""
    try:
        forecaster.fit(task)
    except TrainingFailed:
        return {"n_parameters": forecaster.info.get("n_parameters", 0),
                "best_train_loss": math.nan, "best_val_loss": math.nan,
                "best_epoch": math.nan, "val_rmse": math.nan, "target_std": math.nan,
                "status": forecaster.info["status"], "val_pred": None,
                "train_loss_at_best": math.nan}
    history = forecaster.history
    val = task.mask("val")
    val_pred = forecaster.predict(task, val)
    rmse = float(np.sqrt(np.mean((val_pred - task.y[val]) ** 2)))
    best_epoch = forecaster.info["best_epoch"]
    # the training loss of the epoch the validation loss chose: the gap between the two
    # that the kept network has (the lowest training loss comes epochs later)
    at_best = history.loc[history["epoch"] == best_epoch, "train_loss"]
    return {"n_parameters": forecaster.info["n_parameters"],
            "best_train_loss": float(history["train_loss"].min()),
            "best_val_loss": float(history["val_loss"].min()),
            "best_epoch": best_epoch, "val_rmse": rmse,
            "target_std": forecaster.scalers_.y_std, "status": "ok", "val_pred": val_pred,
            "train_loss_at_best": float(at_best.iloc[0]) if len(at_best) else math.nan}


def _paired_columns(task: ForecastTask, summaries: list[dict], reference: int | None,
                    suffix: str) -> list[dict]:
    """Per summary, its validation RMSE against the ``reference`` summary's on the same
    validation days (this − reference, µg/m³; 95 % block-bootstrap interval; DM p), as
    the columns ``rmse_diff_{suffix}`` … (NaN for the reference, a failed fit, or no
    reference)."""
    names = [f"{column}_{suffix}" for column in COMPARISON_COLUMNS]
    empty = dict.fromkeys(names, math.nan)
    if reference is None or summaries[reference]["val_pred"] is None:
        return [empty for _ in summaries]
    val = task.mask("val")
    keys = pd.DataFrame({"date": task.rows.loc[val, "target_day"].to_numpy(), "fold": 0})
    out = []
    for k, summary in enumerate(summaries):
        if k == reference or summary["val_pred"] is None:
            out.append(empty)
            continue
        c = compare(keys, task.y[val], summary["val_pred"], summaries[reference]["val_pred"],
                    horizon=task.horizon)
        out.append(dict(zip(names, (c["rmse_diff"], *c["rmse_diff_ci"], c["dm_p_value"]),
                            strict=True)))
    return out


def _more_than_noise(row: pd.Series, suffix: str) -> bool | None:
    """Whether a row's paired comparison (:func:`_paired_columns`) is significant: the
    interval clear of 0 and DM p < 0.05; None when the table has no comparison."""
    low, high, p = (row.get(f"{c}_{suffix}", math.nan)
                    for c in ("rmse_diff_ci_low", "rmse_diff_ci_high", "dm_p_value"))
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (low, high, p)):
        return None
    return significant(low, high, p)


def _interval(row: pd.Series, suffix: str) -> str:
    """"95 % CI low to high, DM p = p" of a row's paired comparison."""
    return (f"95 % CI {row[f'rmse_diff_ci_low_{suffix}']:+.2f} to "
            f"{row[f'rmse_diff_ci_high_{suffix}']:+.2f}, DM p = {row[f'dm_p_value_{suffix}']:.3f}")


def _best_row(summaries: list[dict]) -> int | None:
    """The position of the lowest finite validation RMSE (None: every fit failed)."""
    rmse = [s["val_rmse"] for s in summaries]
    finite = [k for k, v in enumerate(rmse) if math.isfinite(v)]
    return min(finite, key=lambda k: rmse[k]) if finite else None


def _variant(model: NetworkForecaster, max_epochs: int, **params) -> NetworkForecaster:
    """An unfitted copy of ``model`` for a diagnostic fit: no progress bar, fewer epochs."""
    return clone(model).set_params(progress_bar=False, max_epochs=int(max_epochs), **params)


def capacity_sweep(task: ForecastTask, model: NetworkForecaster, hidden_sizes, layer_counts,
                   max_epochs: int, n_jobs: int = 1) -> pd.DataFrame:
    """Train a copy of ``model`` for every hidden × layers size, ``max_epochs`` at most.

    Columns: hidden, layers, n_parameters, best_train_loss (the lowest of any epoch),
    best_val_loss, best_epoch, val_rmse (µg/m³), status, train_loss_at_best (the training
    loss of the best validation epoch), then the paired comparison with the best size.
    One seed (the model's).
    """
    return run_plans([sweep_plan(task, model, hidden_sizes, layer_counts, max_epochs)],
                     n_jobs)[0]


def learning_curve(task: ForecastTask, model: NetworkForecaster, fractions,
                   max_epochs: int, n_jobs: int = 1) -> pd.DataFrame:
    """Train a copy of ``model`` on the most recent ``fractions`` of the training period.

    Each window ends where the training split ends; validation and test stay as they
    are. Each fit standardises the target with its own window, so the losses are
    rescaled to the full training split's target std to be comparable across rows.
    Columns: fraction, n_train (scored training rows), best_train_loss, best_val_loss,
    best_epoch, val_rmse (µg/m³), n_parameters, status, train_loss_at_best, then the
    paired comparison with the whole window.
    """
    return run_plans([curve_plan(task, model, fractions, max_epochs)], n_jobs)[0]


def run_plans(plans: list[tuple[list, object]], n_jobs: int = 1) -> list[pd.DataFrame]:
    """The tables of several diagnostic plans (:func:`sweep_plan`, :func:`curve_plan`),
    every fit of every plan in one pool of ``n_jobs`` processes (each fit seeds itself,
    so the tables do not depend on ``n_jobs``)."""
    jobs = plan_jobs(plans)
    return plan_tables(plans, TrainingPool(jobs, n_jobs).wait(range(len(jobs))))


def plan_jobs(plans: list[tuple[list, object]]) -> list[tuple[object, tuple]]:
    """Every fit of the plans as a (function, arguments) job for a
    :class:`~models.pool.TrainingPool`; its outcome is one fit's summary."""
    return [(_fit_summary, fit) for plan_fits, _ in plans for fit in plan_fits]


def plan_tables(plans: list[tuple[list, object]], summaries: list[dict]) -> list[pd.DataFrame]:
    """The plans' tables from the outcomes of :func:`plan_jobs`, in the same order."""
    tables, start = [], 0
    for plan_fits, table in plans:
        tables.append(table(summaries[start:start + len(plan_fits)]))
        start += len(plan_fits)
    return tables


def sweep_plan(task: ForecastTask, model: NetworkForecaster, hidden_sizes, layer_counts,
               max_epochs: int) -> tuple[list, object]:
    """The fits of :func:`capacity_sweep` and the function that makes its table from
    their summaries."""
    sizes = [(int(h), int(n)) for h in hidden_sizes for n in layer_counts]
    fits = [(_variant(model, max_epochs, hidden=h, layers=n), task) for h, n in sizes]

    def table(summaries: list[dict]) -> pd.DataFrame:
        paired = _paired_columns(task, summaries, _best_row(summaries), "vs_best")
        rows = []
        for (hidden, layers), summary, comparison in zip(sizes, summaries, paired,
                                                         strict=True):
            summary = {k: v for k, v in summary.items() if k not in ("target_std", "val_pred")}
            rows.append({"hidden": hidden, "layers": layers, **summary, **comparison})
        return pd.DataFrame(rows)

    return fits, table


def curve_plan(task: ForecastTask, model: NetworkForecaster, fractions,
               max_epochs: int) -> tuple[list, object]:
    """The fits of :func:`learning_curve` and the function that makes its table from
    their summaries."""
    train_days = np.sort(task.rows.loc[task.mask("train", scored=False), "target_day"].unique())
    ends = [task.splits[name][1] for name in ("train", "val", "test")]
    fractions = sorted(fractions, reverse=True)
    windows = []
    for fraction in fractions:
        n_days = max(1, math.ceil(float(fraction) * len(train_days)))
        start = pd.Timestamp(train_days[-n_days])
        windows.append(task.with_splits(*ends, train_start=f"{start:%Y-%m-%d}"))

    # losses in units of each window's target std, rescaled to the whole window's: an MSE
    # by its square, a network by hour's Poisson deviance (of y / std) by the std itself
    power = 1 if NETWORKS[model.kind].reads_target_hours else 2

    def table(summaries: list[dict]) -> pd.DataFrame:
        full_std = None
        rows = []
        # the largest window comes first; every window has the same validation rows
        paired = _paired_columns(task, summaries, 0, "vs_full")
        for fraction, window, summary, comparison in zip(fractions, windows, summaries, paired,
                                                         strict=True):
            summary = {**summary, **comparison}
            summary.pop("val_pred")
            std = summary.pop("target_std")
            if full_std is None:
                full_std = std     # the largest window comes first
            factor = ((std / full_std) ** power if math.isfinite(std) and full_std
                      else math.nan)
            rows.append({"fraction": float(fraction),
                         "n_train": int(window.mask("train").sum()), **summary,
                         "best_train_loss": summary["best_train_loss"] * factor,
                         "best_val_loss": summary["best_val_loss"] * factor,
                         "train_loss_at_best": summary["train_loss_at_best"] * factor})
        columns = ["fraction", "n_train", "best_train_loss", "best_val_loss", "best_epoch",
                   "val_rmse", "n_parameters", "status", "train_loss_at_best",
                   *(f"{c}_vs_full" for c in COMPARISON_COLUMNS)]
        return pd.DataFrame(rows).sort_values("fraction").reset_index(drop=True)[columns]

    return [(_variant(model, max_epochs), w) for w in windows], table


# ------------------------------------------------------------------ verdicts


def diagnose(history: pd.DataFrame) -> dict:
    """Verdict on one training history: underfits, overfits, good fit or diverged."""
    if history is None or len(history) == 0:
        return {"verdict": "diverged", "text": "no completed epoch: training failed",
                "best_epoch": None}
    epochs = history["epoch"].to_numpy(dtype=int)
    train = history["train_loss"].to_numpy(dtype=float)
    val = history["val_loss"].to_numpy(dtype=float)
    if not (np.isfinite(train).all() and np.isfinite(val).all()):
        bad = int(np.flatnonzero(~(np.isfinite(train) & np.isfinite(val)))[0])
        return {"verdict": "diverged", "best_epoch": None,
                "text": f"the loss is not finite at epoch {epochs[bad]}: training diverged"}
    b = int(np.argmin(val))
    last = len(val) - 1
    rise = val[last] / val[b] - 1.0
    quarter = max(1, len(val) // 4)
    recent_gain = 1.0 - val[b] / val[max(0, last - quarter)] if b > last - quarter else 0.0
    facts = {"best_epoch": int(epochs[b]), "best_val_loss": float(val[b]),
             "final_val_loss": float(val[last]), "final_train_loss": float(train[last]),
             "epochs": int(epochs[last]), "rise": float(rise)}
    typical = float(np.median(val[b + 1:])) / val[b] - 1.0 if b < last else 0.0
    if (max(rise, typical) >= OVERFIT_RISE and last - b >= MIN_EPOCHS_AFTER_BEST
            and train[last] < train[b]):
        how = (f"rises {rise:.0%} by epoch {epochs[last]}" if rise >= OVERFIT_RISE else
               f"runs a median {typical:.0%} above it over the {last - b} epochs after (up "
               f"to {float(np.max(val[b + 1:])) / val[b] - 1.0:.0%}; {rise:.0%} at epoch "
               f"{epochs[last]})")
        text = (f"validation loss bottoms at epoch {epochs[b]} ({val[b]:.3g}) and {how} "
                f"while training loss keeps falling ({train[b]:.3g} → {train[last]:.3g}): "
                f"overfits after epoch {epochs[b]}")
        return {"verdict": "overfits", "text": text, **facts}
    if val[b] >= UNDERFIT_LOSS:
        text = (f"the best validation loss is {val[b]:.3g} (epoch {epochs[b]}), barely below "
                f"the 1.0 of predicting the mean, with training loss {train[last]:.3g}: "
                "underfits")
        return {"verdict": "underfits", "text": text, **facts}
    if b >= last - max(1, len(val) // 10) + 1 and recent_gain >= STILL_IMPROVING:
        text = (f"validation loss is still falling at the last epoch {epochs[last]} "
                f"({val[b]:.3g}, down {recent_gain:.0%} over the last {quarter} epochs): "
                "underfits, train longer or with a higher learning rate")
        return {"verdict": "underfits", "text": text, **facts}
    text = (f"validation loss bottoms at epoch {epochs[b]} ({val[b]:.3g}) and stays within "
            f"{max(rise, 0.0):.0%} of it through epoch {epochs[last]} (training loss "
            f"{train[last]:.3g}): good fit")
    return {"verdict": "good fit", "text": text, **facts}


def diagnose_learning_curve(df: pd.DataFrame) -> dict:
    """"limited by data" or "saturated", from the two largest training windows."""
    metric = "val_rmse" if "val_rmse" in df and df["val_rmse"].notna().all() else "best_val_loss"
    ok = df[df[metric].notna()].sort_values("fraction")
    if len(ok) < 2:
        raise ValueError("a learning curve needs at least two trained fractions")
    before, full = ok.iloc[-2], ok.iloc[-1]
    gain = 1.0 - full[metric] / before[metric]
    label = "validation RMSE" if metric == "val_rmse" else "validation loss"
    # the second-largest window against the whole period, on the same validation days
    beyond_noise = _more_than_noise(before, "vs_full") if metric == "val_rmse" else None
    evidence = ""
    if beyond_noise is not None:
        evidence = (f" ({before['rmse_diff_vs_full']:+.2f} µg/m³ with the shorter window, "
                    f"{_interval(before, 'vs_full')})")
    # an RMSE in µg/m³ to one decimal (34.96 read "35" beside "34.8"), a loss to 3 digits
    form = ".1f" if metric == "val_rmse" else ".3g"
    falls = (f"{label} falls from {before[metric]:{form}} with {before['fraction']:.0%} of "
             f"the training period ({int(before['n_train'])} days) to {full[metric]:{form}} "
             f"with {full['fraction']:.0%} ({int(full['n_train'])} days), {gain:.1%} better")
    if gain >= DATA_GAIN and beyond_noise is not False:
        text = f"{falls}{evidence}: limited by data, more history would still help"
        verdict = "limited by data"
    elif gain >= DATA_GAIN:
        text = (f"{falls}, but within noise on these validation days{evidence}: saturated "
                "as far as they can tell")
        verdict = "saturated"
    else:
        changes = (f"{label} changes by {-gain:+.1%} from {before['fraction']:.0%} of the "
                   f"training period ({before[metric]:{form}}) to {full['fraction']:.0%} "
                   f"({full[metric]:{form}}){evidence}")
        if gain < 0 and beyond_noise:
            # worse with more history, beyond noise: the older days mislead, not too few
            text = (f"{changes}: saturated, and the oldest training days make it worse "
                    "(the relation has drifted): a shorter training window may validate "
                    "better")
        elif gain < 0 and beyond_noise is False:
            text = (f"{changes}, worse but within noise: saturated, more history of the "
                    "same kind is unlikely to help")
        else:
            text = f"{changes}: saturated, more history of the same kind is unlikely to help"
        verdict = "saturated"
    return {"verdict": verdict, "text": text, "gain": float(gain), "metric": label}


def capacity_limits(df: pd.DataFrame) -> tuple[bool | None, str]:
    """Whether the sweep says capacity may limit the network: its largest size validates
    best (lowest validation RMSE; the loss where the table has no RMSE) and, where the
    table has the paired comparison, the next best size is worse by more than noise.
    Returns (verdict, a sentence with its numbers); None when no size trained."""
    metric = ("val_rmse" if "val_rmse" in df and df["val_rmse"].notna().any()
              else "best_val_loss")
    ok = df[df[metric].notna()]
    if ok.empty:
        return None, ""
    best = ok.loc[ok[metric].idxmin()]
    largest = ok.loc[ok["n_parameters"].idxmax()]
    if best.name != largest.name:
        return False, (f"hidden={int(best['hidden'])}, layers={int(best['layers'])} validates "
                       "best, not the largest size")
    others = ok.drop(index=best.name)
    if others.empty or metric != "val_rmse":
        return True, ""
    runner_up = others.loc[others[metric].idxmin()]
    beyond_noise = _more_than_noise(runner_up, "vs_best")
    if beyond_noise is None:
        return True, ""
    numbers = (f"the next best size (hidden={int(runner_up['hidden'])}, "
               f"layers={int(runner_up['layers'])}, {int(runner_up['n_parameters']):,} "
               f"parameters) is {runner_up['rmse_diff_vs_best']:+.2f} µg/m³ behind it "
               f"({_interval(runner_up, 'vs_best')})")
    within = int(sum(_more_than_noise(row, "vs_best") is False for _, row in others.iterrows()))
    share = f"; {within} of the other {len(others)} sizes are within noise of it"
    if beyond_noise:
        return True, f"the largest size validates best and {numbers}{share}"
    return False, (f"the largest size validates best, but {numbers}: within noise, one "
                   f"seed on one validation year{share}")


def diagnose_capacity(df: pd.DataFrame) -> str:
    """What the capacity sweep says, in one or two sentences with its numbers."""
    ok = df[df["best_val_loss"].notna()]
    if ok.empty:
        return "every network of the capacity sweep failed to train"
    best = ok.loc[ok["best_val_loss"].idxmin()]
    largest = ok.loc[ok["n_parameters"].idxmax()]
    smallest = ok.loc[ok["n_parameters"].idxmin()]
    text = (f"validation loss is lowest with hidden={int(best['hidden'])}, "
            f"layers={int(best['layers'])} ({int(best['n_parameters']):,} parameters, "
            f"{best['best_val_loss']:.3g}); across the sweep it ranges "
            f"{ok['best_val_loss'].min():.3g}–{ok['best_val_loss'].max():.3g}")
    limits, numbers = capacity_limits(df)
    if limits and numbers:
        # what the report's verdict reads (capacity_limits), even where the loss ranks
        # the sizes otherwise
        return text + f"; by validation RMSE {numbers}, so capacity may still be limiting."
    if ok["best_val_loss"].max() <= ok["best_val_loss"].min() * (1 + SIMILAR):
        return text + ": capacity barely matters at these sizes."
    if best.name == largest.name and limits is False:
        return text + f"; by validation RMSE {numbers}: no evidence that capacity limits."
    if best.name == largest.name:
        return text + ": the largest network is best, so capacity may still be limiting."
    if (largest["best_train_loss"] < best["best_train_loss"]
            and largest["best_val_loss"] > best["best_val_loss"] * (1 + SIMILAR)):
        return text + (f"; the largest network ({int(largest['n_parameters']):,} parameters) "
                       f"fits the training data better ({largest['best_train_loss']:.3g} vs "
                       f"{best['best_train_loss']:.3g}) but validates worse "
                       f"({largest['best_val_loss']:.3g}): more capacity overfits.")
    if best.name == smallest.name:
        return text + ": the smallest network is best; the data support only a small model."
    return text + ": a mid-sized network is best."
