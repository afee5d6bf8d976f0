"""Rolling-origin folds and the scores pooled over folds and stations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.rolling import aligned, aligned_values, pooled_scores, rolling_folds


def test_single_site_beijing_has_three_folds_two_in_the_development_period():
    folds = rolling_folds("beijing", "2012-12-31", "2013-12-31", "2014-12-31", "2010-01-15")
    assert [f.name for f in folds] == ["2012", "2013", "2014"]
    assert [(f.train_end, f.val_end, f.test_end) for f in folds][0] == (
        "2010-12-31", "2011-12-31", "2012-12-31")
    assert [f.development for f in folds] == [True, True, False]
    assert folds[-1].test_start == "2014-01-01"


def test_multisite_beijing_has_two_folds_aligned_with_its_split():
    folds = rolling_folds("beijing-multisite", "2015-02-28", "2016-02-29", "2017-02-28",
                          "2013-03-15")
    assert [(f.name, f.train_end, f.val_end, f.test_end) for f in folds] == [
        ("2015-03..2016-02", "2014-02-28", "2015-02-28", "2016-02-29"),
        ("2016-03..2017-02", "2015-02-28", "2016-02-29", "2017-02-28")]
    # the earlier fold tests the main fold's validation year, which shaped the defaults
    assert [f.development for f in folds] == [True, False]


def test_other_data_get_as_many_whole_years_as_fit_and_max_folds_keeps_the_latest():
    folds = rolling_folds("csv", "2019-06-30", "2020-06-30", "2021-06-30", "2015-01-10")
    assert [f.test_end for f in folds] == ["2018-06-30", "2019-06-30",
                                           "2020-06-30", "2021-06-30"]
    assert len(rolling_folds("csv", "2019-06-30", "2020-06-30", "2021-06-30", "2015-01-10",
                             max_folds=1)) == 1
    # less than a year of training: only the main split
    assert len(rolling_folds("csv", "2016-02-28", "2017-02-28", "2018-02-28",
                             "2015-06-01")) == 1


def _predictions(n_folds=3, n_days=120, stations=("A", "B")) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frames = []
    for fold in range(n_folds):
        for split, start in (("val", f"{2011 + fold}-01-01"), ("test", f"{2012 + fold}-01-01")):
            dates = pd.date_range(start, periods=n_days, freq="D")
            for station in stations:
                y = 60 + rng.gamma(2, 20, n_days)
                for model, noise in (("persistence", 40), ("ridge", 20), ("mlp", 15)):
                    frames.append(pd.DataFrame({
                        "fold": str(2012 + fold), "date": dates, "station": station,
                        "split": split, "model": model, "y_true": y,
                        "y_pred": y + rng.normal(0, noise, n_days)}))
    return pd.concat(frames, ignore_index=True)


def test_pooled_scores_pool_every_fold_and_station():
    predictions = _predictions()
    scores = pooled_scores(predictions, ["persistence", "ridge", "mlp"], "ridge", n_boot=100)
    test = predictions[(predictions["split"] == "test") & (predictions["model"] == "mlp")]
    rmse = float(np.sqrt(np.mean((test["y_pred"] - test["y_true"]) ** 2)))
    mlp = scores["models"]["mlp"]["test"]
    assert mlp["rmse"] == pytest.approx(rmse)
    assert mlp["n"] == len(test) and mlp["folds"] == 3
    assert set(mlp["rmse_by_fold"]) == {"2012", "2013", "2014"}
    assert set(mlp["rmse_by_station"]) == {"A", "B"}
    assert mlp["rmse_ci"][0] < rmse < mlp["rmse_ci"][1]
    comparison = next(c for c in scores["comparisons"]
                      if c["split"] == "test" and c["model"] == "mlp")
    assert comparison["against"] == "ridge" and comparison["rmse_diff"] < 0
    assert comparison["n_dates"] == 3 * 120 and comparison["significant"]


def test_pooled_scores_refuse_a_model_missing_rows():
    predictions = _predictions(n_folds=1)
    predictions = predictions.drop(index=predictions.index[
        (predictions["model"] == "mlp") & (predictions["split"] == "test")][:3])
    with pytest.raises(ValueError, match="mlp"):
        pooled_scores(predictions, ["persistence", "ridge", "mlp"], "ridge", n_boot=10)


def _pivot_reference(predictions, split, models, value):
    """What aligned computed before it factorised the keys: pandas' pivot table."""
    part = predictions[predictions["split"] == split]
    wide = part.pivot_table(index=["fold", "date", "station"], columns="model",
                            values=value, aggfunc="first", sort=True)
    truth = part.groupby(["fold", "date", "station"], sort=True)["y_true"].first()
    return (wide.index.to_frame(index=False), truth.loc[wide.index].to_numpy(dtype=float),
            {m: wide[m].to_numpy(dtype=float) for m in models})


@pytest.mark.parametrize("as_categories", [False, True])
def test_aligned_matches_a_pivot_table_in_any_row_order(as_categories):
    predictions = _predictions(stations=("B", "A", "C"))
    predictions["crps"] = predictions["y_pred"] / 3
    # a model that forecasts only some rows adds no key; a key's first y_true is kept
    extra = predictions[(predictions["model"] == "mlp") & (predictions["station"] == "A")]
    predictions = pd.concat([predictions, extra.assign(model="partial", y_true=-1.0)])
    predictions = predictions.sample(frac=1.0, random_state=3).reset_index(drop=True)
    if as_categories:
        predictions = predictions.astype({c: "category" for c in
                                          ("fold", "station", "split", "model")})
    models = ["ridge", "persistence", "mlp"]
    for split in ("val", "test"):
        keys, y_true, values = aligned_values(predictions, split, models, ("y_pred", "crps"))
        for value in ("y_pred", "crps"):
            expected = _pivot_reference(predictions, split, models, value)
            pd.testing.assert_frame_equal(keys.astype(str), expected[0].astype(str))
            np.testing.assert_array_equal(y_true, expected[1])
            for m in models:
                np.testing.assert_array_equal(values[value][m], expected[2][m])
        assert list(keys["station"].unique()) == ["A", "B", "C"]   # sorted, as the pivot
        assert aligned(predictions, split, models)[2]["mlp"].tolist() == \
            values["y_pred"]["mlp"].tolist()


def test_aligned_names_a_model_missing_a_value_or_absent():
    predictions = _predictions(n_folds=1)
    predictions.loc[predictions.index[(predictions["model"] == "ridge")
                                      & (predictions["split"] == "val")][5], "y_pred"] = np.nan
    with pytest.raises(ValueError, match="ridge do not forecast every val row"):
        aligned(predictions, "val", ["mlp", "ridge"])
    with pytest.raises(ValueError, match="lasso"):
        aligned(predictions, "test", ["mlp", "lasso"])


def test_a_model_scored_in_only_some_folds_changes_no_other_models_pooled_scores():
    # the run pools every fold's table as it is: an entry that failed in one fold (absent
    # from its rows) is not scored, and its rows elsewhere must not move the others'
    predictions = _predictions()
    predictions["crps"] = (predictions["y_pred"] - predictions["y_true"]).abs()
    for column, value in (("p_exceed", 0.3), ("pit", 0.5), ("crps_climatology", 30.0),
                          ("p_exceed_climatology", 0.2)):
        predictions[column] = value
    for column in ("q05", "q10", "q25", "q50", "q75", "q90", "q95"):
        predictions[column] = predictions["y_pred"]
    survivor = predictions[(predictions["model"] == "mlp") & (predictions["fold"] != "2012")]
    with_partial = pd.concat([predictions, survivor.assign(model="gru", y_pred=0.0)],
                             ignore_index=True)
    models = ["persistence", "ridge", "mlp"]
    alone = pooled_scores(predictions, models, n_boot=50, baselines=("persistence", "ridge"))
    beside = pooled_scores(with_partial, models, n_boot=50,
                           baselines=("persistence", "ridge"))
    assert alone == beside


def _candidates():
    from forecast.selection import Candidate
    return [Candidate("persistence", "baseline", 0), Candidate("ridge", "baseline", 10),
            Candidate("mlp", "network", 1000)]


def test_the_rule_fold_by_fold_reads_only_the_validation_years_before_each_test_period():
    """An earlier fold's choice reads its own and earlier validation years only: making
    mlp far worse on every later row (its own test period, later folds' validation and
    test) leaves it, while the latest choice, which reads those validation years, moves."""
    from forecast.selection import recommend, rule_fold_by_fold, rule_on_test

    predictions = _predictions()
    folds = ["2012", "2013", "2014"]
    latest = recommend(predictions, _candidates(), n_boot=100)["model"]
    by_fold = rule_fold_by_fold(predictions, _candidates(), folds, latest, n_boot=100)
    assert [f["model"] for f in by_fold] == ["mlp", "mlp", "mlp"]
    assert by_fold[0]["validation_folds"] == ["2012"] and by_fold[2]["model"] == latest

    later = ((predictions["fold"] != "2012") | (predictions["split"] == "test")) & (
        predictions["model"] == "mlp")
    worse = predictions.copy()
    worse.loc[later, "y_pred"] += 200.0
    latest_worse = recommend(worse, _candidates(), n_boot=100)["model"]
    assert latest_worse != "mlp"                              # the perturbation can move it
    moved = rule_fold_by_fold(worse, _candidates(), folds, latest_worse, n_boot=100)
    assert moved[0]["model"] == "mlp" and moved[2]["model"] == latest_worse

    # scored: each fold's test rows of the model chosen for that fold, and nothing else
    scored = rule_on_test(worse, _candidates(), folds, latest_worse, threshold=75.0,
                          n_boot=100)
    rows = pd.concat([worse[(worse["fold"] == f["fold"]) & (worse["split"] == "test")
                            & (worse["model"] == f["model"])] for f in scored["by_fold"]])
    assert scored["test"]["n"] == len(rows) == 3 * 2 * 120
    assert scored["test"]["rmse"] == pytest.approx(
        float(np.sqrt(np.mean((rows["y_pred"] - rows["y_true"]) ** 2))))
    assert set(scored["test"]["rmse_by_fold"]) == set(folds)
    assert scored["test"]["skill"] is not None


def test_the_rule_passes_over_a_model_whose_crps_alone_fails_and_says_which_test_it_failed():
    """ridge is as accurate as mlp on the RMSE but its predictive distribution is far
    worse: the rule takes neither persistence (RMSE) nor ridge (CRPS), and the stored
    recommendation alone says which test each failed; with no CRPS column only the RMSE
    counts and ridge, the simpler, is chosen."""
    from forecast.selection import failed_tests, recommend

    predictions = _predictions()
    ridge = predictions["model"] == "ridge"
    predictions.loc[ridge, "y_pred"] = predictions.loc[
        predictions["model"] == "mlp", "y_pred"].to_numpy() + 0.5
    error = (predictions["y_pred"] - predictions["y_true"]).abs()
    predictions["crps"] = np.where(ridge, 3 * error + 20, 0.6 * error)

    chosen = recommend(predictions, _candidates(), n_boot=100)
    assert chosen["model"] == "mlp" and not chosen["rmse_alone_decides"]
    assert failed_tests(chosen) == {"persistence": "RMSE", "ridge": "CRPS", "mlp": None}
    assert failed_tests(chosen | {"rmse_alone_decides": True})["ridge"] is None

    rmse_only = recommend(predictions.drop(columns="crps"), _candidates(), n_boot=100)
    assert rmse_only["model"] == "ridge"
    assert failed_tests(rmse_only) == {"persistence": "RMSE", "ridge": None, "mlp": None}
