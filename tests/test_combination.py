"""The combination of models: non-negative weights fitted on validation, cross-fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import benchmark_module

from forecast.combination import combine, in_sample_bound, nonnegative_weights


def _predictions(seed: int = 0) -> pd.DataFrame:
    """Three models over a train/val/test year of one station; the truth is
    0.7 a + 0.3 b plus noise, c is noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2012-01-01", periods=3 * 120)
    split = np.repeat(["train", "val", "test"], 120)
    a, b = rng.gamma(2, 40, len(dates)), rng.gamma(2, 40, len(dates))
    truth = 0.7 * a + 0.3 * b + rng.normal(0, 3, len(dates))
    forecasts = {"a": a, "b": b, "c": rng.gamma(2, 40, len(dates))}
    return pd.concat([pd.DataFrame({"date": dates, "station": "S1", "split": split,
                                    "model": name, "y_true": truth, "y_pred": values})
                      for name, values in forecasts.items()], ignore_index=True)


def test_nonnegative_weights_recover_a_mixture():
    frame = _predictions()
    wide = frame.pivot_table(index="date", columns="model", values="y_pred")
    truth = frame.groupby("date")["y_true"].first()
    weights = nonnegative_weights(wide.to_numpy(), truth.to_numpy())
    np.testing.assert_allclose(weights, [0.7, 0.3, 0.0], atol=0.03)
    assert (nonnegative_weights(-wide.to_numpy(), truth.to_numpy()) >= 0).all()


def test_a_validation_block_is_forecast_without_its_own_targets():
    frame = _predictions()
    values, keys, info = combine(frame, ["a", "b", "c"])
    assert info["cross_fitted_blocks"] == 5 and set(info["weights"]) == {"a", "b", "c"}
    val_dates = np.sort(keys.loc[keys["split"] == "val", "date"].unique())
    first_block = val_dates[:24]
    moved = frame.copy()
    hit = moved["date"].isin(first_block)
    moved.loc[hit, "y_true"] = moved.loc[hit, "y_true"] * 5 + 100
    again, keys_again, _ = combine(moved, ["a", "b", "c"])
    in_block = keys["date"].isin(first_block).to_numpy()
    np.testing.assert_array_equal(values[in_block], again[in_block])
    assert not np.allclose(values[~in_block & (keys["split"] == "val").to_numpy()],
                           again[~in_block & (keys["split"] == "val").to_numpy()])


def test_the_test_targets_never_enter():
    frame = _predictions()
    values, _, _ = combine(frame, ["a", "b", "c"])
    moved = frame.copy()
    test = moved["split"] == "test"
    moved.loc[test, "y_true"] = 0.0
    again, _, _ = combine(moved, ["a", "b", "c"])
    np.testing.assert_array_equal(values, again)


def test_headroom_bounds_are_below_every_entry_and_the_combination():
    """benchmarks/headroom.py: fitted on the rows it scores, the NNLS bound is at most the
    best entry's RMSE, which is at most every entry's; on a 0.7 a + 0.3 b truth the bound
    is the noise's level, far below any single entry."""
    frame = _predictions()
    frame["fold"] = "2014"
    combined, keys, _ = combine(frame, ["a", "b", "c"])
    frame = pd.concat([frame, keys.assign(model="combination", y_pred=combined, fold="2014")],
                      ignore_index=True)
    rows = benchmark_module("headroom").headroom(frame[frame["split"] != "train"], "a")
    assert {(r["split"], r["fold"]) for r in rows} == {
        (s, f) for s in ("val", "test") for f in ("2014", "pooled")}
    for r in rows:
        assert r["nnls bound"] <= r["best entry"] <= r["recommended"] + 1e-9
        assert r["nnls bound"] < 4.0 < 10.0 < r["best entry"]
        assert r["nnls bound"] <= r["combination"] + 1e-9
        weights = r["nnls weights"]["2014"] if r["fold"] == "pooled" else r["nnls weights"]
        assert weights.get("c", 0.0) < 0.05
        assert abs(weights["a"] - 0.7) < 0.05


def test_the_in_sample_bound_fits_each_fold_on_its_own_rows():
    """Per fold, NNLS on the rows scored: at most every member's RMSE; a fold whose truth
    is another mixture gets its own weights."""
    rng = np.random.default_rng(3)
    a, b = rng.gamma(2, 40, 400), rng.gamma(2, 40, 400)
    fold = np.repeat(["2013", "2014"], 200)
    truth = np.where(fold == "2013", 0.9 * a + 0.1 * b, 0.2 * a + 0.8 * b) + rng.normal(0, 1, 400)
    keys = pd.DataFrame({"fold": pd.Categorical(fold), "date": np.arange(400)})
    bound = in_sample_bound(keys, truth, {"a": a, "b": b})
    assert bound["members"] == ["a", "b"]
    assert bound["weights"]["2013"]["a"] == pytest.approx(0.9, abs=0.02)
    assert bound["weights"]["2014"]["b"] == pytest.approx(0.8, abs=0.02)
    assert bound["rmse"] < 1.5 < min(np.sqrt(np.mean((f - truth) ** 2)) for f in (a, b))
