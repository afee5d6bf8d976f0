"""The final fit (forecast/refit.py): settings chosen on the validation rows, the model
fitted again on training + validation rows, and only the test rows forecast by it."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
from conftest import set_family

import models
from baselines import Climatology, SklearnBaseline
from forecast import daily
from forecast import task as T
from forecast.config import DEFAULTS
from forecast.refit import Refitted, refit
from forecast.synthetic import generate_hourly

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPLIT_ENDS = {"train_end": "2010-04-15", "val_end": "2010-05-31", "test_end": "2010-06-30"}


@pytest.fixture(scope="module")
def task() -> T.ForecastTask:
    hourly = generate_hourly(seed=5, start="2010-01-01", end="2010-06-30")
    return T.build_task(hourly, daily.to_daily(hourly), dataset="synthetic", **SPLIT_ENDS)


def with_test_targets_changed(task: T.ForecastTask) -> T.ForecastTask:
    """The same task whose test targets are wildly different: a fit that reads them moves."""
    y = task.y.copy()
    test = task.mask("test")
    y[test] = y[test] * 7.0 + 300.0
    return dataclasses.replace(task, y=y)


def network(seed: int = 0, **training) -> models.NetworkForecaster:
    options = {**DEFAULTS["training"], "max_epochs": 6, "patience": 2, "hidden": 8,
               "layers": 1, "batch_size": 16, "progress_bar": False, "accelerator": "cpu",
               **training}
    return models.NetworkForecaster.from_config("mlp", {"training": options}, seed=seed)


def test_the_final_task_trains_on_train_and_validation_rows_and_keeps_the_test(task):
    final = task.for_final_fit()
    assert not final.mask("val", scored=False).any()
    np.testing.assert_array_equal(final.mask("train"), task.mask("train") | task.mask("val"))
    np.testing.assert_array_equal(final.mask("test"), task.mask("test"))
    assert list(final.rows["issue_day"]) == list(task.rows["issue_day"])
    assert "val" not in final.splits and final.splits["test"] == task.splits["test"]
    assert task.mask("val").any()       # the task itself is unchanged
    with pytest.raises(ValueError, match="before with_issue_hours"):
        task.with_issue_hours([11]).for_final_fit()


def test_a_refitted_baseline_keeps_its_validation_choice_and_fits_on_train_and_val(task):
    ridge = SklearnBaseline(family="ridge").fit(task)
    final = ridge.refitted(task.for_final_fit())
    chosen = {k: v for k, v in ridge.info["chosen"].items() if k != "target_transform"}
    assert final.info["chosen"] == ridge.info["chosen"]
    assert final.info["candidates"] == 1
    by_hand = SklearnBaseline(family="ridge", grid=(chosen,),
                              transforms=(ridge.info["chosen"]["target_transform"],))
    by_hand.fit(task.with_splits(SPLIT_ENDS["val_end"], "2010-06-15", "2010-06-30"))
    test = task.mask("test")
    later = test & (task.rows["target_day"] > "2010-06-15").to_numpy()
    np.testing.assert_allclose(final.predict(task, later), by_hand.predict(task, later))
    assert not np.allclose(final.predict(task, test), ridge.predict(task, test))


@pytest.mark.parametrize("make", [lambda: SklearnBaseline(family="ridge"),
                                  lambda: SklearnBaseline(family="hgb", grid=(
                                      {"learning_rate": 0.1, "max_leaf_nodes": 7},)),
                                  lambda: Climatology()],
                         ids=["ridge", "hgb", "climatology"])
def test_the_final_fit_never_reads_the_test_targets(task, make):
    test = task.mask("test")
    plain = refit(make().fit(task), task).predict(task, test)
    changed_task = with_test_targets_changed(task)
    changed = refit(make().fit(changed_task), changed_task).predict(changed_task, test)
    np.testing.assert_array_equal(plain, changed)


@pytest.mark.parametrize("family", ["ridge", "hgb"])
def test_a_final_fit_with_several_stations(family):
    hourly = generate_hourly(seed=2, n_stations=2, start="2010-01-01", end="2010-06-30")
    two = T.build_task(hourly, daily.to_daily(hourly), dataset="synthetic", **SPLIT_ENDS)
    model = SklearnBaseline(family=family, grid=({"learning_rate": 0.1},)
                            if family == "hgb" else None).fit(two)
    routed = refit(model, two)
    values = routed.predict(two, two.mask("test"))
    assert np.isfinite(values).all() and not np.allclose(values,
                                                         model.predict(two, two.mask("test")))


def test_only_the_test_rows_come_from_the_final_fit(task):
    ridge = SklearnBaseline(family="ridge").fit(task)
    routed = refit(ridge, task)
    assert isinstance(routed, Refitted) and routed.info["refit"]["rows"] == "train + val"
    everything = np.ones(len(task.y), dtype=bool)
    values = routed.predict(task, everything)
    test = task.split == "test"
    np.testing.assert_array_equal(values[~test], ridge.predict(task, ~test))
    np.testing.assert_array_equal(values[test], routed.final.predict(task, test))
    assert not hasattr(routed, "predict_and_clip")     # a baseline has none to route
    assert routed.info["chosen"] == ridge.info["chosen"]


def test_a_refitted_network_replays_the_chosen_epochs_and_learning_rates(task):
    fitted = network(lr_schedule="cosine").fit(task)
    best = fitted.info["best_epoch"]
    final = fitted.refitted(task.for_final_fit())
    assert final.info["best_epoch"] == best and len(final.history) == best
    assert final.history["val_loss"].isna().all()       # no validation rows to score
    np.testing.assert_allclose(final.history["lr"], fitted.history["lr"].iloc[:best])
    assert final.info["refit_on_rows"] == int((task.mask("train") | task.mask("val")).sum())
    assert "best_val_loss" not in final.info


def test_a_refitted_network_is_reproducible_and_never_reads_the_test_targets(task):
    test = task.mask("test")
    first = refit(network().fit(task), task)
    again = pickle.loads(pickle.dumps(refit(network().fit(task), task)))  # as from a process
    np.testing.assert_array_equal(first.predict(task, test), again.predict(task, test))
    changed_task = with_test_targets_changed(task)
    changed = refit(network().fit(changed_task), changed_task)
    np.testing.assert_array_equal(first.predict(task, test), changed.predict(task, test))
    values, clipped = first.predict_and_clip(task, test)
    np.testing.assert_array_equal(values, first.final.predict(task, test))
    assert clipped.shape == values.shape


def test_hgb_averages_the_chosen_setting_over_held_out_day_draws(task, monkeypatch):
    import baselines.linear as linear

    grid = ({"learning_rate": 0.1, "max_leaf_nodes": 7}, {"learning_rate": 0.1,
                                                         "max_leaf_nodes": 15})
    hgb = SklearnBaseline(family="hgb", grid=grid, seed=2).fit(task)
    draws = linear.FAMILIES["hgb"].draws
    assert hgb.info["draws"] == draws == len(hgb.draws_) > 1
    rows = task.mask("test")
    X = hgb._inputs(task, rows)
    by_hand = np.mean([np.maximum(linear.inverse_target(d.predict(X), hgb.transform_), 0)
                       for d in hgb.draws_], axis=0)
    np.testing.assert_allclose(hgb.predict(task, rows), by_hand)
    assert len({d.get_params()["random_state"] for d in hgb.draws_}) == draws
    assert all(d.get_params()["max_leaf_nodes"] == hgb.model_.get_params()["max_leaf_nodes"]
               for d in hgb.draws_)           # every draw has the validation-chosen setting
    set_family(monkeypatch, "hgb", draws_rows=int(task.mask("train").sum()) - 1)
    single = SklearnBaseline(family="hgb", grid=grid, seed=2).fit(task)
    assert single.info["draws"] == 1 and len(single.draws_) == 1
    np.testing.assert_allclose(single.predict(task, rows), np.maximum(linear.inverse_target(
        hgb.draws_[0].predict(X), hgb.transform_), 0))     # the first draw alone
    assert not np.allclose(single.predict(task, rows), hgb.predict(task, rows))


def test_the_pipeline_refits_for_the_test_rows_only_and_can_be_switched_off(task):
    from forecast.config import load_config
    from forecast.pipeline import fit_models

    def predictions(refit_on: bool):
        config = load_config(overrides={
            "models": {"names": ["persistence", "ridge", "mlp"], "combination": True},
            "split": {"refit": refit_on},
            "training": {"seeds": 2, "max_epochs": 4, "patience": 2, "hidden": 8,
                         "layers": 1, "progress_bar": False, "jobs": 1}})
        fitted = fit_models(task, config)
        return fitted, fitted.predictions.set_index(["model", "date", "split"])["y_pred"]

    on, with_refit = predictions(True)
    off, without = predictions(False)
    assert set(with_refit.index.get_level_values("model")) == {
        "persistence", "ridge", "mlp_seed0", "mlp_seed1", "mlp_ensemble", "combination"}
    split = with_refit.index.get_level_values("split")
    np.testing.assert_array_equal(with_refit[split != "test"], without[split != "test"])
    for model in ("ridge", "mlp_seed0", "mlp_ensemble", "combination"):
        assert not np.allclose(with_refit.loc[model, :, "test"], without.loc[model, :, "test"]), model
    np.testing.assert_array_equal(with_refit.loc["persistence"], without.loc["persistence"])
    assert on.entries["ridge"].info["refit"]["rows"] == "train + val"
    assert on.entries["mlp_seed1"].info["refit"]["epochs"] >= 1
    assert "refit" not in off.entries["ridge"].info
    members = [on.entries[f"mlp_seed{k}"].info["refit"]["seconds"] for k in (0, 1)]
    assert on.entries["mlp_ensemble"].info["final_fit_seconds"] == pytest.approx(sum(members))
    assert "final_fit_seconds" not in off.entries["mlp_ensemble"].info


def test_the_leaderboard_counts_the_final_fit_in_the_training_time():
    from forecast.report.sections import training_time

    assert training_time({"fit_seconds": 3.0}) == "3.0 s"
    assert training_time({"fit_seconds": 3.0, "refit": {"seconds": 1.25}}) == "3.0 s + 1.2 s"
    assert training_time({"fit_seconds": 300.0, "final_fit_seconds": 6.0}) == "5.0 min + 6.0 s"
    assert training_time({"fit_seconds": 3.0, "refit": {"failed": "diverged"}}) == "3.0 s"


def test_the_final_fit_keeps_the_number_of_draws_its_rows_would_change(task, monkeypatch):

    n_train = int(task.mask("train").sum())
    set_family(monkeypatch, "hgb", draws=3, draws_rows=n_train)   # train + val: more rows
    grid = ({"learning_rate": 0.1, "max_leaf_nodes": 7},)
    hgb = SklearnBaseline(family="hgb", grid=grid).fit(task)
    assert hgb.info["draws"] == 3
    assert SklearnBaseline(family="hgb", grid=grid).fit(task.for_final_fit()).info["draws"] == 1
    assert hgb.refitted(task.for_final_fit()).info["draws"] == 3



def test_the_saved_network_and_forecast_predict_use_the_final_fits(tmp_path, capsys):
    import json

    import pandas as pd

    from forecast import cli
    from forecast.config import load_config
    from forecast.pipeline import load_data, make_task, run
    from forecast.results import RunResult

    overrides = {
        "data": {"dataset": "synthetic", "synthetic_start": "2010-01-01",
                 "synthetic_end": "2012-12-31"},
        "split": {"folds": 1},
        "models": {"names": ["persistence", "ridge", "mlp"], "combination": False},
        "training": {"seeds": 1, "max_epochs": 3, "patience": 2, "hidden": 8, "layers": 1,
                     "progress_bar": False, "jobs": 1},
        "diagnostics": {"capacity_sweep": False, "learning_curve": False},
        "evaluation": {"n_boot": 20}, "run": {"out": str(tmp_path), "name": "r"}}
    run_dir = run(load_config(overrides=overrides))
    saved = models.load_model(run_dir / "models" / "mlp.pt")
    entry = RunResult.read(run_dir).entries["mlp"]
    assert saved.info["refit_on_rows"] == entry.info["refit"]["rows_trained"]
    capsys.readouterr()
    assert cli.main(["predict", str(run_dir), "--json"]) == 0
    table = pd.DataFrame(json.loads(capsys.readouterr().out)["forecasts"]).set_index("model")
    config = load_config(overrides={**overrides, "run": {}})
    loaded, frame = load_data(config)
    task = make_task(loaded, frame, config)
    latest = (task.rows["issue_day"] == task.rows["issue_day"].max()).to_numpy()
    ridge = SklearnBaseline(family="ridge").fit(task)
    final = ridge.refitted(task.for_final_fit())
    assert table.loc["ridge", "pm25_forecast"] == pytest.approx(
        round(float(final.predict(task, latest)[0]), 1))
    assert table.loc["mlp", "pm25_forecast"] == pytest.approx(
        round(float(saved.predict(task, latest)[0]), 1))
    # the saved network is the one that forecast the test rows
    predictions = pd.read_csv(run_dir / "predictions.csv")
    test = predictions[(predictions["model"] == "mlp") & (predictions["split"] == "test")]
    np.testing.assert_allclose(saved.predict(task, task.mask("test")), test["y_pred"],
                               rtol=1e-5)
    # and so is the stored ridge, to the bit (predictions.csv holds every digit)
    from baselines import load_baseline

    stored = load_baseline(run_dir / "models" / "ridge.skops")
    test = predictions[(predictions["model"] == "ridge") & (predictions["split"] == "test")]
    np.testing.assert_array_equal(stored.predict(task, task.mask("test")), test["y_pred"])
    assert stored.info["n_parameters"] == final.info["n_parameters"]


@pytest.mark.slow
def test_nothing_but_the_test_forecasts_reads_the_test_rows():
    """The test rows' targets and inputs both changed: every training and validation
    forecast and quantile, every calibration, every chosen setting and the combination's
    weights stay as they were; only the test forecasts move. A scaler, imputer or
    calibration fitted on all rows would fail it (the target-only tests would not)."""
    from forecast.config import load_config
    from forecast.pipeline import fit_models

    hourly = generate_hourly(seed=3, start="2010-01-01", end="2011-06-30", n_stations=2)
    task, _ = T.drop_uninformative(T.build_task(
        hourly, daily.to_daily(hourly), dataset="synthetic", mode="forecast",
        train_end="2010-10-31", val_end="2011-02-28", test_end="2011-06-30"))
    config = load_config(overrides={
        "models": {"names": ["persistence", "climatology", "ridge", "lasso", "mlp"]},
        "training": {"seeds": 1, "max_epochs": 4, "patience": 2, "hidden": 8, "jobs": 1,
                     "progress_bar": False}})
    test = task.split == "test"
    rng = np.random.default_rng(0)
    y, X = task.y.copy(), task.X.copy()
    y[test] = y[test] * 2.5 + 40.0
    X[test] = X[test] * rng.uniform(0.5, 2.0, X[test].shape) + 3.0
    base = fit_models(task, config)
    moved = fit_models(dataclasses.replace(task, y=y, X=X), config)
    assert "combination" in base.entries
    before, after = base.predictions, moved.predictions
    kept = (before["split"] != "test").to_numpy()
    for column in ("y_pred", "q05", "q50", "q95", "p_exceed"):
        np.testing.assert_array_equal(before.loc[kept, column].to_numpy(),
                                      after.loc[kept, column].to_numpy())
    for name, entry in base.entries.items():
        for key in ("calibration", "chosen", "weights"):
            assert entry.info.get(key) == moved.entries[name].info.get(key), (name, key)
    assert not np.allclose(before.loc[~kept, "y_pred"], after.loc[~kept, "y_pred"])
