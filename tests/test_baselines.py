"""Baselines: persistence, climatology and the scikit-learn pipelines."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import cheap_hgb_hourly, set_family

from baselines import Climatology, Persistence, SklearnBaseline
from baselines.linear import HGB_GRID
from forecast import daily, registry
from forecast.config import BASELINE_MODELS, DEFAULTS
from forecast.errors import DataError
from forecast.synthetic import generate_hourly
from forecast.task import build_task


@pytest.fixture(scope="module")
def hourly():
    return generate_hourly(seed=3, start="2010-01-01", end="2012-12-31")


@pytest.fixture(scope="module")
def task(hourly):
    return build_task(hourly, daily.to_daily(hourly), dataset="synthetic")


@pytest.fixture(scope="module")
def hours_task(hourly):
    """Forecast mode with the target day's hours, for the models that read them."""
    return build_task(hourly, daily.to_daily(hourly), dataset="synthetic", mode="forecast",
                      target_hours=True)


def test_persistence_is_the_most_recent_valid_daily_mean(make_hourly):
    # day 3 and 4 have too few hours: persistence must carry day 2's mean forward
    hourly = make_hourly("2010-01-01", 400, pm25=lambda d, h: np.where(
        np.isin(d, (300, 301)) & (h < 10), np.nan, 1.0 * d + h))
    frame = daily.to_daily(hourly)
    task = build_task(hourly, frame, dataset="csv", train_end="2010-06-30",
                      val_end="2010-09-30", test_end="2011-12-31")
    model = Persistence().fit(task)
    rows = np.ones(len(task.y), dtype=bool)
    predicted = model.predict(task, rows)
    issue = task.rows["issue_day"]
    means = frame.set_index("date")["daily_mean_pm25"]
    expected = means.ffill().reindex(issue).to_numpy()
    np.testing.assert_allclose(predicted, expected)
    day_301 = (issue == pd.Timestamp("2010-01-01") + pd.Timedelta(days=301)).to_numpy()
    assert predicted[day_301][0] == pytest.approx(299 + 11.5)


def test_persistence_falls_back_to_training_mean_without_history(task):
    model = Persistence().fit(task)
    blank = task.persistence.copy()
    task.persistence[:5] = np.nan
    try:
        rows = np.zeros(len(task.y), dtype=bool)
        rows[:5] = True
        assert np.allclose(model.predict(task, rows), np.mean(task.y[task.mask("train")]))
    finally:
        task.persistence[:] = blank


def test_climatology_is_a_smoothed_day_of_year_mean_of_training_targets(task):
    model = Climatology(half_window=0).fit(task)
    train = task.mask("train")
    doy = pd.DatetimeIndex(task.rows["target_day"]).dayofyear.to_numpy()
    day = 40
    rows = (doy == day) & task.mask("test")
    expected = task.y[train & (doy == day)].mean()
    assert np.allclose(model.predict(task, rows), expected)


@pytest.fixture(scope="module")
def window_task(hourly):
    """Observed mode with the last 24 hours of the hourly record, for hgb_hourly."""
    return build_task(hourly, daily.to_daily(hourly), dataset="synthetic", hourly_hours=24)


@pytest.fixture
def task_of(task, hours_task, window_task, monkeypatch):
    """The task a baseline reads: its target day's hours or its hourly window, if any.
    hgb_hourly then searches one setting of hgb's grid (its draws and transforms as
    they are: :func:`conftest.cheap_hgb_hourly`)."""
    def of(name: str):
        model_spec = registry.spec(name)
        if model_spec.hourly:
            cheap_hgb_hourly(monkeypatch)
        return (hours_task if model_spec.target_hours else
                window_task if model_spec.hourly else task)
    return of


@pytest.mark.parametrize("name", BASELINE_MODELS)
def test_every_baseline_predicts_every_scored_day_finitely(task_of, name):
    task = task_of(name)
    model = registry.build(name, DEFAULTS).fit(task)
    rows = np.isin(task.split, ("train", "val", "test"))
    X = task.X.copy()
    task.X[rows.nonzero()[0][::7]] = np.nan  # missing inputs are the model's problem
    if task.target_hours is not None:
        weather = task.target_hours.copy()
        task.target_hours[rows.nonzero()[0][::5]] = np.nan
    if task.hourly is not None:
        window = task.hourly.copy()
        task.hourly[rows.nonzero()[0][::3], -5:] = np.nan
    try:
        predicted = model.predict(task, rows)
    finally:
        task.X[:] = X
        if task.target_hours is not None:
            task.target_hours[:] = weather
        if task.hourly is not None:
            task.hourly[:] = window
    assert predicted.shape == (rows.sum(),)
    assert np.isfinite(predicted).all() and (predicted >= 0).all()
    assert {"n_parameters", "fit_seconds"} <= set(model.info)


def test_hgb_hourly_refuses_a_task_without_its_hours(task):
    # rather than fitting without them, as plain hgb
    with pytest.raises(ValueError, match="hourly window holds 0 hours up to the issue time, "
                                         "24 are read"):
        SklearnBaseline("hgb_hourly", grid=(HGB_GRID[0],), draws=1).fit(task)


def test_ridge_beats_persistence_on_validation(task):
    val = task.mask("val")
    rmse = {}
    for name in ("persistence", "ridge"):
        predicted = registry.build(name, DEFAULTS).fit(task).predict(task, val)
        rmse[name] = np.sqrt(np.mean((predicted - task.y[val]) ** 2))
    assert rmse["ridge"] < 0.9 * rmse["persistence"]


def test_settings_are_chosen_without_the_test_split(task):
    first = SklearnBaseline(family="ridge").fit(task)
    test = task.mask("test", scored=False)
    saved_X, saved_y = task.X.copy(), task.y.copy()
    task.X[test] = task.X[test] * 3 + 100
    task.y[test] = task.y[test] * 5
    try:
        second = SklearnBaseline(family="ridge").fit(task)
    finally:
        task.X[:], task.y[:] = saved_X, saved_y
    assert first.info["chosen"] == second.info["chosen"]
    val = task.mask("val")
    np.testing.assert_allclose(first.predict(task, val), second.predict(task, val))


def test_validation_rows_steer_the_choice(task):
    first = SklearnBaseline(family="ridge").fit(task)
    val = task.mask("val")
    saved = task.y.copy()
    task.y[val] = np.median(task.y[task.mask("train")])  # a flat validation year
    try:
        second = SklearnBaseline(family="ridge").fit(task)
    finally:
        task.y[:] = saved
    assert first.info["chosen"] != second.info["chosen"]


def test_registry_rejects_unknown_names():
    with pytest.raises(DataError, match="unknown model"):
        registry.build("prophet", DEFAULTS)


@pytest.mark.parametrize("name", BASELINE_MODELS)
def test_baselines_honour_the_estimator_contract(task_of, name):
    from sklearn.base import clone

    task = task_of(name)
    model = registry.build(name, DEFAULTS, seed=3)
    params = model.get_params()
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    fitted = model.fit(task)
    assert not [k for k in vars(clone(fitted)) if k.endswith("_")]  # fitted state ends in _
    assert [k for k in vars(fitted) if k.endswith("_")]


def test_a_grid_can_be_set_and_is_honoured(task):
    model = SklearnBaseline(family="ridge").set_params(grid=({"alpha": 5.0},),
                                                       transforms=("none",))
    fitted = model.fit(task)
    assert fitted.info["chosen"] == {"alpha": 5.0, "target_transform": "none"}
    assert fitted.info["candidates"] == 1


def test_a_new_baseline_in_the_registry_counts_as_best_baseline(monkeypatch):
    """The baselines evaluate() compares against come from the registry table alone."""
    from forecast import evaluation
    from forecast.registry import REGISTRY, ModelSpec

    monkeypatch.setitem(REGISTRY, "oracle", ModelSpec("oracle", "baseline", "x:y"))
    monkeypatch.setattr(registry, "BASELINE_MODELS", (*registry.BASELINE_MODELS, "oracle"))
    dates = pd.date_range("2020-01-01", periods=40)
    rng = np.random.default_rng(0)
    y = 50 + rng.normal(0, 10, 40)
    rows = []
    for model, noise in (("persistence", 20), ("ridge", 10), ("oracle", 1), ("mlp", 5)):
        for split in ("val", "test"):
            rows.append(pd.DataFrame({"date": dates, "station": "S", "split": split,
                                      "model": model, "y_true": y,
                                      "y_pred": y + rng.normal(0, noise, 40)}))
    scores = evaluation.evaluate(pd.concat(rows), n_boot=20)
    assert scores["best_baseline"]["val"] == "oracle"


def test_hgb_holds_out_whole_days_for_early_stopping():
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state

    from baselines.linear import EARLY_STOPPING_FRACTION, held_out_days

    days = np.repeat(pd.date_range("2014-01-01", periods=100).to_numpy(), 3)  # 3 stations
    fit, stop = held_out_days(days, seed=4)
    assert sorted(np.concatenate([fit, stop]).tolist()) == list(range(len(days)))
    assert not set(days[fit]) & set(days[stop])          # a day is on one side, whole
    assert len(set(days[stop])) == round(EARLY_STOPPING_FRACTION * 100)
    # one station: the rows scikit-learn's own early-stopping split would hold out, in its order
    single = pd.date_range("2014-01-01", periods=100).to_numpy()
    seed = check_random_state(4).randint(np.iinfo(np.uint32).max, dtype="u8")
    expected = train_test_split(np.arange(100), test_size=EARLY_STOPPING_FRACTION,
                                random_state=seed)
    for got, want in zip(held_out_days(single, seed=4), expected, strict=True):
        assert got.tolist() == want.tolist()


def test_hgb_draws_from_the_last_run_seed(task):
    """--seed 4294967295 (2**32 - 1, the last one config takes): hgb's further draws seed
    from 0 on again instead of a seed NumPy refuses (a traceback after the run began)."""
    model = SklearnBaseline(family="hgb", grid=HGB_GRID[:1], transforms=("none",),
                            seed=2 ** 32 - 1, draws=2).fit(task)
    assert len(model.draws_) == 2
    assert np.isfinite(model.predict(task, task.mask("test"))).all()


def test_hgb_searches_on_a_sample_at_data_scale(task, monkeypatch):

    import baselines.linear as linear

    n_train = int(task.mask("train").sum())
    grid = linear.HGB_GRID[:3]
    set_family(monkeypatch, "hgb", search_rows=n_train // 3, finalists=2)
    sampled = SklearnBaseline(family="hgb", grid=grid, seed=0).fit(task)
    assert sampled.info["searched_on_rows"] == n_train // 3
    assert sampled.info["candidates"] == 2 * len(grid)    # two transforms × the grid
    set_family(monkeypatch, "hgb", search_rows=n_train)   # not more rows than that: no sample
    whole = SklearnBaseline(family="hgb", grid=grid, seed=0).fit(task)
    assert whole.info["searched_on_rows"] == n_train
    set_family(monkeypatch, "hgb", search_rows=0)
    reference = SklearnBaseline(family="hgb", grid=grid, seed=0).fit(task)
    rows = task.mask("test")
    assert np.array_equal(whole.predict(task, rows), reference.predict(task, rows))


@pytest.fixture(scope="module")
def three_stations():
    hourly = generate_hourly(seed=5, n_stations=3, start="2010-01-01", end="2012-12-31")
    return build_task(hourly, daily.to_daily(hourly), dataset="synthetic")


def test_hgb_splits_on_the_station_as_one_category(three_stations):
    task = three_stations
    model = SklearnBaseline(family="hgb", grid=HGB_GRID[:1], transforms=("none",),
                            seed=0, draws=1).fit(task)
    estimator = model.model_
    assert estimator.n_features_in_ == task.X.shape[1] + 1       # not one column per station
    assert estimator.is_categorical_.tolist() == [False] * task.X.shape[1] + [True]
    rows = task.mask("test")
    X = model._inputs(task, rows)
    assert np.array_equal(X[:, -1], task.station_index[rows])
    # ridge keeps one 0/1 column per station
    ridge = SklearnBaseline(family="ridge").fit(task)
    assert ridge.model_.n_features_in_ == task.X.shape[1] + len(task.stations)


def test_linear_families_with_many_stations_read_training_means(three_stations,
                                                               monkeypatch):
    """Beyond MAX_ONE_HOT_STATIONS the 0/1 columns (rows × stations) give way to one
    column, the station's mean training target."""
    import baselines.linear as linear

    task = three_stations
    monkeypatch.setattr(linear, "MAX_ONE_HOT_STATIONS", 2)
    ridge = SklearnBaseline(family="ridge").fit(task)
    assert ridge.model_.n_features_in_ == task.X.shape[1] + 1
    train = task.mask("train")
    for k in range(len(task.stations)):
        mine = train & (task.station_index == k)
        assert ridge.station_level_[k] == pytest.approx(task.y[mine].mean())
    rows = task.mask("test")
    np.testing.assert_array_equal(ridge._inputs(task, rows)[:, -1],
                                  ridge.station_level_[task.station_index[rows]])
    assert np.isfinite(ridge.predict(task, rows)).all()
    # hgb keeps its category
    hgb = SklearnBaseline(family="hgb", grid=HGB_GRID[:1], transforms=("none",), seed=0,
                          draws=1).fit(task)
    assert hgb.station_level_ is None and hgb.model_.is_categorical_[-1]


def test_hgb_with_more_stations_than_categories_reads_training_means(three_stations,
                                                                     monkeypatch):
    import baselines.linear as linear

    task = three_stations
    monkeypatch.setattr(linear, "MAX_CATEGORIES", 2)
    fit = dict(family="hgb", grid=HGB_GRID[:1], transforms=("none",), seed=0, draws=1)
    model = SklearnBaseline(**fit).fit(task)
    train = task.mask("train")
    for k in range(len(task.stations)):
        mine = train & (task.station_index == k)
        assert model.station_level_[k] == pytest.approx(task.y[mine].mean())
    assert model.model_.is_categorical_ is None                 # a number, not a category
    # the station column is built from training targets only: later targets do not move it
    later = ~train
    original = task.y.copy()
    try:
        task.y[later] = task.y[later] * 3 + 50
        moved = SklearnBaseline(**fit).fit(task)
    finally:
        task.y[:] = original
    np.testing.assert_array_equal(moved.station_level_, model.station_level_)


@pytest.mark.parametrize("name", ["ridge", "hgb"])
def test_forecasts_built_in_blocks_of_rows_are_those_built_at_once(three_stations, name,
                                                                   monkeypatch):
    """Forecasts are built FORECAST_ROWS rows of features at a time, and the linear
    families impute and standardise those features in place: neither may change a
    forecast nor touch the task."""
    import baselines.linear as linear

    task = three_stations
    features = task.X.copy()
    grid = {"grid": HGB_GRID[:1], "draws": 2} if name == "hgb" else {}
    model = SklearnBaseline(family=name, transforms=("none",), seed=0, **grid).fit(task)
    rows = np.ones(len(task.y), bool)
    at_once = model.predict(task, rows)
    monkeypatch.setattr(linear, "FORECAST_ROWS", 97)
    # the trees' forecasts are the same bits; a linear model's matrix-vector product may
    # give a block's last rows in another BLAS kernel, a last-bit difference
    same = (np.testing.assert_array_equal if name == "hgb" else
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=0))
    same(model.predict(task, rows), at_once)
    same(model.predict(task, np.flatnonzero(rows)[::-1]), at_once[::-1])
    np.testing.assert_array_equal(task.X, features)
    if name == "ridge":   # the same imputation and scaling as a copying pipeline's
        copying = linear._preprocessing().set_params(impute__copy=True, scale__copy=True)
        X = model._inputs(task, task.mask("train"))
        expected = copying.fit(X).transform(X)
        np.testing.assert_array_equal(model.model_[:-1].transform(X.copy()), expected)


class _Unexpected:
    """A type no fitted baseline holds (skops stores it as a plain object)."""

    def __init__(self) -> None:
        self.value = 1


@pytest.mark.parametrize("name", BASELINE_MODELS)
def test_a_stored_baseline_forecasts_bit_for_bit_as_the_fitted_one(task_of, name, tmp_path):
    from baselines import load_baseline

    task = task_of(name)
    model = registry.build(name, DEFAULTS).fit(task)
    model.save(tmp_path / f"{name}.skops")
    loaded = load_baseline(tmp_path / f"{name}.skops")
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    rows = np.ones(len(task.y), bool)
    np.testing.assert_array_equal(loaded.predict(task, rows), model.predict(task, rows))
    assert loaded.info == model.info
    loaded.check_task(task)


def test_a_stored_baseline_refuses_what_it_does_not_hold(task, tmp_path):
    import skops.io

    from baselines import load_baseline

    path = tmp_path / "ridge.skops"
    skops.io.dump({"class": "Persistence", "params": {}, "fitted": {"x": _Unexpected()}}, path)
    with pytest.raises(DataError, match="holds types a fitted baseline does not.*_Unexpected"):
        load_baseline(path)
    path.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="not a fitted baseline"):
        load_baseline(path)
    skops.io.dump({"class": "Ridge", "params": {}, "fitted": {}}, path)
    with pytest.raises(DataError, match="not a fitted baseline"):
        load_baseline(path)
    # fitted on other features or stations: refused with both named
    model = SklearnBaseline(family="ridge").fit(task)
    model.save(path)
    loaded = load_baseline(path)
    fewer = dataclasses.replace(task, feature_names=task.feature_names[:-1])
    with pytest.raises(DataError, match=f"missing: {task.feature_names[-1]}"):
        loaded.check_task(fewer, path)
    renamed = dataclasses.replace(task, stations=["elsewhere"])
    with pytest.raises(DataError, match="stations .* the data has elsewhere"):
        loaded.check_task(renamed, path)


def test_a_baseline_holding_what_predict_cannot_load_is_refused_when_stored(task, tmp_path):
    """A new baseline holding a random forest's trees stored fine and then stopped
    forecast predict for the whole run; it is refused when the run stores it."""
    from sklearn.tree import DecisionTreeRegressor

    from baselines.base import Baseline

    class Forest(Baseline):
        def fit(self, task):
            train = task.mask("train")
            self.tree_ = DecisionTreeRegressor(max_depth=2).fit(
                np.nan_to_num(task.X[train]), task.y[train])
            return self

    path = tmp_path / "forest.skops"
    with pytest.raises(TypeError, match=r"sklearn\.tree\._tree\.Tree.*STORED_TYPES"):
        Forest().fit(task).save(path)
    assert not path.exists()


def test_forecast_predict_refuses_a_model_file_holding_another_model(task, tmp_path):
    from baselines import load_baseline
    from forecast.config import load_config
    from forecast.predict import _check_stored

    config = load_config(None)
    for name in registry.ALL_MODELS:
        assert registry.built_as(registry.build(name, config)) == name
    assert registry.built_as(Persistence()) == "persistence"
    assert registry.built_as(Climatology()) == "climatology"
    path = tmp_path / "elasticnet.skops"
    SklearnBaseline(family="ridge").fit(task).save(path)
    with pytest.raises(DataError, match="elasticnet.skops: holds a fitted ridge, not elasticnet"):
        _check_stored(load_baseline(path), "elasticnet", path, task)
    _check_stored(load_baseline(path), "ridge", path, task)


def test_gradient_boosting_takes_threads_only_for_many_rows(task, hours_task, monkeypatch):
    """One OpenMP thread for a single station's days (threads there only spin-wait beside
    a busy process); ``training.jobs`` threads from THREADED_ROWS fitted rows on, hours
    of ``hgb_by_hour`` counted; the forecasts the same with any number."""
    import baselines.linear as linear

    grid = (HGB_GRID[0],)
    rows = np.isfinite(task.y)
    one = SklearnBaseline("hgb", grid=grid, transforms=("none",), n_threads=2).fit(task)
    assert one.threads_ == 1
    monkeypatch.setattr(linear, "THREADED_ROWS", 100)
    two = SklearnBaseline("hgb", grid=grid, transforms=("none",), n_threads=2).fit(task)
    assert two.threads_ == 2
    np.testing.assert_array_equal(one.predict(task, rows), two.predict(task, rows))
    days = int(np.count_nonzero((hours_task.split == "train") & np.isfinite(hours_task.y)))
    monkeypatch.setattr(linear, "THREADED_ROWS", 24 * days)
    by_hour = SklearnBaseline("hgb_by_hour", grid=(linear.HGB_BY_HOUR_GRID[0],), n_threads=2)
    assert by_hour.fit(hours_task).threads_ == 2
