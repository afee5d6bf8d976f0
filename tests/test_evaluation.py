"""Tests for forecast.evaluation: metrics against hand-computed values, bootstrap, DM, evaluate."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast.evaluation import (
    CHINA_PM25_BREAKPOINTS,
    LIMIT_24H,
    bootstrap_rmse_ci,
    bootstrap_rmse_diff_ci,
    category_accuracy,
    default_block_length,
    diebold_mariano,
    evaluate,
    exceedance_scores,
    metrics_by_season,
    moving_block_bootstrap_indices,
    pm25_category,
    point_metrics,
    season_of,
)

Y_TRUE = [10.0, 20.0, 30.0, 40.0]
Y_PRED = [12.0, 18.0, 33.0, 40.0]  # errors +2, -2, +3, 0
Y_REF = [5.0, 25.0, 25.0, 50.0]  # errors -5, +5, -5, +10


# --------------------------------------------------------------------------- point metrics


def test_constants():
    assert LIMIT_24H == 75.0
    assert CHINA_PM25_BREAKPOINTS == (35.0, 75.0, 115.0, 150.0, 250.0)


def test_point_metrics_hand_computed():
    m = point_metrics(Y_TRUE, Y_PRED)
    assert m["n"] == 4
    assert m["rmse"] == pytest.approx(math.sqrt((4 + 4 + 9 + 0) / 4))
    assert m["mae"] == pytest.approx((2 + 2 + 3 + 0) / 4)
    assert m["bias"] == pytest.approx((2 - 2 + 3 + 0) / 4)
    # SS_tot around mean 25: 225 + 25 + 25 + 225 = 500
    assert m["r2"] == pytest.approx(1 - 17 / 500)
    assert "skill" not in m and "rmse_reference" not in m


def test_point_metrics_skill():
    m = point_metrics(Y_TRUE, Y_PRED, Y_REF)
    rmse_ref = math.sqrt((25 + 25 + 25 + 100) / 4)
    assert m["rmse_reference"] == pytest.approx(rmse_ref)
    assert m["skill"] == pytest.approx(1 - math.sqrt(17 / 4) / rmse_ref)
    # the reference scored against itself has zero skill; a worse model negative skill
    assert point_metrics(Y_TRUE, Y_REF, Y_REF)["skill"] == pytest.approx(0.0)
    assert point_metrics(Y_TRUE, Y_REF, Y_PRED)["skill"] < 0


def test_point_metrics_bias_sign_and_plain_types():
    m = point_metrics([10, 10], [7, 9], [10, 11])
    assert m["bias"] == pytest.approx(-2.0)  # under-forecast -> negative bias
    assert type(m["n"]) is int
    for key in ("rmse", "mae", "r2", "bias", "rmse_reference", "skill"):
        assert type(m[key]) is float
    assert math.isnan(m["r2"])  # constant y_true: R² undefined


@pytest.mark.parametrize(
    "args",
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0]),
        ([1.0, np.nan], [1.0, 2.0]),
        ([1.0, 2.0], [1.0, np.nan]),
    ],
)
def test_point_metrics_rejects_bad_input(args):
    with pytest.raises(ValueError):
        point_metrics(*args)


def test_point_metrics_rejects_bad_reference():
    with pytest.raises(ValueError):
        point_metrics(Y_TRUE, Y_PRED, Y_REF[:3])
    with pytest.raises(ValueError):
        point_metrics(Y_TRUE, Y_PRED, [np.nan, 1.0, 2.0, 3.0])


# --------------------------------------------------------------------------- seasons


def test_season_of_boundaries():
    dates = pd.to_datetime(
        ["2020-01-15", "2020-02-29", "2020-03-01", "2020-05-31", "2020-06-01",
         "2020-08-31", "2020-09-01", "2020-11-30", "2020-12-01"]
    )
    expected = ["DJF", "DJF", "MAM", "MAM", "JJA", "JJA", "SON", "SON", "DJF"]
    assert list(season_of(dates)) == expected
    assert list(season_of(pd.Series(dates))) == expected


def test_metrics_by_season():
    dates = pd.to_datetime(["2021-01-10", "2021-01-11", "2021-07-10", "2021-07-11"])
    out = metrics_by_season(dates, Y_TRUE, Y_PRED, Y_REF)
    assert list(out) == ["DJF", "JJA"]
    assert out["DJF"]["n"] == 2
    assert out["DJF"]["rmse"] == pytest.approx(math.sqrt((4 + 4) / 2))
    assert out["JJA"]["rmse"] == pytest.approx(math.sqrt((9 + 0) / 2))
    assert out["JJA"]["bias"] == pytest.approx(1.5)
    assert out["DJF"]["skill"] == pytest.approx(1 - 2.0 / 5.0)
    with pytest.raises(ValueError):
        metrics_by_season(dates[:3], Y_TRUE, Y_PRED)


# --------------------------------------------------------------------------- events, categories


def test_exceedance_scores_hand_made():
    y_true = [80, 75, 100, 50, 76, 20]
    y_pred = [90, 80, 60, 75, 75.5, 10]
    # obs events: 80, 100, 76 (75 is not an exceedance); forecast events: 90, 80, 75.5
    s = exceedance_scores(y_true, y_pred)
    assert (s["hits"], s["misses"], s["false_alarms"], s["correct_negatives"]) == (2, 1, 1, 2)
    assert s["pod"] == pytest.approx(2 / 3)
    assert s["far"] == pytest.approx(1 / 3)
    assert s["csi"] == pytest.approx(2 / 4)


def test_exceedance_scores_threshold_and_empty_denominators():
    s = exceedance_scores([10, 20, 30], [15, 25, 35])
    assert (s["hits"], s["misses"], s["false_alarms"], s["correct_negatives"]) == (0, 0, 0, 3)
    assert math.isnan(s["pod"]) and math.isnan(s["far"]) and math.isnan(s["csi"])
    assert type(s["pod"]) is float
    s = exceedance_scores([10, 20, 30], [15, 25, 35], threshold=20)
    assert (s["hits"], s["misses"], s["false_alarms"], s["correct_negatives"]) == (1, 0, 1, 1)
    assert s["pod"] == 1.0 and s["far"] == 0.5


def test_pm25_category_boundaries():
    values = [0, 35, 35.1, 75, 75.0001, 115, 116, 150, 150.5, 250, 250.1, 500]
    expected = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    cats = pm25_category(values)
    assert cats.tolist() == expected
    assert np.issubdtype(cats.dtype, np.integer)
    assert pm25_category([5, 10, 11], breakpoints=(10,)).tolist() == [0, 0, 1]
    with pytest.raises(ValueError):
        pm25_category([1.0, np.nan])
    with pytest.raises(ValueError):
        pm25_category([1.0], breakpoints=(75, 35))


def test_category_accuracy():
    # categories: true [0, 1, 2, 5], predicted [0, 1, 3, 5]
    assert category_accuracy([30, 40, 80, 300], [35, 35.5, 120, 260]) == pytest.approx(0.75)
    assert category_accuracy([30, 40], [36, 34]) == 0.0


# --------------------------------------------------------------------------- bootstrap


def test_default_block_length():
    assert default_block_length(1) == 1
    assert default_block_length(8) == 2
    assert default_block_length(27) == 3
    assert default_block_length(365) == 7
    assert default_block_length(1000) == 10


def test_block_indices_shape_and_contiguity():
    n, length, n_boot = 10, 3, 500
    idx = moving_block_bootstrap_indices(n, length, n_boot, np.random.default_rng(1))
    assert idx.shape == (n_boot, n)
    assert np.issubdtype(idx.dtype, np.integer)
    assert idx.min() >= 0 and idx.max() <= n - 1
    # inside a block (positions 0-2, 3-5, 6-8) indices are consecutive
    for j in range(n - 1):
        if (j + 1) % length != 0:
            assert np.all(idx[:, j + 1] == idx[:, j] + 1)
    starts = idx[:, ::length]
    assert starts.min() == 0 and starts.max() == n - length  # both ends of [0, n-L] reached
    # truncation: the last (4th) block contributes only its first index
    assert idx.shape[1] == n


def test_block_indices_determinism_and_validation():
    a = moving_block_bootstrap_indices(20, 4, 50, np.random.default_rng(7))
    b = moving_block_bootstrap_indices(20, 4, 50, np.random.default_rng(7))
    c = moving_block_bootstrap_indices(20, 4, 50, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError):
        moving_block_bootstrap_indices(5, 6, 10, np.random.default_rng(0))
    with pytest.raises(ValueError):
        moving_block_bootstrap_indices(5, 0, 10, np.random.default_rng(0))


def _noisy(n, sd, seed):
    rng = np.random.default_rng(seed)
    y = rng.gamma(2.0, 40.0, size=n)
    return y, y + rng.normal(0.0, sd, size=n)


def test_bootstrap_ci_contains_rmse_and_narrows():
    y_small, p_small = _noisy(60, 5.0, 0)
    y_big, p_big = _noisy(3000, 5.0, 1)
    lo_s, hi_s = bootstrap_rmse_ci(y_small, p_small, n_boot=500)
    lo_b, hi_b = bootstrap_rmse_ci(y_big, p_big, n_boot=500)
    for y, p, lo, hi in ((y_small, p_small, lo_s, hi_s), (y_big, p_big, lo_b, hi_b)):
        rmse = point_metrics(y, p)["rmse"]
        assert lo < rmse < hi
        assert lo < 5.0 < hi  # the population RMSE
    assert (hi_b - lo_b) < 0.4 * (hi_s - lo_s)


def test_bootstrap_ci_constant_error_is_degenerate():
    y = np.arange(50, dtype=float) * 2.0
    lo, hi = bootstrap_rmse_ci(y, y - 3.0, n_boot=200)
    assert (lo, hi) == (3.0, 3.0)


def test_bootstrap_ci_deterministic_under_seed():
    y, p = _noisy(100, 8.0, 3)
    first = bootstrap_rmse_ci(y, p, seed=11, n_boot=300)
    assert bootstrap_rmse_ci(y, p, seed=11, n_boot=300) == first
    assert bootstrap_rmse_ci(y, p, seed=12, n_boot=300) != first
    q = y + 1.0
    d1 = bootstrap_rmse_diff_ci(y, p, q, seed=5, n_boot=300)
    assert bootstrap_rmse_diff_ci(y, p, q, seed=5, n_boot=300) == d1


def test_bootstrap_groups_keep_groups_whole():
    # Every group (date) has two rows with errors 0 and 2: any resample of whole groups has
    # RMSE exactly sqrt(2), while resampling single rows varies. Rows are shuffled so the
    # members of a group are not adjacent.
    n_groups = 40
    dates = np.repeat(pd.date_range("2021-01-01", periods=n_groups).to_numpy(), 2)
    err = np.tile([0.0, 2.0], n_groups)
    order = np.random.default_rng(0).permutation(len(err))
    dates, err = dates[order], err[order]
    y = np.full(len(err), 50.0)
    lo, hi = bootstrap_rmse_ci(y, y + err, groups=dates, n_boot=300)
    assert lo == pytest.approx(math.sqrt(2), abs=1e-12)
    assert hi == pytest.approx(math.sqrt(2), abs=1e-12)
    lo_rows, hi_rows = bootstrap_rmse_ci(y, y + err, n_boot=300)
    assert hi_rows - lo_rows > 0.1
    # same for the paired difference: model b has zero error, so rmse_a - rmse_b = sqrt(2)
    diff, dlo, dhi = bootstrap_rmse_diff_ci(y, y + err, y, groups=dates, n_boot=300)
    assert diff == pytest.approx(math.sqrt(2))
    assert dlo == pytest.approx(math.sqrt(2), abs=1e-12)
    assert dhi == pytest.approx(math.sqrt(2), abs=1e-12)
    with pytest.raises(ValueError):
        bootstrap_rmse_ci(y, y + err, groups=dates[:-1])


def test_bootstrap_groups_weight_rows():
    # group A: 3 rows with error 1; group B: 1 row with error 3. Resamples of 2 whole groups
    # (block length 1) can only give RMSE 1 (AA), sqrt(12/4) (AB) or 3 (BB).
    y = np.zeros(4)
    pred = np.array([1.0, 3.0, 1.0, 1.0])
    groups = np.array(["A", "B", "A", "A"])
    lo, hi = bootstrap_rmse_ci(y, pred, groups=groups, block_length=1, n_boot=2000, level=0.9)
    assert lo == pytest.approx(1.0)
    assert hi == pytest.approx(3.0)
    lo, hi = bootstrap_rmse_ci(y, pred, groups=groups, block_length=1, n_boot=2000, level=0.2)
    assert lo == pytest.approx(math.sqrt(3.0)) and hi == pytest.approx(math.sqrt(3.0))


def test_bootstrap_diff_ci():
    rng = np.random.default_rng(4)
    y = rng.gamma(2.0, 40.0, size=400)
    p_good = y + rng.normal(0.0, 3.0, size=400)
    p_bad = y + rng.normal(0.0, 9.0, size=400)
    diff, lo, hi = bootstrap_rmse_diff_ci(y, p_good, p_bad, n_boot=400)
    expected = point_metrics(y, p_good)["rmse"] - point_metrics(y, p_bad)["rmse"]
    assert diff == pytest.approx(expected)
    assert lo < diff < hi < 0
    diff_rev, lo_rev, hi_rev = bootstrap_rmse_diff_ci(y, p_bad, p_good, n_boot=400)
    assert diff_rev == pytest.approx(-diff)
    assert lo_rev == pytest.approx(-hi) and hi_rev == pytest.approx(-lo)


# --------------------------------------------------------------------------- Diebold-Mariano


def test_dm_identical_forecasts():
    y, p = _noisy(30, 4.0, 6)
    assert diebold_mariano(y, p, p) == (0.0, 1.0)
    assert diebold_mariano(y, p, p.copy(), horizon=3) == (0.0, 1.0)


def test_dm_constant_loss_difference():
    y = np.zeros(10)
    assert diebold_mariano(y, np.ones(10), np.full(10, 2.0)) == (-math.inf, 0.0)
    assert diebold_mariano(y, np.full(10, 2.0), np.ones(10)) == (math.inf, 0.0)


def _dm_by_hand(d, lag, h=1):
    """Newey–West (Bartlett) long-run variance with ``lag``, HLN factor, t(n-1) p."""
    n = len(d)
    mean = sum(d) / n
    dev = [x - mean for x in d]
    gammas = [sum(dev[t] * dev[t - k] for t in range(k, n)) / n for k in range(lag + 1)]
    var = gammas[0] + 2 * sum((1 - k / (lag + 1)) * gammas[k] for k in range(1, lag + 1))
    stat = mean / math.sqrt(var / n)
    stat *= math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return stat, 2 * stats.t.sf(abs(stat), n - 1)


def test_dm_worked_example():
    y = [10, 12, 9, 15, 11, 13]
    a = [11, 12, 10, 13, 11, 14]  # errors 1, 0, 1, -2, 0, 1   -> sq 1, 0, 1, 4, 0, 1
    b = [12, 10, 9, 18, 14, 12]  # errors 2, -2, 0, 3, 3, -1   -> sq 4, 4, 0, 9, 9, 1
    d = [-3, -4, 1, -5, -9, 0]
    # n = 6, mean = -10/3, gamma0 = (1 + 4 + 169 + 25 + 289 + 100) / 9 / 6 = 98/9
    mean, gamma0 = -10 / 3, 98 / 9
    stat_h1 = mean / math.sqrt(gamma0 / 6) * math.sqrt(5 / 6)
    assert stat_h1 == pytest.approx(-2.25877, abs=1e-4)
    stat, p = diebold_mariano(y, a, b, lag=0)
    assert stat == pytest.approx(stat_h1)
    assert p == pytest.approx(2 * stats.t.sf(abs(stat_h1), 5))
    assert (stat, p) == pytest.approx(_dm_by_hand(d, 0))
    # h = 2, lag 1 with Bartlett weight 1/2: gamma1 = (-2 - 26 - 65 + 85 - 170) / 9 / 6
    gamma1 = -178 / 54
    stat_h2 = mean / math.sqrt((gamma0 + gamma1) / 6) * math.sqrt((6 + 1 - 4 + 2 / 6) / 6)
    stat, p = diebold_mariano(y, a, b, horizon=2, lag=1)
    assert stat == pytest.approx(stat_h2)
    assert p == pytest.approx(2 * stats.t.sf(abs(stat_h2), 5))
    assert (stat, p) == pytest.approx(_dm_by_hand(d, 1, h=2))
    # the default lag follows the rule of thumb (2 for n = 6)
    assert diebold_mariano(y, a, b) == pytest.approx(_dm_by_hand(d, 2))
    # absolute-error loss: d = |e_a| - |e_b| = [-1, -2, 1, -1, -3, 0]
    assert diebold_mariano(y, a, b, power=1, lag=0) == pytest.approx(
        _dm_by_hand([-1, -2, 1, -1, -3, 0], 0))
    # swapping the models flips the sign, keeps the p-value
    stat_ba, p_ba = diebold_mariano(y, b, a, lag=0)
    assert stat_ba == pytest.approx(-stat_h1)
    assert p_ba == pytest.approx(2 * stats.t.sf(abs(stat_h1), 5))


def test_dm_clearly_better_model():
    rng = np.random.default_rng(9)
    y = rng.gamma(2.0, 40.0, size=200)
    good = y + rng.normal(0, 2.0, size=200)
    bad = y + rng.normal(0, 10.0, size=200)
    stat, p = diebold_mariano(y, good, bad)
    assert stat < -5
    assert p < 1e-5
    stat2, p2 = diebold_mariano(y, good, bad, horizon=2)
    assert stat2 < -5 and p2 < 1e-5


def test_dm_validation():
    with pytest.raises(ValueError):
        diebold_mariano([1, 2, 3], [1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        diebold_mariano([1, 2, 3], [1, 2, 4], [1, 3, 3], horizon=0)


# --------------------------------------------------------------------------- evaluate


def _long_table(n_stations=2, n_days=50, seed=0):
    """val: Jan-Feb 2021, test: Jul-Aug 2021 (n_days <= 59); climatology better than persistence on val only."""
    rng = np.random.default_rng(seed)
    stations = [f"S{i}" for i in range(n_stations)]
    sd = {  # error sd per (model, split)
        ("persistence", "val"): 12.0, ("persistence", "test"): 6.0,
        ("climatology", "val"): 8.0, ("climatology", "test"): 14.0,
        ("net", "val"): 2.0, ("net", "test"): 2.0,
    }
    starts = {"train": "2020-06-01", "val": "2021-01-01", "test": "2021-07-01"}
    frames = []
    for split, start in starts.items():
        dates = pd.date_range(start, periods=n_days, freq="D")
        keys = pd.MultiIndex.from_product([dates, stations], names=["date", "station"])
        truth = rng.gamma(2.0, 45.0, size=len(keys))
        for model in ("persistence", "climatology", "net"):
            err = rng.normal(0.0, sd.get((model, split), 5.0), size=len(keys))
            frames.append(pd.DataFrame({
                "date": keys.get_level_values("date"), "station": keys.get_level_values(
                    "station"), "split": split, "model": model, "y_true": truth,
                "y_pred": truth + err,
            }))
    table = pd.concat(frames, ignore_index=True)
    # train rows are ignored, so they may differ between models
    drop = table.index[(table["split"] == "train") & (table["model"] == "net")][:5]
    return table.drop(index=drop).sample(frac=1.0, random_state=1).reset_index(drop=True)


def _walk(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)
    else:
        yield obj


def test_evaluate_structure_and_values():
    table = _long_table()
    out = evaluate(table, n_boot=200)
    assert set(out) == {"models", "best_baseline", "comparisons"}
    assert set(out["models"]) == {"persistence", "climatology", "net"}
    for model, per_split in out["models"].items():
        assert set(per_split) == {"val", "test"}  # no 'train'
        for split, m in per_split.items():
            rows = table[(table["model"] == model) & (table["split"] == split)]
            assert m["n"] == 100
            assert m["rmse"] == pytest.approx(point_metrics(rows["y_true"], rows["y_pred"])["rmse"])
            lo, hi = m["rmse_ci"]
            assert lo < m["rmse"] < hi
            assert set(m["by_season"]) == ({"DJF"} if split == "val" else {"JJA"})
            assert m["by_season"][next(iter(m["by_season"]))]["rmse"] == pytest.approx(m["rmse"])
            assert m["exceedance"]["hits"] + m["exceedance"]["misses"] == int(
                (rows["y_true"] > LIMIT_24H).sum())
            assert 0.0 <= m["category_accuracy"] <= 1.0
    pers_test = out["models"]["persistence"]["test"]
    assert pers_test["skill"] == pytest.approx(0.0)
    net_test = out["models"]["net"]["test"]
    assert net_test["rmse_reference"] == pytest.approx(pers_test["rmse"])
    assert net_test["skill"] == pytest.approx(1 - net_test["rmse"] / pers_test["rmse"])
    # plain Python scalars only, JSON-serialisable
    for leaf in _walk(out):
        assert leaf is None or type(leaf) in (int, float, str, bool)
    json.dumps(out)


def test_evaluate_best_baseline_from_val_and_comparisons():
    out = evaluate(_long_table(), n_boot=200)
    # climatology wins on val (sd 8 vs 12) though persistence is better on test
    assert out["best_baseline"] == {"val": "climatology", "test": "climatology"}
    assert (out["models"]["persistence"]["test"]["rmse"]
            < out["models"]["climatology"]["test"]["rmse"])
    comps = {(c["split"], c["model"]): c for c in out["comparisons"]}
    assert set(comps) == {(s, m) for s in ("val", "test") for m in ("persistence", "net")}
    for (split, model), c in comps.items():
        assert c["against"] == "climatology"
        assert c["rmse_diff"] == pytest.approx(
            out["models"][model][split]["rmse"] - out["models"]["climatology"][split]["rmse"])
        lo, hi = c["rmse_diff_ci"]
        assert lo <= c["rmse_diff"] <= hi
    net = comps[("test", "net")]
    assert net["rmse_diff"] < 0 and net["dm_stat"] < 0 and net["dm_p_value"] < 0.05
    assert net["significant"] is True
    assert comps[("test", "persistence")]["rmse_diff"] < 0  # persistence better on test


def test_evaluate_is_deterministic():
    table = _long_table(n_days=30)
    assert json.dumps(evaluate(table, n_boot=100)) == json.dumps(evaluate(table, n_boot=100))


def test_evaluate_single_station_dm_matches_function():
    table = _long_table(n_stations=1, n_days=40)
    out = evaluate(table, n_boot=100)
    test = table[table["split"] == "test"].sort_values("date")
    pick = {m: test[test["model"] == m].set_index("date") for m in ("net", "climatology")}
    stat, p = diebold_mariano(pick["net"]["y_true"], pick["net"]["y_pred"],
                              pick["climatology"]["y_pred"])
    comp = next(c for c in out["comparisons"] if c["split"] == "test" and c["model"] == "net")
    assert comp["dm_stat"] == pytest.approx(stat)
    assert comp["dm_p_value"] == pytest.approx(p)


def test_evaluate_missing_reference_gives_nan_skill():
    out = evaluate(_long_table(n_days=20), reference="nope", n_boot=50)
    m = out["models"]["net"]["val"]
    assert math.isnan(m["skill"]) and math.isnan(m["rmse_reference"])


def test_evaluate_rejects_mismatched_rows():
    table = _long_table(n_days=20)
    victim = table.index[(table["split"] == "test") & (table["model"] == "net")][0]
    with pytest.raises(ValueError, match="net"):
        evaluate(table.drop(index=victim), n_boot=20)
    dup = pd.concat([table, table.loc[[victim]]], ignore_index=True)
    with pytest.raises(ValueError, match="net"):
        evaluate(dup, n_boot=20)
    shifted = table.copy()
    shifted.loc[victim, "date"] = shifted.loc[victim, "date"] + pd.Timedelta(days=365)
    with pytest.raises(ValueError, match="net"):
        evaluate(shifted, n_boot=20)
    wrong_truth = table.copy()
    wrong_truth.loc[victim, "y_true"] += 1.0
    with pytest.raises(ValueError, match="y_true"):
        evaluate(wrong_truth, n_boot=20)
    with pytest.raises(ValueError, match="y_pred"):
        evaluate(table.drop(columns="y_pred"), n_boot=20)


def _two_model_val_table(loss_diff):
    """One station, val split only: persistence errs by +11 every day, net's squared error is
    121 + loss_diff[t] on day t (so the daily loss differential net - persistence is loss_diff).
    """
    d = np.asarray(loss_diff, dtype=float)
    dates = pd.date_range("2021-01-01", periods=len(d))
    truth = np.full(len(d), 50.0)
    return pd.concat([
        pd.DataFrame({"date": dates, "station": "A", "split": "val", "model": "persistence",
                      "y_true": truth, "y_pred": truth + 11.0}),
        pd.DataFrame({"date": dates, "station": "A", "split": "val", "model": "net",
                      "y_true": truth, "y_pred": truth + np.sqrt(121.0 + d)}),
    ], ignore_index=True)


def test_evaluate_significant_needs_both_ci_and_dm():
    # net better every day, so every bootstrap resample favours it (CI excludes 0), but one
    # huge day dominates: DM p ~ 0.29 -> not significant.
    out = evaluate(_two_model_val_table([-3, -3, -3, -3, -3, -100]), n_boot=300)
    assert out["best_baseline"] == {"val": "persistence", "test": "persistence"}
    (comp,) = out["comparisons"]
    assert comp["rmse_diff_ci"][1] < 0
    assert comp["dm_p_value"] > 0.2
    assert comp["significant"] is False
    # persistent runs: a DM test that took the days as independent gave p ~ 0.016; the
    # Newey–West variance sees the runs (p ~ 0.17), as does the block bootstrap's CI.
    d = [-1] * 7 + [2] * 7 + [-1] * 7 + [-3] * 7 + [-2] * 2
    y, a, b = np.zeros(len(d)), np.sqrt(np.maximum(d, 0)), np.sqrt(np.maximum(-np.array(d), 0))
    assert diebold_mariano(y, a, b, lag=0)[1] < 0.05
    (comp,) = evaluate(_two_model_val_table(d), n_boot=1000)["comparisons"]
    assert comp["dm_p_value"] > 0.1
    assert comp["rmse_diff_ci"][0] < 0 < comp["rmse_diff_ci"][1]
    assert comp["significant"] is False
