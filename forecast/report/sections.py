"""The report's sections about the comparison: what was run, the leaderboard (one row per
model), the rolling-origin folds, the stations, and the single seeds (appendix)."""

from __future__ import annotations

from pathlib import Path

from ..calendars import describe_season
from ..constants import DEFAULT_HEATING_SEASON, DEFAULT_HOLIDAYS, UNIT
from ..rolling import DEVELOPMENT_OVERLAP
from ..significance import one_test_only
from ..task import REGION_FEATURES, UPWIND_FEATURE
from .document import Doc
from .figures import figure_folds, figure_stations
from .format import DASH, ci, count, fixed, forecast_mode_label, pct, pval, seconds, signed
from .run import Run, days


def section_run(doc: Doc, run: Run) -> None:
    result = run.result
    data = result.data
    doc.heading(2, "What was run", "what-was-run")
    if result.synthetic:
        doc.para("SYNTHETIC DATA: every number below describes a simulated data set, not real "
                 "air quality.", "banner")
    mode_text = (f"forecast — perfect prognosis: {forecast_mode_label(result.config)}"
                 if result.mode == "forecast"
                 else "observed — inputs use information up to the issue day only")
    seeds = sorted({s[2] for f in result.network_families()
                    if (s := result.seed_spread(f)) is not None})
    seed_text = f"base seed {result.seed}"
    if seeds:
        seed_text += f"; networks trained with {', '.join(map(str, seeds))} seed(s) each"
    n_boot = result.config["evaluation"]["n_boot"]
    neighbours = [f for f in (*REGION_FEATURES, UPWIND_FEATURE) if f in result.features]
    rows = [
        ["Data set", result.dataset + (" (**SYNTHETIC**)" if result.synthetic else "")],
        ["Period (hourly data)", f"{data['start']} to {data['end']}"],
        [f"Station{'s' if len(result.stations) != 1 else ''}", ", ".join(result.stations)],
        ["Target", f"daily-mean PM2.5 ({UNIT}) of day D+{result.horizon}, issued at the "
                   "end of day D"],
        ["Mode", mode_text],
        ["Completeness rule", f"a daily mean is valid with at least {data['min_hours']} of "
                              f"24 hourly values ({pct(data['min_hours'] / 24)})"],
        ["Calendar", calendar_text(result.config)],
        ["Seeds", seed_text],
        ["Features", f"{len(result.features)} tabular"
         + (f", {len(result.sequence_features)} per step of the sequences"
            if result.sequence_features else "")
         + (f"; {len(result.dropped_features)} dropped as uninformative in training"
            if result.dropped_features else "")
         + (f"; from the other stations: {', '.join(neighbours)}" if neighbours else "")
         + "".join(f"; {name} not built ({why})"
                   for name, why in data.get("omitted_features", {}).items())],
        *_other_issue_hours(result),
        ["Evaluation", f"{max(1, len(result.folds))} rolling-origin fold(s); 95 % moving-block "
                       f"bootstrap over dates ({n_boot} resamples), blocks within a fold, all "
                       "stations of a date together; Diebold–Mariano with a Newey–West "
                       "variance against the best baseline"],
        ["Wall time", seconds(result.wall_seconds)],
    ]
    doc.table(["Item", "Value"], rows, align="ll", wrap=True)
    doc.table(["Split", "From", "To", f"Scored {days(run)}"],
              [[name, s["start"], s["end"], count(s["scored_days"])]
               for name, s in result.splits.items()],
              align="lllr", caption="The main split (the latest fold), by target day")
    doc.para("Versions: " + ", ".join(f"{k} {v}" for k, v in result.versions.items()) + ".",
             "note")
    if data.get("files"):
        doc.table(["File", "SHA-256"], [[k, v] for k, v in data["files"].items()],
                  align="ll", caption="Input files", wrap=True)
    if data.get("conversions"):
        doc.para("Converted on reading: " + "; ".join(data["conversions"]) + ".", "note")
    if data.get("units"):
        doc.para("Units of the source: " + "; ".join(f"{k}: {v}"
                                                    for k, v in data["units"].items()) + ".",
                 "note")


def calendar_text(config: dict) -> str:
    """The calendar the target day's ``holiday`` and ``heating_season`` features were
    built from (``task.holidays``, ``task.heating_season``), e.g. "holidays: CN; heating
    season 15 Nov – 15 Mar"; a run stored before the options existed had the defaults."""
    task = config.get("task", {})
    holidays = task.get("holidays", DEFAULT_HOLIDAYS)
    season = task.get("heating_season", list(DEFAULT_HEATING_SEASON))
    return (f"holidays: {holidays or 'none'}; "
            + (f"heating season {describe_season(season)}" if season else "no heating season"))


def _other_issue_hours(result) -> list[list[str]]:
    """The row saying that the networks also trained on forecasts issued at other hours
    (``task.train_issue_hours``), with how many rows that added; none when off."""
    hours = result.config.get("task", {}).get("train_issue_hours", [])
    if not hours:
        return []
    text = (f"the networks also train on the forecasts issued at {', '.join(map(str, sorted(hours)))} h "
            "of day D (same target; training only, never scored, not for the baselines)")
    seeds = [e for e in result.entries.values()
             if e.kind == "network" and "n_extra_train_rows" in e.info]
    if seeds:
        info = seeds[0].info
        text += (f": {count(info['n_extra_train_rows'])} rows beside the "
                 f"{count(info['n_train_rows'])} end-of-day training rows of the main split")
    return [["Other issue hours", text]]


def section_leaderboard(doc: Doc, run: Run, recommended: str | None) -> None:
    result = run.result
    baseline = result.pooled.get("best_baseline")
    pooled = "pooled over the folds and stations" if run.n_folds > 1 else "on the main split"
    doc.heading(2, "Leaderboard", "leaderboard")
    # each network family's seed spread, shown where it has more than one usable seed
    spreads = {family: spread for family in result.network_families()
               if (spread := result.seed_spread(family)) and spread[2] > 1}
    doc.para(f"One row per model, a network as its seed ensemble; sorted by validation RMSE "
             f"({UNIT}), {pooled}. Skill = 1 − RMSE / RMSE of persistence on the same days. "
             f"Δ (the model's RMSE − the reference's, negative when the model is the more "
             f"accurate) and DM p compare each model with the best baseline by validation"
             + (f" (**{baseline}**)" if baseline else "")
             + (" on the test periods: " if run.n_folds > 1 else " on the test period: ")
             + "significant when the 95 % CI of the RMSE difference excludes 0 and DM p < 0.05 "
             "(\"CI only\" or \"DM only\" when one of the two says so)."
             + (" Seeds: the mean ± sd of the single seeds' RMSE on the latest test period "
                "(their count in brackets) and, beside it, the seed ensemble's own on that "
                "period, which the pooled test RMSE does not show; the seeds themselves are in "
                "the appendix."
                if spreads else "")
             + (" Test forecasts are those of each model fitted again, with the settings "
                "its validation year chose, on the training and validation years together; "
                "validation forecasts those of its fit on the training years alone. "
                "Training time: that first fit + the final fit, on the latest fold."
                if result.made_final_fits else ""), "note")
    rows = []
    for entry in run.candidates():
        val, test = run.pooled(entry.name, "val"), run.pooled(entry.name)
        if not val:
            continue
        c = run.pooled_comparison(entry.name)
        if entry.name == baseline:
            delta, p, significant = "reference", DASH, DASH
        elif c is None:
            delta, p, significant = DASH, DASH, DASH
        else:
            delta = f"{signed(c['rmse_diff'])} [{ci(c['rmse_diff_ci'], with_sign=True)}]"
            p = pval(c["dm_p_value"])
            alone = one_test_only(*c["rmse_diff_ci"], c["dm_p_value"])
            significant = ("yes, better" if c["rmse_diff"] < 0 else "yes, worse") \
                if c["significant"] else ("no" + (f" ({alone} only)" if alone else ""))
        spread = spreads.get(entry.family) if entry.is_network else None
        label = f"**{entry.name}**" if entry.name == recommended else entry.name
        rows.append((val["rmse"], [
            label, entry.kind, fixed(val["rmse"]),
            f"{fixed(test['rmse'])} [{ci(test['rmse_ci'])}]" if test else DASH,
            pct(test.get("skill"), 1, signed=True) if test else DASH, delta, p, significant,
            (f"{fixed(spread[0])} ± {fixed(spread[1])} ({spread[2]})"
             + (f"; ensemble {fixed(own)}" if (own := entry.score("test")) is not None
                else "")) if spread else DASH,
            count(entry.info.get("n_parameters")), training_time(entry.info)]))
    rows.sort(key=lambda r: r[0])
    doc.table(["Model", "Kind", "Val RMSE", "Test RMSE [95 % CI]", "Skill", "Δ vs baseline",
               "DM p", "Significant?",
               "Seeds: test RMSE" + (" (latest period)" if run.n_folds > 1 else ""),
               "Parameters", "Training time"],
              [r[1] for r in rows], align="llrrrrrlrrr")
    if recommended:
        doc.para(f"In bold: the recommended model, **{recommended}**.", "note")
    final_failed = {e.name: (e.info.get("refit") or {}).get("failed")
                    for e in run.candidates() if (e.info.get("refit") or {}).get("failed")}
    if final_failed:
        doc.para("The final fit failed, so the test forecasts are those of the fit on the "
                 "training years alone, for: " + "; ".join(
                     f"**{name}** ({reason[:300]})" for name, reason in final_failed.items())
                 + ".", "note")
    if result.failed:
        doc.para("Failed model runs (not in the table):")
        doc.bullets([f"**{name}**: {reason[:400]}" for name, reason in
                     sorted(result.failed.items())])


def fit_seconds(info: dict) -> tuple[float | None, float | None]:
    """Seconds of the fit on the training years, and of the final fit (None when there
    was none): a model's ``info["refit"]``, a seed ensemble's summed
    ``final_fit_seconds``."""
    return (info.get("fit_seconds"),
            info.get("final_fit_seconds", (info.get("refit") or {}).get("seconds")))


def training_time(info: dict) -> str:
    """:func:`fit_seconds` as the leaderboard gives them: first fit + final fit."""
    first, final = fit_seconds(info)
    return seconds(first) if final is None else f"{seconds(first)} + {seconds(final)}"


def section_folds(doc: Doc, run: Run, figures: Path, featured: list[str]) -> None:
    folds = run.result.folds
    if len(folds) < 2:
        return
    doc.heading(2, "Rolling-origin folds", "folds")
    doc.para("Expanding window: each fold trains on everything before its validation year, "
             "chooses every setting (regularisation, early stopping, the recommendation's "
             "inputs) on that year, and is scored on the year after"
             + (", by each model fitted again with those settings on the training and "
                "validation years together (a network for the epochs its validation loss "
                "chose); the validation forecasts, and so every choice, the combination's "
                "weights and the calibration, are those of the fit on the training years "
                "alone" if run.result.made_final_fits else "")
             + ". Features without "
             "information in a fold's training years are dropped for every model of that "
             f"fold. Test RMSE in {UNIT}; best of each fold in bold.", "note")
    models = [e.name for e in run.candidates() if run.pooled(e.name)]
    # the model the validation-only rule chose from the validation years up to each fold's
    choices = {f["fold"]: f["model"] for f in run.result.recommendation.get("by_fold", [])}
    rows = []
    for fold in folds:
        scores = {m: run.pooled(m)["rmse_by_fold"].get(fold["name"]) for m in models}
        best = min((m for m in scores if scores[m] is not None), key=scores.get, default=None)
        rows.append([fold["name"] + (" (development)" if fold["development"] else ""),
                     f"… {fold['train_end']}", f"… {fold['val_end']}",
                     f"{fold['test_start']} … {fold['test_end']}",
                     ", ".join(fold["dropped_features"]) or "none"]
                    + ([choices.get(fold["name"], "—")] if choices else [])
                    + [(f"**{fixed(scores[m])}**" if m == best else fixed(scores[m]))
                       for m in models])
    chosen_column = ["The rule's choice"] if choices else []
    doc.table(["Fold", "Train", "Validation", "Test", "Dropped features", *chosen_column]
              + models, rows, align="lllll" + "l" * len(chosen_column) + "r" * len(models),
              wrap=False)
    if choices:
        doc.para("The rule's choice: the model the recommendation rule picks from the "
                 "validation years up to that fold's alone, which all precede its test "
                 "period; the report's expected error pools these choices' test "
                 "forecasts.", "note")
    if any(f["development"] for f in folds):
        doc.para("Folds marked *development* test years of the Beijing data that this tool's "
                 "defaults were developed on: they are not fully out-of-sample.", "note")
    if overlap := DEVELOPMENT_OVERLAP.get(run.result.dataset):
        doc.para(overlap, "note")
    doc.figure(figure_folds({m: run.pooled(m)["rmse_by_fold"] for m in featured
                             if run.pooled(m)}, figures),
               "Test RMSE per fold of the recommended model, the best baseline, the best "
               "network and persistence")


def section_stations(doc: Doc, run: Run, figures: Path, featured: list[str]) -> None:
    stations = run.result.stations
    if len(stations) < 2:
        return
    doc.heading(2, "Stations", "stations")
    persistence = run.pooled("persistence") if "persistence" in run.result.entries else {}
    shown = [m for m in featured if m != "persistence" and run.pooled(m)]
    rows, skill = [], {m: {} for m in shown}
    for station in stations:
        reference = persistence.get("rmse_by_station", {}).get(station)
        row = [station, fixed(reference)]
        for m in shown:
            rmse = run.pooled(m)["rmse_by_station"].get(station)
            row.append(fixed(rmse))
            if rmse is not None and reference:
                skill[m][station] = 1 - rmse / reference
        rows.append(row)
    doc.para(f"Test RMSE per station ({UNIT}), pooled over the folds; skill against "
             "persistence in the figure.", "note")
    doc.table(["Station", "persistence"] + shown, rows, align="l" + "r" * (len(shown) + 1))
    doc.figure(figure_stations(skill, figures), "Skill against persistence per station")


def section_seeds(doc: Doc, run: Run) -> None:
    members = [e for e in run.result.entries.values() if e.kind == "network"]
    if not run.result.of_kind("ensemble"):   # one seed per network: the leaderboard has them
        return
    doc.heading(2, "Appendix: single seeds", "seeds")
    doc.para(f"Each seed of each network on the main split (the latest fold), {UNIT}. Picking "
             "one seed by its validation score is partly luck; the leaderboard shows the "
             "seed ensembles.", "note")
    rows = [[e.name, str(e.seed), fixed(e.score("val")), fixed(e.score("test")),
             f"[{ci(e.metrics.get('test', {}).get('rmse_ci'))}]",
             count(e.info.get("best_epoch")), training_time(e.info)]
            for e in members]
    doc.table(["Entry", "Seed", "Val RMSE", "Test RMSE", "95 % CI", "Best epoch",
               "Training time"], rows, align="lrrrrrr")
