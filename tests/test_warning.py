"""When to warn: the warning probability is chosen on validation rows alone, fold by fold,
and scored on the test rows the choice never saw."""

import numpy as np
import pandas as pd
import pytest

from forecast.evaluation import contingency, exceedance_scores
from forecast.warning import WARNING_PROBABILITIES, best_probability, warning_rule


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
                    "fold": fold, "split": split, "model": model, "y_true": y_true,
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
