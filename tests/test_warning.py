"""When to warn: the warning probability is chosen on validation rows alone, fold by fold,
and scored on the test rows the choice never saw."""

import numpy as np
import pandas as pd
import pytest

from forecast.evaluation import contingency, exceedance_scores
from forecast.warning import (
    COST_LOSS_RATIOS,
    WARNING_PROBABILITIES,
    best_probability,
    choose,
    contingency_curve,
    expense,
    point_levels,
    value,
    warning_rule,
)


def test_contingency_counts_and_ratios():
    observed = np.array([True, True, False, False, True])
    forecast = np.array([True, False, True, False, True])
    scores = contingency(observed, forecast)
    assert (scores["hits"], scores["misses"], scores["false_alarms"],
            scores["correct_negatives"]) == (2, 1, 1, 1)
    assert scores["pod"] == pytest.approx(2 / 3) and scores["far"] == pytest.approx(1 / 3)
    assert scores["csi"] == pytest.approx(2 / 4)
    # the point forecast's scores are the same counts of "above the threshold"
    y_true, y_pred = np.array([80.0, 90, 10, 20, 100]), np.array([76.0, 70, 80, 75, 200])
    assert exceedance_scores(y_true, y_pred) == {"threshold": 75.0, **scores}


def test_the_best_probability_is_the_highest_csi_and_of_equals_the_highest():
    y_true = np.array([100.0, 100, 100, 10, 10, 10])
    # every episode above 0.6, every quiet day at most 0.3: any level in (0.3, 0.6] is
    # perfect, and the highest of them (fewest warnings) is chosen
    p_exceed = np.array([0.9, 0.7, 0.6, 0.3, 0.1, 0.0])
    assert best_probability(y_true, p_exceed, 75.0) == 0.6
    # a missed episode at 0.35 moves the best level down to catch it
    assert best_probability(y_true, np.array([0.9, 0.7, 0.35, 0.3, 0.1, 0.0]), 75.0) == 0.35
    assert best_probability(np.array([10.0, 20.0]), np.array([0.9, 0.1]), 75.0) is None
    assert WARNING_PROBABILITIES[0] == 0.05 and WARNING_PROBABILITIES[-1] == 0.95


def _predictions(rng, folds=("2019", "2020")) -> pd.DataFrame:
    """Two models' validation and test rows over two folds: the probability says how
    likely the daily mean is above 75 µg/m³, with noise."""
    frames = []
    for fold in folds:
        for split in ("val", "test"):
            for model in ("ridge", "hgb"):
                y_true = rng.gamma(2.0, 40.0, 300)
                p_exceed = np.clip((y_true - 40) / 80 + rng.normal(0, 0.2, 300), 0, 1)
                frames.append(pd.DataFrame({
                    "fold": fold, "split": split, "model": model,
                    "date": pd.date_range(f"{int(fold) - (split == 'val')}-01-01", periods=300),
                    "y_true": y_true,
                    "y_pred": y_true + rng.normal(0, 20, 300), "p_exceed": p_exceed}))
    return pd.concat(frames, ignore_index=True)


def test_the_warning_rule_chooses_on_validation_rows_before_each_test_period():
    predictions = _predictions(np.random.default_rng(0))
    by_fold = [{"fold": "2019", "model": "ridge", "validation_folds": ["2019"]},
               {"fold": "2020", "model": "hgb", "validation_folds": ["2019", "2020"]}]
    rule = warning_rule(predictions, by_fold, 75.0)
    assert rule["model"] == "hgb" and rule["score"] == "csi"

    def rows(folds, model, split):
        return predictions[predictions["fold"].isin(folds) & (predictions["model"] == model)
                           & (predictions["split"] == split)]

    expected = []
    for fold in by_fold:
        seen = rows(fold["validation_folds"], fold["model"], "val")
        expected.append(best_probability(seen["y_true"].to_numpy(),
                                         seen["p_exceed"].to_numpy(), 75.0))
    assert [f["probability"] for f in rule["by_fold"]] == expected
    assert rule["probability"] == expected[-1]
    # each test period scored with its own fold's model and probability, pooled
    tests = [rows([f["fold"]], f["model"], "test") for f in by_fold]
    observed = np.concatenate([t["y_true"].to_numpy() > 75 for t in tests])
    warned = np.concatenate([t["p_exceed"].to_numpy() >= p
                             for t, p in zip(tests, expected, strict=True)])
    assert rule["test"] == contingency(observed, warned)
    point = np.concatenate([t["y_pred"].to_numpy() > 75 for t in tests])
    assert rule["test_point_forecast"] == contingency(observed, point)
    curve = {row["probability"]: row for row in rule["val_curve"]}
    assert rule["probability"] in curve and 0.1 in curve and 0.9 in curve
    assert curve[rule["probability"]]["csi"] == rule["val"]["csi"]


def test_the_test_rows_never_choose_the_warning_probability():
    predictions = _predictions(np.random.default_rng(1))
    by_fold = [{"fold": "2020", "model": "hgb", "validation_folds": ["2019", "2020"]}]
    before = warning_rule(predictions, by_fold, 75.0)
    test = (predictions["split"] == "test").to_numpy()
    predictions.loc[test, "p_exceed"] = 1.0 - predictions.loc[test, "p_exceed"]
    after = warning_rule(predictions, by_fold, 75.0)
    assert after["probability"] == before["probability"] and after["val"] == before["val"]
    assert after["test"] != before["test"]


def test_no_warning_rule_without_probabilities_or_episodes():
    predictions = _predictions(np.random.default_rng(2))
    by_fold = [{"fold": "2020", "model": "hgb", "validation_folds": ["2020"]}]
    assert warning_rule(predictions.drop(columns="p_exceed"), by_fold, 75.0) is None
    assert warning_rule(predictions, by_fold, 10_000.0) is None


def test_expense_and_value_of_warnings_at_a_cost_loss_ratio():
    # 10 days, 2 exceedances: one warned (hit), one not (miss), 1 false alarm
    scores = contingency(np.array([True, True] + [False] * 8),
                         np.array([True, False, True] + [False] * 7))
    # cost/loss 0.25: 2 warnings × 0.25 + 1 miss, a day
    assert expense(scores, 0.25) == pytest.approx((2 * 0.25 + 1) / 10)
    # climatology: min(0.25, base rate 0.2) = 0.2 (never act); perfect: 0.2 × 0.25
    assert value(scores, 0.25) == pytest.approx((0.2 - 0.15) / (0.2 - 0.05))
    perfect = contingency(np.array([True, False]), np.array([True, False]))
    assert value(perfect, 0.3) == pytest.approx(1.0)
    always = contingency(np.array([True, False, False, False]), np.ones(4, bool))
    assert value(always, 0.1) == pytest.approx(0.0)        # always acting is climatology's
    assert value(always, 0.5) < 0                           # and costly when acting is dear
    assert np.isnan(value(contingency(np.zeros(3, bool), np.zeros(3, bool)), 0.2))


def test_a_cheap_action_warns_at_a_lower_probability_than_a_dear_one():
    rng = np.random.default_rng(3)
    # calibrated probabilities: each day exceeds with its stated probability
    p_exceed = rng.uniform(0, 1, 20_000)
    y_true = np.where(rng.uniform(0, 1, 20_000) < p_exceed, 100.0, 10.0)
    cheap, dear = (best_probability(y_true, p_exceed, 75.0, cost_loss=r) for r in (0.1, 0.6))
    # with calibrated probabilities the best level is the ratio itself
    assert cheap == pytest.approx(0.1, abs=0.05) and dear == pytest.approx(0.6, abs=0.05)
    curve = contingency_curve(y_true > 75, p_exceed)
    assert set(curve) == set(WARNING_PROBABILITIES)
    assert choose(curve, 0.1) == cheap
    assert min(expense(s, 0.1) for s in curve.values()) == expense(curve[cheap], 0.1)
    assert choose(curve) == best_probability(y_true, p_exceed, 75.0)   # 0: the CSI


def test_the_warning_rule_at_a_cost_loss_ratio_scores_its_value():
    predictions = _predictions(np.random.default_rng(4))
    by_fold = [{"fold": "2019", "model": "ridge", "validation_folds": ["2019"]},
               {"fold": "2020", "model": "hgb", "validation_folds": ["2019", "2020"]}]
    csi = warning_rule(predictions, by_fold, 75.0)
    cheap = warning_rule(predictions, by_fold, 75.0, cost_loss=0.05)
    assert csi["score"] == "csi" and csi["cost_loss"] == 0 and "value" not in csi["test"]
    assert cheap["score"] == "value" and cheap["cost_loss"] == 0.05
    assert cheap["probability"] < csi["probability"]
    assert cheap["test"]["hits"] + cheap["test"]["false_alarms"] > (
        csi["test"]["hits"] + csi["test"]["false_alarms"])
    assert cheap["test"]["value"] == pytest.approx(value(cheap["test"], 0.05))
    assert cheap["test_point_forecast"]["value"] == pytest.approx(
        value(cheap["test_point_forecast"], 0.05))
    # every probability's counts are stored, from which another ratio can be chosen
    curve = {row["probability"]: row for row in cheap["val_curve"]}
    assert set(curve) == set(WARNING_PROBABILITIES)
    assert choose(curve, 0.05) == cheap["probability"] and choose(curve) == csi["probability"]


def test_the_value_curve_scores_each_ratio_as_the_rule_at_that_ratio_would():
    predictions = _predictions(np.random.default_rng(5))
    by_fold = [{"fold": "2019", "model": "ridge", "validation_folds": ["2019"]},
               {"fold": "2020", "model": "hgb", "validation_folds": ["2019", "2020"]}]
    curve = warning_rule(predictions, by_fold, 75.0)["by_cost_loss"]
    assert [row["cost_loss"] for row in curve] == list(COST_LOSS_RATIOS)
    for row in curve:
        alone = warning_rule(predictions, by_fold, 75.0, cost_loss=row["cost_loss"])
        assert row["probabilities"] == [f["probability"] for f in alone["by_fold"]]
        assert row["value"] == pytest.approx(alone["test"]["value"])
        assert row["point_forecast_value"] == pytest.approx(
            alone["test_point_forecast"]["value"])
        assert (row["pod"], row["far"]) == (alone["test"]["pod"], alone["test"]["far"])
    # a cheap action warns at a lower level than a dear one
    assert curve[0]["probabilities"][-1] < curve[-1]["probabilities"][-1]
    assert curve[0]["point_levels"][-1] < curve[-1]["point_levels"][-1]


def test_the_point_forecast_threshold_is_chosen_on_validation_as_the_probability_is():
    """The fair rival of the probability at a cost/loss ratio: the point forecast with its
    own warning threshold chosen fold by fold on the same validation rows."""
    predictions = _predictions(np.random.default_rng(7))
    by_fold = [{"fold": "2019", "model": "ridge", "validation_folds": ["2019"]},
               {"fold": "2020", "model": "hgb", "validation_folds": ["2019", "2020"]}]
    rule = warning_rule(predictions, by_fold, 75.0)

    def rows(folds, model, split):
        return predictions[predictions["fold"].isin(folds) & (predictions["model"] == model)
                           & (predictions["split"] == split)]

    for row in rule["by_cost_loss"]:
        ratio, observed, warned = row["cost_loss"], [], []
        for fold, level in zip(by_fold, row["point_levels"], strict=True):
            seen = rows(fold["validation_folds"], fold["model"], "val")
            expenses = {t: expense(contingency(seen["y_true"].to_numpy() > 75,
                                               seen["y_pred"].to_numpy() >= t), ratio)
                        for t in point_levels(75.0)}
            assert expenses[level] == min(expenses.values())
            test = rows([fold["fold"]], fold["model"], "test")
            observed.append(test["y_true"].to_numpy() > 75)
            warned.append(test["y_pred"].to_numpy() >= level)
        tuned = contingency(np.concatenate(observed), np.concatenate(warned))
        assert row["tuned_point_value"] == pytest.approx(value(tuned, ratio))
        low, high = row["tuned_difference_ci"]
        assert low <= high
    assert point_levels(75.0)[0] == 18.75 and point_levels(75.0)[-1] == 187.5


def test_the_value_difference_interval_is_paired_and_can_tell_warnings_apart():
    from forecast.significance import Units
    from forecast.warning import value_difference_ci

    rng = np.random.default_rng(6)
    days = pd.date_range("2020-01-01", periods=400)
    observed = rng.uniform(0, 1, 400) < 0.3
    units = Units.of(days, np.zeros(400))
    noisy = np.where(rng.uniform(0, 1, 400) < 0.3, ~observed, observed)
    # the same warnings: exactly no difference on every resample
    assert value_difference_ci(observed, noisy, noisy, units, 0.2) == (0.0, 0.0)
    # perfect warnings against ones wrong on 30 % of the days: clearly better
    low, high = value_difference_ci(observed, observed, noisy, units, 0.2)
    assert 0 < low < high
    assert value_difference_ci(observed, observed, noisy, units, 0.2, seed=1) != (low, high)
    assert value_difference_ci(observed, observed, noisy, units, 0.2) == (low, high)
    # no exceedance: no value, no interval
    none = np.zeros(400, bool)
    assert all(np.isnan(value_difference_ci(none, none, noisy, units, 0.2)))
