"""The verdict paragraph, written from the numbers of the run alone.

What it says, in order:

1. the recommendation and the rule that chose it, on validation data only
   (:mod:`forecast.selection`); when the best model on validation is another one, how
   large a difference the validation days could detect (80 % power at the 5 % level)
   and how many days the observed one would need;
2. the error to expect: with two folds or more, the test RMSE of the rule applied fold
   by fold (each test period forecast by the model chosen from the validation years
   before it, as an earlier test period is a later fold's validation year), pooled over
   the folds and stations, with the share of folds inside this tool's development
   period, and the recommended model's own on the latest test period, which no choice
   saw; with one fold the recommended model's test RMSE; and the skill against
   persistence;
3. whether a network beats the best baseline: the best network by pooled validation
   against the best baseline on the pooled test periods (bootstrap interval of the RMSE
   difference and Diebold–Mariano); "the deep models did not earn their place" unless
   that gain is significant ("the test periods do not confirm a gain of the networks"
   when validation recommended a network);
4. the test periods as a confirmation only: a plain sentence when the most accurate model
   on them is another one, never a change of recommendation;
5. failed models and the forecast-mode caveat.

:func:`at_a_glance` gives the same facts as a table of (question, answer) rows, which
the report puts above the paragraph.
"""

from __future__ import annotations

from ..constants import REFERENCE_MODELS, SEASON_NAMES, UNIT
from ..selection import failed_tests
from ..significance import days_to_detect, detectable_difference, one_test_only
from ..warning import warning_of
from .format import (
    ci,
    count,
    fixed,
    forecast_mode_label,
    never_or_always,
    no_brier_skill,
    num,
    p_eq,
    pct,
    short,
    signed,
)
from .run import Run, days, test_periods
from .sections import fit_seconds, training_time

KIND_TEXT = {"baseline": "a baseline", "network": "a network",
             "ensemble": "a network's seed ensemble", "combination": "a combination"}


def gap_digits(diff) -> int:
    """Decimals for an RMSE difference: 1, or 2 under 0.05 µg/m³, which would read 0.0
    (the at-a-glance table and the paragraph round it alike)."""
    return 1 if abs(num(diff) or 0.0) >= 0.05 else 2


def diff_clause(c: dict) -> str:
    digits = gap_digits(c["rmse_diff"])
    return (f"RMSE difference {signed(c['rmse_diff'], digits)} {UNIT}, 95 % CI "
            f"{ci(c['rmse_diff_ci'], digits, True)}; DM {p_eq(c['dm_p_value'])}")


def split_tests(c: dict) -> str:
    """`` (...)`` when the two tests of a comparison disagree (the rule needs both the 95 %
    interval clear of 0 and DM p < 0.05), else ``""``."""
    alone = one_test_only(*c["rmse_diff_ci"], c["dm_p_value"])
    if c.get("significant") or alone is None:
        return ""
    return (" (the 95 % CI excludes 0 but DM p is 0.05 or more: significance needs both)"
            if alone == "CI" else " (DM p is below 0.05 but the 95 % CI includes 0: "
                                  "significance needs both)")


def outcome(c: dict) -> str:
    """A comparison against the best baseline in words: a significant gain, significantly
    worse, or not significantly different (and why, when its two tests disagree)."""
    if c["significant"]:
        return "a significant gain" if c["rmse_diff"] < 0 else "significantly worse"
    return "not significantly different" + split_tests(c)


def crps_clause(c: dict) -> str:
    return (f"CRPS difference {signed(c['crps_diff'], 2)} {UNIT}, 95 % CI "
            f"{ci(c['crps_diff_ci'], 2, True)}; DM {p_eq(c['crps_dm_p_value'])}")


def simpler(rec: dict, name: str, than: str) -> bool:
    """Whether the rule's order (simplest first) puts ``name`` before ``than``."""
    order = rec.get("order") or []
    return name in order and than in order and order.index(name) < order.index(than)


def power_sentence(c: dict, n_stations: int = 1) -> str:
    """How large a validation RMSE difference these validation days can tell from noise,
    and how many days the one observed would need (from its bootstrap interval). With
    several stations the bootstrap draws dates, each with all of its stations' days."""
    low, high = c["rmse_diff_ci"]
    detectable = detectable_difference(low, high)
    n_days = int(c.get("n_dates", 0))
    what = (f"dates (each with the {n_stations} stations' days)" if n_stations > 1
            else "days")
    text = (f"On these {count(n_days)} validation {what} a difference must be about "
            f"{fixed(detectable)} {UNIT} to be detected with 80 % probability at the 5 % "
            "level")
    if n_days and abs(c["rmse_diff"]) >= 0.05:
        needed = days_to_detect(c["rmse_diff"], detectable, n_days)
        text += (f"; the {fixed(abs(c['rmse_diff']))} {UNIT} seen here would need about "
                 f"{count(needed)} {'dates' if n_stations > 1 else 'days'} "
                 f"({fixed(needed / n_days)} times as many)")
    return text + ": these validation data cannot tell the two models apart."


def cost(run: Run, name: str) -> str:
    """Parameters and training time, as the leaderboard gives them (the latest fold's
    first fit + its final fit)."""
    entry = run.result.entries[name]
    info = entry.info
    # gradient boosting's "parameters" are the nodes of its trees
    nodes = " (tree nodes)" if str(entry.family).startswith("hgb") else ""
    return (f"{count(info.get('n_parameters'))} parameters{nodes} and "
            f"{training_time(info)} of training")


def cost_clause(run: Run, network: str, baseline: str) -> str:
    """What ``network`` costs against ``baseline``; said the other way round when the
    network is the cheaper in both parameters and training time, as cost then speaks for
    it, not against it."""
    def numbers(name: str) -> tuple[float, float]:
        info = run.result.entries[name].info
        return (float(info.get("n_parameters") or 0),
                sum(float(t or 0) for t in fit_seconds(info)))

    mine, theirs = numbers(network), numbers(baseline)
    if mine[0] <= theirs[0] and mine[1] <= theirs[1]:
        return (f"{network} is the cheaper of the two, with {cost(run, network)} against "
                f"{cost(run, baseline)} for {baseline}, so its cost does not count against it")
    return f"{network} costs {cost(run, network)} against {cost(run, baseline)} for {baseline}"


def when_to_warn(run: Run, chosen: str) -> str | None:
    """The warning probability the validation years chose (:mod:`forecast.warning`) and
    how warning at it scored on the test periods, beside a point forecast above the
    threshold on the same days; None for a run without it."""
    warning = warning_of(run.result.pooled, chosen)
    if not warning:
        return None
    test, point = warning["test"], warning["test_point_forecast"]
    threshold, where = warning["threshold"], test_periods(run)
    warnings = test["hits"] + test["false_alarms"]
    fold_by_fold = (" (chosen fold by fold as the model is)" if len(warning["by_fold"]) > 1
                    else "")
    cost_loss = warning.get("cost_loss") or 0.0
    basis = ("the probability with the best critical success index (CSI)" if cost_loss <= 0
             else f"the probability with the lowest expense at a cost/loss ratio of "
                  f"{cost_loss:g} (evaluation.warning_cost_loss)")
    text = (f"when P(> {threshold:g} {UNIT}) reaches {pct(warning['probability'])}, "
            f"{basis} on the validation years{fold_by_fold}: on the {where} it warned of "
            f"{count(test['hits'])} of the {count(test['hits'] + test['misses'])} "
            f"{days(run)} above {threshold:g} (POD {pct(test['pod'])}), "
            f"{pct(test['far'])} of its {count(warnings)} warnings were false (FAR), CSI "
            f"{fixed(test['csi'], 2)}" + _value(test, cost_loss)
            + f"; a point forecast above {threshold:g} scored POD "
            f"{pct(point['pod'])}, FAR {pct(point['far'])}, CSI {fixed(point['csi'], 2)}"
            + _value(point, cost_loss) + ". "
            + ("At this ratio no level was worth more than always or never acting on the "
               f"validation years (value {fixed(warning['val'].get('value'), 2)} at the "
               "chosen one). " if cost_loss > 0 and not (num(warning["val"].get("value"))
                                                         or 0) > 0 else "")
            + "A lower probability catches more episodes for more false alarms "
            "(Uncertainty and calibration)")
    return text


def _value(scores: dict, cost_loss: float) -> str:
    """", value 0.41" (the relative economic value at ``cost_loss``: 1 perfect, 0 no
    better than always or never acting), "" for a run that warns at the best CSI."""
    return f", value {fixed(scores.get('value'), 2)}" if cost_loss > 0 else ""


def _worst_season(run: Run, name: str, latest: str | None) -> str:
    """"; on the latest period its largest errors come in winter (DJF): RMSE …, mean
    error …" of ``name``'s test period by season ("" without it)."""
    entry = run.result.entries.get(name)
    by_season = {k: v for k, v in ((entry.metrics.get("test") or {}).get("by_season") or {}
                                   ).items() if v.get("rmse") is not None} if entry else {}
    if len(by_season) < 2:
        return ""
    worst = max(by_season, key=lambda k: by_season[k]["rmse"])
    return (f"; on {latest or 'the test period'} its largest errors come in "
            f"{SEASON_NAMES.get(worst, worst)} ({worst}): RMSE {fixed(by_season[worst]['rmse'])}, "
            f"mean error {signed(by_season[worst]['bias'])} {UNIT}")


def _latest_ci(run: Run, name: str) -> str:
    """" (95 % CI low to high)" of ``name``'s RMSE on the latest test period, the one
    period no choice saw ("" where the run does not have it)."""
    entry = run.result.entries.get(name)
    interval = ((entry.metrics.get("test") or {}).get("rmse_ci") if entry is not None
                else None)
    return f" (95 % CI {ci(interval)})" if interval else ""


def _period(run: Run) -> str:
    """The test periods scored, with how many of them lie inside this tool's development
    period."""
    folds = run.result.folds
    if len(folds) < 2:
        split = run.result.splits.get("test", {})
        return f"the test period ({split.get('start', '?')} to {split.get('end', '?')})"
    stations = len(run.result.stations)
    n_development = sum(1 for f in folds if f["development"])
    inside = (f"; {n_development} of them inside this tool's development period, whose data "
              "shaped its defaults" if n_development else "")
    text = (f"the {len(folds)} rolling-origin test periods ({folds[0]['test_start']} to "
            f"{folds[-1]['test_end']}{inside})")
    if stations > 1:
        text += f" and the {stations} stations"
    return text


def verdict(run: Run) -> tuple[str, str | None]:
    """The verdict paragraph (with ``**bold**``) and the recommended model."""
    result = run.result
    rec = result.recommendation
    s: list[str] = []
    if result.synthetic:
        s.append("These results are on **SYNTHETIC** data, not real measurements.")
    chosen = rec.get("model")
    if chosen is None or chosen not in result.entries:
        s.append("No model could be scored, so none is recommended.")
        return " ".join(s), None
    entry = result.entries[chosen]
    pooled_word = "pooled " if run.n_folds > 1 else ""
    s.append(f"**Recommendation: {chosen}** ({KIND_TEXT[entry.kind]}). {rec['rule']}")
    best_val = rec["best_on_validation"]
    best_crps = rec.get("best_crps_on_validation")
    if best_val != chosen:
        c = rec["comparisons"][chosen]
        text = (f"The lowest {pooled_word}validation RMSE is {best_val}'s "
                f"({fixed(rec['val_rmse'][best_val], 2)} against "
                f"{fixed(rec['val_rmse'][chosen], 2)} {UNIT}; {diff_clause(c)}), not a "
                "significant difference")
        passed_over = (rec.get("crps_comparisons") or {}).get(best_val)
        if simpler(rec, best_val, chosen) and passed_over:
            text += (f"; {best_val} is the simpler model, but its validation CRPS is "
                     f"significantly worse than {best_crps}'s, the lowest "
                     f"({crps_clause(passed_over)}), so it does not pass.")
        else:
            text += f", and {chosen} is the simpler model."
        s.append(text)
        s.append(power_sentence(c, len(result.stations)))
    if best_crps is not None:
        if rec.get("rmse_alone_decides"):
            s.append("No candidate was within the noise of the best on both RMSE and CRPS, so "
                     "the RMSE alone decided.")
        elif best_crps != chosen:
            c = rec["crps_comparisons"][chosen]
            text = (f"The lowest {pooled_word}validation CRPS is {best_crps}'s "
                    f"({fixed(rec['val_crps'][best_crps], 2)} against "
                    f"{fixed(rec['val_crps'][chosen], 2)} {UNIT}; {crps_clause(c)}), not a "
                    "significant difference")
            passed_over = rec["comparisons"].get(best_crps)
            if simpler(rec, best_crps, chosen) and passed_over:
                text += (f"; {best_crps} is the simpler model, but its validation RMSE is "
                         f"significantly worse than {best_val}'s ({diff_clause(passed_over)}), "
                         "so it does not pass")
            s.append(text + ".")
    s.extend(_simpler_that_fail(rec, chosen))
    s.extend(_expected_error(run, chosen))
    s.extend(_networks_against_baselines(run, chosen))
    s.extend(_confirmation(run, chosen))
    if result.failed:
        listed = "; ".join(f"{name}: {short(reason)}"
                           for name, reason in sorted(result.failed.items()))
        n = len(result.failed)
        s.append(f"{n} model run{'s' * (n != 1)} failed ({listed}).")
    if result.mode == "forecast":
        s.append("Scores are in forecast mode, which " + forecast_mode_label(result.config) + ".")
    return " ".join(s), chosen


def _simpler_that_fail(rec: dict, chosen: str) -> list[str]:
    """Why the rule passed over the candidates simpler than ``chosen`` (those the
    sentences before do not already explain: the lowest RMSE's and the lowest CRPS's),
    grouped by the test each fails, with that test for the nearest of each group (the
    lowest validation RMSE)."""
    order = rec.get("order") or []
    if chosen not in order:
        return []
    explained = {rec.get("best_on_validation"), rec.get("best_crps_on_validation")}
    failed = failed_tests(rec)
    fails = {test: [n for n in order[:order.index(chosen)]
                    if n not in explained and failed[n] == test] for test in ("RMSE", "CRPS")}
    parts = []
    for test, names in fails.items():
        if not names:
            continue
        nearest = min(names, key=lambda n: (rec.get("val_rmse") or {}).get(n, float("inf")))
        against = rec["best_on_validation"] if test == "RMSE" else rec["best_crps_on_validation"]
        clause = (diff_clause(rec["comparisons"][nearest]) if test == "RMSE"
                  else crps_clause(rec["crps_comparisons"][nearest]))
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        verb = "has" if len(names) == 1 else "have"
        parts.append(f"{listed} {verb} a validation {test} significantly worse than "
                     f"{against}'s ({nearest}{', the nearest' if len(names) > 1 else ''}: "
                     f"{clause})")
    if not parts:
        return []
    return [f"The candidates simpler than {chosen} do not pass: " + "; ".join(parts) + "."]


def brier_clause(test: dict) -> str:
    """"its probability of exceeding 75 µg/m³ has a Brier skill of +53 %", or why it has
    none (:func:`never_or_always`)."""
    if num(test.get("brier_skill")) is None:
        return never_or_always(test, "those days")
    return (f"its probability of exceeding {test['threshold']:g} {UNIT} has a Brier skill of "
            f"{pct(test['brier_skill'], signed=True)}")


def rule_choices(run: Run, chosen: str) -> tuple[str, bool]:
    """The rule's choice in each fold, e.g. "2012: hgb, 2013: combination, 2014: hgb", or
    "chosen every time"; and whether it chose ``chosen`` in every fold."""
    by_fold = run.result.recommendation.get("by_fold", [])
    every_time = {f["model"] for f in by_fold} == {chosen}
    return (f"{chosen} every time" if every_time
            else ", ".join(f"{f['fold']}: {f['model']}" for f in by_fold)), every_time


def expected_test(run: Run, chosen: str) -> tuple[dict, bool]:
    """The test metrics to expect of the recommendation, and whether they are those of
    the rule applied fold by fold (each test period forecast by the model chosen from
    the validation years before it) rather than the recommended model's own."""
    rule = run.result.recommendation.get("test") or {}
    return (rule, True) if rule else (run.pooled(chosen), False)


def _expected_error(run: Run, chosen: str) -> list[str]:
    """The recommendation's test error: with rolling-origin folds that of the rule applied
    fold by fold, as an earlier test period is a later fold's validation year, and the
    recommended model's own on the latest test period, which no choice saw."""
    test, by_rule = expected_test(run, chosen)
    if not test:
        return []
    s = []
    if by_rule:
        choices, every_time = rule_choices(run, chosen)
        latest = run.result.folds[-1]["name"]
        by_fold = test.get("rmse_by_fold") or {}
        how = f"it chose {choices}" if every_time else f"its choices: {choices}"
        text = (f"Applied fold by fold, each test period forecast by the model it chose from "
                f"the validation years before that period alone ({how}), the rule scores a "
                f"test RMSE of {fixed(test['rmse'])} {UNIT} (95 % CI {ci(test['rmse_ci'])}) "
                f"over {_period(run)}")
        if test.get("skill") is not None:
            text += f", a skill of {pct(test['skill'], signed=True)} against persistence"
        if latest in by_fold:
            text += (f"; {chosen} scores {fixed(by_fold[latest])}{_latest_ci(run, chosen)} "
                     f"on the latest test period ({latest}), which no choice of this run saw")
        s.append(text + ".")
        own = run.pooled(chosen)
        if not every_time and own:
            s.append(f"{chosen}'s own pooled test RMSE, {fixed(own['rmse'])} {UNIT}, is no "
                     "estimate of the error to expect: its choice read the earlier test "
                     "periods as later folds' validation years.")
    else:
        text = (f"Over {_period(run)}, {chosen} scores a test RMSE of {fixed(test['rmse'])} "
                f"{UNIT} (95 % CI {ci(test['rmse_ci'])})")
        if test.get("skill") is not None:
            text += f", a skill of {pct(test['skill'], signed=True)} against persistence"
        s.append(text + ".")
        if run.n_folds > 1:     # a run from before the rule was applied fold by fold
            s.append("This run predates the rule's evaluation fold by fold: each earlier "
                     "test period was a later fold's validation year, which the "
                     "recommendation read, so this pooled figure is optimistic; run forecast "
                     "run again for the error to expect.")
    if test.get("coverage"):
        cover = test["coverage"]
        whose = "The rule's" if by_rule else "Its"
        s.append(f"{whose} calibrated 80 % and 90 % intervals cover "
                 f"{pct(cover['80']['coverage'])} and {pct(cover['90']['coverage'])} of "
                 f"those {days(run)}; its CRPS is {fixed(test['crps'], 2)} {UNIT} (skill "
                 f"{pct(test['crps_skill'], signed=True)} against climatology) and "
                 + brier_clause(test) + ".")
    return s


def _best_network(run: Run) -> tuple[str | None, str | None, dict | None]:
    """The best network by pooled validation RMSE, the best baseline, and the network's
    comparison with that baseline on the test periods (None where one is missing)."""
    baseline = run.result.pooled.get("best_baseline")
    networks = [e.name for e in run.candidates() if e.is_network and run.pooled(e.name, "val")]
    if baseline is None or not networks:
        return None, baseline, None
    best = min(networks, key=lambda n: run.pooled(n, "val")["rmse"])
    return best, baseline, run.pooled_comparison(best)


def _networks_in_combination(run: Run, chosen: str | None) -> str | None:
    """When the recommended model is a combination that weighs networks: their share of
    its weights (the latest fold's), e.g. "40 % (mlp_ensemble 0.14, lstm_ensemble 0.25)"."""
    entry = run.result.entries.get(chosen) if chosen else None
    if entry is None or entry.kind != "combination":
        return None
    weights = {n: float(w) for n, w in (entry.info.get("weights") or {}).items()}
    networks = {n: w for n, w in weights.items()
                if w > 0 and n in run.result.entries and run.result.entries[n].is_network}
    total = sum(w for w in weights.values() if w > 0)
    if not networks or total <= 0:
        return None
    listed = ", ".join(f"{n} {w:.2f}" for n, w in networks.items())
    return f"{pct(sum(networks.values()) / total)} ({listed})"


def _networks_against_baselines(run: Run, chosen: str | None) -> list[str]:
    result = run.result
    best, baseline, c = _best_network(run)
    if baseline is None:
        return ["No baseline was run, so the gain over a simple reference cannot be judged."]
    if best is None:
        return ["No network produced a forecast in every fold, so this verdict compares "
                "baselines only."] if result.failed else [
            "No network was run, so this verdict compares baselines only."]
    where = "pooled test periods" if run.n_folds > 1 else "test period"
    head = (f"The best network by validation, **{best}**, against the best baseline, "
            f"**{baseline}**, on the {where}: {diff_clause(c)}")
    if c["significant"] and c["rmse_diff"] < 0:
        reference = (f" ({baseline} is a reference, not a fitted baseline: run ridge or hgb "
                     "beside it to judge the gain)" if baseline in REFERENCE_MODELS else "")
        return [f"{head}: a significant gain. The deep model earns its place on "
                f"accuracy{reference}; it costs {cost(run, best)} against "
                f"{cost(run, baseline)} for {baseline}."]
    how = outcome(c)
    if chosen in result.entries and result.entries[chosen].is_network:
        # validation chose a network over every baseline; the test periods do not back it
        which = ("" if chosen == best else
                 f" (the simplest model within noise of the lowest validation scores; {best} "
                 "validates best of the networks)")
        return [f"{head}: {how}. Validation chose {chosen}{which} over {baseline}, but **the "
                f"{where} do{'' if run.n_folds > 1 else 'es'} not confirm a gain of the "
                f"networks** over it: {cost_clause(run, best, baseline)}."
                + _chosen_network_on_test(run, chosen, best, baseline, where)]
    text = (f"{head}: {how}. **The deep models did not earn their place** on their own on "
            f"these data: no network is shown to be more accurate than {baseline}, and "
            "the rule prefers a baseline to a network that validates within noise of it; "
            f"{cost_clause(run, best, baseline)}.")
    share = _networks_in_combination(run, chosen)
    if share:
        text += (f" In the recommended combination they carry {share} of the weight (the "
                 "latest fold's, fitted on its validation year).")
    return [text]


def _chosen_network_on_test(run: Run, chosen: str, best: str, baseline: str,
                            where: str) -> str:
    """The recommended network's own test comparison with the best baseline, when it is
    not the best network by validation, whose comparison the verdict gives (" mlp_ensemble
    itself, against hgb_by_hour: ...: significantly worse."); "" otherwise."""
    own = run.pooled_comparison(chosen) if chosen != best else None
    if own is None:
        return ""
    return (f" {chosen} itself, against {baseline} on the {where}: {diff_clause(own)}: "
            f"{outcome(own)}.")


def _on_test(run: Run, chosen: str) -> tuple[str, dict[str, float], str | None,
                                            dict | None] | None:
    """What the test periods say of the recommended model ``chosen``: the candidate with
    the lowest pooled test RMSE, every candidate's, the one to weigh ``chosen`` against
    (the most accurate, or where that is ``chosen`` the next; None with one candidate)
    and their paired comparison where the run has it (:func:`_paired_on_test`). None
    when ``chosen`` has no test score."""
    scored = {e.name: run.pooled(e.name)["rmse"] for e in run.candidates()
              if run.pooled(e.name)}
    if chosen not in scored:
        return None
    most = min(scored, key=scored.get)
    other = most if most != chosen else min((n for n in scored if n != chosen),
                                            key=scored.get, default=None)
    paired = _paired_on_test(run, chosen, other) if other is not None else None
    return most, scored, other, paired


def _ahead(paired: dict | None) -> bool:
    """Whether the recommended model leads the other by more than noise."""
    return paired is not None and paired["significant"] and paired["rmse_diff"] > 0


def _confirmation(run: Run, chosen: str) -> list[str]:
    """The test periods confirm, or say plainly that they do not; they never choose as
    test periods."""
    found = _on_test(run, chosen)
    if found is None or found[2] is None:      # (with one candidate nothing to say)
        return []
    best, scored, runner, paired = found
    where = "pooled test periods" if run.n_folds > 1 else "test period"
    if best == chosen:
        if _ahead(paired):
            verb = "confirm" if run.n_folds > 1 else "confirms"
            return [f"The {where} {verb} it: it is the most accurate candidate there, "
                    f"significantly ahead of the next, {runner} ({diff_clause(paired)})."]
        return [f"On the {where} it is the most accurate candidate as well, though "
                + (f"not by more than noise against the next, {runner} "
                   f"({diff_clause(paired)})." if paired is not None else
                   f"the run has no paired test of it against the next, {runner} "
                   f"({fixed(scored[runner])} against {fixed(scored[chosen])} {UNIT}).")]
    digits = 1 if fixed(scored[best]) != fixed(scored[chosen]) else 2
    verb = "do" if run.n_folds > 1 else "does"
    return [f"The {where} {verb} not confirm the ranking: **{best}** is more accurate there "
            f"({fixed(scored[best], digits)} against {fixed(scored[chosen], digits)} {UNIT}"
            + (f"; {diff_clause(paired)}: " + ("a significant difference" if
                                               paired["significant"] else "not significant"
                                               + split_tests(paired))
               if paired else "")
            + "). The recommendation stands: it was made on validation data alone."]


def _paired_on_test(run: Run, chosen: str, other: str) -> dict | None:
    """``other`` against ``chosen`` on the test periods, paired, when the run has that
    comparison (the sign as ``other`` − ``chosen``): when one of them is the best
    baseline, every model's reference, or when ``other`` is the most accurate candidate
    there (``pooled.test_rival``, in runs since it was stored)."""
    baseline = run.result.pooled.get("best_baseline")
    if chosen == baseline:
        return run.pooled_comparison(other)
    if other == baseline and (c := run.pooled_comparison(chosen)) is not None:
        return {**c, "rmse_diff": -c["rmse_diff"],
                "rmse_diff_ci": [-c["rmse_diff_ci"][1], -c["rmse_diff_ci"][0]]}
    rival = run.result.pooled.get("test_rival")
    return rival if rival and rival.get("model") == other else None


def at_a_glance(run: Run, chosen: str | None) -> list[list[str]]:
    """The verdict's facts as rows of (question, answer) for an analyst to scan: which
    model, how accurate and how uncertain it is, its closest rival on validation, whether
    the networks earned their place, and what the test periods say."""
    result = run.result
    if chosen is None or chosen not in result.entries:
        return []
    rec = result.recommendation
    pooled_word = "pooled " if run.n_folds > 1 else ""
    rows = [["Model to use", f"**{chosen}** ({KIND_TEXT[result.entries[chosen].kind]}), "
             "chosen on the validation years alone"]]
    best_val = rec.get("best_on_validation")
    if best_val and best_val != chosen and chosen in rec.get("comparisons", {}):
        c = rec["comparisons"][chosen]
        detectable = detectable_difference(*c["rmse_diff_ci"])
        gap = abs(c["rmse_diff"])
        text = (f"{best_val}, {fixed(gap, gap_digits(gap))} {UNIT} lower "
                f"{pooled_word}"
                f"RMSE (DM {p_eq(c['dm_p_value'])}): within noise, as a difference must "
                f"be about {fixed(detectable)} {UNIT} to be detected on these "
                f"{count(c.get('n_dates'))} "
                f"{'dates' if len(result.stations) > 1 else 'days'}")
        if simpler(rec, best_val, chosen) and best_val in (rec.get("crps_comparisons") or {}):
            text += "; passed over for its significantly worse CRPS"
        rows.append(["Closest rival on validation", text])
    elif best_val == chosen:
        text = (f"none: {chosen} validates best" if len(rec.get("order") or []) != 1
                else f"none: {chosen} is the only candidate")
        best_crps = rec.get("best_crps_on_validation")
        if best_crps not in (None, chosen) and not rec.get("rmse_alone_decides"):
            c = rec["crps_comparisons"][chosen]
            text += (f" on RMSE; {best_crps} has a {fixed(abs(c['crps_diff']), 2)} {UNIT} "
                     f"lower CRPS (DM {p_eq(c['crps_dm_p_value'])}), within noise")
            if best_crps in rec.get("comparisons", {}) and simpler(rec, best_crps, chosen):
                text += ", but a significantly worse RMSE"
        rows.append(["Closest rival on validation", text])
    test, by_rule = expected_test(run, chosen)
    if test:
        text = (f"RMSE {fixed(test['rmse'])} {UNIT} (95 % CI {ci(test['rmse_ci'])}) over "
                f"{_period(run)}")
        if by_rule:
            text += (", each forecast by the model the rule chose from the validation years "
                     f"before it ({rule_choices(run, chosen)[0]})")
        elif run.n_folds > 1:
            text += (" (optimistic: the run predates the rule's evaluation fold by fold, "
                     "and its choice read the earlier test periods)")
        by_fold = test.get("rmse_by_fold") or {}
        latest = run.result.folds[-1]["name"] if run.result.folds else None
        if len(by_fold) > 1 and latest in by_fold:
            text += f"; {fixed(by_fold[latest])}{_latest_ci(run, chosen)} on the latest ({latest})"
        if test.get("skill") is not None:
            text += f"; skill {pct(test['skill'], signed=True)} against persistence"
        if test.get("bias") is not None:
            text += f"; mean error (forecast − observed) {signed(test['bias'])} {UNIT}"
        rows.append(["Expected error", text + _worst_season(run, chosen, latest)])
        cover = test.get("coverage") or {}
        if "80" in cover and "90" in cover:
            mixed = by_rule and not rule_choices(run, chosen)[1]
            text = (("the rule's" if by_rule else "the") + " calibrated 80 % and 90 % intervals cover "
                    f"{pct(cover['80']['coverage'])} and {pct(cover['90']['coverage'])} "
                    f"of the test {days(run)} (mean widths {fixed(cover['80'].get('width'), 0)} "
                    f"and {fixed(cover['90'].get('width'), 0)} {UNIT})")
            seasons = {k: v["80"]["coverage"] for k, v in
                       (test.get("coverage_by_season") or {}).items() if v.get("80")}
            if seasons:
                low = min(seasons, key=seasons.get)
                text += (f"; in {SEASON_NAMES.get(low, low)} ({low}), its lowest season, "
                         "the 80 % interval covers "
                         f"{pct(seasons[low])}")
            if mixed:
                text += (f" (the models chosen fold by fold; {chosen}'s own intervals are "
                         "under Uncertainty and calibration)")
            rows.append(["Intervals", text])
        if no_brier_skill(test):
            rows.append([f"Probability of exceeding {test['threshold']:g} {UNIT}",
                         "not scored: " + never_or_always(test, f"the test {days(run)}")])
        elif test.get("brier_skill") is not None:
            text = (f"Brier skill {pct(test['brier_skill'], signed=True)} against the "
                    "climatological frequency")
            if test.get("exceedance_frequency") is not None:
                text += (f"; the threshold was exceeded on "
                         f"{pct(test['exceedance_frequency'])} of the test {days(run)}")
            rows.append([f"Probability of exceeding {test['threshold']:g} {UNIT}", text])
    warn = when_to_warn(run, chosen)
    if warn:
        rows.append(["When to warn", warn])
    where = test_periods(run)
    best, baseline, c = _best_network(run)
    if c is not None:
        gain = c["significant"] and c["rmse_diff"] < 0
        # a network recommended: validation did choose one, the test periods judge it
        network_chosen = chosen in result.entries and result.entries[chosen].is_network
        text = (("yes" if gain else f"not confirmed on the {where}" if network_chosen
                 else "not on their own") + f": the best network by "
                f"validation, {best}, is {signed(c['rmse_diff'])} {UNIT} against {baseline} "
                f"on the {where} (95 % CI {ci(c['rmse_diff_ci'], with_sign=True)}, DM "
                f"{p_eq(c['dm_p_value'])})")
        own = run.pooled_comparison(chosen) if network_chosen and chosen != best else None
        if own is not None:
            text += (f"; the recommended {chosen} is {signed(own['rmse_diff'])} {UNIT} (95 % CI "
                     f"{ci(own['rmse_diff_ci'], with_sign=True)}, DM {p_eq(own['dm_p_value'])}"
                     + (", significantly worse)" if own["significant"] and own["rmse_diff"] > 0
                        else ", a significant gain)" if own["significant"] else ")"))
        share = _networks_in_combination(run, chosen)
        if share:
            text += f"; they carry {share} of the recommended combination's weight"
        rows.append(["Did the networks earn their place?", text])
    found = _on_test(run, chosen)
    if found is not None and found[2] is not None:    # (with one candidate nothing to say)
        most, scored, runner, paired = found
        digits = 1 if fixed(scored[most]) != fixed(scored[chosen]) else 2
        several = run.n_folds > 1
        if most == chosen:
            backed = _ahead(paired)
            said = (("they confirm it" if several else "it confirms it") if backed
                    else "it is the most accurate there too")
            if paired is not None:
                said += (f": the next, {runner}, is {signed(paired['rmse_diff'])} {UNIT} "
                         f"(DM {p_eq(paired['dm_p_value'])}, "
                         + ("significant)" if backed else "within noise)"))
        rows.append([f"What the {where} say" if several else "What the test period says",
                     said if most == chosen
                     else f"{most} is more accurate there ({fixed(scored[most], digits)} "
                     f"against {chosen}'s own {fixed(scored[chosen], digits)} {UNIT}"
                     + (f", DM {p_eq(paired['dm_p_value'])}, "
                        + ("significant" if paired["significant"] else "not significant")
                        if paired else "")
                     + "); the recommendation stands, as validation data alone choose"])
    if result.failed:
        rows.append(["Failed models", ", ".join(sorted(result.failed))])
    return rows
