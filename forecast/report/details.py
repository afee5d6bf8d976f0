"""The report's detailed sections: training curves, capacity and data, the latest test
period, and data quality."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..constants import (
    CHINA_PM25_BREAKPOINTS,
    CHINA_PM25_CATEGORIES,
    LIMIT_24H,
    REFERENCE_MODELS,
    SEASONS,
    UNIT,
)
from ..importance import COMBINED, COMBINED_NAMES, REPEATS
from ..quality import REASON_TEXT
from ..registry import REGISTRY
from .document import Doc
from .figures import (
    figure_capacity,
    figure_curves,
    figure_exceedance,
    figure_learning_curve,
    figure_scatter,
    figure_seasons,
    figure_timeseries,
    test_series,
)
from .format import DASH, ci, count, fixed, interval_side, num, p_eq, pct, pval, signed
from .run import Run, days
from .verdict import split_tests


def section_curves(doc: Doc, run: Run, figures: Path) -> None:
    result = run.result
    diagnoses = result.diagnostics.get("curves", {})
    doc.heading(2, "Training curves", "curves")
    groups = {f: [e.name for e in result.members(f)
                  if (run.path / "curves" / f"{e.name}.csv").is_file()]
              for f in result.network_families()}
    groups = {f: entries for f, entries in groups.items() if entries}
    if not groups:
        doc.para("No network was trained in this run, so there are no training curves.")
        return
    doc.para("Curves of the main split (the latest fold). Losses are "
             + curve_losses(result, list(groups)) + " (train loss is averaged over the epoch "
             "with dropout on; validation loss is measured after it). The lower panel shows "
             "the epoch-mean gradient norm before clipping. A curve that overfits is one "
             "whose validation loss rises after its best epoch: early stopping keeps the "
             "network of that best epoch (and a final fit trains that many epochs).", "note")
    for network, entries in groups.items():
        curves = {}
        for entry in entries:
            frame = run.csv("curves", f"{entry}.csv")
            if frame is not None:
                curves[entry] = frame
        doc.heading(3, f"{network}", f"curves-{network}")
        doc.figure(figure_curves(network, curves, figures),
                   f"{network}: per-epoch train and validation loss of "
                   f"{len(curves)} run(s), gradient norm below")
        items = []
        for entry in entries:
            d = diagnoses.get(entry) or {}
            frame = curves.get(entry)
            training = ""
            if frame is not None and "lr" in frame and frame["lr"].notna().any():
                training = (f" Learning rate {frame['lr'].iloc[0]:.3g} → "
                            f"{frame['lr'].dropna().iloc[-1]:.3g} over {len(frame)} epochs.")
            training += _sampled_epochs(result.entries[entry].info,
                                        result.splits.get("val", {}).get("scored_days"))
            if d:
                best = f" (best epoch {d['best_epoch']})" if d.get("best_epoch") is not None \
                    else ""
                text = str(d.get("text", "")).strip()
                if text and text[-1] not in ".!?":
                    text += "."
                items.append(f"**{entry}** — {d.get('verdict', DASH)}{best}: {text}{training}")
            else:
                items.append(f"**{entry}** — no diagnosis recorded.{training}")
        doc.bullets(items)


def curve_losses(result, families: list[str]) -> str:
    """What the curves' losses are, as :meth:`models.module.ForecastModule._loss` computes
    them: the MSE on the scaled target, the pinball loss of a quantile head
    (``training.loss = "pinball"``), and for a network by hour the Poisson deviance of its
    hours, on another scale than the others'."""
    pinball = result.config.get("training", {}).get("loss", "mse") == "pinball"
    by_hour = [f for f in families if getattr(REGISTRY.get(f), "target_hours", False)]
    text = ("the pinball loss averaged over the quantile levels, on the scaled target"
            if pinball else "mean squared errors on the scaled target")
    if by_hour and len(by_hour) == len(families):
        return "the Poisson deviance of the target day's hourly forecasts"
    if by_hour:
        text += (f"; {', '.join(by_hour)}'s, the Poisson deviance of its hourly forecasts of "
                 "the target day, on another scale")
    return text


def _sampled_epochs(info: dict, val_rows: int | None = None) -> str:
    """A sentence when the network's epochs trained on samples of its training rows
    (``training.max_batch_size``), not all of them, and one when its validation loss read
    a sample of the ``val_rows`` validation rows (``training.max_val_rows``); empty
    otherwise."""
    text = ""
    rows, per_epoch = info.get("training_rows"), info.get("rows_per_epoch")
    if rows and per_epoch and per_epoch < rows:
        text = (f" Each epoch trained on a fresh random sample of {per_epoch:,} of its "
                f"{rows:,} training rows, in batches of {info['batch_size_used']:,} "
                "(training.max_batch_size).")
    read = info.get("val_loss_rows")
    if read and val_rows and read < val_rows:
        text += (f" Its validation loss, which stopped it, read a fixed random sample of "
                 f"{read:,} of the {val_rows:,} validation rows (training.max_val_rows); "
                 "every validation row is forecast and scored.")
    return text


def section_capacity(doc: Doc, run: Run, figures: Path) -> None:
    diag = run.result.diagnostics
    sweep = run.csv("diagnostics", "capacity_sweep.csv")
    curve = run.csv("diagnostics", "learning_curve.csv")
    cap, lc = diag.get("capacity_sweep") or {}, diag.get("learning_curve") or {}
    if sweep is None and curve is None and not cap and not lc:
        return
    doc.heading(2, "Capacity and data", "capacity")
    doc.heading(3, "Capacity sweep" + (f" ({cap['model']})" if cap.get("model") else ""))
    if sweep is not None:
        doc.figure(figure_capacity(sweep, figures),
                   "Best train and validation loss against the number of parameters")
        cols = [c for c in ("hidden", "layers", "n_parameters", "best_train_loss",
                            "train_loss_at_best", "best_val_loss", "best_epoch", "val_rmse",
                            "rmse_diff_vs_best", "rmse_diff_ci_low_vs_best",
                            "rmse_diff_ci_high_vs_best", "dm_p_value_vs_best") if c in sweep]
        doc.table(cols, [[_fmt_cell(row[c], c) for c in cols] for _, row in sweep.iterrows()],
                  align="r" * len(cols))
    if cap.get("text"):
        doc.para(str(cap["text"]))
    if sweep is None and not cap.get("text"):
        doc.para("No capacity sweep was run.")
    doc.heading(3, "Learning curve" + (f" ({lc['model']})" if lc.get("model") else ""))
    if curve is not None:
        doc.figure(figure_learning_curve(curve, figures),
                   "Best train and validation loss against the training-set size")
        cols = [c for c in ("fraction", "n_train", "best_train_loss", "train_loss_at_best",
                            "best_val_loss", "val_rmse", "rmse_diff_vs_full",
                            "rmse_diff_ci_low_vs_full", "rmse_diff_ci_high_vs_full",
                            "dm_p_value_vs_full")
                if c in curve]
        doc.table(cols, [[_fmt_cell(row[c], c) for c in cols] for _, row in curve.iterrows()],
                  align="r" * len(cols))
    if lc.get("text") or lc.get("verdict"):
        doc.para((f"**{lc['verdict']}**: " if lc.get("verdict") else "") + str(lc.get("text", "")))
    if curve is None and not lc:
        doc.para("No learning curve was run.")
    limits = what_limits_the_networks(run, sweep, lc, cap)
    if limits:
        doc.heading(3, "What limits the networks")
        doc.bullets(limits)


def section_importance(doc: Doc, run: Run, recommended: str | None) -> None:
    """What each model relies on (:mod:`forecast.importance`): the rise of its validation
    RMSE when a group of inputs is shuffled, models in order of pooled validation RMSE."""
    importance = run.result.diagnostics.get("importance") or {}
    if not importance:
        return
    names = sorted(importance, key=lambda n: (num(run.pooled(n, "val").get("rmse"))
                                              or math.inf, n))
    groups = list(dict.fromkeys(g["group"] for n in names for g in importance[n]["groups"]))
    rise = {(n, g["group"]): g for n in names for g in importance[n]["groups"]}
    doc.heading(2, "What the models rely on", "importance")
    rows_scored = max(importance[n]["rows"] for n in names)
    sampled = any("rise_ci" in g for g in rise.values())
    doc.table(["Inputs shuffled"] + names,
              [[group] + [_rise_cell(rise[(n, group)]) if (n, group) in rise else DASH
                          for n in names] for group in groups]
              + [["the latest fold's validation RMSE"] + [fixed(importance[n]["rmse"])
                                                     for n in names]],
              align="l" + "r" * len(names),
              caption=f"How much each model's validation RMSE ({UNIT}) rises when one group "
                      "of its inputs is shuffled across the validation "
                      f"{days(run)} ({count(rows_scored)}, the latest fold's; the mean of "
                      f"{REPEATS} shuffles), every input of the group together — the matrix's "
                      "columns, the daily sequence's and the hourly windows' channels; "
                      "models in order of pooled validation RMSE, a network as its seed "
                      "ensemble. Groups that carry the same information share its credit "
                      "(with PM2.5 within the days shuffled, its daily means still tell much "
                      "of it): a small rise means that the group adds little beside the "
                      "others, not that the model ignores it; a model whose weights on "
                      "correlated inputs offset each other (a linear one) can rise by more "
                      "for a part than for the whole, as shuffling breaks the offset; the "
                      "'all' rows shuffle the groups together. Day D's weather and the "
                      "target day's cannot be told apart: the change from one to the other "
                      "is an input of its own, and models over the target day's hours read "
                      "their dew point and pressure as changes from day D's last hour. "
                      "Below 0, shuffling helped."
                      + (" In brackets: a rise whose 95 % interval over the days includes 0 "
                         "(a moving-block bootstrap of the validation dates, the shuffles "
                         "held fixed): these days cannot rule out that the model does not "
                         "rely on the group."
                         if sampled else ""))
    text = []
    for name in dict.fromkeys(n for n in (recommended, names[0]) if n in importance):
        ranked = sorted((g for g in importance[name]["groups"] if g["group"] not in COMBINED_NAMES),
                        key=lambda g: -g["rise"])
        lead = [g for g in ranked if g["rise"] > 0][:2]
        if lead:
            text.append(f"{name}{' (recommended)' if name == recommended else ''} relies "
                        "most on " + " and then ".join(
                            f"{g['group']} ({signed(g['rise'])}, {_rise_noise(g)})"
                            for g in lead) + ".")
    networks = [n for n in names if (e := run.result.entries.get(n)) is not None
                and e.is_network]
    leader = recommended if recommended in importance else names[0]
    rival = next((n for n in networks if n != leader), None) if leader not in networks \
        else next((n for n in names if n not in networks), None)
    if rival is not None:
        text.append(_against(importance, leader, rival))
        totals = [f"{group} {signed(rise[(leader, group)]['rise'])} against "
                  f"{signed(rise[(rival, group)]['rise'])}{_difference(rise[(leader, group)], rival)}"
                  for group, _ in COMBINED if (leader, group) in rise and (rival, group) in rise]
        if totals:
            text.append(f"Shuffled as wholes ({leader} against {rival}): "
                        + "; ".join(totals) + ".")
    doc.para(" ".join(t for t in text if t))


def _rise_cell(group: dict) -> str:
    """A rise for the table, in brackets when its interval over the days includes 0."""
    low, high = group.get("rise_ci") or (math.nan, math.nan)
    return f"({signed(group['rise'])})" if low <= 0 <= high else signed(group["rise"])


def _difference(group: dict, rival: str) -> str:
    """The paired interval over the days of a rise minus ``rival``'s, and whether it
    excludes 0; nothing for a run from before those intervals."""
    if rival not in group.get("against", {}):
        return ""
    pair = group["against"][rival]
    verdict = "beyond noise" if interval_side(pair) else "within noise"
    return f" (the difference's 95 % interval {ci(pair, with_sign=True)}: {verdict})"


def _rise_noise(group: dict) -> str:
    """The noise of a rise: its interval over the days, or for a run from before them
    the shuffles' spread."""
    if group.get("rise_ci"):
        return f"95 % interval {ci(group['rise_ci'], with_sign=True)}"
    return f"shuffles {ci([group['rise_low'], group['rise_high']], with_sign=True)}"


def _against(importance: dict, name: str, rival: str) -> str:
    """How ``name``'s reliance differs from ``rival``'s: the group on which it relies most
    more than the rival and the one most less, among groups where the larger rise is
    above 0 and the two differ beyond noise — the paired 95 % interval of the difference
    over the days excludes 0 (for a run from before those intervals: the two models'
    shuffles do not overlap) — or that they rely alike when none does."""
    mine = {g["group"]: g for g in importance[name]["groups"] if g["group"] not in COMBINED_NAMES}
    theirs = {g["group"]: g for g in importance[rival]["groups"]}
    sampled = all(rival in g.get("against", {}) for g in mine.values())

    def apart(group: str) -> bool:
        if sampled:
            return interval_side(mine[group]["against"][rival]) != 0
        return (mine[group]["rise_low"] > theirs[group]["rise_high"]
                or theirs[group]["rise_low"] > mine[group]["rise_high"])

    differing = [(group, mine[group]["rise"] - theirs[group]["rise"]) for group in mine
                 if group in theirs and max(mine[group]["rise"], theirs[group]["rise"]) > 0
                 and apart(group)]
    parts = []
    for item, word in ((max(differing, key=lambda a: a[1], default=None), "more"),
                       (min(differing, key=lambda a: a[1], default=None), "less")):
        if item is not None and (item[1] > 0) == (word == "more"):
            group = item[0]
            interval = ""
            if sampled:
                interval = (f"; the difference {signed(item[1])}, 95 % interval over the "
                            f"days {ci(mine[group]['against'][rival], with_sign=True)}")
            parts.append(f"{word} on {group} ({signed(mine[group]['rise'])} against "
                         f"{signed(theirs[group]['rise'])}{interval})")
    if not parts:
        if sampled:
            return (f"{name} and {rival} rely on each group alike within the noise of these "
                    "days (the 95 % interval of every difference between their rises "
                    "includes 0).")
        return (f"{name} and {rival} rely on each group alike (their shuffles overlap in "
                "every group).")
    if sampled:
        return f"Against {rival}, {name} relies " + " and ".join(parts) + "."
    return (f"Against {rival}, {name} relies " + " and ".join(parts)
            + f" (their {REPEATS} shuffles apart: the permutation's spread on these days, "
            "not a sampling interval).")


def what_limits_the_networks(run: Run, sweep, learning_curve: dict,
                             capacity: dict | None = None) -> list[str]:
    """Capacity, data and inputs, each in numbers from this run: the capacity sweep's
    spread and whether its largest size leads by more than noise (``capacity``: the run's
    capacity diagnosis, ``limits`` and ``evidence``), the learning curve's last gain, and
    the networks against the baselines (the same tabular inputs, unless the best baseline
    also reads the target day's hourly weather, ``hgb_by_hour``, or the hourly record,
    ``hgb_hourly``, or the best network the hourly record) and against one another
    (other inputs: daily or hourly sequences)."""
    out = []
    capacity = capacity or {}
    capacity_limits = None   # whether the sweep's largest network leads by more than noise
    if sweep is not None and sweep["best_val_loss"].notna().any():
        ok = sweep[sweep["best_val_loss"].notna()]
        best = ok.loc[ok["best_val_loss"].idxmin()]
        if "limits" in capacity:
            capacity_limits = capacity["limits"]
        else:   # a run from before the paired comparison: the largest validates best
            capacity_limits = bool(best["n_parameters"] >= ok["n_parameters"].max())
        spread = ok["best_val_loss"].max() / ok["best_val_loss"].min() - 1
        evidence = f" By validation RMSE {capacity['evidence']}." if capacity.get("evidence") \
            else ""
        swept = (f" (one seed of {capacity['model']} at each size, on the latest fold)"
                 if capacity.get("model") else "")
        text = (f"**Capacity**: from {int(ok['n_parameters'].min()):,} to "
                f"{int(ok['n_parameters'].max()):,} parameters{swept} the best validation loss "
                f"moves by at most {pct(spread)}")
        at_best = best.get("train_loss_at_best", math.nan)
        if isinstance(at_best, float) and math.isfinite(at_best) and at_best > 0:
            # (a run from before this column has only the lowest training loss of any
            # epoch, which comes after the best validation epoch: no gap is read from it)
            text += (f"; at the best size, in the epoch its validation loss chose (epoch "
                     f"{count(best['best_epoch'])}), the training loss is {fixed(at_best, 3)} "
                     f"against {fixed(best['best_val_loss'], 3)} on validation "
                     f"({fixed(best['best_val_loss'] / at_best, 1)}×)")
        out.append(text + f".{evidence}")
    if learning_curve.get("gain") is not None:
        out.append(f"**Data**: the last step of the learning curve changes the "
                   f"{learning_curve.get('metric', 'validation loss')} by "
                   f"{pct(-learning_curve['gain'], 1, signed=True)} "
                   f"({learning_curve.get('verdict', '')}).")
    scored = {e.name: run.pooled(e.name, "val")["rmse"] for e in run.candidates()
              if run.pooled(e.name, "val")}
    baselines = {n: v for n, v in scored.items() if run.result.entries[n].kind == "baseline"
                 and n not in REFERENCE_MODELS}
    networks = {n: v for n, v in scored.items() if run.result.entries[n].is_network}
    if baselines and networks:
        b, n = min(baselines, key=baselines.get), min(networks, key=networks.get)
        worst = max(networks, key=networks.get)
        spread = networks[worst] / networks[n] - 1

        # networks over the hourly record (in forecast mode it runs through the target
        # day) and those that forecast the target day hour by hour from its hours
        hourly = [m for m in networks if _reads(run, m, "hourly")]
        by_hour = [m for m in networks if _reads(run, m, "target_hours")]
        # what the best baseline reads beyond the tabular features, and the networks that
        # read it too
        readers, shared = [], ""
        if _reads(run, b, "target_hours"):
            readers = hourly + by_hour
            shared = ", which also reads the target day's weather hour by hour"
        elif _reads(run, b, "hourly"):   # hgb_hourly: the last hours of the hourly record
            readers, hours = hourly, _reads(run, b, "hourly_hours")
            shared = (", which also reads the hourly record"
                      + (f", its last {hours} hours" if hours else ""))
        if shared and n not in readers:   # else the best network's own words say so
            shared += (f", as {', '.join(readers)} {'does' if len(readers) == 1 else 'do'}"
                       if readers else ", an input no network has")
        same_inputs = not shared and n not in hourly and n not in by_hour
        text = (f"**Inputs**: {'on the same tabular features ' if same_inputs else ''}"
                f"the best network ({n}, "
                + ("which also reads the hourly record, " if n in hourly else "")
                + ("which reads the target day's weather hour by hour, " if n in by_hour
                   else "")
                + f"{fixed(networks[n], 2)} {UNIT} validation RMSE) is "
                f"{signed(networks[n] - baselines[b], 2)} from the best baseline ({b}, "
                f"{fixed(baselines[b], 2)}{shared}"
                + f"); the {len(networks)} networks ("
                + ", ".join(networks) + f") lie within {pct(spread, 1)} of one another")
        # the worst against the best network on the same validation rows, where the run
        # has it; a run from before it: the spread alone decides
        pair = run.result.pooled.get("network_spread")
        if pair and pair.get("best") == n and pair.get("worst") == worst:
            low, high = pair["rmse_diff_ci"]
            text += (f" ({worst} {signed(pair['rmse_diff'], 2)} {UNIT} from {n}, 95 % CI "
                     f"{signed(low, 2)} to {signed(high, 2)}, DM "
                     f"{p_eq(pair['dm_p_value'])}){split_tests(pair)}")
            matters = bool(pair["significant"])
        else:
            matters = spread >= 0.02
        # the best network against a best baseline that reads what it reads: a gain
        # beyond noise there is the architecture's, whatever the networks' spread
        versus = run.pooled_comparison(n, "val")
        beats_on_same_inputs = (
            (same_inputs or (n in by_hour and _reads(run, b, "target_hours"))
             or (n in hourly and _reads(run, b, "hourly"))) and versus is not None
            and versus["against"] == b and bool(versus["significant"])
            and versus["rmse_diff"] < 0)
        confounded = different_inputs(run, n, worst)
        out.append(text + (f": they differ by more than noise, but {n} and {worst} read "
                           "different inputs (the hourly record, or the target day's hourly "
                           "weather), so the gap is the inputs' as much as the architecture's."
                           if matters and confounded else
                           ": the architecture (the inductive bias) matters here."
                           if matters else
                           ", whatever their time structure, within noise; but on the same "
                           f"inputs {n} beats {b} by more than noise (below): how a model "
                           "reads them matters, not only what it reads."
                           if beats_on_same_inputs else
                           ", whatever their time structure: within noise, so these "
                           "validation data show no effect of the architecture."))
    combination = run.result.entries.get("combination")
    if combination is not None and "combination" in scored and combination.members:
        best_member = min((m for m in combination.members if m in scored), key=scored.get,
                          default=None)
        if best_member is not None:
            used = {m: w for m, w in combination.info.get("weights", {}).items() if w > 0}
            gain = scored["combination"] - scored[best_member]
            folds = run.n_folds > 1
            text = ("**Complementarity**: the combination ("
                    + ("the latest fold's weights, " if folds else "weights ")
                    + ", ".join(f"{m} {w:.2f}" for m, w in used.items())
                    + "; non-negative, not made to sum to 1"
                    + ("; each fold fits its own" if folds else "")
                    + f") scores {fixed(scored['combination'], 2)} on validation "
                    f"(cross-fitted{', pooled over the folds' if folds else ''}), "
                    f"{signed(gain, 2)} against its best member, "
                    f"{best_member} ({fixed(scored[best_member], 2)})")
            text += (": the models' errors differ enough to average out." if gain < 0
                     else ": the models make much the same errors.")
            bound = run.result.pooled.get("combination_bound")
            if bound:
                text += (" Weights fitted on the very validation days they score, an "
                         "optimistic bound that no choice or combination of these models "
                         f"can be expected to beat, give {fixed(bound['rmse'], 2)} "
                         f"({signed(bound['rmse'] - scored[best_member], 2)} against "
                         f"{best_member}).")
            out.append(text)
    if baselines and networks:
        out.append(verdict_on_the_networks(run, min(networks, key=networks.get),
                                           capacity_limits, learning_curve.get("verdict")))
    return out


def verdict_on_the_networks(run: Run, network: str, capacity_limits: bool | None,
                             data_verdict: str | None) -> str:
    """The best network against the pooled best baseline on validation, and whether
    anything the networks control (size, years of history) is what holds them back."""
    comparison = run.pooled_comparison(network, "val")
    if comparison is None:
        return (f"**So**: {network} could not be compared with the best baseline on the "
                "pooled validation forecasts.")
    low, high = comparison["rmse_diff_ci"]
    evidence = (f"{network} is {signed(comparison['rmse_diff'], 2)} {UNIT} from "
                f"{comparison['against']} on the pooled validation RMSE (95 % CI "
                f"{signed(low, 2)} to {signed(high, 2)}, DM "
                f"{p_eq(comparison['dm_p_value'])})")
    if comparison["significant"] and comparison["rmse_diff"] < 0:
        return f"**So**: a network beats the best baseline by more than noise: {evidence}."
    if comparison["significant"]:
        return (f"**So**: the best network is worse than the best baseline: {evidence}."
                + early_peaks(run))
    held_back = [what for what, limits in (
        ("capacity (the largest size of the sweep validates best by more than noise)",
         capacity_limits),
        ("data (the learning curve still falls)", data_verdict == "limited by data")) if limits]
    if held_back:
        return (f"**So**: the best network is within noise of the best baseline: {evidence}; "
                f"{' and '.join(held_back)} may still hold the networks back." + early_peaks(run))
    if capacity_limits is None or data_verdict is None:
        return (f"**So**: the best network is within noise of the best baseline: {evidence}."
                + early_peaks(run))
    spread = run.result.pooled.get("network_spread") or {}
    architecture = (f" The networks differ by more than noise ({spread['worst']} against "
                    f"{spread['best']}, above)"
                    + (", though they also read different inputs" if different_inputs(
                        run, spread["best"], spread["worst"]) else "")
                    + ", and the best of them is the one compared here: it too stops at "
                    "what the baselines reach." if spread.get("significant") else "")
    return ("**So**: no network here beats the best baseline by more than noise: "
            f"{evidence}. What this run tested does not point to the networks' size or "
            "history: the largest size of the capacity sweep does not validate best by "
            f"more than noise and the learning curve is saturated.{architecture} On these "
            "inputs the networks reach what the baselines reach, which points to the "
            "information in the inputs; how the networks are trained (their learning rate, "
            "regularisation, stopping) is not among what the run varies."
            + early_peaks(run))


def _reads(run: Run, name: str, what: str):
    """A ModelSpec field (``hourly``, ``target_hours``, ``hourly_hours``) of the entry
    ``name``'s model, or False."""
    entry = run.result.entries.get(name)
    return getattr(REGISTRY.get(entry.family) if entry is not None else None, what, False)


def different_inputs(run: Run, a: str, b: str) -> bool:
    """Whether networks ``a`` and ``b`` read different inputs: one of them the hourly
    record or the target day hour by hour and the other not, so that a gap between them
    is not their architecture's alone."""
    return any(bool(_reads(run, a, what)) != bool(_reads(run, b, what))
               for what in ("hourly", "target_hours"))


def early_peaks(run: Run) -> str:
    """A sentence when most of the networks' seeds on the latest fold validate best in
    their first two epochs ("" otherwise): their validation loss rises from the start, a
    sign to look at the training (learning rate, regularisation), not only the inputs."""
    best_epochs = [e.info.get("best_epoch") for e in run.result.entries.values()
                   if e.kind == "network" and e.info.get("best_epoch") is not None]
    early = sum(int(epoch) <= EARLY_EPOCHS for epoch in best_epochs)
    if not best_epochs or 2 * early <= len(best_epochs):
        return ""
    return (f" {early} of the {len(best_epochs)} network fits of the latest fold validate "
            f"best in their first {EARLY_EPOCHS} epochs and worse after (Training curves, above): "
            "they overfit almost at once, so a smaller learning rate or more regularisation "
            "is worth trying before concluding that the inputs alone limit them.")


#: a network whose validation loss is lowest within this many epochs peaks early
EARLY_EPOCHS = 2


def _fmt_cell(value, column: str) -> str:
    if column in ("hidden", "layers", "n_parameters", "best_epoch", "n_train"):
        return count(value)
    if column == "fraction":
        return pct(value)
    if column == "val_rmse":   # µg/m³
        return fixed(value, 2)
    if column.startswith("rmse_diff"):
        return signed(value, 2)
    if column.startswith("dm_p_value"):
        return pval(value)
    return fixed(value, 4)


def section_test(doc: Doc, run: Run, figures: Path, featured: list[str]) -> None:
    result = run.result
    models = {name: e.metrics for name, e in result.entries.items()}
    split = result.splits.get("test", {})
    doc.heading(2, "The latest test period in detail", "test")
    doc.para(f"The main split's test period ({split.get('start', '?')} to "
             f"{split.get('end', '?')}), the latest fold.", "note")
    stations = result.stations
    threshold = result.config["evaluation"]["exceedance_threshold"] or LIMIT_24H
    predictions = run.latest_test
    if predictions is not None and featured:
        series = test_series(predictions, featured)
        if series is not None:
            where = (f"mean over the {len(stations)} stations" if len(stations) > 1
                     else f"station {stations[0]}" if stations else "all rows")
            doc.figure(figure_timeseries(series, featured, figures, threshold),
                       f"Observed and forecast daily-mean PM2.5 on the test period ({where}); "
                       f"dotted line: {threshold:g} {UNIT}")
            doc.figure(figure_scatter(series, featured, figures, threshold),
                       f"Forecast against observed ({where}); black line: perfect forecast")
    else:
        doc.para("predictions.csv is missing, so the time series and scatter plots are "
                 "not drawn.", "note")
    doc.heading(3, "By season")
    doc.figure(figure_seasons(models, featured, figures),
               "Test RMSE by meteorological season (DJF winter … SON autumn)")
    rows = []
    for m in featured:
        by = (models[m].get("test") or {}).get("by_season") or {}
        rows.append([m] + [f"{fixed((by.get(s) or {}).get('rmse'))} (bias "
                           f"{signed((by.get(s) or {}).get('bias'))})" if s in by else DASH
                           for s in SEASONS])
    doc.table(["Model"] + [f"{s} RMSE" for s in SEASONS], rows,
              caption=f"Test RMSE and bias by season ({UNIT})")
    doc.heading(3, f"Exceedance of {threshold:g} {UNIT} and index categories")
    doc.figure(figure_exceedance(models, featured, figures),
               f"Skill at forecasting a daily mean above {threshold:g} {UNIT} on the test year")
    rows = []
    chosen = result.recommendation.get("model")
    def validation_rmse(e) -> float:   # pooled, as everywhere else in the report
        return run.pooled(e.name, "val").get("rmse") or e.score("val") or float("inf")

    for e in sorted(run.candidates(), key=validation_rmse):
        test = e.metrics.get("test") or {}
        ex = test.get("exceedance") or {}
        if not test:
            continue
        rows.append([e.name + (" (recommended)" if e.name == chosen else ""), e.kind,
                     count(ex.get("hits")), count(ex.get("misses")),
                     count(ex.get("false_alarms")), fixed(ex.get("pod"), 2),
                     fixed(ex.get("far"), 2), fixed(ex.get("csi"), 2),
                     pct(test.get("category_accuracy"), 1)])
    doc.table(["Model", "Kind", "Hits", "Misses", "False alarms", "POD", "FAR", "CSI",
               "Category accuracy"], rows, align="llrrrrrrr",
              caption=f"The latest test period; an event is a daily mean above {threshold:g} "
                      f"{UNIT}" + (" (China's 24-hour grade II limit, GB 3095-2012)"
                                   if threshold == LIMIT_24H else "")
                      + ", forecast when the point forecast is above it (the probability of "
                      "exceeding it is scored by the Brier skill, under Uncertainty and "
                      "calibration); models in the order of their validation RMSE"
                      + (" pooled over the folds" if run.n_folds > 1 else "")
                      + ". POD = hits / observed events; FAR = false alarms / "
                      "forecast events; CSI = hits / (hits + misses + false alarms); "
                      "category accuracy = share of days in the right band of China's PM2.5 "
                      "index (" + ", ".join(
                          f"{name} {low:g}–{high:g}" for name, low, high in zip(
                              CHINA_PM25_CATEGORIES, (0.0, *CHINA_PM25_BREAKPOINTS),
                              CHINA_PM25_BREAKPOINTS, strict=False))
                      + f", {CHINA_PM25_CATEGORIES[-1]} above "
                      f"{CHINA_PM25_BREAKPOINTS[-1]:g} {UNIT})")


def section_quality(doc: Doc, run: Run) -> None:
    result = run.result
    data = result.data
    doc.heading(2, "Data quality", "data-quality")
    rows_n, missing = num(data.get("hourly_rows")), num(data.get("missing_pm25"))
    station_days, valid = num(data.get("days")), num(data.get("valid_days"))
    absent = num(data.get("hours_without_row"))
    rows = [
        ["Hourly rows", count(rows_n)],
        ["Missing hourly PM2.5", f"{count(missing)}"
         + (f" ({pct(missing / rows_n, 1)} of the rows)" if rows_n and missing is not None
            else "")],
        ["Negative PM2.5 values (set to missing)", count(data.get("negative_pm25"))],
        ["Values flagged by the quality checks (set to missing)",
         count(data.get("flagged_values"))],
        *([["Hours without a row (gaps between a station's first and last hour)",
            f"{count(absent)}; with the missing values "
            f"{pct((absent + missing) / (absent + rows_n), 1)} of those station-hours lack "
            "PM2.5"]]
          if absent and rows_n and missing is not None else []),
        ["Station-days", count(station_days)],
        ["Valid station-days", f"{count(valid)}"
         + (f" ({pct(valid / station_days, 1)})" if station_days and valid is not None
            else "")],
    ]
    if num(data.get("min_hours")):
        rows.append(["Completeness rule", f"≥ {int(data['min_hours'])} of 24 hourly values"])
    n_stations = max(1, len(result.stations))
    for name, s in result.splits.items():
        scored = num(s.get("scored_days"))
        try:
            span = (pd.Timestamp(s["end"]) - pd.Timestamp(s["start"])).days + 1
        except (KeyError, TypeError, ValueError):
            span = None
        # the station-days the split holds (each station from its own first day on);
        # runs made before that was recorded: the split's span times the stations
        of = num(s.get("station_days")) or (span * n_stations if span else None)
        share = f" of {count(of)} station-days ({pct(scored / of, 1)})" \
            if of and scored is not None else ""
        rows.append([f"Scored {days(run)}, {name}", f"{count(scored)}{share}"])
    doc.table(["Quantity", "Value"], rows, align="ll", wrap=True)
    section_flags(doc, result.quality, run)
    if result.dropped_features:
        doc.para("Features without information in the main split's training years "
                 "(all missing or constant, as is every feature of a column the data do "
                 "not have or the run does not read), dropped for every model: "
                 + ", ".join(result.dropped_features) + ".", "note")


def section_flags(doc: Doc, quality: dict | None, run: Run) -> None:
    """What the data-quality stage set missing, and network forecasts at the output clip."""
    doc.heading(3, "Impossible values")
    if quality is None:
        doc.para("This run predates the data-quality checks.", "note")
    elif not quality["flags"]:
        doc.para(f"The quality checks (missing-value codes, physical bounds, dew point above "
                 f"temperature, stuck PM2.5 monitors) flagged nothing in "
                 f"{count(quality['checked_rows'])} hourly rows.")
    else:
        doc.para(f"{count(quality['total'])} hourly value(s) were impossible or no number and "
                 "were set missing before any aggregate, feature or model saw them (rows are "
                 "kept):")
        doc.table(["Column", "Reason", "Values", "First (station, time, value)"],
                  [[f["column"], REASON_TEXT.get(f["reason"], f["reason"]), count(f["count"]),
                    f"{f['station']}, {f['time']}, {f['value']}"] for f in quality["flags"]],
                  align="llrl")
    if quality is not None and quality["dropped_columns"]:
        doc.para("Treated as absent, no valid value left: "
                 + ", ".join(quality["dropped_columns"]) + ".", "note")
    clipped = {name: int(entry.info["forecasts_at_output_clip"])
               for name, entry in run.result.entries.items()
               if "forecasts_at_output_clip" in entry.info}
    if clipped:
        hits = {name: n for name, n in clipped.items() if n}
        doc.para("Network forecasts that reached the output clip (training targets' range "
                 "± 3 sd, a sign of inputs the network cannot handle): "
                 + (", ".join(f"{name} {n}" for name, n in sorted(hits.items())) if hits
                    else "none") + ".")
