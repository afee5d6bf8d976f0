"""Tests for forecast.report: a small run directory is generated here, then reported on."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.evaluation import evaluate
from forecast.report import best_baseline, model_kinds, ranked, verdict, write_report

BASELINE_NOISE = {"ridge": 20.0, "hgb": 23.0, "linear": 21.0}


def _observed(dates: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """A positive, seasonal, autocorrelated daily-mean PM2.5 series (µg/m³)."""
    doy = dates.dayofyear.to_numpy()
    season = 80 + 40 * np.cos(2 * np.pi * (doy - 15) / 365.25)
    noise = np.zeros(len(dates))
    for i in range(1, len(dates)):
        noise[i] = 0.6 * noise[i - 1] + rng.normal(0, 30)
    return np.clip(season + noise, 3, None)


def _curve(rng: np.random.Generator, epochs: int, overfit: bool) -> pd.DataFrame:
    epoch = np.arange(1, epochs + 1)
    train = 0.9 * np.exp(-epoch / 8) + 0.2 + rng.normal(0, 0.005, epochs)
    val = 0.9 * np.exp(-epoch / 8) + 0.3 + (0.004 * epoch if overfit else 0.0)
    return pd.DataFrame({"epoch": epoch, "train_loss": train, "val_loss": val,
                         "grad_norm": 2 * np.exp(-epoch / 15) + 0.3,
                         "lr": np.where(epoch < epochs // 2, 3e-3, 1.5e-3)})


def make_run(root: Path, *, winner: str = "mlp", synthetic: bool = True,
             networks: bool = True, seeds: int = 3, mode: str = "observed",
             n_stations: int = 1, failed: bool = True, backtest: bool = True,
             seed: int = 0) -> Path:
    """Write a small but complete run directory; the best model is ``winner``.

    ``winner="mlp"`` makes the mlp seeds clearly better than every baseline,
    ``winner="ridge"`` makes them clearly worse.
    """
    rng = np.random.default_rng(seed)
    run = Path(root)
    run.mkdir(parents=True, exist_ok=True)
    dates = pd.date_range("2018-01-01", "2020-12-30", freq="D")
    split = np.where(dates < "2019-01-01", "train", np.where(dates < "2020-01-01", "val", "test"))
    stations = [f"Station {k}" for k in range(n_stations)]
    shared_sd, member_sd = (6.0, 6.0) if winner == "mlp" else (30.0, 15.0)
    frames = []
    for station in stations:
        y = _observed(dates, rng)
        preds = {"persistence": np.r_[y[0], y[:-1]],
                 "climatology": np.full(len(y), y[split == "train"].mean())}
        for name, sd in BASELINE_NOISE.items():
            preds[name] = np.clip(y + rng.normal(0, sd, len(y)), 0, None)
        if networks:
            members, shared = [], rng.normal(0, shared_sd, len(y))
            for k in range(seeds):
                entry = "mlp" if seeds == 1 else f"mlp_seed{k}"
                preds[entry] = np.clip(y + shared + rng.normal(0, member_sd, len(y)), 0, None)
                members.append(preds[entry])
            if seeds > 1:
                preds["mlp_ensemble"] = np.mean(members, axis=0)
        for name, values in preds.items():
            frames.append(pd.DataFrame({"date": dates, "station": station, "split": split,
                                        "model": name, "y_true": y, "y_pred": values}))
    predictions = pd.concat(frames, ignore_index=True)
    predictions.to_csv(run / "predictions.csv", index=False, date_format="%Y-%m-%d")
    scores = evaluate(predictions, n_boot=100, seed=0)
    info = {"persistence": {"n_parameters": 0, "fit_seconds": 0.0},
            "climatology": {"n_parameters": 366, "fit_seconds": 0.01},
            "ridge": {"n_parameters": 89, "fit_seconds": 0.3, "chosen": {"alpha": 10.0}},
            "linear": {"n_parameters": 89, "fit_seconds": 0.05},
            "hgb": {"n_parameters": 5336, "fit_seconds": 4.2}}
    groups: dict = {}
    if networks:
        entries = ["mlp"] if seeds == 1 else [f"mlp_seed{k}" for k in range(seeds)]
        for k, entry in enumerate(entries):
            info[entry] = {"n_parameters": 12_801, "fit_seconds": 30.0 + k, "best_epoch": 20,
                           "epochs_run": 35, "status": "ok"}
        if seeds > 1:
            info["mlp_ensemble"] = {"n_parameters": 12_801 * seeds,
                                    "fit_seconds": sum(30.0 + k for k in range(seeds)),
                                    "members": entries}
            entries = [*entries, "mlp_ensemble"]
        groups["mlp"] = entries
    for entry, value in info.items():
        scores["models"][entry]["info"] = value
    network_summary = {}
    for name, entries in groups.items():
        members = [e for e in entries if not e.endswith("_ensemble")]
        summary = {"entries": entries, "seeds": len(members)}
        for part in ("val", "test"):
            values = [scores["models"][e][part]["rmse"] for e in members]
            summary[f"{part}_rmse_mean"] = float(np.mean(values))
            summary[f"{part}_rmse_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        network_summary[name] = summary
    diagnostics: dict = {}
    if networks:
        (run / "curves").mkdir()
        (run / "diagnostics").mkdir()
        diagnostics["curves"] = {}
        for k, entry in enumerate(e for e in groups["mlp"] if not e.endswith("_ensemble")):
            _curve(rng, 35, overfit=k == 0).to_csv(run / "curves" / f"{entry}.csv", index=False)
            diagnostics["curves"][entry] = {
                "verdict": "overfits" if k == 0 else "good fit", "best_epoch": 20,
                "text": f"validation loss bottoms out at epoch 20 (seed {k})"}
        if seeds > 1:
            shutil.copyfile(run / "curves" / "mlp_seed0.csv", run / "curves" / "mlp.csv")
        pd.DataFrame({"hidden": [8, 32, 128], "layers": [1, 2, 3],
                      "n_parameters": [600, 4000, 40000],
                      "best_train_loss": [0.40, 0.25, 0.10], "best_val_loss": [0.45, 0.33, 0.38],
                      "best_epoch": [40, 22, 9]}).to_csv(
            run / "diagnostics" / "capacity_sweep.csv", index=False)
        pd.DataFrame({"fraction": [0.25, 0.5, 0.75, 1.0], "n_train": [91, 182, 273, 365],
                      "best_train_loss": [0.15, 0.2, 0.22, 0.24],
                      "best_val_loss": [0.5, 0.42, 0.38, 0.36]}).to_csv(
            run / "diagnostics" / "learning_curve.csv", index=False)
        diagnostics["capacity_sweep"] = {"model": "mlp",
                                         "text": "the middle size has the lowest val loss"}
        diagnostics["learning_curve"] = {"model": "mlp", "verdict": "more data helps",
                                         "text": "val loss still falls at the full size"}
    n_days = {"train": 365, "val": 365, "test": 365}
    metrics = {
        "dataset": "synthetic" if synthetic else "beijing",
        "synthetic": synthetic,
        "mode": mode,
        "horizon": 1,
        "stations": stations,
        "splits": {"train": {"start": "2018-01-01", "end": "2018-12-31",
                             "scored_days": n_days["train"] * n_stations},
                   "val": {"start": "2019-01-01", "end": "2019-12-31",
                           "scored_days": n_days["val"] * n_stations},
                   "test": {"start": "2020-01-01", "end": "2020-12-30",
                            "scored_days": n_days["test"] * n_stations}},
        "data": {"stations": stations, "start": "2017-12-01 00:00", "end": "2020-12-30 23:00",
                 "hourly_rows": 26_304 * n_stations, "missing_pm25": 812 * n_stations,
                 "negative_pm25": 3, "days": 1096 * n_stations, "valid_days": 1080 * n_stations,
                 "files": {"data/raw/example.csv": "ab" * 32}, "units": {"rain": "mm"},
                 "min_hours": 18},
        "features": ["pm25_lag1", "temp_mean"],
        "versions": {"pm25_forecast": "0.1.0", "python": "3.11"},
        "seed": 0,
        "models": scores["models"],
        "best_baseline": scores["best_baseline"],
        "comparisons": scores["comparisons"],
        "networks": network_summary,
        "failed": ({"gru_seed0": "loss became NaN at epoch 3", "gru": "every seed failed"}
                   if failed else {}),
        "diagnostics": diagnostics,
        "backtest": ([{"fold": str(year), "train_end": f"{year - 2}-12-31",
                       "val_end": f"{year - 1}-12-31", "test_end": f"{year}-12-31",
                       "model": model, "n": 365, "rmse": rmse}
                      for year, extra in ((2019, 0.0), (2020, 1.0))
                      for model, rmse in (("persistence", 60.0 + extra),
                                          ("ridge", 40.0 + extra), ("mlp", 38.0 + 2 * extra))]
                     if backtest else []),
        "wall_seconds": 12.5,
    }
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (run / "config.toml").write_text("[training]\nseeds = 3\n\n[evaluation]\nn_boot = 100\n")
    return run


def _verdict_html(html_text: str) -> str:
    match = re.search(r'<div class="verdict"[^>]*>(.*?)</div>', html_text, re.S)
    assert match, "no verdict block"
    return re.sub(r"<[^>]+>", "", match.group(1))


EXTERNAL = re.compile(r"""(?:\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*"""
                      r"""|url\(\s*["']?\s*|@import\s+["']?)(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory) -> Path:
    run = make_run(tmp_path_factory.mktemp("mlp") / "run", winner="mlp")
    write_report(run)
    return run


@pytest.fixture(scope="module")
def ridge_run(tmp_path_factory) -> Path:
    run = make_run(tmp_path_factory.mktemp("ridge") / "run", winner="ridge", synthetic=False,
                   seed=1)
    write_report(run)
    return run


def test_writes_both_files_and_figures(mlp_run):
    html_path, md_path = write_report(mlp_run)
    assert html_path == mlp_run / "report.html" and md_path == mlp_run / "report.md"
    assert html_path.stat().st_size > 10_000 and md_path.stat().st_size > 1_000
    figures = sorted(p.name for p in (mlp_run / "figures").glob("*.png"))
    for name in ("curves_mlp.png", "capacity_sweep.png", "learning_curve.png",
                 "test_timeseries.png", "test_scatter.png", "season_rmse.png",
                 "exceedance.png"):
        assert name in figures
    for png in (mlp_run / "figures").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size < 300_000


def test_html_is_self_contained_and_mobile_friendly(mlp_run):
    text = (mlp_run / "report.html").read_text()
    assert not EXTERNAL.search(text), EXTERNAL.search(text).group(0)
    assert "<script" not in text.lower()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == len(re.findall(r"<img\b", text)) >= 7
    assert "max-width:100%" in text and "overflow-x:auto" in text
    assert text.count("<div class=\"table-wrap\">") == len(re.findall(r"<table\b", text))


def test_markdown_references_figures_by_relative_path(mlp_run):
    md = (mlp_run / "report.md").read_text()
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert refs and all(r.startswith("figures/") and r.endswith(".png") for r in refs)
    assert all((mlp_run / r).is_file() for r in refs)
    assert "| Model | Kind | Val RMSE |" in md
    html_text = (mlp_run / "report.html").read_text()
    assert len(refs) == len(re.findall(r"<img\b", html_text))


def test_verdict_names_lowest_validation_rmse_network(mlp_run):
    metrics = json.loads((mlp_run / "metrics.json").read_text())
    best = ranked(metrics["models"], "val")[0]
    assert best.startswith("mlp")
    text = _verdict_html((mlp_run / "report.html").read_text())
    assert f"is that of {best}" in text
    assert "did not earn their place" not in text
    assert f"Recommendation: {best}." in text
    assert "significant" in text
    rmse = metrics["models"][best]["test"]["rmse"]
    assert f"{rmse:.1f}" in text
    md = (mlp_run / "report.md").read_text()
    assert f"**Recommendation: {best}.**" in md


def test_verdict_says_baseline_wins_when_networks_lose(mlp_run, ridge_run):
    metrics = json.loads((ridge_run / "metrics.json").read_text())
    assert ranked(metrics["models"], "val")[0] == "ridge"
    text = _verdict_html((ridge_run / "report.html").read_text())
    assert "is that of ridge (a baseline)" in text
    assert "did not earn their place" in text
    assert "recommend the baseline ridge" in text
    assert "Recommendation: ridge." in text
    assert text != _verdict_html((mlp_run / "report.html").read_text())


def test_verdict_follows_the_numbers_not_names(mlp_run):
    metrics = json.loads((mlp_run / "metrics.json").read_text())
    best = ranked(metrics["models"], "val")[0]
    text, recommended = verdict(metrics)
    assert recommended == best
    # The gain is no longer significant: the baseline must be recommended instead.
    changed = copy.deepcopy(metrics)
    for c in changed["comparisons"]:
        if c["model"] == best and c["split"] == "test":
            c["significant"] = False
            c["dm_p_value"] = 0.31
            c["rmse_diff_ci"] = [-3.0, 1.0]
    bb = best_baseline(changed)
    text2, recommended2 = verdict(changed)
    assert recommended2 == bb and text2 != text
    assert "not significant" in text2 and "did not earn their place" in text2
    # Make ridge the lowest validation RMSE: the verdict now names ridge.
    changed = copy.deepcopy(metrics)
    changed["models"]["ridge"]["val"]["rmse"] = 1.0
    text3, recommended3 = verdict(changed)
    assert recommended3 == "ridge" and "is that of **ridge**" in text3
    # Forecast mode is labelled as perfect prognosis.
    changed["mode"] = "forecast"
    assert "perfect forecast" in verdict(changed)[0]


def test_test_year_disagreement_is_reported(mlp_run):
    metrics = json.loads((mlp_run / "metrics.json").read_text())
    best = ranked(metrics["models"], "val")[0]
    assert "test year confirms the choice" in verdict(metrics)[0]
    changed = copy.deepcopy(metrics)
    changed["models"]["hgb"]["test"]["rmse"] = 0.5
    text, _ = verdict(changed)
    assert "does not confirm" in text and "hgb" in text and best in text


def test_rebuild_from_directory_alone_is_identical(tmp_path):
    run = make_run(tmp_path / "run", winner="ridge", n_stations=2, seed=3)
    write_report(run)
    first = {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    copy_dir = tmp_path / "elsewhere"
    shutil.copytree(run, copy_dir)
    shutil.rmtree(copy_dir / "figures")
    (copy_dir / "report.html").unlink()
    (copy_dir / "report.md").unlink()
    write_report(copy_dir)
    write_report(copy_dir)
    second = {p.relative_to(copy_dir): p.read_bytes()
              for p in sorted(copy_dir.rglob("*")) if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_synthetic_label(mlp_run, ridge_run):
    html_text = (mlp_run / "report.html").read_text()
    assert 'class="banner"' in html_text and "SYNTHETIC" in html_text
    assert "SYNTHETIC" in html_text.split("<h2")[0]  # before the first section
    assert "SYNTHETIC" in (mlp_run / "report.md").read_text()
    assert "SYNTHETIC" not in (ridge_run / "report.html").read_text()


def test_sections_and_content(mlp_run):
    md = (mlp_run / "report.md").read_text()
    for heading in ("Verdict", "What was run", "Leaderboard", "Training curves",
                    "Capacity and data", "The test period in detail",
                    "Rolling-origin backtest", "Data quality"):
        assert re.search(rf"^## \d+\. {heading}$", md, re.M), heading
    assert "mlp (3 seeds)" in md and "±" in md
    assert "loss became NaN at epoch 3" in md  # failed networks with reasons
    assert "ab" * 32 in md  # file checksum
    assert "18 of 24" in md
    assert "validation loss bottoms out at epoch 20 (seed 1)" in md
    assert "the middle size has the lowest val loss" in md
    assert "val loss still falls at the full size" in md
    assert "POD" in md and "CSI" in md and "Category accuracy" in md
    assert "Folds won" in md
    metrics = json.loads((mlp_run / "metrics.json").read_text())
    kinds = model_kinds(metrics)
    assert kinds["mlp_ensemble"] == "ensemble" and kinds["mlp_seed0"] == "network"
    assert kinds["ridge"] == "baseline"


def test_forecast_mode_is_labelled(tmp_path):
    run = make_run(tmp_path / "run", mode="forecast", networks=False, backtest=False)
    html_path, md_path = write_report(run)
    md = md_path.read_text()
    assert "perfect forecast — an upper bound on what a real weather forecast gives" in md
    assert "perfect prognosis" in html_path.read_text()


def test_runs_without_any_network_keys(tmp_path):
    run = make_run(tmp_path / "run", networks=False, failed=False, backtest=False)
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("networks", "failed", "diagnostics", "backtest", "versions", "comparisons"):
        metrics.pop(key)
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "config.toml").unlink()
    html_path, md_path = write_report(run)
    md = md_path.read_text()
    assert "No network was run" in md
    assert "Training curves" in md and "Rolling-origin backtest" not in md
    assert "<img" in html_path.read_text()


def test_one_seed_and_missing_predictions(tmp_path):
    run = make_run(tmp_path / "run", seeds=1, failed=False)
    (run / "predictions.csv").unlink()
    html_path, md_path = write_report(run)
    md = md_path.read_text()
    assert "| mlp | network |" in md
    assert "seeds)" not in md
    assert "predictions.csv is missing" in md
    assert "figures/curves_mlp.png" in md


def test_every_network_failed(tmp_path):
    run = make_run(tmp_path / "run", networks=False, failed=True)
    _, md_path = write_report(run)
    md = md_path.read_text()
    assert "No network produced a forecast" in md
    assert "gru_seed0" in md and "every seed failed" in md


def test_not_a_run_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        write_report(tmp_path)
