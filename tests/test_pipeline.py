"""Integration: the whole pipeline on small synthetic data with few epochs."""

from __future__ import annotations

import json
import shutil
import tomllib

import numpy as np
import pandas as pd
import pytest

from forecast import cli, uncertainty
from forecast.config import load_config
from forecast.pipeline import run
from forecast.results import RunResult
from forecast.uncertainty import DISTRIBUTION_COLUMNS, GROUPS, QUANTILE_COLUMNS

pytestmark = pytest.mark.slow

SMALL = {
    "data": {"dataset": "synthetic", "synthetic_start": "2010-01-01",
             "synthetic_end": "2012-12-31"},
    "models": {"names": ["persistence", "climatology", "ridge", "mlp", "gru"]},
    "training": {"seeds": 2, "max_epochs": 3, "patience": 2, "hidden": 8, "layers": 1,
                 "progress_bar": False, "jobs": 1},
    "diagnostics": {"sweep_hidden": [4, 8], "sweep_layers": [1], "max_epochs": 2,
                    "learning_fractions": [0.5, 1.0]},
    "evaluation": {"n_boot": 50},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    config = load_config(overrides={**SMALL, "run": {"out": str(out), "name": "small"}})
    return run(config)


def test_run_directory_follows_the_contract(run_dir):
    for name in ("config.toml", "metrics.json", "predictions.csv", "report.html", "report.md",
                 "curves/mlp_seed0.csv", "curves/gru_seed1.csv", "models/mlp.pt",
                 "models/gru.pt", "diagnostics/capacity_sweep.csv",
                 "diagnostics/learning_curve.csv"):
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.parent.glob(".tmp-*"))
    config = tomllib.loads((run_dir / "config.toml").read_text())
    assert config["training"]["seeds"] == 2 and config["data"]["dataset"] == "synthetic"


def test_every_model_is_scored_on_the_same_days(run_dir):
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert list(predictions.columns) == ["fold", "date", "station", "split", "model", "y_true",
                                         "y_pred", *DISTRIBUTION_COLUMNS]
    expected = {"persistence", "climatology", "ridge", "mlp_seed0", "mlp_seed1",
                "mlp_ensemble", "gru_seed0", "gru_seed1", "gru_ensemble", "combination"}
    assert set(predictions["model"]) == expected
    days = {model: set(zip(group["fold"], group["date"], group["split"], strict=True))
            for model, group in predictions.groupby("model")}
    reference = days["persistence"]
    assert all(value == reference for value in days.values())
    assert np.isfinite(predictions["y_pred"]).all()
    seeds = predictions[predictions["model"].str.startswith("mlp")].pivot_table(
        index=["fold", "date", "split"], columns="model", values="y_pred")
    np.testing.assert_allclose(seeds["mlp_ensemble"],
                               (seeds["mlp_seed0"] + seeds["mlp_seed1"]) / 2, rtol=1e-6)


def test_every_forecast_has_a_distribution_whose_quantiles_never_cross(run_dir):
    predictions = pd.read_csv(run_dir / "predictions.csv")
    quantiles = predictions[list(QUANTILE_COLUMNS)].to_numpy()
    assert np.isfinite(quantiles).all() and (quantiles >= 0).all()
    assert (np.diff(quantiles, axis=1) >= 0).all()
    for column in ("p_exceed", "pit", "p_exceed_climatology"):
        assert predictions[column].between(0, 1).all(), column
    assert (predictions["crps"] >= 0).all() and np.isfinite(predictions["crps"]).all()
    result = RunResult.read(run_dir)
    for name, entry in result.entries.items():
        calibration = uncertainty.Calibration.from_dict(entry.info["calibration"])
        assert calibration.shifts.shape[1] == 99 and calibration.groups in GROUPS, name
        assert entry.info["calibration"]["validation_out_of_block"], name
        assert entry.info["calibration"]["validation_choice_out_of_block"], name
        test = entry.metrics["test"]
        assert set(test["coverage"]) == {"50", "80", "90"}
        assert 0 <= test["coverage"]["90"]["coverage"] <= 1
        assert abs(sum(test["pit_histogram"]) - 1) < 1e-9
        assert "brier_skill" in test and "crps_skill" in test
    pooled = result.pooled["models"]["ridge"]["test"]
    assert pooled["crps_ci"][0] <= pooled["crps"] <= pooled["crps_ci"][1]
    assert "so the validation CRPS (which the recommendation reads) is scored out of sample" \
        in (run_dir / "report.md").read_text()
    assert all("crps_diff" in c for c in result.pooled["comparisons"])


def test_metrics_hold_scores_seeds_and_comparisons(run_dir):
    result = RunResult.read(run_dir)
    assert result.synthetic is True and result.mode == "observed"
    persistence = result.entries["persistence"].metrics["test"]
    assert persistence["skill"] == pytest.approx(0.0)
    ridge = result.entries["ridge"].metrics["test"]
    assert ridge["skill"] == pytest.approx(1 - ridge["rmse"] / ridge["rmse_reference"])
    assert ridge["rmse_ci"][0] <= ridge["rmse"] <= ridge["rmse_ci"][1]
    mean, sd, n = result.seed_spread("mlp")
    scores = [result.entries[f"mlp_seed{k}"].score("test") for k in (0, 1)]
    assert n == 2 and mean == pytest.approx(np.mean(scores))
    assert sd == pytest.approx(np.std(scores, ddof=1))
    ensemble = result.entries["mlp_ensemble"]
    assert (ensemble.kind, ensemble.family, ensemble.members) == (
        "ensemble", "mlp", ["mlp_seed0", "mlp_seed1"])
    assert (result.entries["gru_seed1"].kind, result.entries["gru_seed1"].seed) == ("network", 1)
    assert result.entries["ridge"].kind == "baseline"
    compared = {(c["split"], c["model"]) for c in result.comparisons}
    assert ("test", "gru_ensemble") in compared
    assert set(result.diagnostics["curves"]) >= {"mlp_seed0", "gru_seed1"}


def test_metrics_json_round_trips_and_refuses_damaged_files(run_dir, tmp_path, cli_error):
    result = RunResult.read(run_dir)
    assert RunResult.from_json(result.to_json()) == result
    payload = json.loads((run_dir / "metrics.json").read_text())
    for damage, expected in (
            (lambda p: p.pop("horizon"), "missing field 'horizon'"),
            (lambda p: p.__setitem__("horizn", p.pop("horizon")), "unknown field 'horizn'"),
            (lambda p: p["entries"][0].pop("family"), "missing field 'family'"),
            (lambda p: p["entries"][0].__setitem__("kind", "neural"), "kind 'neural'"),
            (lambda p: p.__setitem__("horizon", "one"), "'horizon' has the wrong type"),
            (lambda p: p.__setitem__("format_version", 1), "format version 1"),
            # valid JSON of the right types, but without what every run writes inside
            (lambda p: p.__setitem__("entries", []), "'entries' is empty"),
            (lambda p: p.__setitem__("stations", []), "'stations' is empty"),
            (lambda p: p.__setitem__("splits", {}), "'splits' is empty"),
            (lambda p: p["config"].pop("evaluation"), "no [evaluation] section"),
            (lambda p: p.__setitem__("data", {}), "'data' has no 'start'"),
            (lambda p: p["quality"].pop("flags"), "'quality' has no 'flags'"),
            (lambda p: p["splits"]["val"].pop("end"), "split 'val' has no 'end'")):
        damaged = tmp_path / f"damaged-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(run_dir, damaged)
        edited = json.loads(json.dumps(payload))
        damage(edited)
        (damaged / "metrics.json").write_text(json.dumps(edited))
        report = (damaged / "report.md").read_bytes()
        for command in ("report", "predict"):
            line = cli_error(command, damaged)
            assert expected.lower() in line and "metrics.json" in line, line
        assert (damaged / "report.md").read_bytes() == report      # the report left whole
    (damaged / "metrics.json").write_bytes(b'{"dataset": "caf\xe9"}')  # not UTF-8
    for command in ("report", "predict"):
        assert "not a text file (utf-8)" in cli_error(command, damaged)


def test_a_whole_run_in_several_processes_is_refused_before_anything_is_written(
        tmp_path, cli_error, monkeypatch):
    """Each process would fit every model and write a run directory of its own."""
    common = ["run", "--dataset", "synthetic", "--synthetic-end", "2010-12-31",
              "--models", "persistence,mlp", "--out", str(tmp_path)]
    line = cli_error(*common, "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp")
    assert line.startswith("forecast: error: training.devices = 2: a whole forecast run in "
                           "several processes is not supported")
    assert "--num-nodes" not in line
    monkeypatch.setenv("WORLD_SIZE", "4")                 # as torchrun or srun would set
    assert "world_size = 4" in cli_error(*common)
    assert not list(tmp_path.iterdir())


def test_curves_have_one_row_per_epoch(run_dir):
    curve = pd.read_csv(run_dir / "curves" / "mlp_seed0.csv")
    assert {"epoch", "train_loss", "val_loss", "grad_norm"} <= set(curve.columns)
    assert curve["epoch"].is_unique and len(curve) <= 3
    assert curve[["train_loss", "val_loss"]].notna().all().all()


def test_runs_never_overwrite_each_other(run_dir, capsys):
    # same name again: a new directory beside the first, the first untouched
    before = (run_dir / "metrics.json").read_text()
    overrides = {**SMALL, "models": {"names": ["persistence", "ridge"]},
                 "run": {"out": str(run_dir.parent), "name": "small"}}
    second = run(load_config(overrides=overrides))
    assert second != run_dir and second.name == "small-2"
    assert (run_dir / "metrics.json").read_text() == before
    assert (f"forecast: note: {run_dir} is an earlier run, left as it was; this run is "
            f"{second}") in capsys.readouterr().err


def test_cli_prints_the_run_directory_last_and_report_rebuilds(run_dir, tmp_path, capsys):
    code = cli.main(["run", "--dataset", "synthetic", "--synthetic-end", "2012-12-31",
                     "--models", "persistence,ridge", "--out", str(tmp_path),
                     "--n-boot", "50", "--folds", "1"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert (tmp_path / out[-1].split("/")[-1]).is_dir()
    (run_dir / "report.html").unlink()
    assert cli.main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").is_file()


def test_more_folds_than_the_data_allow_are_said_to_be_fewer(tmp_path, capsys):
    code = cli.main(["run", "--dataset", "synthetic", "--synthetic-end", "2012-12-31",
                     "--models", "persistence,ridge", "--out", str(tmp_path),
                     "--n-boot", "50", "--folds", "7", "--no-progress-bar"])
    err = capsys.readouterr().err
    assert code == 0
    run_dir = next(tmp_path.iterdir())
    ran = len(RunResult.read(run_dir).folds)
    assert 1 <= ran < 7
    assert (f"forecast: warning: split.folds = 7, but the data have room for {ran} (each "
            "earlier fold needs 330 days of training targets from 2010-01-") in err, err


def test_predict_gives_tomorrow_for_every_model(run_dir, capsys):
    assert cli.main(["predict", str(run_dir), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    table = pd.DataFrame(output["forecasts"])
    # one row per model: a network is its saved seed ensemble, loaded as one model
    assert set(table["model"]) == {"persistence", "climatology", "ridge", "mlp_ensemble",
                                   "gru_ensemble", "combination"}
    assert (table["issue_day"] == "2012-12-31").all()
    assert (table["target_day"] == "2013-01-01").all()
    assert np.isfinite(table["pm25_forecast"]).all()
    assert table["recommended"].sum() == 1
    recommended = RunResult.read(run_dir).recommendation["model"]
    assert table.loc[table["recommended"], "model"].item() == recommended
    # every model's calibrated distribution, the exceedance probability and the category
    quantiles = table[list(QUANTILE_COLUMNS)].to_numpy()
    assert np.isfinite(quantiles).all() and (np.diff(quantiles, axis=1) >= 0).all()
    assert table["p_exceed"].between(0, 1).all() and table["p_category"].between(0, 1).all()
    assert output["threshold"] == 75.0
    (headline,) = output["headline"]             # one station: one headline
    assert recommended in headline and "80 % interval" in headline and "P(> 75)" in headline


def test_the_stored_combination_weights_give_its_test_forecasts(run_dir):
    """forecast predict rebuilds the combination from metrics.json's weights: they must be
    those that forecast its test rows, not a rounding of them."""
    combination = RunResult.read(run_dir).entries["combination"]
    predictions = pd.read_csv(run_dir / "predictions.csv")
    main = predictions[(predictions["fold"] == predictions["fold"].max())
                       & (predictions["split"] == "test")]
    wide = main.pivot_table(index="date", columns="model", values="y_pred")
    weights = combination.info["weights"]
    rebuilt = np.maximum(sum(w * wide[m] for m, w in weights.items()), 0.0)
    np.testing.assert_allclose(rebuilt, wide["combination"], rtol=1e-9, atol=1e-9)


def test_predict_loads_the_stored_baselines_and_refits_only_without_them(run_dir, tmp_path,
                                                                       capsys, monkeypatch):
    from baselines import Climatology, Persistence, SklearnBaseline

    for name in ("persistence", "climatology", "ridge"):
        assert (run_dir / "models" / f"{name}.skops").is_file(), name

    def no_fit(self, task):
        raise AssertionError("forecast predict fitted a baseline the run stored")

    with monkeypatch.context() as patch:
        for cls in (Climatology, Persistence, SklearnBaseline):
            patch.setattr(cls, "fit", no_fit)
        assert cli.main(["predict", str(run_dir), "--json"]) == 0
    printed = capsys.readouterr()
    stored = pd.DataFrame(json.loads(printed.out)["forecasts"])
    assert "stored no fitted baselines" not in printed.err
    # a run made before baselines were stored: they are fitted again, to the same forecasts
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    for path in (old / "models").glob("*.skops"):
        path.unlink()
    assert cli.main(["predict", str(old), "--json"]) == 0
    printed = capsys.readouterr()
    refitted = pd.DataFrame(json.loads(printed.out)["forecasts"])
    pd.testing.assert_frame_equal(refitted, stored)
    assert printed.err.count("stored no fitted baselines") == 1, printed.err


def test_predict_leads_with_the_headline(run_dir, capsys):
    assert cli.main(["predict", str(run_dir)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "2013-01-01: median" in first and "80 % interval" in first, first
    # whether to warn, at the probability the run's validation rows chose
    warning = RunResult.read(run_dir).pooled["warning"]
    at = f"{warning['probability']:.0%}"
    assert f", WARN (P ≥ {at})" in first or f", no warning (P < {at})" in first, first
    assert cli.main(["predict", str(run_dir), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["warning_probability"] == warning["probability"]
    assert payload["warning_cost_loss"] == 0


@pytest.mark.parametrize("ratio", ["0.05", "0.5", "0"])
def test_predict_warns_at_another_cost_loss_ratio(run_dir, capsys, ratio):
    """The probability is chosen again from the run's stored validation counts: the
    lowest expense at that ratio (0: the best CSI, the run's own choice)."""
    from forecast.warning import choose

    warning = RunResult.read(run_dir).pooled["warning"]
    curve = {row["probability"]: row for row in warning["val_curve"]}
    expected = choose(curve, float(ratio))
    assert cli.main(["predict", str(run_dir), "--json", "--warning-cost-loss", ratio]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["warning_probability"] == expected
    assert payload["warning_cost_loss"] == float(ratio)
    if ratio == "0":
        assert expected == warning["probability"]
    said = f", cost/loss {float(ratio):g})" if ratio != "0" else ")"
    assert all(f"P ≥ {expected:.0%}{said}" in line or f"P < {expected:.0%}{said}" in line
               for line in payload["headline"]), payload["headline"]


def _with_warning(run_dir, tmp_path, change) -> str:
    """A copy of the run whose metrics.json's pooled.warning is ``change``d."""
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["pooled"]["warning"] = change(metrics["pooled"]["warning"])
    (copy / "metrics.json").write_text(json.dumps(metrics))
    return str(copy)


def test_predict_at_a_cost_loss_ratio_says_what_it_cannot_do(run_dir, tmp_path, capsys,
                                                             cli_error):
    # a run that chose no warning probability: the ratio cannot be honoured
    line = cli_error("predict", _with_warning(run_dir, tmp_path / "a", lambda w: None),
                     "--warning-cost-loss", "0.2")
    assert "--warning-cost-loss" in line and "chose no warning probability" in line, line

    # a run that stored a few levels only: chosen among them, and said so
    def few(warning):
        warning["val_curve"] = [row for row in warning["val_curve"]
                                if row["probability"] in (0.1, 0.5, 0.9)]
        return warning

    assert cli.main(["predict", _with_warning(run_dir, tmp_path / "b", few), "--json",
                     "--warning-cost-loss", "0.2"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["warning_probability"] in (0.1, 0.5, 0.9)
    assert "stored the validation counts of 3 warning levels, not every 5 %" in printed.err

    # a ratio at which no level beat always or never acting on the validation days
    from forecast.warning import choose, value

    curve = {row["probability"]: row
             for row in RunResult.read(run_dir).pooled["warning"]["val_curve"]}
    ratio = next(r for r in (0.99, 0.95, 0.9, 0.01, 0.02)
                 if not value(curve[choose(curve, r)], r) > 0)
    assert cli.main(["predict", str(run_dir), "--warning-cost-loss", str(ratio)]) == 0
    err = capsys.readouterr().err
    assert (f"at cost/loss {ratio:g} no warning level was worth more than "
            f"{'never' if ratio > 0.5 else 'always'} acting on the run's validation days") in err


@pytest.mark.parametrize("ratio", ["1", "-0.1", "nan", "a fifth"])
def test_predict_refuses_a_cost_loss_ratio_outside_0_to_1(run_dir, cli_error, ratio):
    line = cli_error("predict", str(run_dir), "--warning-cost-loss", ratio)
    assert "--warning-cost-loss" in line, line


def test_predict_does_not_import_matplotlib(run_dir):
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from forecast.predict import predict_latest;"
            f"table = predict_latest(Path({str(run_dir)!r}));"
            "assert len(table) == 6, len(table);"
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()
    assert out[-1] == "False"


def test_a_failed_run_leaves_nothing_behind(tmp_path, capsys):
    code = cli.main(["run", "--dataset", "synthetic", "--synthetic-end", "2010-01-10",
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "too little history" in err[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_rolling_origin_folds_are_fitted_scored_and_pooled(tmp_path, monkeypatch):
    from forecast import pipeline

    requested = []   # (the fold's test end, the splits of the rows a model forecast)
    real = pipeline.usable_forecasts

    def recording(entry, model, task, rows, outputs=None):
        requested.append((task.splits["test"][1], entry, frozenset(task.split[rows])))
        return real(entry, model, task, rows, outputs)

    monkeypatch.setattr(pipeline, "usable_forecasts", recording)
    overrides = {**SMALL, "models": {"names": ["persistence", "ridge", "mlp"]},
                 "data": {**SMALL["data"], "synthetic_end": "2013-12-31"},
                 "training": {**SMALL["training"], "seeds": 1},
                 "diagnostics": {"capacity_sweep": False, "learning_curve": False},
                 "run": {"out": str(tmp_path)}}
    run_dir = run(load_config(overrides=overrides))
    pooled = RunResult.read(run_dir).pooled
    assert [f["name"] for f in pooled["folds"]] == ["2012", "2013"]
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert set(predictions["fold"]) == {2012, 2013}
    # earlier folds forecast and keep only what the pooled scores read
    assert set(predictions.loc[predictions["fold"] == 2012, "split"]) == {"val", "test"}
    assert set(predictions.loc[predictions["fold"] == 2013, "split"]) == {"train", "val", "test"}
    splits_by_fold = {}
    for test_end, _, splits in requested:
        splits_by_fold.setdefault(str(pd.Timestamp(test_end).year), set()).update(splits)
    assert splits_by_fold == {"2012": {"val", "test"}, "2013": {"train", "val", "test"}}
    assert {entry for _, entry, _ in requested} == {"persistence", "ridge", "mlp"}
    mlp = pooled["models"]["mlp"]["test"]
    test = predictions[(predictions["split"] == "test") & (predictions["model"] == "mlp")]
    assert mlp["n"] == len(test) and set(mlp["rmse_by_fold"]) == {"2012", "2013"}
    assert mlp["rmse"] == pytest.approx(np.sqrt(np.mean((test["y_pred"] - test["y_true"]) ** 2)))
    assert pooled["best_baseline"] == "ridge"
    recommendation = pooled["recommendation"]
    assert recommendation["model"] in {"persistence", "ridge", "mlp", "combination"}
    assert "only the latest is unseen by it" in recommendation["rule"]
    # the rule as at each fold's time: fold 2012's choice from its own validation year
    by_fold = recommendation["by_fold"]
    assert [f["fold"] for f in by_fold] == ["2012", "2013"]
    assert by_fold[0]["validation_folds"] == ["2012"]
    assert by_fold[1]["model"] == recommendation["model"]
    chosen = pd.concat([predictions[(predictions["fold"] == int(f["fold"]))
                                    & (predictions["split"] == "test")
                                    & (predictions["model"] == f["model"])] for f in by_fold])
    assert recommendation["test"]["n"] == len(chosen)
    assert recommendation["test"]["rmse"] == pytest.approx(
        np.sqrt(np.mean((chosen["y_pred"] - chosen["y_true"]) ** 2)))
    report = (run_dir / "report.md").read_text()
    assert "Rolling-origin folds" in report
    assert report.count("fitted again") == 2          # the leaderboard's and the folds' notes
    assert RunResult.read(run_dir).entries["mlp"].info["refit"]["rows"] == "train + val"

    # without the main fold's training rows: the same forecasts of every other row
    requested.clear()
    without = run(load_config(overrides={**overrides, "run": {"out": str(tmp_path),
                                                              "train_forecasts": False}}))
    assert {splits for _, _, splits in requested} == {frozenset({"val", "test"})}
    scored = predictions[predictions["split"] != "train"].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_csv(without / "predictions.csv"), scored)
    again = RunResult.read(without).pooled
    assert again["models"] == pooled["models"]
    assert again["recommendation"] == pooled["recommendation"]


def test_same_config_and_seed_give_the_same_numbers_in_any_number_of_processes(
        run_dir, tmp_path, capsys, monkeypatch):
    # the fixture trains one network after another; here every seed of every network
    # is its own job in one pool of two processes, and one of them writes predictions.csv
    from forecast import pipeline

    monkeypatch.setattr(pipeline, "BACKGROUND_CSV_VALUES", 1000)
    again = run(load_config(overrides={**SMALL, "training": {**SMALL["training"], "jobs": 2},
                                       "run": {"out": str(tmp_path), "name": "again"}}))
    assert ("2 seed(s) on 1 fold(s), then the capacity sweep and the learning curve: "
            "4 fits of the networks and 4 of the diagnostics in 2 processes") in capsys.readouterr().out
    # written in two parts, by the pool's two processes, and joined: the same bytes
    assert (run_dir / "predictions.csv").read_bytes() == (again / "predictions.csv").read_bytes()
    assert not list(again.glob("predictions.csv.part*"))
    assert (RunResult.read(run_dir).entries["gru_seed1"].info["epochs_run"]
            == RunResult.read(again).entries["gru_seed1"].info["epochs_run"])
    for table in ("capacity_sweep", "learning_curve"):   # trained in the background
        pd.testing.assert_frame_equal(pd.read_csv(run_dir / f"diagnostics/{table}.csv"),
                                      pd.read_csv(again / f"diagnostics/{table}.csv"))


def test_a_diverging_network_is_marked_failed_and_the_run_goes_on(tmp_path):
    overrides = {**SMALL, "models": {"names": ["persistence", "ridge", "mlp"]},
                 "training": {**SMALL["training"], "seeds": 1, "learning_rate": 1e12,
                              "gradient_clip": 0.0, "lr_schedule": "none"},
                 "diagnostics": {"capacity_sweep": False, "learning_curve": False},
                 "run": {"out": str(tmp_path)}}
    run_dir = run(load_config(overrides=overrides))
    result = RunResult.read(run_dir)
    assert "diverged" in result.failed["mlp"]
    assert set(result.entries) == {"persistence", "ridge"}
    assert "diverged" in (run_dir / "report.md").read_text()


def test_a_model_with_non_finite_forecasts_is_marked_failed_and_the_run_goes_on(
        tmp_path, monkeypatch):
    from baselines import naive

    def broken(self, task, rows):
        values = np.full(int(rows.sum()), 42.0)
        values[3] = np.nan
        return values

    monkeypatch.setattr(naive.Climatology, "predict", broken)
    overrides = {**SMALL, "models": {"names": ["persistence", "climatology", "ridge"]},
                 "run": {"out": str(tmp_path)}}
    run_dir = run(load_config(overrides=overrides))
    result = RunResult.read(run_dir)
    # one per call: the fit on train forecasts every row, its final fit the test rows
    assert "2 of" in result.failed["climatology"]
    assert "not finite" in result.failed["climatology"]
    assert set(result.entries) == {"persistence", "ridge"}
    assert "not finite" in (run_dir / "report.md").read_text()


def _one_station_csv(tmp_path, hourly: pd.DataFrame) -> dict:
    """Config overrides for a small run (persistence, ridge, an mlp with one seed) of
    ``hourly`` (2010-2012) written to a one-station CSV: trained to 2011, validated on
    2012's first half, tested on its second."""
    csv = tmp_path / "station.csv"
    hourly.assign(time=hourly["time"].dt.strftime("%Y-%m-%d %H:%M")).to_csv(csv, index=False)
    return {**SMALL, "models": {"names": ["persistence", "ridge", "mlp"]},
            "data": {"dataset": "csv", "path": str(csv), "station": "S",
                     "time_column": "time",
                     "columns": {c: c for c in ("pm25", "temp", "dewp", "pres",
                                                "wind_speed", "wind_dir", "rain")}},
            "split": {"train_end": "2011-12-31", "val_end": "2012-06-30",
                      "test_end": "2012-12-31"},
            "training": {**SMALL["training"], "seeds": 1},
            "diagnostics": {"capacity_sweep": False, "learning_curve": False},
            "run": {"out": str(tmp_path / "reports")}}


def test_a_csv_whose_pressure_is_empty_in_training_runs_and_drops_it(tmp_path):
    """Pressure recorded only from the validation year on: every pressure feature is
    dropped for every model, so no network meets raw hPa it was never scaled for."""
    from forecast.synthetic import generate_hourly

    hourly = generate_hourly(seed=4, start="2010-01-01", end="2012-12-31")
    hourly.loc[hourly["time"] < "2012-01-01", "pres"] = np.nan
    run_dir = run(load_config(overrides=_one_station_csv(tmp_path, hourly)))
    result = RunResult.read(run_dir)
    dropped = result.dropped_features
    assert {"pres_mean", "pres_change", "pres_trend_6h", "sequence:pres_mean"} <= set(dropped)
    assert not [f for f in result.features if f.startswith("pres")]
    assert result.failed == {} and np.isfinite(result.entries["mlp"].score("test"))
    report = (run_dir / "report.md").read_text()
    assert ("Features without information in the main split's training years (all missing "
            "or constant, as is every feature of a column the data do not have or the run "
            "does not read), dropped for every model: ") in report and "pres_mean" in report


def test_a_csv_from_another_region_runs_with_its_own_calendar(tmp_path):
    """German holidays and a heating season of 1 Oct - 30 Apr: the run stores both in
    config.toml, its report names them, and forecast predict rebuilds the task with them
    from the stored config (the target day's calendar: Christmas Day flagged, China's
    National Day not)."""
    from forecast.predict import latest_task, predict_latest
    from forecast.synthetic import generate_hourly

    hourly = generate_hourly(seed=4, start="2010-01-01", end="2012-12-31")
    overrides = _one_station_csv(tmp_path, hourly)
    overrides["task"] = {"holidays": "DE", "heating_season": ["10-01", "04-30"]}
    overrides["split"]["folds"] = 1
    run_dir = run(load_config(overrides=overrides))
    stored = tomllib.loads((run_dir / "config.toml").read_text())["task"]
    assert stored["holidays"] == "DE" and stored["heating_season"] == ["10-01", "04-30"]
    result = RunResult.read(run_dir)
    assert {"holiday", "heating_season"} <= set(result.features)
    assert result.failed == {} and np.isfinite(result.entries["mlp"].score("test"))
    assert ("| Calendar | holidays: DE; heating season 1 Oct – 30 Apr |"
            in (run_dir / "report.md").read_text())
    # the calibrations split, where they do, by the same season, and store its days
    for name, entry in result.entries.items():
        saved = entry.info["calibration"]
        assert saved["heating_season_days"] == (["10-01", "04-30"] if saved["heating_season"]
                                                else None), name

    task, _ = latest_task(load_config(run_dir / "config.toml"), result)
    target = task.rows.set_index("target_day")
    for name, flags in (("holiday", {"2012-12-25": 1, "2012-10-01": 0, "2012-10-03": 1}),
                        ("heating_season", {"2012-09-30": 0, "2012-10-01": 1,
                                            "2012-04-30": 1, "2012-05-01": 0})):
        column = pd.Series(task.X[:, task.feature_names.index(name)], index=target.index)
        for day, flag in flags.items():
            assert column[pd.Timestamp(day)] == flag, (name, day)
    table = predict_latest(run_dir)
    assert set(table["model"]) >= {"persistence", "ridge", "mlp"}
    assert np.isfinite(table["pm25_forecast"]).all()


def test_other_targets_in_the_test_year_leave_the_recommendation_unchanged(tmp_path):
    """Black box: the same data but every PM2.5 value of the last test year replaced;
    rerun; the test scores move, the recommendation does not."""
    from forecast.synthetic import generate_hourly

    hourly = generate_hourly(seed=6, start="2010-01-01", end="2013-12-31")
    hourly = hourly.assign(time=hourly["time"].dt.strftime("%Y-%m-%d %H:%M"))
    results = []
    for name, factor in (("original", 1.0), ("replaced", 1.7)):
        frame = hourly.copy()
        last_year = frame["time"] >= "2013-01-02"
        frame.loc[last_year, "pm25"] = frame.loc[last_year, "pm25"] * factor + 15.0
        csv = tmp_path / f"{name}.csv"
        frame.to_csv(csv, index=False)
        overrides = {**SMALL, "models": {"names": ["persistence", "climatology", "ridge",
                                                   "mlp"]},
                     "data": {"dataset": "csv", "path": str(csv), "station": "S",
                              "time_column": "time",
                              "columns": {c: c for c in ("pm25", "temp", "dewp", "pres",
                                                         "wind_speed", "wind_dir", "rain")}},
                     "training": {**SMALL["training"], "seeds": 1},
                     "diagnostics": {"capacity_sweep": False, "learning_curve": False},
                     "run": {"out": str(tmp_path / "reports"), "name": name}}
        results.append(RunResult.read(run(load_config(overrides=overrides))))
    original, replaced = results
    assert len(original.folds) == 2
    assert original.pooled["models"]["ridge"]["test"]["rmse"] != pytest.approx(
        replaced.pooled["models"]["ridge"]["test"]["rmse"])
    assert original.recommendation["model"] == replaced.recommendation["model"]
    assert original.recommendation["comparisons"] == replaced.recommendation["comparisons"]


def test_the_networks_spread_is_tested_on_the_validation_rows(run_dir):
    """The worst network against the best on the pooled validation rows, recomputed from
    predictions.csv; the report's verdict on the architecture quotes it."""
    result = RunResult.read(run_dir)
    spread = result.pooled["network_spread"]
    rmse = {n: result.pooled["models"][n]["val"]["rmse"] for n in ("mlp_ensemble", "gru_ensemble")}
    assert spread["best"] == min(rmse, key=rmse.get) and spread["worst"] == max(rmse, key=rmse.get)
    assert spread["rmse_diff"] == pytest.approx(rmse[spread["worst"]] - rmse[spread["best"]])
    low, high = spread["rmse_diff_ci"]
    assert low <= spread["rmse_diff"] <= high and 0 <= spread["dm_p_value"] <= 1
    inputs = next(line for line in (run_dir / "report.md").read_text().splitlines()
                  if line.startswith("- **Inputs**"))
    assert f"{spread['worst']} {spread['rmse_diff']:+.2f} µg/m³ from {spread['best']}" in inputs
    assert ("matters here" in inputs) == spread["significant"]


def test_the_test_rival_is_the_most_accurate_candidate_on_the_pooled_test_periods(run_dir):
    """What the report's confirmation quotes when neither model is the best baseline: the
    candidate other than the recommended one with the lowest pooled test RMSE, paired
    with it."""
    result = RunResult.read(run_dir)
    chosen = result.recommendation["model"]
    test_rmse = {n: result.pooled["models"][n]["test"]["rmse"]
                 for n in result.recommendation["order"]}
    rival = result.pooled["test_rival"]
    assert rival["model"] == min((n for n in test_rmse if n != chosen), key=test_rmse.get)
    assert rival["rmse_diff"] == pytest.approx(test_rmse[rival["model"]] - test_rmse[chosen])
    low, high = rival["rmse_diff_ci"]
    assert low <= rival["rmse_diff"] <= high and 0 <= rival["dm_p_value"] <= 1


def test_the_combination_bound_is_fitted_on_the_validation_rows_it_scores(run_dir):
    """Weights fitted fold by fold on the validation rows they score: recomputed from
    predictions.csv, below every member and the cross-fitted combination; quoted in the
    report's Complementarity line."""
    result = RunResult.read(run_dir)
    bound = result.pooled["combination_bound"]
    assert bound["members"] == result.entries["combination"].members
    predictions = pd.read_csv(run_dir / "predictions.csv", dtype={"fold": str})
    val = predictions[predictions["split"] == "val"]
    squared = []
    for fold, weights in bound["weights"].items():
        mine = val[val["fold"] == fold].pivot_table(index="date", columns="model",
                                                    values=["y_pred", "y_true"])
        combined = sum(w * mine["y_pred"][m] for m, w in weights.items())
        squared.append((np.maximum(combined, 0) - mine["y_true"].iloc[:, 0]) ** 2)
    assert bound["rmse"] == pytest.approx(float(np.sqrt(pd.concat(squared).mean())), abs=1e-3)
    val_rmse = {m: result.pooled["models"][m]["val"]["rmse"]
                for m in [*bound["members"], "combination"]}
    assert all(bound["rmse"] <= v + 1e-9 for v in val_rmse.values()), val_rmse
    line = next(line for line in (run_dir / "report.md").read_text().splitlines()
                if line.startswith("- **Complementarity**"))
    assert f"give {bound['rmse']:.2f}" in line


def test_epochs_that_sample_their_rows_are_trained_refitted_and_reported(tmp_path):
    # batches grow from 8 to at most 16 rows, epochs take 4 steps: each draws 64 rows
    overrides = {**SMALL, "models": {"names": ["persistence", "mlp"]},
                 "training": {**SMALL["training"], "seeds": 1, "batch_size": 8,
                              "max_steps_per_epoch": 4, "max_batch_size": 16,
                              "max_val_rows": 30},
                 "split": {"folds": 1},
                 "diagnostics": {"capacity_sweep": False, "learning_curve": False},
                 "run": {"out": str(tmp_path), "name": "sampled"}}
    run_dir = run(load_config(overrides=overrides))
    result = RunResult.read(run_dir)
    info = result.entries["mlp"].info
    assert info["batch_size_used"] == 16 and info["rows_per_epoch"] == 64
    assert info["training_rows"] > 64 and info["refit"]["epochs"] >= 1
    report = (run_dir / "report.md").read_text()
    assert (f"Each epoch trained on a fresh random sample of 64 of its "
            f"{info['training_rows']:,} training rows, in batches of 16") in report
    # early stopping read 30 validation rows; every validation row is still scored
    val_rows = result.splits["val"]["scored_days"]
    assert info["val_loss_rows"] == 30 < val_rows
    assert (f"read a fixed random sample of 30 of the {val_rows:,} validation rows "
            "(training.max_val_rows)") in report
    written = pd.read_csv(run_dir / "predictions.csv")
    assert ((written["model"] == "mlp") & (written["split"] == "val")).sum() >= val_rows


def test_the_folds_tables_concatenate_as_categories_and_write_the_same_csv(tmp_path):
    from forecast.constants import PREDICTION_TEXT_COLUMNS
    from forecast.pipeline import concat_predictions

    def fold(name, models, stations):
        rows = [{"fold": name, "date": pd.Timestamp("2014-01-01") + pd.Timedelta(days=d),
                 "station": s, "split": "val" if d < 2 else "test", "model": m,
                 "y_true": 10.0 + d, "y_pred": 0.1 * d + 1 / 3}
                for m in models for s in stations for d in range(4)]
        return pd.DataFrame(rows)

    text = [fold("2014", ["ridge", "mlp"], ["B", "A"]), fold("2015", ["hgb", "ridge"], ["C"])]
    tables = [t.astype({c: "category" for c in PREDICTION_TEXT_COLUMNS}) for t in text]
    joined = concat_predictions(tables)
    for column in PREDICTION_TEXT_COLUMNS:
        assert isinstance(joined[column].dtype, pd.CategoricalDtype)
    assert list(joined["model"].cat.categories) == ["hgb", "mlp", "ridge"]
    expected = pd.concat(text, ignore_index=True)
    pd.testing.assert_frame_equal(joined.astype({c: str for c in PREDICTION_TEXT_COLUMNS}),
                                  expected.astype({c: str for c in PREDICTION_TEXT_COLUMNS}))
    joined.to_csv(tmp_path / "a.csv", index=False, date_format="%Y-%m-%d")
    expected.to_csv(tmp_path / "b.csv", index=False, date_format="%Y-%m-%d")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_the_scored_share_counts_the_station_days_the_split_holds(run_dir):
    result = RunResult.read(run_dir)
    report = (run_dir / "report.md").read_text()
    for name, split in result.splits.items():
        assert 0 < split["scored_days"] <= split["station_days"]
        assert (f"| Scored days, {name} | {split['scored_days']:,} of "
                f"{split['station_days']:,} station-days") in report


def test_the_run_says_what_each_model_relies_on(run_dir):
    """Every model that reads inputs, a network as its seed ensemble, on the main fold's
    validation rows; the report's section tables it."""
    result = RunResult.read(run_dir)
    importance = result.diagnostics["importance"]
    assert set(importance) == {"ridge", "mlp_ensemble", "gru_ensemble"}
    for name, scores in importance.items():
        assert scores["rows"] == result.splits["val"]["scored_days"]
        assert scores["rmse"] == pytest.approx(result.entries[name].metrics["val"]["rmse"],
                                               rel=1e-4)
        groups = {g["group"] for g in scores["groups"]}
        assert {"PM2.5 daily means up to day D", "wind up to day D", "calendar"} <= groups
        for group in scores["groups"]:      # intervals over the days, paired between models
            assert group["rise_ci"][0] <= group["rise_ci"][1]
            assert set(group["against"]) == set(importance) - {name}
    assert "What the models rely on" in (run_dir / "report.md").read_text()
