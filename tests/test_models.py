"""Tests for the Lightning networks (models/): fit, predict, determinism, scalers,
divergence, save/load, the station embedding, and the diagnostic rules.

Every network trains for 1-3 epochs on ~180 days of synthetic data, so the file runs in
well under a minute on two CPU cores.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

import models
from forecast import daily
from forecast import task as T
from forecast.config import DEFAULTS
from forecast.synthetic import generate_hourly
from forecast.windows import Windows
from models.datamodule import ForecastDataModule, Scalers
from models.diagnostics import (
    capacity_limits,
    capacity_sweep,
    diagnose,
    diagnose_capacity,
    diagnose_learning_curve,
    learning_curve,
)

KINDS = ("mlp", "gru", "lstm", "tcn")
SPLIT_ENDS = {"train_end": "2010-04-15", "val_end": "2010-05-31", "test_end": "2010-06-30"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _task(n_stations: int = 1) -> T.ForecastTask:
    hourly = generate_hourly(seed=3, n_stations=n_stations, start="2010-01-01", end="2010-06-30")
    return T.build_task(hourly, daily.to_daily(hourly), dataset="synthetic", **SPLIT_ENDS)


@pytest.fixture(scope="module")
def task() -> T.ForecastTask:
    """One synthetic station, with whole rows of missing inputs in every split."""
    base = _task()
    X, seq = base.X.copy(), np.array(base.sequence)
    for split in ("train", "val", "test"):
        rows = np.flatnonzero(base.mask(split))[[3, 7]]
        X[rows, :] = np.nan
        seq[rows, -3:, :] = np.nan
    return dataclasses.replace(base, X=X, sequence=Windows.from_array(seq))


@pytest.fixture(scope="module")
def two_station_task() -> T.ForecastTask:
    return _task(n_stations=2)


def config(**training) -> dict:
    return {"training": {**DEFAULTS["training"], "max_epochs": 2, "hidden": 8, "layers": 1,
                         "batch_size": 32, "progress_bar": False, "accelerator": "cpu",
                         **training}}


def network(kind: str, run_config: dict, seed: int = 0) -> models.NetworkForecaster:
    """One network (no seed ensemble) configured from a run config, as the registry does."""
    return models.NetworkForecaster.from_config(kind, run_config, seed=seed)


def all_rows(task: T.ForecastTask) -> np.ndarray:
    return np.ones(len(task.y), dtype=bool)


@pytest.fixture(scope="module")
def fitted_mlp(task):
    return network("mlp", config(), seed=0).fit(task)


# ------------------------------------------------------------------ fit / predict


@pytest.mark.parametrize("kind", KINDS)
def test_network_fits_and_predicts_every_row(task, kind):
    forecaster = network(kind, config(layers=2), seed=0).fit(task)
    assert np.isnan(task.X).all(axis=1).any()  # rows without any input are predicted too
    predictions = forecaster.predict(task, all_rows(task))
    assert predictions.shape == (len(task.y),)
    assert np.isfinite(predictions).all() and (predictions >= 0).all()
    history = forecaster.history
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "grad_norm", "lr"]
    assert history["epoch"].tolist() == [1, 2]
    assert np.isfinite(history[["train_loss", "val_loss", "grad_norm", "lr"]].to_numpy()).all()
    info = forecaster.info
    assert info["status"] == "ok" and info["epochs_run"] == 2 and info["best_epoch"] in (1, 2)
    assert info["n_parameters"] == sum(p.numel() for p in forecaster.model_.parameters())
    assert info["fit_seconds"] > 0 and info["stopped_early"] is False


def test_predictions_depend_on_the_inputs(task, fitted_mlp):
    val = task.mask("val")
    predictions = fitted_mlp.predict(task, val)
    assert predictions.std() > 0
    assert len(fitted_mlp.predict(task, np.zeros(len(task.y), dtype=bool))) == 0


def test_same_seed_same_predictions_other_seed_differs(task):
    rows = all_rows(task)
    first = network("gru", config(), seed=1).fit(task)
    again = network("gru", config(), seed=1).fit(task)
    other = network("gru", config(), seed=2).fit(task)
    assert np.array_equal(first.predict(task, rows), again.predict(task, rows))
    pd.testing.assert_frame_equal(first.history, again.history)
    assert not np.array_equal(first.predict(task, rows), other.predict(task, rows))


def test_grad_norm_is_measured_before_clipping(task):
    forecaster = network("mlp", config(gradient_clip=1e-4), seed=0).fit(task)
    assert (forecaster.history["grad_norm"] > 1e-3).all()


@pytest.mark.parametrize("optimizer,schedule", [("sgd", "cosine"), ("rmsprop", "none"),
                                                ("adamw", "plateau")])
def test_optimizers_and_schedules(task, optimizer, schedule):
    forecaster = network(
        "mlp", config(optimizer=optimizer, lr_schedule=schedule, learning_rate=0.01,
                      max_epochs=3), seed=0).fit(task)
    lr = forecaster.history["lr"].to_numpy()
    assert lr[0] == pytest.approx(0.01)
    if schedule == "cosine":
        assert lr[2] < lr[1] < lr[0]
    else:
        assert np.allclose(lr, 0.01)


def test_unknown_network_is_an_error(task):
    from forecast.errors import DataError
    from forecast.registry import build

    with pytest.raises(ValueError, match="unknown network"):  # checked at fit, as sklearn does
        network("transformer", config()).fit(task)
    with pytest.raises(DataError, match="unknown model 'transformer'"):
        build("transformer", config())


def test_registry_builds_networks_and_seed_ensembles():
    from forecast.registry import build

    forecaster = build("tcn", config(seeds=1), seed=4)
    assert isinstance(forecaster, models.NetworkForecaster)
    assert forecaster.kind == "tcn" and forecaster.seed == 4
    ensemble = build("gru", config(seeds=3), seed=4)
    assert isinstance(ensemble, models.SeedEnsemble)
    assert ensemble.seeds == [4, 5, 6] and ensemble.estimator.kind == "gru"
    # from the last seed config takes (--seed 4294967295), the seeds wrap at 2**32: NumPy and
    # Lightning refuse any above it (a traceback in every network's fit)
    assert build("gru", config(seeds=3), seed=2 ** 32 - 1).seeds == [2 ** 32 - 1, 0, 1]


@pytest.mark.parametrize("kind", KINDS)
def test_networks_honour_the_estimator_contract(kind):
    from sklearn.base import clone

    forecaster = network(kind, config(hidden=16, dropout=0.1), seed=3)
    params = forecaster.get_params()
    assert params["hidden"] == 16 and params["dropout"] == 0.1 and params["seed"] == 3
    twin = clone(forecaster)
    assert twin is not forecaster and twin.get_params() == params
    assert twin.set_params(hidden=32, layers=2).get_params()["hidden"] == 32
    assert forecaster.hidden == 16  # the original is untouched
    ensemble = clone(models.SeedEnsemble(forecaster, seeds=[1, 2]))
    assert ensemble.get_params()["seeds"] == [1, 2]
    assert ensemble.get_params()["estimator__hidden"] == 16


def test_a_seed_ensemble_fits_saves_and_loads_as_one_model(task, tmp_path):
    ensemble = models.SeedEnsemble(network("mlp", config()), seeds=[0, 1]).fit(task)
    rows = all_rows(task)
    members = [ensemble.members_[s].predict(task, rows) for s in (0, 1)]
    assert np.allclose(ensemble.predict(task, rows), np.mean(members, axis=0))
    assert not np.allclose(members[0], members[1])
    assert ensemble.info["seeds"] == [0, 1]
    assert ensemble.info["n_parameters"] == 2 * ensemble.members_[0].info["n_parameters"]
    path = tmp_path / "mlp.pt"
    ensemble.save(path)
    loaded = models.load_model(path)
    assert isinstance(loaded, models.SeedEnsemble)
    assert np.array_equal(loaded.predict(task, rows), ensemble.predict(task, rows))
    # members trained in parallel processes are the same members
    parallel = models.SeedEnsemble(network("mlp", config()), seeds=[0, 1], n_jobs=2).fit(task)
    assert np.array_equal(parallel.predict(task, rows), ensemble.predict(task, rows))
    # a member that fails is left out; every member failing fails the ensemble
    broken = models.SeedEnsemble(network("mlp", config(learning_rate=1e12, gradient_clip=0.0,
                                                       lr_schedule="none")), seeds=[0, 1])
    with pytest.raises(models.TrainingFailed, match="every seed failed"):
        broken.fit(task)


# ------------------------------------------------------------------ scalers


def test_scalers_see_only_training_rows(task):
    before = Scalers.fit(task)
    outside = ~task.mask("train", scored=False)
    X, seq, y = task.X.copy(), np.array(task.sequence), task.y.copy()
    X[outside] = X[outside] * 10 + 5
    X[np.flatnonzero(outside)[::5], 0] = np.nan  # new gaps outside training: no indicator
    seq[outside] = seq[outside] * 3 - 1
    y[outside] = y[outside] * 2 + 100
    after = Scalers.fit(dataclasses.replace(task, X=X, sequence=Windows.from_array(seq), y=y))
    for field in dataclasses.fields(Scalers):
        assert np.array_equal(getattr(before, field.name), getattr(after, field.name)), field.name


def test_scalers_standardise_and_flag_missing(task):
    scalers = Scalers.fit(task)
    train = task.mask("train")
    x, seq, station = scalers.inputs(task, train)
    n_features = task.X.shape[1]
    assert x.shape == (train.sum(), scalers.n_features)
    assert scalers.x_indicate.any() and scalers.n_features > n_features
    assert torch.isfinite(x).all() and torch.isfinite(seq[:]).all()
    assert seq.shape == (train.sum(), task.sequence.shape[1], scalers.n_channels)
    assert set(station.tolist()) == {0}
    target = scalers.target(task, train)
    assert abs(float(target.mean())) < 1e-4 and float(target.std()) == pytest.approx(1, rel=0.01)
    # the scaled target maps back to µg/m³
    assert np.allclose(scalers.to_target(target.numpy()), task.y[train], rtol=1e-4, atol=1e-3)


def test_inputs_are_standardised_block_by_block_as_a_whole(task, monkeypatch):
    """Blocks of rows bound the float64 temporaries; every value is the one the whole
    array at once gives, bit for bit."""
    import models.scaling as scaling

    scalers = Scalers.fit(task)
    rows = task.mask("train", scored=False) | task.mask("test")
    whole = scalers.inputs(task, rows)
    monkeypatch.setattr(scaling, "BLOCK_VALUES", 7 * task.sequence[0].size)  # 7 rows a block
    blocks = scalers.inputs(task, rows)
    for before, after in zip(whole, blocks, strict=True):
        assert torch.equal(before[:], after[:])
    # the same rows as indices
    for before, after in zip(whole, scalers.inputs(task, np.flatnonzero(rows)), strict=True):
        assert torch.equal(before[:], after[:])
    again = Scalers.fit(task)
    for field in dataclasses.fields(Scalers):
        assert np.array_equal(getattr(scalers, field.name), getattr(again, field.name))


def test_inputs_are_clipped_to_the_training_range(task, fitted_mlp):
    """A stray value far beyond anything training showed acts like the training extreme."""
    test = task.mask("test")
    column = task.feature_names.index("pres_mean")
    train_max = np.nanmax(task.X[task.mask("train", scored=False), column])
    forecasts = []
    for value in (train_max, train_max + 1e6):
        X = task.X.copy()
        X[test, column] = value
        forecasts.append(fitted_mlp.predict(dataclasses.replace(task, X=X), test))
    assert np.allclose(forecasts[0], forecasts[1])
    # the same for the daily sequence
    seq = np.array(task.sequence)
    seq[test, -1, 0] = 1e9
    scalers = fitted_mlp.scalers_
    _, scaled_seq, _ = scalers.inputs(dataclasses.replace(task, sequence=Windows.from_array(seq)),
                                      test)
    assert float(scaled_seq[:, -1, 0].max()) == pytest.approx(float(scalers.seq_high[0]))


def test_a_feature_missing_throughout_training_is_zero_everywhere(task):
    """Never scaled by statistics it does not have: no raw hPa reaches the network."""
    column = task.feature_names.index("pres_mean")
    X = task.X.copy()
    X[task.mask("train", scored=False), column] = np.nan
    damaged = dataclasses.replace(task, X=X)
    scalers = Scalers.fit(damaged)
    x, _, _ = scalers.inputs(damaged, all_rows(damaged))
    assert float(x[:, column].abs().max()) == 0.0


def test_forecasts_at_the_output_clip_are_counted(task, fitted_mlp):
    test = task.mask("test")
    assert fitted_mlp.at_output_clip(task, test).shape == (test.sum(),)
    low, high = fitted_mlp.scalers_.output_clip()
    flags = fitted_mlp.scalers_.at_output_clip(np.array([low - 1, low, 0.0, high, high + 5]))
    assert flags.tolist() == [True, True, False, True, True]


def test_datamodule_loaders(task):
    data = ForecastDataModule(task, batch_size=16, seed=0)
    data.setup("fit")
    assert len(data.train_batches().dataset) == task.mask("train").sum()
    assert len(data.val_dataloader().dataset) == task.mask("val").sum()
    first = [b[3] for b in data.train_batches()]
    second = [b[3] for b in ForecastDataModule(task, batch_size=16, seed=0).train_batches()]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))  # seeded shuffle
    # Lightning's loader: one item an epoch, that epoch's minibatches, reshuffled each epoch
    loader = ForecastDataModule(task, batch_size=16, seed=0).train_dataloader()
    assert len(loader) == 1
    (epoch_1,), (epoch_2,) = list(loader), list(loader)
    epoch_1, epoch_2 = list(epoch_1), list(epoch_2)
    assert all(torch.equal(a, b[3]) for a, b in zip(first, epoch_1, strict=True))
    assert not all(torch.equal(a[3], b[3]) for a, b in zip(epoch_1, epoch_2, strict=True))
    (batch,) = list(data.predict_loader(task.mask("test", scored=False)))
    assert len(batch) == 3 and len(batch[0]) == task.mask("test", scored=False).sum()


def test_each_process_takes_its_share_of_every_minibatch(task):
    from models.datamodule import EpochBatches

    data = ForecastDataModule(task, batch_size=16, seed=0)
    data.setup("fit")
    whole = [b[3] for b in data.train_batches()]
    shares = [list(next(iter(EpochBatches(ForecastDataModule(task, batch_size=16, seed=0)
                                          .train_batches(), rank, 3)))) for rank in range(3)]
    assert {len(share) for share in shares} == {len(whole)}   # as many steps each
    for k, batch in enumerate(whole):
        parts = torch.cat([share[k][3] for share in shares])
        assert sorted(parts.tolist()) == sorted(batch.tolist())   # every row, once
    tiny = (torch.arange(2.0),)                           # fewer rows than processes
    assert [list(next(iter(EpochBatches([tiny], rank, 3))))[0][0].tolist()
            for rank in range(3)] == [[0.0], [1.0], [0.0]]


def test_batches_grow_so_an_epoch_takes_at_most_max_steps(task):
    n_train = int(task.mask("train").sum())
    unbounded = ForecastDataModule(task, batch_size=16, seed=0)
    assert unbounded.train_batch_size == 16
    roomy = ForecastDataModule(task, batch_size=16, seed=0, max_steps_per_epoch=n_train)
    assert roomy.train_batch_size == 16    # few rows: the configured batch size stands
    capped = ForecastDataModule(task, batch_size=16, seed=0, max_steps_per_epoch=5)
    capped.setup("fit")
    sizes = [len(b[3]) for b in capped.train_batches()]
    assert len(sizes) <= 5 and sum(sizes) == n_train
    assert capped.train_batch_size == -(-n_train // 5) > 16


def test_batches_stop_growing_at_max_batch_size_and_each_epoch_samples_its_rows(task):
    n_train = int(task.mask("train").sum())
    capped = ForecastDataModule(task, batch_size=4, seed=0, max_steps_per_epoch=3,
                                max_batch_size=8)
    capped.setup("fit")
    assert capped.train_batch_size == 8 and capped.rows_per_epoch == 24 < n_train
    loader = capped.train_batches()
    epochs = [[list(batch) for batch in loader.sampler] for _ in range(2)]
    for epoch in epochs:
        assert [len(batch) for batch in epoch] == [8, 8, 8]
        rows = [row for batch in epoch for row in batch]
        assert len(set(rows)) == 24 and max(rows) < n_train     # without replacement
    assert epochs[0] != epochs[1]                                # a fresh sample each epoch
    # a cap the data never reach changes nothing: every epoch's order as without it
    free = ForecastDataModule(task, batch_size=4, seed=0, max_steps_per_epoch=3)
    roomy = ForecastDataModule(task, batch_size=4, seed=0, max_steps_per_epoch=3,
                               max_batch_size=n_train)
    for module in (free, roomy):
        module.setup("fit")
    assert roomy.rows_per_epoch is None
    orders = [[[list(b) for b in loader.sampler] for _ in range(3)]
              for loader in (free.train_batches(), roomy.train_batches())]
    assert orders[0] == orders[1]


def test_early_stopping_reads_a_fixed_sample_of_the_validation_rows_at_scale(task):
    val = np.flatnonzero(task.mask("val"))
    capped = ForecastDataModule(task, seed=3, max_val_rows=10)
    rows = capped.val_loss_rows
    assert len(rows) == 10 and len(set(rows)) == 10 and set(rows) <= set(val)
    assert (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(rows, ForecastDataModule(task, seed=3,
                                                           max_val_rows=10).val_loss_rows)
    capped.setup("fit")
    assert sum(len(batch[0]) for batch in capped.val_dataloader()) == 10
    # a cap the validation rows never reach reads them all: the same fit bit for bit
    np.testing.assert_array_equal(ForecastDataModule(task, max_val_rows=len(val)).val_loss_rows,
                                  val)
    fits = [network("mlp", config(max_epochs=3, max_val_rows=cap)).fit(task)
            for cap in (0, len(val), 10)]
    assert [f.info["val_loss_rows"] for f in fits] == [len(val), len(val), 10]
    every = all_rows(task)
    np.testing.assert_array_equal(fits[0].predict(task, every), fits[1].predict(task, every))
    assert fits[2].history["val_loss"].tolist() != fits[0].history["val_loss"].tolist()


# ------------------------------------------------------------------ divergence


def test_divergence_raises_training_failed(task):
    forecaster = network("mlp", config(learning_rate=1e12, max_epochs=5,
                                                    gradient_clip=0.0, lr_schedule="none"))
    with pytest.raises(models.TrainingFailed, match="diverged"):
        forecaster.fit(task)
    assert forecaster.info["status"].startswith("failed: ")
    assert forecaster.info["epochs_run"] < 5
    with pytest.raises(RuntimeError, match="fit"):
        forecaster.predict(task, all_rows(task))


# ------------------------------------------------------------------ save / load


def test_save_load_round_trip(task, fitted_mlp, tmp_path):
    path = tmp_path / "mlp.pt"
    fitted_mlp.save(path)
    saved = torch.load(path, weights_only=True)  # plain tensors and values, no pickle
    assert set(saved) >= {"state_dict", "params", "network", "scalers"}
    loaded = models.load_model(path)
    rows = all_rows(task)
    assert np.array_equal(loaded.predict(task, rows), fitted_mlp.predict(task, rows))
    assert loaded.info["status"] == "ok" and loaded.kind == "mlp"
    assert loaded.get_params() == fitted_mlp.get_params()


def test_load_refuses_a_task_with_other_features(task, fitted_mlp):
    narrower = dataclasses.replace(task, X=task.X[:, :-1])
    with pytest.raises(ValueError, match="features"):
        fitted_mlp.predict(narrower, all_rows(task))


def test_a_stored_network_refuses_its_features_in_another_order(task, fitted_mlp, tmp_path):
    """A network reads its inputs by position: two features swapped pass the count check
    and moved its forecasts silently; the names it stores refuse them."""
    from forecast.errors import DataError

    path = tmp_path / "mlp.pt"
    fitted_mlp.save(path)
    loaded = models.load_model(path)
    loaded.check_task(task, path)
    a, b = task.feature_names.index("pm25_lag1"), task.feature_names.index("pm25_lag6")
    order = list(range(len(task.feature_names)))
    order[a], order[b] = b, a
    swapped = dataclasses.replace(task, X=task.X[:, order],
                                  feature_names=[task.feature_names[k] for k in order])
    with pytest.raises(DataError, match="mlp.pt: fitted on .* features.*another order"):
        loaded.check_task(swapped, path)
    renamed = dataclasses.replace(task, sequence_names=[*task.sequence_names[:-1], "other"])
    with pytest.raises(DataError, match="sequence channels.*missing.*new: other"):
        loaded.check_task(renamed, path)
    # a network stored before the names were: not checked
    saved = torch.load(path, weights_only=True)
    del saved["inputs"]
    models.NetworkForecaster.from_state(saved).check_task(swapped, path)


# ------------------------------------------------------------------ multi-station


def test_station_embedding_for_several_stations(two_station_task, fitted_mlp):
    task = two_station_task
    forecaster = network("gru", config(), seed=0).fit(task)
    assert fitted_mlp.model_.station_embedding is None
    embedding = forecaster.model_.station_embedding
    assert embedding is not None and embedding.num_embeddings == 2
    rows = all_rows(task)
    swapped = task.rows.copy()
    swapped["station_index"] = 1 - swapped["station_index"]
    other = dataclasses.replace(task, rows=swapped)
    assert not np.allclose(forecaster.predict(task, rows), forecaster.predict(other, rows))
    assert np.isfinite(forecaster.predict(task, rows)).all()


# ------------------------------------------------------------------ diagnostics


def history(train, val) -> pd.DataFrame:
    return pd.DataFrame({"epoch": np.arange(1, len(val) + 1), "train_loss": train,
                         "val_loss": val, "grad_norm": 1.0, "lr": 1e-3})


def test_diagnose_overfits():
    train = np.linspace(0.8, 0.2, 20)
    val = np.r_[np.linspace(0.8, 0.4, 8), np.linspace(0.41, 0.5, 12)]
    result = diagnose(history(train, val))
    assert result["verdict"] == "overfits" and result["best_epoch"] == 8
    assert "epoch 8" in result["text"] and "0.4" in result["text"] and "25%" in result["text"]


def test_diagnose_overfits_when_early_stopping_ends_on_a_dip_back():
    """Best at epoch 1, validation loss 12-25 % above it for ten epochs, the last one +8 %
    (12 sites: mlp seed 0 read "good fit")."""
    train = np.linspace(0.46, 0.24, 11)
    val = 0.454 * np.r_[1.0, 1.23, 1.07, 1.08, 1.25, 1.14, 1.06, 1.2, 1.15, 1.12, 1.08]
    result = diagnose(history(train, val))
    assert result["verdict"] == "overfits" and result["best_epoch"] == 1
    assert "runs a median 13% above it over the 10 epochs after (up to 25%; 8% at epoch 11)" \
        in result["text"], result["text"]
    # a single spike after the best does not make an overfit
    val = np.r_[np.linspace(0.8, 0.4, 10), 0.41, 0.41, 0.47, 0.41, 0.41, 0.41]
    assert diagnose(history(np.linspace(0.8, 0.35, 16), val))["verdict"] == "good fit"


def test_diagnose_good_fit():
    train = np.linspace(0.8, 0.35, 20)
    val = np.r_[np.linspace(0.8, 0.4, 10), np.full(10, 0.41)]
    result = diagnose(history(train, val))
    assert result["verdict"] == "good fit" and result["best_epoch"] == 10


def test_diagnose_underfits_when_still_improving_or_near_the_mean():
    falling = np.linspace(0.9, 0.4, 20)
    assert diagnose(history(falling + 0.05, falling))["verdict"] == "underfits"
    flat = np.full(20, 0.97)
    flat[5] = 0.95
    assert diagnose(history(flat, flat))["verdict"] == "underfits"


def test_diagnose_diverged():
    assert diagnose(history([0.5, np.nan], [0.5, np.nan]))["verdict"] == "diverged"
    assert diagnose(history([0.5, 1e30], [0.5, np.inf]))["verdict"] == "diverged"
    assert diagnose(pd.DataFrame(columns=["epoch", "train_loss", "val_loss"]))["verdict"] == \
        "diverged"


def test_diagnose_learning_curve():
    curve = pd.DataFrame({"fraction": [0.25, 0.5, 0.75, 1.0], "n_train": [250, 500, 750, 1000],
                          "best_train_loss": 0.3, "best_val_loss": [0.6, 0.5, 0.45, 0.40],
                          "val_rmse": [70.0, 65.0, 62.0, 58.0]})
    result = diagnose_learning_curve(curve)
    assert result["verdict"] == "limited by data" and "62" in result["text"]
    assert result["metric"] == "validation RMSE"   # what its gain is measured on
    curve["val_rmse"] = [70.0, 60.0, 58.0, 57.9]
    assert diagnose_learning_curve(curve)["verdict"] == "saturated"


def test_the_learning_curve_text_rounds_an_rmse_to_one_decimal():
    """Single site, forecast mode: "validation RMSE changes by -0% from 75% of the training
    period (35) to 100% (34.8)" for 34.96 -> 34.79 µg/m³."""
    curve = pd.DataFrame({"fraction": [0.5, 0.75, 1.0], "n_train": [500, 746, 987],
                          "best_train_loss": 0.3, "best_val_loss": [0.5, 0.45, 0.44],
                          "val_rmse": [39.05, 34.96, 34.79]})
    text = diagnose_learning_curve(curve)["text"]
    assert "changes by -0.5% from 75% of the training period (35.0) to 100% (34.8)" in text


def test_diagnose_capacity():
    sweep = pd.DataFrame({"hidden": [8, 32, 128], "layers": [1, 1, 1],
                          "n_parameters": [500, 2000, 9000],
                          "best_train_loss": [0.5, 0.35, 0.2], "best_val_loss": [0.5, 0.42, 0.47],
                          "best_epoch": [40, 20, 8]})
    text = diagnose_capacity(sweep)
    assert "hidden=32" in text and "overfits" in text
    sweep["best_val_loss"] = [0.5, 0.45, 0.40]
    assert "largest network is best" in diagnose_capacity(sweep)


def _with_comparison(table: pd.DataFrame, suffix: str, diff, low, high, p) -> pd.DataFrame:
    return table.assign(**{f"rmse_diff_{suffix}": diff, f"rmse_diff_ci_low_{suffix}": low,
                           f"rmse_diff_ci_high_{suffix}": high, f"dm_p_value_{suffix}": p})


def test_the_largest_size_limits_only_when_it_leads_by_more_than_noise():
    sweep = pd.DataFrame({"hidden": [8, 32, 128], "layers": [1, 1, 1],
                          "n_parameters": [500, 2000, 9000],
                          "best_train_loss": [0.5, 0.35, 0.2], "best_val_loss": [0.5, 0.45, 0.40],
                          "best_epoch": [40, 20, 8], "val_rmse": [56.0, 55.3, 54.6]})
    # one seed's lead inside the validation days' noise: no evidence for capacity
    noisy = _with_comparison(sweep, "vs_best", [1.4, 0.7, np.nan], [-0.2, -0.9, np.nan],
                             [3.0, 2.3, np.nan], [0.09, 0.40, np.nan])
    limits, evidence = capacity_limits(noisy)
    assert limits is False
    assert "hidden=32" in evidence and "+0.70" in evidence and "p = 0.400" in evidence
    assert "2 of the other 2 sizes are within noise" in evidence
    text = diagnose_capacity(noisy)
    assert "no evidence that capacity limits" in text and "may still be limiting" not in text
    # a lead clear of the noise on the next best size
    clear = _with_comparison(sweep, "vs_best", [3.0, 1.5, np.nan], [1.2, 0.4, np.nan],
                             [4.8, 2.6, np.nan], [0.001, 0.01, np.nan])
    assert capacity_limits(clear)[0] is True
    assert "may still be limiting" in diagnose_capacity(clear)
    # the text says what the verdict says, where the loss ranks the sizes otherwise
    for losses in ([0.40, 0.401, 0.402], [0.45, 0.40, 0.44]):
        text = diagnose_capacity(clear.assign(best_val_loss=losses))
        assert "may still be limiting" in text and "barely matters" not in text
        assert "overfits" not in text and "mid-sized" not in text
    # a smaller size validates best by RMSE: capacity does not limit
    assert capacity_limits(sweep.assign(val_rmse=[56.0, 54.0, 54.6]))[0] is False
    # a table from before the comparison: the largest validating best is all there is
    assert capacity_limits(sweep)[0] is True
    assert capacity_limits(sweep.assign(val_rmse=np.nan, best_val_loss=np.nan))[0] is None


def test_a_learning_curve_gain_inside_the_noise_is_no_evidence_of_a_data_limit():
    curve = pd.DataFrame({"fraction": [0.5, 0.75, 1.0], "n_train": [500, 750, 1000],
                          "best_train_loss": 0.3, "best_val_loss": [0.5, 0.45, 0.40],
                          "val_rmse": [65.0, 62.0, 58.0]})
    noisy = _with_comparison(curve, "vs_full", [7.0, 4.0, np.nan], [3.0, -0.5, np.nan],
                             [11.0, 8.5, np.nan], [0.001, 0.08, np.nan])
    result = diagnose_learning_curve(noisy)
    assert result["verdict"] == "saturated" and "within noise" in result["text"]
    assert "+4.00" in result["text"] and "p = 0.080" in result["text"]
    clear = _with_comparison(curve, "vs_full", [7.0, 4.0, np.nan], [3.0, 1.5, np.nan],
                             [11.0, 6.5, np.nan], [0.001, 0.004, np.nan])
    assert diagnose_learning_curve(clear)["verdict"] == "limited by data"


def test_a_learning_curve_that_worsens_with_more_history_says_so():
    """12 sites fitted for erring weather: 34.1 with half the training period, 37.6 with
    all of it, which read "saturated, more history ... unlikely to help" and no more."""
    curve = pd.DataFrame({"fraction": [0.5, 0.75, 1.0], "n_train": [4178, 6291, 8391],
                          "best_train_loss": 0.08, "best_val_loss": [0.23, 0.21, 0.21],
                          "val_rmse": [34.1, 34.6, 37.6]})
    noisy = _with_comparison(curve, "vs_full", [-3.5, -3.0, np.nan], [-8.3, -8.1, np.nan],
                             [0.9, 1.9, np.nan], [0.25, 0.33, np.nan])
    result = diagnose_learning_curve(noisy)
    assert result["verdict"] == "saturated"
    assert "worse but within noise" in result["text"] and "drifted" not in result["text"]
    clear = _with_comparison(curve, "vs_full", [-3.5, -3.0, np.nan], [-8.3, -5.1, np.nan],
                             [0.9, -0.9, np.nan], [0.25, 0.01, np.nan])
    text = diagnose_learning_curve(clear)["text"]
    assert "oldest training days make it worse" in text and "shorter training window" in text


def test_capacity_sweep_and_learning_curve_run(task):
    model = network("mlp", config(max_epochs=1))
    sweep = capacity_sweep(task, model, hidden_sizes=[4, 8], layer_counts=[1], max_epochs=1)
    assert list(sweep.columns[:6]) == ["hidden", "layers", "n_parameters", "best_train_loss",
                                       "best_val_loss", "best_epoch"]
    assert sweep["hidden"].tolist() == [4, 8] and sweep["n_parameters"].is_monotonic_increasing
    curve = learning_curve(task, model, fractions=[0.5, 1.0], max_epochs=1)
    assert model.hidden == 8 and not hasattr(model, "model_")  # cloned, not changed
    # fits in parallel processes give the same table
    parallel = capacity_sweep(task, model, hidden_sizes=[4, 8], layer_counts=[1], max_epochs=1,
                              n_jobs=2)
    pd.testing.assert_frame_equal(parallel, sweep)
    assert list(curve.columns[:4]) == ["fraction", "n_train", "best_train_loss", "best_val_loss"]
    # one epoch: the training loss of the best validation epoch is the lowest of all
    for table in (sweep, curve):
        np.testing.assert_allclose(table["train_loss_at_best"], table["best_train_loss"])
    assert curve["fraction"].tolist() == [0.5, 1.0]
    assert curve["n_train"].iloc[0] < curve["n_train"].iloc[1] == task.mask("train").sum()
    assert np.isfinite(curve[["best_train_loss", "best_val_loss", "val_rmse"]].to_numpy()).all()
    # each row against the sweep's best size (the curve: the whole period), same days
    best = sweep["val_rmse"].idxmin()
    assert sweep["rmse_diff_vs_best"].isna().tolist() == [k == best for k in sweep.index]
    np.testing.assert_allclose(sweep["rmse_diff_vs_best"].drop(index=best),
                               (sweep["val_rmse"] - sweep["val_rmse"][best]).drop(index=best))
    other = sweep.drop(index=best).iloc[0]
    assert other["rmse_diff_ci_low_vs_best"] <= other["rmse_diff_vs_best"] \
        <= other["rmse_diff_ci_high_vs_best"] and 0 <= other["dm_p_value_vs_best"] <= 1
    assert np.isnan(curve["rmse_diff_vs_full"].iloc[1])
    assert curve["rmse_diff_vs_full"].iloc[0] == pytest.approx(
        curve["val_rmse"].iloc[0] - curve["val_rmse"].iloc[1])


# ---------------------------------------------------------------- the quantile head


@pytest.mark.parametrize("kind", ["mlp", "gru", "tcn"])
def test_a_quantile_head_gives_increasing_quantiles_and_their_mean(task, kind, tmp_path):
    from forecast.uncertainty import LEVELS

    model = network(kind, config(loss="pinball", max_epochs=3)).fit(task)
    rows = all_rows(task)
    quantiles = model.predict_quantiles(task, rows)
    assert quantiles.shape == (len(task.y), len(LEVELS))
    assert np.isfinite(quantiles).all() and (np.diff(quantiles, axis=1) >= 0).all()
    np.testing.assert_allclose(model.predict(task, rows), quantiles.mean(axis=1))
    assert model.predicts_quantiles and model.network_config_.n_outputs == len(LEVELS)
    model.save(tmp_path / "q.pt")
    loaded = models.load_model(tmp_path / "q.pt")
    np.testing.assert_array_equal(loaded.predict_quantiles(task, rows), quantiles)


def test_the_pinball_loss_is_what_the_quantile_head_learns(task):
    """Trained with the pinball loss, the head's levels bracket the targets roughly as
    their levels say (on the training rows, where the loss was minimised)."""
    model = network("mlp", config(loss="pinball", max_epochs=40, hidden=16,
                                  patience=40)).fit(task)
    train = task.mask("train")
    quantiles = model.predict_quantiles(task, train)
    below = (task.y[train][:, None] <= quantiles).mean(axis=0)
    assert below[9] < 0.3 and below[89] > 0.7          # levels 0.1 and 0.9
    assert model.history["val_loss"].notna().all()


def test_a_seed_ensemble_averages_its_members_quantiles(task):
    from models.ensemble import SeedEnsemble

    ensemble = SeedEnsemble(network("mlp", config(loss="pinball")), seeds=[0, 1]).fit(task)
    rows = all_rows(task)
    members = [m.predict_quantiles(task, rows) for m in ensemble.members_.values()]
    np.testing.assert_allclose(ensemble.predict_quantiles(task, rows), np.mean(members, axis=0))
    assert ensemble.predicts_quantiles


def test_an_mse_network_has_no_quantile_head(task):
    model = network("mlp", config()).fit(task)
    assert not model.predicts_quantiles
    with pytest.raises(RuntimeError):
        model.predict_quantiles(task, all_rows(task))
