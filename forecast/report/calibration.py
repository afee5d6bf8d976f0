"""The report's "Uncertainty and calibration" section: how sure each model is, and whether
its stated uncertainty holds (coverage, PIT, CRPS, the exceedance probability)."""

from __future__ import annotations

import calendar
from pathlib import Path

from ..calendars import describe_season
from ..constants import DEFAULT_HEATING_SEASON, SEASONS, UNIT
from ..registry import REGISTRY
from ..uncertainty import CALIBRATION_BLOCKS, GROUPS, HEATING_MONTHS, OFFSETS
from ..warning import warning_of
from .document import Doc
from .figures import figure_fan, figure_pit, figure_reliability
from .format import (
    DASH,
    ci,
    count,
    fixed,
    interval_side,
    never_or_always,
    no_brier_skill,
    num,
    pct,
)
from .run import Run, days, test_periods

LEVEL_NAMES = {"low": "lowest third", "middle": "middle third", "high": "highest third"}


def _coverage_cell(coverage: dict | None, nominal: str) -> str:
    if not coverage or nominal not in coverage:
        return DASH
    return f"{pct(coverage[nominal]['coverage'])} ({fixed(coverage[nominal]['width'], 0)})"


def _log_space(result, recommended: str | None) -> str:
    """How the calibration's log space reads: log(a + PM2.5) with each model's offset a
    (and, in a run since the groups, one set of shifts or one per third of the forecasts,
    split by the heating season or not) chosen on its validation rows, or log(1 + PM2.5)
    in a run from before the choice."""
    saved = {name: entry.info.get("calibration", {}) for name, entry in result.entries.items()}
    if not any(c.get("log_offset") is not None for c in saved.values()):
        return "log(1 + PM2.5)"
    grouped = _grouped(result)
    # a run with no heating season ([task] heating_season = []) offered no split
    seasonal = (any("heating_season" in c for c in saved.values())
                and bool(result.config.get("task", {}).get("heating_season",
                                                           DEFAULT_HEATING_SEASON)))
    mine = saved.get(recommended, {})
    chosen = []
    if mine.get("log_offset") is not None:
        chosen.append(f"a = {mine['log_offset']:g} {UNIT}")
    if "forecast_edges" in mine:
        edges = mine["forecast_edges"]
        chosen.append(("one set of shifts" if not edges else
                       f"shifts per {_share(len(edges) + 1)} of its validation forecasts "
                       f"(edges {', '.join(f'{e:.0f}' for e in edges)} {UNIT})")
                      + (", split by the heating season" if mine.get("heating_season") else ""))
    months = _season_words(result) if seasonal else ""
    return (f"log(a + PM2.5), each model's offset a among {', '.join(f'{a:g}' for a in OFFSETS)} "
            f"{UNIT}"
            + (f" and its shifts (one set for all days, or one per {_share(max(GROUPS))} of its "
               "validation forecasts, by their median: Mondrian conformal"
               + (f"; either split into target days in the heating season ({months}) and "
                  "out of it" if seasonal else "") + ")" if grouped else "")
            + f" chosen by its validation CRPS cross-fitted over {CALIBRATION_BLOCKS} "
            "blocks of dates"
            + (f"; {recommended}'s on the latest fold: {', '.join(chosen)}" if chosen else ""))


def _season_words(result) -> str:
    """The heating season the run's calibrations could split by, in words: the configured
    one (``task.heating_season``, "15 Nov – 15 Mar") in a run since the season was an
    option (its calibrations store ``heating_season_days``, split or not), else the months
    of :data:`HEATING_MONTHS` ("Nov–Mar")."""
    saved = [entry.info.get("calibration") or {} for entry in result.entries.values()]
    if any("heating_season_days" in c for c in saved):
        return describe_season(result.config.get("task", {}).get("heating_season",
                                                                 DEFAULT_HEATING_SEASON))
    return "–".join(calendar.month_abbr[m] for m in (HEATING_MONTHS[0], HEATING_MONTHS[-1]))


def _grouped(result) -> bool:
    """Whether the run's calibrations chose among groups of shifts (a run since they could)."""
    return any("forecast_edges" in entry.info.get("calibration", {})
               for entry in result.entries.values())


def _out_of_block(result) -> str | None:
    """How every calibration of the run scored its validation rows: "nested" (each block's
    setting chosen and its shifts fitted on the other blocks), "mixed" (so for some
    entries, for the others, quantile heads on many rows, the shifts fitted on the other
    blocks and the setting chosen on all rows), "shifts" (the latter for every entry: a
    run made before the nested choice), or None (in sample: fewer validation dates than
    blocks, or an older run)."""
    saved = [entry.info.get("calibration") for entry in result.entries.values()]
    saved = [c for c in saved if c]
    if not saved or not all(c.get("validation_out_of_block") for c in saved):
        return None
    nested = [bool(c.get("validation_choice_out_of_block")) for c in saved]
    return "nested" if all(nested) else "mixed" if any(nested) else "shifts"


def _share(groups: int) -> str:
    return {2: "half", 3: "third", 4: "quarter"}.get(groups, f"1/{groups} share")


def section_uncertainty(doc: Doc, run: Run, figures: Path, featured: list[str],
                        recommended: str | None) -> None:
    result = run.result
    candidates = [e for e in run.candidates() if run.pooled(e.name).get("crps") is not None]
    if not candidates:
        return
    threshold = run.pooled(candidates[0].name)["threshold"]
    where = "pooled over the folds' test periods" if run.n_folds > 1 else "on the test period"
    loss = result.config.get("training", {}).get("loss", "mse")
    # a run stores its config resolved: target_transform is none or log1p, never auto
    transform = result.config.get("task", {}).get("target_transform", "none")
    target = "log(1 + PM2.5)" if transform == "log1p" else "PM2.5"
    # networks that forecast the target day hour by hour train otherwise
    by_hour = sorted({e.family for e in candidates if e.is_network
                      and getattr(REGISTRY.get(e.family), "target_hours", False)})
    by_hour_clause = (f"{', '.join(by_hour)} with the Poisson deviance on the target day's "
                      "hourly PM2.5, its forecast the mean of its 24 hours")
    networks = any(e.is_network for e in candidates)
    doc.heading(2, "Uncertainty and calibration", "uncertainty")
    doc.para(
        "Every model's forecast is a predictive distribution, given by its quantiles. "
        + ("Each model gives a point forecast. " if not networks else
           f"The networks are trained with the pinball loss on 99 quantile levels of "
           f"{target} (a quantile head){', but ' + by_hour_clause if by_hour else ''}; "
           "the baselines give a point forecast. "
           if loss == "pinball" else
           f"Each model gives a point forecast (the networks trained with the MSE loss on "
           f"{target}{'; ' + by_hour_clause if by_hour else ''}). ")
        + "A conformal recalibration fitted on each fold's validation year only then shifts "
        f"every quantile level in log space ({_log_space(result, recommended)}), so "
        "intervals widen with the level as the errors do; the test periods never enter it. "
        + {"nested": "Each validation row's distribution comes from a calibration chosen "
           "and fitted on the other blocks of validation dates (its offset and groups "
           "chosen by a CRPS cross-fitted over those blocks alone), so the validation CRPS "
           "(which the recommendation reads) is scored out of sample. ",
           "mixed": "Each validation row's distribution comes from a calibration fitted "
           "on the other blocks of validation dates and, but for the networks with a "
           "quantile head (whose offset and groups were chosen on all validation rows, as "
           "their nested choice costs several times as much on this many rows: slightly "
           "optimistic), chosen by a CRPS cross-fitted over those blocks alone, so the "
           "validation CRPS (which the recommendation reads) is scored out of sample. ",
           "shifts": "Each validation row's distribution comes from the calibration fitted "
           "on the other blocks of validation dates, so the validation CRPS (which the "
           "recommendation reads) is scored out of block, though the offset and the groups "
           "were chosen on all validation rows (slightly optimistic, alike for every "
           "model). "}.get(_out_of_block(result), "")
        + ("No quantile falls below the smallest validation daily mean. "
           if _grouped(result) else "")
        + "CRPS: the continuous "
        f"ranked probability score ({UNIT}; lower is better; for a point forecast it equals "
        "the absolute error), its skill against the climatological distribution (the "
        "training days of the same station and calendar month). Coverage: the share of "
        f"days inside the central 50, 80 and 90 % intervals (mean width in {UNIT}); "
        "calibrated intervals cover their nominal share. Brier skill: of the probability "
        f"that the daily mean exceeds {threshold:g} {UNIT}, against the climatological "
        f"frequency. All {where}.", "note")
    rows = []
    for entry in candidates:
        test, val = run.pooled(entry.name), run.pooled(entry.name, "val")
        label = f"**{entry.name}**" if entry.name == recommended else entry.name
        rows.append((val.get("crps", float("inf")), [
            label, fixed(val.get("crps"), 2),
            f"{fixed(test['crps'], 2)} [{ci(test.get('crps_ci'))}]",
            pct(test.get("crps_skill"), 1, signed=True),
            _coverage_cell(test.get("coverage"), "50"),
            _coverage_cell(test.get("coverage"), "80"),
            _coverage_cell(test.get("coverage"), "90"),
            fixed(test.get("brier"), 3), pct(test.get("brier_skill"), 1, signed=True)]))
    rows.sort(key=lambda r: r[0])
    doc.table(["Model", "Val CRPS", "Test CRPS [95 % CI]", "CRPS skill", "50 % cover (width)",
               "80 % cover (width)", "90 % cover (width)", "Brier", "Brier skill"],
              [r[1] for r in rows], align="lrrrrrrrr",
              caption="Sorted by validation CRPS")
    if recommended and run.pooled(recommended).get("coverage"):
        _recommended_detail(doc, run, recommended)
    fan = None
    latest = run.latest_test
    if recommended and latest is not None and "q50" in latest:
        mine = latest[latest["model"] == recommended]
        station = sorted(mine["station"].unique())[0] if not mine.empty else None
        if station is not None:
            fan = figure_fan(mine[mine["station"] == station], recommended, figures, threshold)
            doc.figure(fan, f"{recommended}'s calibrated forecast distribution over the latest "
                            f"test period ({station}): median, 50 % and 90 % intervals, and "
                            f"the observed daily means (dots); dotted: {threshold:g} {UNIT}.")
    shown = [m for m in featured if run.pooled(m).get("pit_histogram")][:3]
    doc.figure(figure_pit({m: run.pooled(m)["pit_histogram"] for m in shown}, figures),
               f"PIT histograms, {where}: the share of days whose observed value falls in each "
               "tenth of the forecast distribution. Flat at 0.1 (dashed) is calibrated; a U "
               "shape means too narrow, a hump too wide, a slope a bias.")
    doc.figure(figure_reliability({m: run.pooled(m)["reliability"] for m in shown},
                                  threshold, figures),
               f"Reliability of the probability of exceeding {threshold:g} {UNIT}, {where}: "
               "points on the diagonal mean that a stated probability comes true that often.")


def _edges(latest: dict, pooled: dict, latest_name: str) -> str:
    """"; the thirds' edges: a and b µg/m³ on the latest period, c and d pooled" ("" where
    the run does not have them)."""
    parts = [f"{fixed(edges[0], 0)} and {fixed(edges[1], 0)} {UNIT} {where}"
             for edges, where in ((latest.get("forecast_level_edges"), f"on {latest_name}"),
                                  (pooled.get("forecast_level_edges"), "pooled"))
             if edges and len(edges) == 2]
    return "; the thirds' edges: " + ", ".join(parts) if parts else ""


def _recommended_detail(doc: Doc, run: Run, model: str) -> None:
    """Coverage of the recommended model by season and by forecast level, on the latest
    test period and pooled."""
    entry = run.result.entries[model]
    latest, pooled = entry.metrics.get("test", {}), run.pooled(model)
    latest_name = run.result.folds[-1]["name"] if run.result.folds else "test"
    groups = [("all days", latest.get("coverage"), pooled.get("coverage"))]
    groups += [(season, latest.get("coverage_by_season", {}).get(season),
                pooled.get("coverage_by_season", {}).get(season)) for season in SEASONS]
    # runs from before the forecast's terciles grouped the days by the observed level
    by = "forecast" if "coverage_by_forecast_level" in {*latest, *pooled} else "observed"
    key = f"coverage_by_{'forecast_' * (by == 'forecast')}level"
    groups += [(f"{by} in the {name}", latest.get(key, {}).get(level),
                pooled.get(key, {}).get(level)) for level, name in LEVEL_NAMES.items()]
    rows = [[label, *(_coverage_cell(part, n) for part in (a, b) for n in ("50", "80", "90"))]
            for label, a, b in groups if a or b]
    doc.table(["Days", f"50 % ({latest_name})", f"80 % ({latest_name})", f"90 % ({latest_name})",
               "50 % (pooled)", "80 % (pooled)", "90 % (pooled)"], rows, align="lrrrrrr",
              caption=f"Coverage (mean width, {UNIT}) of the recommended model, {model}, by "
                      + ("season and by the third of its forecast median it falls in"
                         + _edges(latest, pooled, latest_name)
                         + " (grouped by the forecast, which is known in advance: grouped by "
                         "the observed level, even a calibrated forecast would seem to "
                         "under-cover the lowest and highest days, whose observed level is "
                         "partly its error)" if by == "forecast"
                         else "season and by the observed level's tercile"))
    if no_brier_skill(latest):
        doc.para(f"On {latest_name}, " + never_or_always(latest, "any day") + ".")
    elif latest.get("brier_skill") is not None:
        doc.para(f"On {latest_name}, {model}'s probability of exceeding "
                 f"{latest['threshold']:g} {UNIT} has a Brier score of "
                 f"{fixed(latest['brier'], 3)} against {fixed(latest['brier_climatology'], 3)} "
                 f"for the climatological frequency (skill {pct(latest['brier_skill'], 1, signed=True)}); "
                 f"the threshold was exceeded on {pct(latest['exceedance_frequency'])} of the {days(run)}.")
    table = pooled.get("reliability") or []
    if table:
        doc.table(["Stated probability", days(run).capitalize(), "Mean stated", "Came true"],
                  [[_probability_bin(row["bin"]), count(row["n"]),
                    pct(row["mean_probability"]), pct(row["observed_frequency"])]
                   for row in table if row.get("n")],
                  align="lrrr",
                  caption=f"How often {model}'s probability of exceeding "
                          f"{pooled.get('threshold', 75):g} {UNIT} came true, "
                          + ("pooled over the test periods" if run.n_folds > 1
                             else "over the test period")
                          + "; reliable where the last two columns agree")
    _warning_table(doc, run, model)


def _probability_bin(label: str) -> str:
    """A reliability bin's label as the interval it is: "0.1-0.2" → "10 % to < 20 %", the
    last bin "0.9-1.0" → "90 % to 100 %" (:func:`forecast.uncertainty` bins P into tenths,
    each closed below and open above but the last)."""
    low, high = (float(edge) for edge in label.split("-"))
    return f"{pct(low)} to {'' if high >= 1 else '< '}{pct(high)}"


#: The warning probabilities the trade-off table shows, beside the chosen one.
SHOWN_PROBABILITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _warning_table(doc: Doc, run: Run, model: str) -> None:
    """What warning at each probability of exceeding the threshold would have done on the
    validation days that chose the warning probability (:mod:`forecast.warning`)."""
    warning = warning_of(run.result.pooled, model)
    if not warning or not warning.get("val_curve"):
        return
    threshold, chosen = warning["threshold"], warning["probability"]
    cost_loss = warning.get("cost_loss") or 0.0
    shown = [row for row in warning["val_curve"]
             if row["probability"] in SHOWN_PROBABILITIES or row["probability"] == chosen]
    rows = [[pct(row["probability"]) + (" (chosen)" if row["probability"] == chosen else ""),
             count(row["hits"] + row["false_alarms"]), count(row["hits"]),
             count(row["misses"]), count(row["false_alarms"]), pct(row["pod"]),
             pct(row["far"]), fixed(row["csi"], 2)]
            + ([fixed(row.get("value"), 2)] if cost_loss > 0 else []) for row in shown]
    basis = ("the best CSI" if cost_loss <= 0 else
             f"the lowest expense at a cost/loss ratio of {cost_loss:g}, the best value")
    doc.table(["Warn when P(exceed) ≥", "Warnings", "Hits", "Misses", "False alarms", "POD",
               "FAR", "CSI"] + ([f"Value at {cost_loss:g}"] if cost_loss > 0 else []), rows,
              align="lrrrrrrr" + ("r" if cost_loss > 0 else ""),
              caption=f"Warning when {model}'s probability of exceeding {threshold:g} {UNIT} "
                      f"reaches each level, on the validation {days(run)} that chose "
                      f"{pct(chosen)} ({basis} among 5 %, 10 % … 95 %): "
                      "a lower level catches more episodes (POD) for more false alarms (FAR); "
                      "choose by what a missed episode costs against a false alarm "
                      "(evaluation.warning_cost_loss, or forecast predict "
                      "--warning-cost-loss, chooses by a cost/loss ratio). Its test "
                      "scores are in the Verdict's 'When to warn'.")
    _value_table(doc, run, model, warning)


def _value_table(doc: Doc, run: Run, model: str, warning: dict) -> None:
    """The value of the warnings on the test periods to users of several cost/loss ratios,
    each ratio's warning level chosen (fold by fold) on the validation years, beside the
    point forecast with its own threshold chosen the same way and the point forecast
    above the exceedance threshold."""
    curve = warning.get("by_cost_loss")
    if not curve:
        return
    where = test_periods(run)
    threshold = warning["threshold"]
    fold_by_fold = " fold by fold" if len(warning.get("by_fold") or []) > 1 else ""

    def levels(values: list, show) -> str:
        shown = [show(v) for v in values]
        return shown[0] if len(set(shown)) == 1 else " / ".join(shown)

    rows = [[fixed(row["cost_loss"], 2), levels(row["probabilities"], pct),
             fixed(row["value"], 2), levels(row["point_levels"], lambda v: fixed(v, 0)),
             fixed(row["tuned_point_value"], 2),
             ci(row.get("tuned_difference_ci"), 2, with_sign=True),
             fixed(row["point_forecast_value"], 2),
             ci(row.get("difference_ci"), 2, with_sign=True)] for row in curve]
    doc.table(["C/L", "Warn when P ≥", "Value", f"Point forecast ≥ ({UNIT})", "Its value",
               "Difference, 95 % CI", f"Point forecast > {threshold:g}: value",
               "Difference, 95 % CI"], rows, align="rrrrrrrr",
              caption=f"Value of {model}'s warnings on the {where} to a user for whom "
                      "acting on a warning costs C and an exceedance without one L (the "
                      "relative economic value: 1 a perfect forecast, 0 no better than "
                      "always or never acting, whichever is cheaper, below 0 worse). For "
                      f"each ratio the warning level of the probability is chosen{fold_by_fold} "
                      "on the validation years (the lowest expense), and so is a threshold "
                      "of the point forecast, its rival with the same information; the last "
                      f"two columns warn when the point forecast is above {threshold:g}. "
                      "Levels by fold, oldest first, where they differ. Each difference is "
                      "the probability's value minus the rival's, its interval a paired "
                      f"block bootstrap over the {days(run)}.")
    if all(num(row["value"]) is None for row in curve):   # and so no interval either
        doc.para(f"No value could be computed on the {where} (no {days(run)} above "
                 f"{threshold:g} {UNIT}, or only such {days(run)}).")
        return

    def ratios(key: str, side: int) -> list[str]:
        return [fixed(row["cost_loss"], 2) for row in curve
                if interval_side(row.get(key)) == side]

    better, worse = ratios("difference_ci", 1), ratios("difference_ci", -1)
    text = ("Choosing the warning level for the user's costs pays: against the point "
            f"forecast above {threshold:g} the probability's warnings were worth more, beyond "
            f"noise, at cost/loss ratios {', '.join(better)}" if better
            else f"Against the point forecast above {threshold:g} the probability's warnings "
                 "were worth no more, beyond noise, at any of these ratios")
    text += f" (less at {', '.join(worse)}). " if worse else ". "
    ahead, behind = ratios("tuned_difference_ci", 1), ratios("tuned_difference_ci", -1)
    if not ahead and not behind:
        text += ("Against the point forecast with its threshold chosen the same way the "
                 "difference is within noise at every ratio: what pays is the level chosen "
                 "for the costs, which the probability gives directly (for a calibrated "
                 "probability the best level is the ratio itself) and the point forecast "
                 "only with a threshold fitted for each ratio.")
    else:
        text += ("Against the point forecast with its threshold chosen the same way the "
                 "probability was worth "
                 + " and ".join(part for part in (
                     f"more, beyond noise, at {', '.join(ahead)}" if ahead else "",
                     f"less at {', '.join(behind)}" if behind else "") if part)
                 + "; within noise elsewhere.")
    doc.para(text)

