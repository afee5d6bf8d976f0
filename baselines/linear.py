"""scikit-learn baselines: imputation → scaling → estimator, one Pipeline each.

``linear`` (OLS), ``ridge``, ``lasso``, ``elasticnet`` and ``hgb``
(HistGradientBoostingRegressor, the strongest non-deep reference). Regularisation
strength (and for hgb a small search) and the target transform (none or log1p) are
chosen on the validation split; the chosen model is the one fitted on the training split
only, so the test year stays unseen. Predictions are mapped back to µg/m³.

Cost at data scale: the imputer and scaler are fitted once per fit, not once per
candidate; the regularisation path of lasso and elastic net is walked from the
strongest penalty down with warm starts (each fit starts from the previous solution,
which is what scikit-learn's own path solvers do); gradient boosting stops early on the
training days held out whole (every station of a day together), so it stops once
more trees stop helping.
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from forecast.constants import HGB_HOURLY_HOURS, TARGET_TRANSFORMS, nth_seed
from forecast.task import (
    ForecastTask,
    inverse_target,
    row_indices,
    sample_rows,
    target_hour_features,
    transform_target,
)

from .base import Baseline

ALPHAS = np.logspace(-3, 3, 13)
SPARSE_ALPHAS = np.logspace(-3, 1, 9)
TRANSFORMS = TARGET_TRANSFORMS
HGB_GRID = tuple(
    {"learning_rate": lr, "max_leaf_nodes": leaves, "min_samples_leaf": 20,
     "l2_regularization": 1.0}
    for lr in (0.03, 0.1) for leaves in (7, 15, 31)
)


# hgb_by_hour: 24 training rows a day make each fit many times slower than hgb's. On the
# single site every fold chose the larger learning rate anyway (in a screen, pooled
# validation RMSE 31.40 with it alone, as with both). It fits on at most 36,000 hours
# (``max_rows``; the single site's largest fit has fewer): on the 12 sites (up to 290,000)
# a sample of 24,000 / 36,000 / 48,000 hours or all of them validated alike (pooled
# 25.14 / 24.95 / 25.20 / 25.16 µg/m³) while all of them took 411 s of fitting, 36,000 56 s.
# That cap bounds every fit, so it needs no search on a sample (``search_rows``).
HGB_BY_HOUR_GRID = tuple(
    {"learning_rate": 0.1, "max_leaf_nodes": leaves, "min_samples_leaf": 20,
     "l2_regularization": 1.0}
    for leaves in (7, 15, 31)
)
#: hgb_by_hour compares its settings on at most this many validation days (drawn at
#: random): forecasting all of them, 24 hours each, for each setting was most of its fit
#: at scale (at 1,000 stations 353,000 days: 620 of its 973 s). The Beijing data have at
#: most 4,400. At 1,000 synthetic stations the sample cost 0.07 µg/m³ of validation RMSE
#: (another setting chosen; docs/performance.md).
CHOICE_DAYS = 20_000
HOURS = 24
#: rows whose features are built and forecast at once: 120,000 days, or for hgb_by_hour
#: 5,000 days of 24 hours (1,000 stations' rows of every split are 1.4 million, about
#: 1 GiB a float64 copy of their features)
FORECAST_ROWS = 120_000

EARLY_STOPPING_FRACTION = 0.15


def held_out_days(days: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (fit, stop) into the training rows ``days`` (their target days): a share
    ``EARLY_STOPPING_FRACTION`` of the distinct days held out for early stopping, with
    every station of a held-out day.

    Rows of one day at neighbouring stations are near copies, so a row-wise hold-out
    scores interpolation between stations and never stops (1000 trees per candidate on
    the 12-site data). The days are drawn as HistGradientBoostingRegressor draws its own
    hold-out rows (the same seed derivation and ``train_test_split``), so with one
    station, one row per day, the split is the one it makes itself.
    """
    unique, day_of_row = np.unique(days, return_inverse=True)
    split_seed = check_random_state(seed).randint(np.iinfo(np.uint32).max, dtype="u8")
    fit_days, stop_days = train_test_split(np.arange(len(unique)),
                                           test_size=EARLY_STOPPING_FRACTION,
                                           random_state=split_seed)

    def rows_of(chosen: np.ndarray) -> np.ndarray:   # in the order of the drawn days
        rank = np.full(len(unique), -1)
        rank[chosen] = np.arange(len(chosen))
        rows = np.flatnonzero(rank[day_of_row] >= 0)
        return rows[np.argsort(rank[day_of_row[rows]], kind="stable")]

    return rows_of(fit_days), rows_of(stop_days)


@dataclass(frozen=True)
class Family:
    """A scikit-learn regressor and the settings validation chooses among.

    ``grid``: the candidate settings (ties go to the first); ``fixed``: constructor
    arguments every candidate shares; ``preprocess``: impute the median (with missing
    indicators) and standardise first — linear models need it, gradient boosting handles
    missing values itself; ``seeded``: pass ``random_state``; ``path``: walk the grid
    from its last setting (the strongest penalty) to its first with warm starts;
    ``stops_on_held_out_days``: stop early on :func:`held_out_days` of the training rows;
    ``native_stations``: with several stations, the station is one column the estimator
    splits on as a category (see :meth:`SklearnBaseline._inputs`) instead of one 0/1
    column per station;
    ``search_rows``: with more training rows than this, every candidate is first fitted
    on a random sample of that many rows and only the ``finalists`` best by validation
    RMSE on all of them (0: no sample); ``draws``: a family that stops on held-out days
    fits the chosen setting again with this many seeds (hold-out draws) in all and
    averages their forecasts, when it has at most ``draws_rows`` training rows (a
    single station's years: with many stations the hold-out holds thousands of rows and
    the extra fits would cost more than the draw varies); ``transforms``: the target
    transforms it may choose among (None: the model's); ``by_hour``: it forecasts each
    hour of the target day from day D's features and that hour's weather
    (:func:`forecast.task.target_hour_features`), trained on the target day's hourly
    PM2.5, and its forecast of the daily mean is the mean of its 24 hours (forecast mode;
    ``search_rows`` and ``draws_rows`` then count days, not hours); ``max_rows``: with
    more training rows than this, every fit uses a random sample of that many (0: all);
    ``choice_rows``: with more validation rows than this, the candidates are compared on
    a random sample of that many (0: all; by hour, days);
    ``hourly_hours``: it also reads the last that many hours up to the issue time of the
    hourly window (:meth:`forecast.task.ForecastTask.hours_to_issue`), each hour's
    channels one column each, after day D's features (0: none).
    """

    estimator: type
    grid: tuple[dict, ...] = ({},)
    fixed: dict = field(default_factory=dict)
    preprocess: bool = True
    seeded: bool = False
    path: bool = False
    stops_on_held_out_days: bool = False
    search_rows: int = 0
    finalists: int = 3
    draws: int = 1
    draws_rows: int = 5_000
    native_stations: bool = False
    transforms: tuple[str, ...] | None = None
    by_hour: bool = False
    max_rows: int = 0
    choice_rows: int = 0
    hourly_hours: int = 0

    def make(self, params: dict, seed: int, **inputs):
        return self.estimator(**self.fixed, **params, **inputs,
                              **({"random_state": seed} if self.seeded else {}))


FAMILIES = {
    "linear": Family(LinearRegression),
    "ridge": Family(Ridge, tuple({"alpha": float(a)} for a in ALPHAS)),
    "lasso": Family(Lasso, tuple({"alpha": float(a)} for a in SPARSE_ALPHAS),
                    {"max_iter": 20000, "precompute": True}, path=True),
    "elasticnet": Family(ElasticNet, tuple({"alpha": float(a), "l1_ratio": r}
                                           for r in (0.5, 0.9) for a in SPARSE_ALPHAS),
                         {"max_iter": 20000, "precompute": True}, path=True),
    "hgb": Family(HistGradientBoostingRegressor, HGB_GRID,
                  {"max_iter": 1000, "early_stopping": True, "n_iter_no_change": 30},
                  preprocess=False, seeded=True, stops_on_held_out_days=True,
                  search_rows=20_000, finalists=2, draws=5, native_stations=True),
    # day D's features and its last 24 hours as they were, hour by hour (observed mode:
    # 24 hours validated better than 12, 48 or 72, docs/results.md)
    "hgb_hourly": Family(HistGradientBoostingRegressor, HGB_GRID,
                         {"max_iter": 1000, "early_stopping": True, "n_iter_no_change": 30},
                         preprocess=False, seeded=True, stops_on_held_out_days=True,
                         search_rows=20_000, finalists=2, draws=5, native_stations=True,
                         hourly_hours=HGB_HOURLY_HOURS),
    # Poisson loss: a log link for a skewed, non-negative target whose forecasts are
    # still means (averaging 24 hours of them gives the daily mean's)
    "hgb_by_hour": Family(HistGradientBoostingRegressor, HGB_BY_HOUR_GRID,
                          {"max_iter": 1000, "early_stopping": True, "n_iter_no_change": 30,
                           "loss": "poisson"},
                          preprocess=False, seeded=True, stops_on_held_out_days=True,
                          draws=3, native_stations=True, transforms=("none",),
                          by_hour=True, max_rows=36_000, choice_rows=CHOICE_DAYS),
}

#: With fewer rows to fit than this, gradient boosting uses one OpenMP thread whatever
#: ``training.jobs`` allows. On the single site (1,082 training days, hgb's fit on this
#: project's 2-core machine) two threads took 5.7 s against 5.8 s for one when nothing
#: else ran, and 18.8 s against 7.2 s beside one other busy process: their threads
#: spin-wait for each other. On the 12 sites (8,592 station-days) two paid when nothing
#: else ran (6.5 s against 9.5 s; beside a busy process 23.6 against 10.0). The forecasts
#: are the same bit for bit with any number of threads.
THREADED_ROWS = 4_000

# HistGradientBoostingRegressor's categories are bin numbers: at most max_bins (255)
MAX_CATEGORIES = 255
#: With more stations the linear families read the station's mean training target
#: instead of one 0/1 column per station: those columns grow with rows × stations (at
#: 200 stations the ridge's standardised copies peaked at 2.4 GiB above the run's
#: other memory, at 1,000 one copy alone would be 12 GiB).
MAX_ONE_HOT_STATIONS = 64


def _preprocessing() -> Pipeline:
    """Median imputation with missing indicators, then standardisation. Both work in
    place (``copy=False``): every array they see is one :meth:`SklearnBaseline._inputs`
    has just built, and at 1,000 stations each copy of the features is about 1 GiB."""
    return Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True,
                                 keep_empty_features=True, copy=False)),
        ("scale", StandardScaler(copy=False)),
    ])


class SklearnBaseline(Baseline):
    """A scikit-learn regressor family (see :data:`FAMILIES`) behind the model interface.

    ``family``: linear, ridge, lasso, elasticnet or hgb; ``grid``: the candidate
    settings (default: the family's); ``transforms``: target transforms to try
    (none, log1p); ``seed``: hgb's random state; ``draws``: how many fits of the chosen
    setting to average (default: the family's rule, :class:`Family`). ``fit`` fits every
    candidate × transform on the training rows and keeps the one with the lowest
    validation RMSE.
    """

    def __init__(self, family: str = "ridge", grid: tuple[dict, ...] | None = None,
                 transforms: tuple[str, ...] = TRANSFORMS, seed: int = 0,
                 n_threads: int = 1, draws: int | None = None) -> None:
        self.family = family
        self.grid = grid
        self.transforms = transforms
        self.seed = seed
        self.n_threads = n_threads
        self.draws = draws

    @classmethod
    def from_config(cls, name: str, config: dict, seed: int = 0) -> SklearnBaseline:
        """``training.jobs`` processes may run at once: a baseline, fitted while nothing
        else trains, may use as many OpenMP threads (gradient boosting's histograms)."""
        family = FAMILIES.get(name)
        transforms = family.transforms if family and family.transforms else TRANSFORMS
        return cls(family=name, seed=seed, n_threads=int(config["training"]["jobs"]),
                   transforms=transforms)

    def _inputs(self, task: ForecastTask, rows: np.ndarray,
                hours: np.ndarray | None = None) -> np.ndarray:
        """The rows' features (:meth:`_day_inputs`). For a family that forecasts by hour,
        one row per (row, hour of its target day) — every hour 0–23 of each row, or with
        ``hours`` (``rows`` then positions, one per hour) the hours given — with that
        hour's :func:`~forecast.task.target_hour_features` after the day's features."""
        if not FAMILIES[self.family].by_hour:
            return self._day_inputs(task, rows)
        self._require_target_hours(task)
        rows = row_indices(rows)
        if hours is None:
            rows, hours = np.repeat(rows, HOURS), np.tile(np.arange(HOURS), len(rows))
        # each day's features once, then one copy per hour asked for
        unique, position = np.unique(rows, return_inverse=True)
        by_hour = target_hour_features(task.target_hours[unique], task.target_hour_names)
        return np.hstack([self._day_inputs(task, unique)[position], by_hour[position, hours]])

    def _require_target_hours(self, task: ForecastTask) -> None:
        if task.target_hours is None or task.y_hours is None:
            raise ValueError(f"{self.family} reads the target day's hourly weather "
                             "(task.target_hours): build the task in forecast mode with "
                             "target_hours=True")

    def _day_inputs(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        """The rows' features, float64, with the station for several stations: one 0/1
        column per station for the linear families (up to :data:`MAX_ONE_HOT_STATIONS`
        stations); for gradient boosting one column, the station's number (split on as a
        category, up to :data:`MAX_CATEGORIES` stations); beyond those, one column, the
        station's mean training target (µg/m³, from the training rows of the fit only).
        A family with ``hourly_hours`` (hgb_hourly) has the hours last.
        One-hot columns made hgb's histograms ×3.3 slower at 200 stations (285 columns
        instead of 86)."""
        n_features, n_stations = task.X.shape[1], len(task.stations)
        family = FAMILIES[self.family]
        one_hot = (n_stations > 1 and self.station_level_ is None
                   and not family.native_stations)
        station = task.station_index[rows]
        n_station_columns = n_stations if one_hot else int(n_stations > 1)
        # (a ValueError for a task without those hours, rather than forecasts without them)
        window = (task.hours_to_issue(rows, family.hourly_hours) if family.hourly_hours
                  else np.empty((len(station), 0, 0)))
        hours = window.reshape(len(station), window.shape[1] * window.shape[2])
        # one float64 array, filled in place: at 1,000 stations each copy is about 1 GiB
        X = np.empty((len(station), n_features + n_station_columns + hours.shape[1]))
        X[:, :n_features] = task.X[rows]
        # the hours after the station's column(s), so that its category column keeps its place
        X[:, n_features + n_station_columns:] = hours
        if one_hot:
            X[:, n_features:n_features + n_stations] = OneHotEncoder(
                categories=[np.arange(n_stations)], sparse_output=False,
            ).fit_transform(station[:, None]) if len(X) else 0.0
        elif n_stations > 1 and self.station_level_ is not None:
            X[:, n_features] = self.station_level_[station]
        elif n_stations > 1:
            X[:, n_features] = station
        return X

    def fit(self, task: ForecastTask) -> SklearnBaseline:
        # Few OpenMP threads (default 1): HistGradientBoosting's threads spin-wait, and
        # beside another busy process (a network training, a second test) a fit went from
        # 8 s to 220 s; with few rows one thread (THREADED_ROWS).
        rows = int(task.mask("train").sum())
        if self.family in FAMILIES and FAMILIES[self.family].by_hour:
            rows *= 24
        self.threads_ = int(self.n_threads) if rows >= THREADED_ROWS else 1
        with threadpool_limits(limits=self.threads_, user_api="openmp"):
            return self._fit(task)

    def _fit(self, task: ForecastTask) -> SklearnBaseline:
        start = time.perf_counter()
        if self.family not in FAMILIES:
            raise ValueError(f"unknown baseline family {self.family!r}; known: "
                             f"{', '.join(FAMILIES)}")
        family = FAMILIES[self.family]
        grid = list(self.grid if self.grid is not None else family.grid)
        train, val = task.mask("train"), task.mask("val")
        self._station_column(family, task, train)
        order = list(range(len(grid)))[::-1] if family.path else list(range(len(grid)))
        candidates = [(transform, index) for transform in self.transforms for index in order]
        val_rows = sample_rows(np.flatnonzero(val), family.choice_rows, self.seed)
        y_val = task.y[val_rows]
        per_day = HOURS if family.by_hour else 1
        preprocessing = None
        if family.by_hour:
            # trained on each hour of the target day with a valid PM2.5 (at most
            # ``max_rows`` of them, drawn before any is built); scored on the day
            self._require_target_hours(task)
            position, hour = np.nonzero(np.isfinite(task.y_hours[train]))
            n_train = len(position)
            if family.max_rows and n_train > family.max_rows:
                keep = np.sort(np.random.default_rng(self.seed).choice(
                    n_train, family.max_rows, replace=False))
                position, hour = position[keep], hour[keep]
            rows = np.flatnonzero(train)[position]
            X_train = self._inputs(task, rows, hour)
            y_train = task.y_hours[rows, hour].astype(np.float64)
            days = task.rows["target_day"].to_numpy()[rows]

            def forecast_val(estimator, transform):
                return self._forecast([estimator], transform, task, val_rows)
        else:
            X_train = self._inputs(task, train)
            if family.preprocess:
                preprocessing = _preprocessing()
                X_train = preprocessing.fit_transform(X_train)
            X_val = self._inputs(task, val_rows)
            if preprocessing is not None and len(X_val):
                X_val = preprocessing.transform(X_val)
            y_train = task.y[train]
            days = task.rows.loc[train, "target_day"].to_numpy()
            n_train = len(y_train)

            def forecast_val(estimator, transform):
                return np.maximum(inverse_target(estimator.predict(X_val), transform), 0.0)
        searched_on, n_candidates = len(y_train), len(candidates)
        if (family.search_rows and len(y_train) > family.search_rows * per_day
                and len(candidates) > family.finalists):
            # at data scale: every candidate on a sample of the training rows, then the
            # best few on all of them; validation chooses at both steps
            sample = np.sort(np.random.default_rng(self.seed).choice(
                len(y_train), family.search_rows * per_day, replace=False))
            first = self._scores(family, grid, candidates, X_train[sample], y_train[sample],
                                 days[sample], forecast_val, y_val)
            ranked = sorted(range(len(first)), key=lambda k: (first[k][0], first[k][1]))
            candidates = [candidates[k] for k in sorted(ranked[:family.finalists])]
            searched_on = family.search_rows * per_day
        scores = self._scores(family, grid, candidates, X_train, y_train, days, forecast_val,
                              y_val)
        rmse, index, params, estimator = min(scores, key=lambda s: (s[0], s[1]))
        if family.path:
            estimator.set_params(warm_start=False)
        self.model_ = (Pipeline([*preprocessing.steps, ("model", estimator)])
                       if preprocessing is not None else estimator)
        self.transform_ = params["target_transform"]
        # gradient boosting that stops on a random 15 % of the training days varies by
        # ±1.5 µg/m³ with the draw on a single site: average the chosen setting over draws
        self.draws_ = [estimator]
        draws = self.draws if self.draws is not None else (
            family.draws if n_train <= family.draws_rows * per_day else 1)
        for k in range(1, draws):
            self.draws_.append(self._scores(family, grid, [(self.transform_, index)],
                                            X_train, y_train, days, forecast_val, y_val[:0],
                                            seed=nth_seed(self.seed, k))[0][3])
        # coefficients a sparse fit set to zero are not in use: count the others
        n_parameters = int(np.count_nonzero(getattr(estimator, "coef_", [1.0])) + 1)
        if family.estimator is HistGradientBoostingRegressor:
            n_parameters = int(sum(len(p.nodes) for draw in self.draws_
                                   for tree in draw._predictors for p in tree))
        self.info_ = {"n_parameters": n_parameters, "fit_seconds": time.perf_counter() - start,
                      "chosen": params, "val_rmse_at_choice": rmse,
                      "candidates": n_candidates, "searched_on_rows": searched_on,
                      "chosen_on_val_rows": len(val_rows),
                      "draws": len(self.draws_)}
        self._fitted_on(task)
        return self

    def refitted(self, final_task: ForecastTask) -> SklearnBaseline:
        """A copy fitted on ``final_task`` (training and validation rows, no validation
        rows left) with the one setting and target transform this fit chose on the
        validation rows; hgb still stops early on held-out training days."""
        chosen = dict(self.info_["chosen"])
        transform = chosen.pop("target_transform")
        return clone(self).set_params(grid=(chosen,), transforms=(transform,),
                                      draws=len(self.draws_)).fit(final_task)

    def _fitted_on(self, task: ForecastTask) -> None:
        super()._fitted_on(task)
        if FAMILIES[self.family].hourly_hours:
            self.hourly_names_in_ = list(task.hourly_names)

    def _station_column(self, family: Family, task: ForecastTask, train: np.ndarray) -> None:
        """Set how :meth:`_inputs` gives the estimator the station:
        ``station_level_`` (None: the station's number, a category, or the linear
        families' 0/1 columns) and the estimator arguments that say which column is a
        category."""
        self.station_level_, self.estimator_inputs_ = None, {}
        n_stations = len(task.stations)
        if n_stations == 1 or (not family.native_stations
                               and n_stations <= MAX_ONE_HOT_STATIONS):
            return
        if family.native_stations and n_stations <= MAX_CATEGORIES:
            self.estimator_inputs_ = {"categorical_features": [task.X.shape[1]]}
            return
        station, y = task.station_index[train], task.y[train]
        with np.errstate(invalid="ignore"):   # a station without training rows: NaN
            self.station_level_ = (np.bincount(station, y, len(task.stations))
                                   / np.bincount(station, minlength=len(task.stations)))

    def _scores(self, family: Family, grid: list[dict], candidates: list[tuple[str, int]],
                X_train: np.ndarray, y_train: np.ndarray, days: np.ndarray,
                forecast_val, y_val: np.ndarray, seed: int | None = None) -> list[tuple]:
        """(validation RMSE, grid index, settings, fitted estimator) of each candidate
        (target transform, grid index), fitted on ``X_train`` in the order given
        (``seed``: of the estimator and the held-out days; default ``self.seed``);
        ``forecast_val(estimator, transform)``: its forecasts (µg/m³) of ``y_val``."""
        seed = self.seed if seed is None else seed
        if family.stops_on_held_out_days:
            fit_rows, stop_rows = held_out_days(days, seed)
        targets = {t: transform_target(y_train, t) for t in dict.fromkeys(t for t, _ in candidates)}
        scores, estimator, previous = [], None, None
        for transform, index in candidates:
            params, z_train = grid[index], targets[transform]
            if family.path and estimator is not None and transform == previous and \
                    estimator.get_params().get("l1_ratio") == params.get("l1_ratio"):
                estimator.set_params(**params)   # warm start from the stronger penalty
            else:
                estimator = family.make(params, seed, **self.estimator_inputs_)
                if family.path:
                    estimator.set_params(warm_start=True)
            previous = transform
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                if family.stops_on_held_out_days:
                    estimator.fit(X_train[fit_rows], z_train[fit_rows],
                                  X_val=X_train[stop_rows], y_val=z_train[stop_rows])
                else:
                    estimator.fit(X_train, z_train)
            rmse = np.nan   # no validation rows: a refit with its setting already chosen
            if len(y_val):
                predicted = forecast_val(estimator, transform)
                rmse = float(np.sqrt(np.mean((predicted - y_val) ** 2)))
            # a path's estimator is refitted at the next penalty: keep a copy of it
            scores.append((rmse, index, {**params, "target_transform": transform},
                           copy.deepcopy(estimator) if family.path else estimator))
        return scores

    def predict(self, task: ForecastTask, rows: np.ndarray) -> np.ndarray:
        # draws: no preprocessing (a family that stops on held-out days)
        estimators = self.draws_ if len(self.draws_) > 1 else [self.model_]
        threads = getattr(self, "threads_", int(self.n_threads))   # (runs stored before it)
        with threadpool_limits(limits=threads, user_api="openmp"):
            return self._forecast(estimators, self.transform_, task, rows)

    def _forecast(self, estimators: list, transform: str, task: ForecastTask,
                  rows: np.ndarray) -> np.ndarray:
        """Forecasts (µg/m³) of the rows: the mean of the estimators', built
        :data:`FORECAST_ROWS` rows of features at a time. A family that forecasts by hour
        takes the mean of each target day's 24 hours (24 rows of features a day)."""
        by_hour = FAMILIES[self.family].by_hour
        rows = row_indices(rows)
        size = FORECAST_ROWS // HOURS if by_hour else FORECAST_ROWS
        chunks = [rows[start:start + size] for start in range(0, len(rows), size)]
        out = []
        for chunk in chunks:
            X = self._inputs(task, chunk)
            forecasts = [np.maximum(inverse_target(e.predict(X), transform), 0.0)
                         for e in estimators]
            mean = forecasts[0] if len(forecasts) == 1 else np.mean(forecasts, axis=0)
            out.append(mean.reshape(-1, HOURS).mean(axis=1) if by_hour else mean)
        return np.concatenate(out) if out else np.zeros(0)
