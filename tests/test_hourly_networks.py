"""The networks over the hourly record (gru_hourly, lstm_hourly, tcn_hourly): the hourly
window of the task, fit and predict, save/load, determinism, no leakage from after the
issue time, and the options that build the window only when a model reads it.

Every network trains for 2 epochs on ~180 days of synthetic data (two CPU cores: a few
seconds each).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import cheap_hgb_hourly, reverse_wind

import models
from forecast import daily, registry
from forecast import task as T
from forecast.config import DEFAULTS, hourly_hours, load_config
from forecast.errors import DataError
from forecast.synthetic import generate_hourly

HOURLY_KINDS = ("gru_hourly", "lstm_hourly", "tcn_hourly")
SPLIT_ENDS = {"train_end": "2010-04-15", "val_end": "2010-05-31", "test_end": "2010-06-30"}
HOURS = 72
D0 = pd.Timestamp("2010-06-10")              # an issue day in the test split
T_END = D0 + pd.Timedelta(hours=23)          # the issue time: the end of day D0


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def build(hourly: pd.DataFrame, hours: int = HOURS) -> T.ForecastTask:
    return T.build_task(hourly, daily.to_daily(hourly), dataset="synthetic",
                        hourly_hours=hours, **SPLIT_ENDS)


@pytest.fixture(scope="module")
def hourly_frame() -> pd.DataFrame:
    return generate_hourly(seed=3, start="2010-01-01", end="2010-06-30")


@pytest.fixture(scope="module")
def task(hourly_frame) -> T.ForecastTask:
    return build(hourly_frame)


def config(**training) -> dict:
    return {"training": {**DEFAULTS["training"], "max_epochs": 2, "hidden": 8, "layers": 1,
                         "batch_size": 32, "progress_bar": False, "accelerator": "cpu",
                         **training}}


def network(kind: str, seed: int = 0, **training) -> models.NetworkForecaster:
    return models.NetworkForecaster.from_config(kind, config(**training), seed=seed)


def all_rows(task: T.ForecastTask) -> np.ndarray:
    return np.ones(len(task.y), dtype=bool)


@pytest.fixture(scope="module")
def fitted(task) -> dict[str, models.NetworkForecaster]:
    return {kind: network(kind).fit(task) for kind in HOURLY_KINDS}


# ------------------------------------------------------------------ the hourly window


def test_the_window_is_the_last_hours_up_to_the_end_of_the_issue_day(make_hourly):
    frame = make_hourly("2010-01-01", 40, temp=lambda d, h: 100.0 * d + h)  # pm25 10d + h
    task = T.build_task(frame, daily.to_daily(frame), dataset="csv", hourly_hours=30,
                        train_end="2010-01-25", val_end="2010-02-01", test_end="2010-02-09")
    assert task.hourly.shape == (len(task.y), 30, len(T.HOURLY_SEQUENCE_FEATURES))
    assert task.hourly.dtype == np.float32 and task.hourly_names == list(
        T.HOURLY_SEQUENCE_FEATURES)
    row = np.flatnonzero((task.rows["issue_day"] == "2010-01-20").to_numpy())[0]
    d = 19                                                   # 2010-01-20 is day 19
    temp = task.hourly[row, :, task.hourly_names.index("temp")]
    # oldest first: 18:00 of day D − 1 .. 23:00 of day D
    assert temp.tolist() == [100.0 * (d - 1) + h for h in range(18, 24)] + [
        100.0 * d + h for h in range(24)]
    pm25 = task.hourly[row, :, task.hourly_names.index("pm25")]
    assert pm25[-1] == 10.0 * d + 23
    # in forecast mode the window runs on to the end of the target day: its weather, and
    # no PM2.5 (unknown at the issue time)
    ahead = T.build_task(frame, daily.to_daily(frame), dataset="csv", hourly_hours=30,
                         mode="forecast", train_end="2010-01-25", val_end="2010-02-01",
                         test_end="2010-02-09")
    assert ahead.hourly.shape == (len(ahead.y), 30 + 24, len(T.HOURLY_SEQUENCE_FEATURES))
    np.testing.assert_array_equal(ahead.hourly[row, :30], task.hourly[row])
    assert ahead.hourly[row, 30:, task.hourly_names.index("temp")].tolist() == [
        100.0 * (d + 1) + h for h in range(24)]
    assert np.isnan(ahead.hourly[row, 30:, task.hourly_names.index("pm25")]).all()
    # no window is built unless asked for
    plain = T.build_task(frame, daily.to_daily(frame), dataset="csv",
                         train_end="2010-01-25", val_end="2010-02-01", test_end="2010-02-09")
    assert plain.hourly is None and plain.hourly_names == []


def test_the_window_is_built_only_when_a_requested_model_reads_it():
    assert not set(HOURLY_KINDS) & set(DEFAULTS["models"]["names"])  # opt-in, not default
    assert set(HOURLY_KINDS) <= set(registry.NETWORK_MODELS)
    assert hourly_hours(load_config()) == 0
    chosen = load_config(overrides={"models": {"names": ["ridge", "tcn_hourly"]}})
    assert hourly_hours(chosen) == 72
    longer = load_config(overrides={"models": {"names": ["gru_hourly"]},
                                    "task": {"hourly_hours": 48}})
    assert hourly_hours(longer) == 48
    forced = load_config(overrides={"task": {"hourly_sequence": True}})
    assert hourly_hours(forced) == 72
    swept = load_config(overrides={"diagnostics": {"sweep_model": "gru_hourly"}})
    assert hourly_hours(swept) == 72
    with pytest.raises(DataError, match="task.hourly_hours must be at least 1"):
        load_config(overrides={"task": {"hourly_hours": 0}})


def test_the_registry_knows_which_networks_read_the_window():
    from models.networks import NETWORKS

    for name in registry.NETWORK_MODELS:
        assert registry.spec(name).hourly == NETWORKS[name].reads_hourly, name
    # (whether any reads the whole window, the most hours up to the issue time any other reads)
    assert registry.hourly_hours_read(["ridge", "gru_hourly"]) == (True, 0)
    assert registry.hourly_hours_read(["ridge", "gru", "tcn"]) == (False, 0)
    assert registry.hourly_hours_read(["hgb_hourly", "gru"]) == (False, 24)
    assert registry.hourly_hours_read(["hgb_hourly", "tcn_hourly"]) == (True, 24)


# ------------------------------------------------------------------ fit / predict


@pytest.mark.parametrize("kind", HOURLY_KINDS)
def test_an_hourly_network_fits_and_predicts_every_row(task, fitted, kind):
    forecaster = fitted[kind]
    predictions = forecaster.predict(task, all_rows(task))
    assert predictions.shape == (len(task.y),)
    assert np.isfinite(predictions).all() and (predictions >= 0).all()
    assert forecaster.history["epoch"].tolist() == [1, 2]
    assert forecaster.info["status"] == "ok"
    net = forecaster.network_config_
    assert net.kind == kind and net.hourly_length == HOURS
    assert net.n_hourly_channels >= len(task.hourly_names)
    assert forecaster.info["n_parameters"] == sum(
        p.numel() for p in forecaster.model_.parameters())


@pytest.mark.parametrize("kind", HOURLY_KINDS)
def test_the_forecast_reads_the_hourly_window(task, fitted, kind):
    """Changing the hours of the window (nothing else) changes the forecast."""
    test = task.mask("test")
    hourly = task.hourly.copy()
    hourly[test, -12:, task.hourly_names.index("pm25")] *= 3.0
    moved = dataclasses.replace(task, hourly=hourly)
    assert not np.allclose(fitted[kind].predict(task, test), fitted[kind].predict(moved, test))


def test_hourly_missing_values_are_indicated_and_scaled_on_training_rows_only(task):
    from models.scaling import Scalers

    scalers = Scalers.fit(task, hourly=True)
    assert scalers.hourly_indicate[task.hourly_names.index("pm25")]  # synthetic gaps
    x, seq, station, hourly = scalers.inputs(task, task.mask("train"))
    assert hourly.shape[1:] == (HOURS, scalers.n_hourly_channels)
    assert torch.isfinite(hourly).all()
    outside = ~task.mask("train", scored=False)
    changed = task.hourly.copy()
    changed[outside] = changed[outside] * 5 + 3
    again = Scalers.fit(dataclasses.replace(task, hourly=changed), hourly=True)
    for name in ("hourly_mean", "hourly_std", "hourly_indicate", "hourly_low", "hourly_high"):
        assert np.array_equal(getattr(scalers, name), getattr(again, name)), name
    # a network without the hourly window has no hourly scalers and tensor
    assert len(Scalers.fit(task).inputs(task, task.mask("train"))) == 3


def test_an_hourly_network_needs_the_window(task, fitted):
    bare = dataclasses.replace(task, hourly=None, hourly_names=[])
    with pytest.raises(ValueError, match="hourly window"):
        network("gru_hourly").fit(bare)
    with pytest.raises(ValueError, match="hourly"):
        fitted["gru_hourly"].predict(bare, all_rows(bare))


@pytest.mark.parametrize("kind", ["gru_hourly", "tcn_hourly"])
def test_same_seed_same_numbers_other_seed_differs(task, fitted, kind):
    rows = all_rows(task)
    again = network(kind, seed=0).fit(task)
    other = network(kind, seed=1).fit(task)
    assert np.array_equal(fitted[kind].predict(task, rows), again.predict(task, rows))
    pd.testing.assert_frame_equal(fitted[kind].history, again.history)
    assert not np.array_equal(fitted[kind].predict(task, rows), other.predict(task, rows))


@pytest.mark.parametrize("kind", HOURLY_KINDS)
def test_save_load_round_trip(task, fitted, kind, tmp_path):
    path = tmp_path / f"{kind}.pt"
    fitted[kind].save(path)
    saved = torch.load(path, weights_only=True)   # tensors and plain values, no pickle
    assert saved["network"]["n_hourly_channels"] > 0 and "hourly_mean" in saved["scalers"]
    loaded = models.load_model(path)
    rows = all_rows(task)
    assert np.array_equal(loaded.predict(task, rows), fitted[kind].predict(task, rows))
    assert loaded.kind == kind and loaded.get_params() == fitted[kind].get_params()


def test_a_seed_ensemble_of_an_hourly_network_saves_and_loads(task, tmp_path):
    ensemble = registry.build("tcn_hourly", {**config(seeds=2)}, seed=0).fit(task)
    assert isinstance(ensemble, models.SeedEnsemble)
    ensemble.save(tmp_path / "tcn_hourly.pt")
    loaded = models.load_model(tmp_path / "tcn_hourly.pt")
    rows = all_rows(task)
    assert np.array_equal(loaded.predict(task, rows), ensemble.predict(task, rows))


def test_the_tcn_window_is_covered_by_its_receptive_field(fitted):
    from models.hourly import blocks_to_cover

    assert [blocks_to_cover(n, 3) for n in (1, 5, 13, 29, 30, 72, 125, 126)] == [
        1, 1, 2, 3, 4, 5, 5, 6]
    assert len(fitted["tcn_hourly"].model_.blocks) == 5        # 125 h ≥ 72 h


# ------------------------------------------------------------------ leakage


def _perturb_after(frame: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """Every value of every column at hours strictly after ``t`` changed: new levels,
    new gaps, gaps filled, the wind turned round."""
    out = frame.copy()
    late = (out["time"] > t).to_numpy()
    rng = np.random.default_rng(1)
    pm = out["pm25"].to_numpy().copy()
    was_missing = np.isnan(pm) & late
    pm[late] = pm[late] * 1.7 + 13.0
    pm[rng.choice(np.flatnonzero(late), 30, replace=False)] = np.nan
    pm[was_missing] = 500.0
    out["pm25"] = pm
    for column in ("temp", "dewp", "pres", "wind_speed", "rain", "snow"):
        values = out[column].to_numpy().copy()
        values[late] = values[late] * 1.5 + 2.0
        out[column] = values
    reverse_wind(out, late)
    return out


@pytest.mark.parametrize("kind", ["gru_hourly", "tcn_hourly"])
def test_no_hour_after_the_issue_time_reaches_the_input_or_the_forecast(
        hourly_frame, task, fitted, kind):
    moved = build(_perturb_after(hourly_frame, T_END))
    issue = pd.DatetimeIndex(task.rows["issue_day"])
    past, at_d0, next_day = (issue <= D0), (issue == D0), (issue == D0 + pd.Timedelta(days=1))
    assert at_d0.sum() == 1 and task.split[at_d0][0] == "test"
    # the task's hourly window of every row issued up to D0, and its scaled inputs
    assert np.array_equal(task.hourly[past], moved.hourly[past], equal_nan=True)
    model = fitted[kind]
    before = model.scalers_.inputs(task, at_d0)
    after = model.scalers_.inputs(moved, at_d0)
    assert all(torch.equal(a[:], b[:]) for a, b in zip(before, after, strict=True))
    # the forecast for D0 (and every earlier issue day) does not move ...
    assert np.array_equal(model.predict(task, past), model.predict(moved, past))
    # ... nor does refitting on the perturbed data change it: training and validation
    # (all before D0) are untouched, so the same seed gives the same network
    refitted = network(kind).fit(moved)
    assert np.array_equal(refitted.predict(moved, past), model.predict(task, past))
    # sanity: the perturbation reaches the next issue day's window and forecast
    assert not np.array_equal(task.hourly[next_day], moved.hourly[next_day], equal_nan=True)
    assert not np.array_equal(model.predict(task, next_day), model.predict(moved, next_day))


# ------------------------------------------------------------------ the whole run


@pytest.mark.slow
def test_a_run_fits_saves_and_predicts_with_an_hourly_network(tmp_path, capsys, monkeypatch):
    """gru_hourly and hgb_hourly (one setting, one draw: its grid is not what is tested)
    are fitted, stored, forecast again by ``forecast predict``, and reported."""
    import json

    from forecast import cli
    from forecast.pipeline import run
    from forecast.results import RunResult

    cheap_hgb_hourly(monkeypatch, draws=1)

    overrides = {
        "data": {"dataset": "synthetic", "synthetic_start": "2010-01-01",
                 "synthetic_end": "2012-12-31"},
        "models": {"names": ["persistence", "ridge", "hgb_hourly", "mlp", "gru_hourly"]},
        "split": {"folds": 1},
        "task": {"hourly_hours": 24},
        "training": {"seeds": 2, "max_epochs": 2, "hidden": 8, "progress_bar": False},
        "diagnostics": {"capacity_sweep": False, "learning_curve": False},
        "evaluation": {"n_boot": 20},
        "run": {"out": str(tmp_path), "name": "hourly"},
    }
    run_dir = run(load_config(overrides=overrides))
    result = RunResult.read(run_dir)
    assert {"gru_hourly_seed0", "gru_hourly_seed1", "gru_hourly_ensemble"} <= set(
        result.entries)
    assert (run_dir / "models" / "gru_hourly.pt").is_file()
    assert (run_dir / "models" / "hgb_hourly.skops").is_file()
    capsys.readouterr()
    assert cli.main(["predict", str(run_dir), "--json"]) == 0
    table = pd.DataFrame(json.loads(capsys.readouterr().out)["forecasts"])
    assert {"persistence", "hgb_hourly", "gru_hourly_ensemble"} <= set(table["model"])
    assert (table["issue_day"] == "2012-12-31").all()
    assert np.isfinite(table["pm25_forecast"]).all()

    def inputs_line(best_baseline: str, best_network: str, drop=()) -> str:
        """The report's Inputs line (of "What limits the networks", here without the
        diagnostics) with the pooled validation RMSE edited so that those two are the
        best of their kind, and the entries ``drop`` left out."""
        from forecast.report.details import what_limits_the_networks
        from forecast.report.run import Run

        report = Run.read(run_dir)
        pooled = report.result.pooled["models"]
        for name in drop:
            pooled.pop(name)
        pooled[best_baseline]["val"]["rmse"] = 0.5 * pooled["ridge"]["val"]["rmse"]
        pooled[best_network]["val"]["rmse"] = 0.5 * pooled["mlp_ensemble"]["val"]["rmse"]
        return next(line for line in what_limits_the_networks(report, None, {})
                    if line.startswith("**Inputs**"))

    # hgb_hourly, the best baseline, reads the hourly record too: not "the same tabular
    # features", and the networks that read it are named
    inputs = inputs_line("hgb_hourly", "mlp_ensemble")
    assert "best baseline (hgb_hourly" in inputs
    assert "which also reads the hourly record, its last 24 hours, as " \
           "gru_hourly_ensemble does" in inputs
    assert "on the same tabular features" not in inputs and "no network has" not in inputs
    inputs = inputs_line("hgb_hourly", "gru_hourly_ensemble")
    assert "best network (gru_hourly_ensemble, which also reads the hourly record" in inputs
    assert "which also reads the hourly record, its last 24 hours); the" in inputs
    inputs = inputs_line("hgb_hourly", "mlp_ensemble", drop=("gru_hourly_ensemble",))
    assert "its last 24 hours, an input no network has" in inputs
