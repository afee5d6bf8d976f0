"""Predictive distributions: calibrated quantiles, exceedance and category probabilities,
and the scores that show whether they are calibrated.

Every model's forecast of a day becomes a distribution described by its quantiles at
the levels :data:`LEVELS` (0.01, 0.02, ..., 0.99), in µg/m³:

1. the model's raw quantiles: a network with a quantile head gives them itself
   (``predict_quantiles``); any other model gives its point forecast at every level;
2. a conformal recalibration fitted on the validation rows only (:class:`Calibration`):
   at each level τ the raw quantile is shifted in log space, log(q + a) + c_τ, where c_τ
   is the conformal τ-quantile of the validation scores log(y + a) − log(q_τ + a). In log
   space an error scales with the level, as PM2.5 errors do (a constant-width interval
   would be too wide on clean days and too narrow in episodes). The offset a (µg/m³, one
   of :data:`OFFSETS`) sets where that scaling stops: with a = 1 a forecast of 0 (a linear
   model's, clipped) gets an interval 0–1 µg/m³, and the large scores of such days widen
   every other day's interval; with a large a the shifts become nearly additive. The
   shifts are one set for all days, or one set per third of the validation forecasts
   (by the raw median; Mondrian conformal prediction, :data:`GROUPS`), each possibly
   split again into target days in and out of the heating season (``[task]
   heating_season``, its first and last day, 15 November to 15 March by default:
   :func:`forecast.calendars.in_season`): one set for all days leaves the highest
   forecasts under-covered when the errors grow faster or slower with the level than the
   log space assumes, and winter's under-covered when its errors are larger than the rest
   of the year's. Each calibration chooses its a and its groups by the CRPS of its validation
   rows cross-fitted over
   :data:`CALIBRATION_BLOCKS` consecutive blocks of dates (each block calibrated on the
   others), so the choice reads no row it is scored on. The validation rows' own
   distributions, which the recommendation scores, come from
   :meth:`Calibration.fit_out_of_block`: each block's calibration chosen and fitted on the
   other blocks alone (nested cross-fitting). For a point forecast this is
   split-conformal prediction on log residuals; for a quantile head it is conformalised
   quantile regression (CQR, asymmetric form), one shift per level;
3. floored at the smallest validation target (with a large a a low forecast's lowest
   quantiles would otherwise reach 0 µg/m³, below any daily mean seen) and sorted across
   levels, so quantiles never cross.

From the distribution: the probability that the daily mean exceeds a threshold (default
75 µg/m³) and of each China index category (:func:`cdf`), the CRPS (from the quantiles,
``scoringrules.crps_quantile``), the PIT. The climatological reference distribution
(:func:`climatology`) is the training targets of the same station and calendar month.

The conformal shift is a dozen lines here rather than MAPIE's: MAPIE conformalises an
estimator that takes an ``X`` array, while these forecasts already exist (from models
that take a task) and are calibrated in log space, level by level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scoringrules
from scipy.stats import rankdata

from .calendars import check_season, in_season
from .constants import (
    CHINA_PM25_BREAKPOINTS,
    DEFAULT_HEATING_SEASON,
    LIMIT_24H,
    MONTH_TO_SEASON,
    SEASONS,
)

#: Quantile levels of every predictive distribution.
LEVELS = np.round(np.arange(1, 100) / 100.0, 2)
#: The quantiles written to predictions.csv and printed by ``forecast predict``.
REPORTED_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
QUANTILE_COLUMNS = tuple(f"q{round(level * 100):02d}" for level in REPORTED_LEVELS)
#: Central intervals scored for coverage and width, with their (lower, upper) columns.
INTERVALS = {0.5: ("q25", "q75"), 0.8: ("q10", "q90"), 0.9: ("q05", "q95")}
#: Per-row columns the run adds to every forecast.
DISTRIBUTION_COLUMNS = (*QUANTILE_COLUMNS, "p_exceed", "crps", "pit",
                        "crps_climatology", "p_exceed_climatology")
PIT_BINS = 10
#: Validation rows needed to calibrate: the conformal 95 % level is the ⌈0.95 (n + 1)⌉-th
#: smallest score, beyond the largest below 19, and the 90 % interval would then cover
#: less than 90 %.
MIN_CALIBRATION_DAYS = 19
#: The log offsets a calibration chooses from (µg/m³; :class:`Calibration`): 1 is log1p.
OFFSETS = (1.0, 3.0, 10.0, 30.0, 100.0)
#: Consecutive blocks of validation dates over which the offset's CRPS is cross-fitted.
CALIBRATION_BLOCKS = 5
#: The numbers of groups of the validation forecasts (equal shares, by the raw median) a
#: calibration chooses from: one set of shifts for all days, or one per third. A group
#: needs :data:`MIN_CALIBRATION_DAYS` rows.
GROUPS = (1, 3)
#: Validation rows whose cross-fitted CRPS scores the calibration's choice, at most (a
#: fixed random subset beyond; every row still enters the shifts): scoring 20 settings on
#: every row cost 21 s per entry and fold at 1,000 stations (365,000 rows).
CHOICE_ROWS = 50_000
#: Validation rows beyond which a quantile head's validation rows are calibrated with its
#: own setting fitted on the other blocks, not with a setting chosen on them as well
#: (:meth:`Calibration.fit_with_out_of_block`): the real runs (at most 4,380 rows) nest.
NESTED_QUANTILE_ROWS = 10_000
#: Calendar months a calibration stored before the heating season was an option
#: (``[task] heating_season``) splits by: November to March, taken whole.
HEATING_MONTHS = (11, 12, 1, 2, 3)


def level_index(level: float) -> int:
    return int(np.flatnonzero(np.isclose(LEVELS, level))[0])


# ---------------------------------------------------------------- calibration


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The finite-sample conformal ``level``-quantile of ``scores``: the ⌈(n+1)τ⌉-th
    smallest for τ ≥ 0.5 and the ⌊(n+1)τ⌋-th for τ < 0.5 (clipped to 1..n), so that a
    new exchangeable score falls at or below it with probability ≥ τ (above τ below
    the median), and a central interval covers at least its nominal level when n is
    large enough for its ranks (n ≥ 19 for 90 %: :data:`MIN_CALIBRATION_DAYS`)."""
    return float(_conformal_shifts(np.asarray(scores, dtype=float)[:, None],
                                   np.array([level]))[0])


def _conformal_index(n: int, levels: np.ndarray = LEVELS) -> np.ndarray:
    """The 0-based positions, among ``n`` sorted scores, of :func:`conformal_quantile` at
    each of ``levels``."""
    rank = np.where(levels >= 0.5, np.ceil((n + 1) * levels), np.floor((n + 1) * levels))
    return np.clip(rank, 1, n).astype(int) - 1


def _conformal_shifts(scores: np.ndarray, levels: np.ndarray = LEVELS) -> np.ndarray:
    """:func:`conformal_quantile` of each column k of ``scores`` (n, L) at ``levels[k]``;
    a single column (n, 1) serves every level (a point forecast's scores, sorted once).
    Each of several columns needs one order statistic: selected (``np.partition``), not
    sorted (a quantile head's 99 columns at 292,000 rows: 1.2 s against 2.7 s)."""
    index = _conformal_index(len(scores), levels)
    if scores.shape[1] == 1:
        return np.sort(scores[:, 0])[index]
    columns = np.ascontiguousarray(scores.T)
    return np.array([np.partition(columns[k], index[k])[index[k]]
                     for k in range(len(levels))])


@dataclass
class Calibration:
    """Log-space shifts c_τ fitted on validation rows: one row of ``shifts`` per group of
    rows, one column per level of :data:`LEVELS`; the log offset ``offset`` (µg/m³) and the
    ``floor`` (µg/m³, the smallest validation target). A row's group is its forecast's
    group (by the raw median; ``edges``, µg/m³, separate the ``groups`` groups) and, with
    ``by_season``, whether its target day is in the heating season ``season_days`` (its
    first and last day, MM-DD; None in a calibration stored before the option: the months
    of :data:`HEATING_MONTHS`): row ``group × 2 + in season`` of ``shifts``.

    ``apply(raw, dates)`` maps raw quantiles (n, len(LEVELS)), µg/m³, of rows with target
    days ``dates`` (needed only with ``by_season``) to calibrated ones:
    exp(log(raw + a) + c_τ) − a with the shifts of each row's group, at least the floor,
    sorted across levels.
    """

    shifts: np.ndarray
    n_fitted: int
    offset: float = 1.0
    edges: np.ndarray = field(default_factory=lambda: np.empty(0))
    floor: float = 0.0
    by_season: bool = False
    season_days: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.shifts = np.atleast_2d(np.asarray(self.shifts, dtype=float))
        self.edges = np.asarray(self.edges, dtype=float).reshape(-1)
        expected = (len(self.edges) + 1) * (2 if self.by_season else 1)
        if len(self.shifts) != expected:
            raise ValueError(f"{len(self.edges)} edges{' by season' if self.by_season else ''} "
                             f"need {expected} sets of shifts, not {len(self.shifts)}")

    @property
    def groups(self) -> int:
        """The number of groups of forecasts (1: one set of shifts, or two by season)."""
        return len(self.edges) + 1

    @classmethod
    def fit(cls, y_true: np.ndarray, raw: np.ndarray, dates: np.ndarray | None = None,
            offsets: tuple[float, ...] = OFFSETS, groups: tuple[int, ...] = GROUPS,
            seasons: tuple[bool, ...] = (False, True),
            heating_season: tuple[str, str] | None = DEFAULT_HEATING_SEASON) -> Calibration:
        """Fitted on validation targets ``y_true`` (µg/m³) and the raw quantiles ``raw``
        of the same rows; the offset (of ``offsets``), the number of groups of forecasts
        (of ``groups``) and whether the heating season has its own shifts (of
        ``seasons``) are those whose calibration, fitted on all but one of
        :data:`CALIBRATION_BLOCKS` consecutive blocks of ``dates`` (the rows' target days,
        all stations of a date in one block) and applied to it, has the lowest mean CRPS
        over the rows (over :data:`CHOICE_ROWS` of them at random when there are more;
        ties: fewer groups, no season, the earlier offset); without ``dates`` the first
        offset and one group, not by season. The heating season is ``heating_season``, its
        first and last day (MM-DD, ``[task] heating_season``); None or empty: no split."""
        return cls.fit_with_out_of_block(y_true, raw, dates, offsets, groups, seasons,
                                         heating_season, out_of_block=False)[0]

    @classmethod
    def fit_out_of_block(cls, y_true: np.ndarray, raw: np.ndarray, dates: np.ndarray | None,
                         offsets: tuple[float, ...] = OFFSETS,
                         groups: tuple[int, ...] = GROUPS,
                         seasons: tuple[bool, ...] = (False, True),
                         heating_season: tuple[str, str] | None = DEFAULT_HEATING_SEASON
                         ) -> list[tuple[np.ndarray, Calibration]] | None:
        """How to calibrate validation rows without reading them: for each of
        :data:`CALIBRATION_BLOCKS` consecutive blocks of ``dates``, its rows (a mask) and
        the calibration chosen as :meth:`fit` chooses and fitted on the other blocks'
        rows alone, its setting chosen by a CRPS cross-fitted over those other blocks
        (nested cross-fitting: the block's own targets enter neither the shifts nor the
        choice; not so for a quantile head on many rows, :meth:`fit_with_out_of_block`).
        None when there are fewer dates than blocks (no dates, or too few)."""
        return cls.fit_with_out_of_block(y_true, raw, dates, offsets, groups, seasons,
                                         heating_season)[1]

    @classmethod
    def fit_with_out_of_block(cls, y_true: np.ndarray, raw: np.ndarray,
                              dates: np.ndarray | None, offsets: tuple[float, ...] = OFFSETS,
                              groups: tuple[int, ...] = GROUPS,
                              seasons: tuple[bool, ...] = (False, True),
                              heating_season: tuple[str, str] | None = DEFAULT_HEATING_SEASON,
                              *, out_of_block: bool = True
                              ) -> tuple[Calibration, list[tuple[np.ndarray, Calibration]] | None,
                                         bool]:
        """:meth:`fit` and :meth:`fit_out_of_block` (None unless ``out_of_block``) at once,
        sharing their fits: the choice's fits on all blocks but one are the settings the
        blocks' own choices pick from, and each fit on all blocks but two serves the
        choices of those two blocks; and whether the blocks' settings were chosen on the
        other blocks (nested). A quantile head on more than
        :data:`NESTED_QUANTILE_ROWS` rows is not nested: each block gets the calibration's
        own setting fitted on the other blocks (its shifts out of block, its setting
        chosen on all rows), as its nested choice would score every quantile of each
        block 20 times over (100 stations: 41 s per entry and fold against 8.7 s)."""
        heating_season = check_season(heating_season)
        if heating_season is None:
            seasons = (False,)
        y_true, raw, dates, choices = _prepared(y_true, raw, dates, offsets, groups, seasons)
        blocks = None if dates is None else _date_blocks(dates)
        data = _Rows(y_true, raw,
                     None if heating_season is None else _in_season(dates, heating_season),
                     blocks, _choice_rows(len(y_true)), heating_season)
        calibration = _choose_and_fit(data, frozenset(), choices)
        if not out_of_block or blocks is None:
            return calibration, None, False
        if raw.shape[1] > 1 and len(y_true) > NESTED_QUANTILE_ROWS:
            # the calibration's own setting fitted on the other blocks (made for its choice)
            return calibration, [
                (block, data.fit(frozenset({k}), calibration.offset, calibration.groups,
                                 calibration.by_season)
                 or data.fit(frozenset({k}), calibration.offset, 1, False))
                for k, block in enumerate(blocks)], False
        return calibration, [(block, _choose_and_fit(data, frozenset({k}), choices))
                             for k, block in enumerate(blocks)], True

    def apply(self, raw: np.ndarray, dates: np.ndarray | None = None) -> np.ndarray:
        if self.by_season and dates is None:
            raise ValueError("this calibration has shifts by season: it needs the rows' "
                             "target days")
        return self._apply(np.asarray(raw, dtype=float),
                           _in_season(dates, self.season_days) if self.by_season else None)

    def _apply(self, raw: np.ndarray, in_season: np.ndarray | None) -> np.ndarray:
        """:meth:`apply` given whether each row's target day is in the heating season."""
        if len(self.shifts) == 1:
            return _apply(self.shifts[0], raw, self.offset, self.floor)
        group = _group(raw, self.edges, in_season if self.by_season else None)
        out = np.empty((len(raw), self.shifts.shape[1]))
        for k in range(len(self.shifts)):
            rows = group == k
            if rows.any():
                out[rows] = _apply(self.shifts[k], raw[rows], self.offset, self.floor)
        return out

    def to_dict(self) -> dict:
        # unrounded: forecast predict applies exactly the run's (with a = 100 a shift
        # rounded to 6 decimals moves a quantile by up to 1e-4 µg/m³); one group is stored
        # as one list, as before the groups
        shifts = self.shifts.tolist()
        return {"log_shifts": shifts[0] if len(shifts) == 1 else shifts,
                "log_offset": self.offset, "n_fitted": self.n_fitted,
                "forecast_edges": self.edges.tolist(), "floor": self.floor,
                "heating_season": self.by_season,
                "heating_season_days": list(self.season_days) if self.by_season else None}

    @classmethod
    def from_dict(cls, saved: dict) -> Calibration:
        """The calibration :meth:`to_dict` stored; a run from before the offset was
        chosen (no ``log_offset``) calibrated with log1p, one from before the groups and
        the floor with one group and no floor, one from before the season without it, one
        from before the season's days were an option by the months of
        :data:`HEATING_MONTHS`."""
        days = saved.get("heating_season_days")
        return cls(shifts=np.asarray(saved["log_shifts"], dtype=float),
                   n_fitted=int(saved["n_fitted"]),
                   offset=float(saved.get("log_offset", 1.0)),
                   edges=np.asarray(saved.get("forecast_edges", []), dtype=float),
                   floor=float(saved.get("floor", 0.0)),
                   by_season=bool(saved.get("heating_season", False)),
                   season_days=tuple(days) if days else None)


def point_or_quantiles(raw: np.ndarray) -> np.ndarray:
    """``raw`` (n, L); a point forecast's (the same value at every level) as one column
    (n, 1), whose scores serve every level: a view, so a point forecast's broadcast
    (:func:`raw_quantiles`) is never copied out at every level."""
    raw = np.asarray(raw, dtype=float)
    if raw.strides[1] == 0 or (raw == raw[:, :1]).all():
        return raw[:, :1]
    return raw


def _prepared(y_true, raw, dates, offsets, groups, seasons):
    """The targets and raw quantiles as arrays (a point forecast's as one column), the
    dates as an array or None, and the settings (groups, by season, offset) to choose
    from, in the order that breaks ties (without dates: one group, not by season)."""
    y_true = np.asarray(y_true, dtype=float)
    raw = point_or_quantiles(raw)
    if len(y_true) < 2 or not np.isfinite(y_true).all():
        raise ValueError("calibration needs at least 2 finite validation targets")
    if dates is None:
        groups, seasons = (1,), (False,)
    else:
        dates = np.asarray(dates)
    choices = [(k, season, a) for k in sorted(groups) for season in sorted(seasons)
               for a in offsets]
    return y_true, raw, dates, choices


def _choice_rows(n: int) -> np.ndarray | None:
    """The rows (a mask) whose CRPS scores the choice: a fixed random :data:`CHOICE_ROWS`
    of ``n`` when there are more, else None (all)."""
    if n <= CHOICE_ROWS:
        return None
    scored = np.zeros(n, bool)
    scored[np.random.default_rng(0).choice(n, CHOICE_ROWS, replace=False)] = True
    return scored


def _choose_and_fit(data: _Rows, excluded: frozenset,
                    choices: list[tuple[int, bool, float]]) -> Calibration:
    """The calibration, fitted on ``data``'s rows outside its ``excluded`` blocks, with the
    setting of ``choices`` whose CRPS cross-fitted over the other blocks
    (:func:`_cross_fitted_crps`) is the lowest (the first setting without blocks, or when
    none can be cross-fitted); with one group when its groups would hold too few rows."""
    inner = ([] if data.blocks is None else
             [k for k in range(len(data.blocks)) if k not in excluded])
    if len(inner) > 1 and len(choices) > 1:
        scores = {c: _cross_fitted_crps(data, excluded, c[2], c[0], c[1], inner)
                  for c in choices}
        if np.isfinite(min(scores.values())):
            # rounded: settings that give the same quantiles tie exactly, as they did
            # before the prefix sums (which differ from one another by ~1e-14)
            choices = sorted(choices, key=lambda c: (round(scores[c], 9), choices.index(c)))
    groups, season, offset = choices[0]
    fitted = data.fit(excluded, offset, groups, season and data.in_season is not None)
    if fitted is None:      # too few rows for the groups without dates to choose by
        fitted = data.fit(excluded, offset, 1, False)
    return fitted


def _in_season(dates, season_days: tuple[str, str] | None = DEFAULT_HEATING_SEASON
               ) -> np.ndarray | None:
    """Whether each target day of ``dates`` is in the heating season ``season_days`` (its
    first and last day, MM-DD, the days the task's ``heating_season`` feature flags:
    :func:`~forecast.calendars.in_season`; None: the months of :data:`HEATING_MONTHS`, a
    calibration stored before the option); None without dates. The days, not the months
    they touch: over the four real runs the nested validation CRPS was lower with the
    days (docs/results.md)."""
    if dates is None:
        return None
    days = pd.DatetimeIndex(np.asarray(dates))
    if season_days is None:
        return np.isin(days.month.to_numpy(), HEATING_MONTHS)
    return in_season(days, season_days)


def _log(raw: np.ndarray, offset: float = 1.0) -> np.ndarray:
    values = np.maximum(np.asarray(raw, dtype=float), 0.0)
    return np.log1p(values) if offset == 1.0 else np.log(values + offset)


def _exp(logs: np.ndarray, offset: float) -> np.ndarray:
    """The inverse of :func:`_log`."""
    return np.expm1(logs) if offset == 1.0 else np.exp(logs) - offset


def _median(raw: np.ndarray) -> np.ndarray:
    """The raw median of each row (µg/m³): a point forecast's one column, or the 0.5 level's."""
    return raw[:, 0] if raw.shape[1] == 1 else raw[:, level_index(0.5)]


def _group(raw: np.ndarray, edges: np.ndarray, in_season: np.ndarray | None = None
           ) -> np.ndarray:
    """Each row's group: how many of ``edges`` its raw median reaches, and with
    ``in_season`` (whether its target day is in the heating season) twice that, plus 1 in
    the season."""
    return _group_of_median(_median(raw), edges, in_season)


def _group_of_median(median: np.ndarray, edges: np.ndarray,
                     in_season: np.ndarray | None = None) -> np.ndarray:
    """:func:`_group` given the raw medians."""
    group = np.searchsorted(edges, median, side="right")
    if in_season is None:
        return group
    return 2 * group + in_season


class _Rows:
    """Validation rows that a calibration's choice fits on many subsets of (20 settings ×
    the blocks, and again within each block's complement): targets ``y`` (µg/m³), raw
    quantiles ``raw`` (n, L, or a point forecast's (n, 1)), their medians, whether each
    target day is in the heating season (``in_season``, None without dates; the season's
    days ``season_days``), the ``blocks`` of dates (masks; None without) and the rows that
    score the choice (``scored``, a mask; None: all). A subset is the rows outside a set of blocks, and
    each fit on it is made once (:meth:`fit`). A point forecast's log scores are sorted
    once for each offset, and the shifts of a subset read off them in order: the same
    order statistics as sorting the subset, without sorting it again."""

    def __init__(self, y_true: np.ndarray, raw: np.ndarray, in_season: np.ndarray | None,
                 blocks: list[np.ndarray] | None = None, scored: np.ndarray | None = None,
                 season_days: tuple[str, str] | None = DEFAULT_HEATING_SEASON):
        self.y, self.raw, self.in_season = y_true, raw, in_season
        self.season_days = season_days
        self.blocks, self.scored = blocks, scored
        self.median = _median(raw)
        self._sorted: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._fits: dict[tuple, Calibration | None] = {}
        self._outside: dict[frozenset, np.ndarray] = {}

    def outside(self, excluded: frozenset) -> np.ndarray:
        """The rows (a mask) outside the ``excluded`` blocks (indices)."""
        if excluded not in self._outside:
            rows = np.ones(len(self.y), bool)
            for k in excluded:
                rows &= ~self.blocks[k]
            self._outside[excluded] = rows
        return self._outside[excluded]

    def fit(self, excluded: frozenset, offset: float, groups: int,
            by_season: bool) -> Calibration | None:
        """:func:`_fit_rows` on the rows outside the ``excluded`` blocks, made once."""
        key = (excluded, offset, groups, by_season)
        if key not in self._fits:
            self._fits[key] = _fit_rows(self, self.outside(excluded), offset, groups,
                                        by_season)
        return self._fits[key]

    def shifts(self, offset: float, rows: np.ndarray) -> np.ndarray:
        """The shifts (:func:`_conformal_shifts`) of the selected rows, at every level."""
        if self.raw.shape[1] > 1:
            return _conformal_shifts(_log(self.y[rows], offset)[:, None]
                                     - _log(self.raw[rows], offset))
        if offset not in self._sorted:
            scores = _log(self.y, offset) - _log(self.raw[:, 0], offset)
            order = np.argsort(scores)
            self._sorted[offset] = (scores[order], order)
        values, order = self._sorted[offset]
        chosen = values[rows[order]]
        return chosen[_conformal_index(len(chosen))]


def _fit_rows(data: _Rows, rows: np.ndarray, offset: float, groups: int,
              by_season: bool) -> Calibration | None:
    """The calibration of the selected rows (a mask) of ``data``, with ``groups`` equal
    shares of their raw medians, each split by the heating season (``data.season_days``)
    when ``by_season``; None when a group would hold fewer than
    :data:`MIN_CALIBRATION_DAYS` rows (ties included)."""
    n = int(rows.sum())
    floor = float(max(np.min(data.y, where=rows, initial=np.inf), 0.0))
    if groups == 1 and not by_season:
        return Calibration(data.shifts(offset, rows), n, float(offset), floor=floor)
    edges = np.quantile(data.median[rows], np.arange(1, groups) / groups)
    group = _group_of_median(data.median, edges, data.in_season if by_season else None)
    n_groups = groups * (2 if by_season else 1)
    if np.bincount(group[rows], minlength=n_groups).min() < MIN_CALIBRATION_DAYS:
        return None
    shifts = np.stack([data.shifts(offset, rows & (group == k)) for k in range(n_groups)])
    return Calibration(shifts, n, float(offset), edges=edges, floor=floor,
                       by_season=by_season, season_days=data.season_days if by_season else None)


def _apply(shifts: np.ndarray, raw: np.ndarray, offset: float, floor: float = 0.0) -> np.ndarray:
    return np.sort(np.maximum(_exp(_log(raw, offset) + shifts, offset), floor), axis=1)


def _date_blocks(dates: np.ndarray) -> list[np.ndarray] | None:
    """The rows (masks) of each of :data:`CALIBRATION_BLOCKS` consecutive blocks of
    ``dates`` (all stations of a date in one); None when there are fewer dates than
    blocks."""
    days = np.unique(dates)
    if len(days) < CALIBRATION_BLOCKS:
        return None
    return [np.isin(dates, block) for block in np.array_split(days, CALIBRATION_BLOCKS)]


def _cross_fitted_crps(data: _Rows, excluded: frozenset, offset: float, groups: int,
                       by_season: bool, inner: list[int]) -> float:
    """Mean CRPS (µg/m³) of the rows of the ``inner`` blocks (the scored ones among them),
    each block calibrated (log offset ``offset``, ``groups`` groups, by season or not) on
    the rows of the other inner blocks (those outside its own and the ``excluded``
    blocks); inf when a group of those rows would hold too few."""
    parts = []
    for k in inner:
        fitted = data.fit(excluded | {k}, offset, groups, by_season)
        if fitted is None:
            return float("inf")
        parts.append((data.blocks[k], fitted))
    total, count = 0.0, 0
    for held_out, fitted in parts:
        at = held_out if data.scored is None else held_out & data.scored
        season = None if data.in_season is None else data.in_season[at]
        if data.raw.shape[1] == 1:      # a point forecast: the same sum without its quantiles
            total += _point_crps_sum(fitted, data.raw[at, 0], data.y[at], season)
        else:
            total += float(crps(fitted._apply(data.raw[at], season), data.y[at]).sum())
        count += int(at.sum())
    return total / max(count, 1)


def _point_crps_sum(fitted: Calibration, point: np.ndarray, y_true: np.ndarray,
                    in_season: np.ndarray | None) -> float:
    """Σ :func:`crps` (µg/m³) of the point forecasts ``point`` calibrated by ``fitted``,
    without making their quantiles: each group's calibrated quantiles are
    q_τ = max((p + a) e^{c_τ} − a, floor), nondecreasing in τ, so the pinball sum over the
    levels takes prefix sums of e^{c_τ} and the count of quantiles below the target and
    below the floor (searchsorted): O(log L) per row instead of O(L) (the choice's
    scoring took most of its time). Equal to the sum over the quantiles up to rounding."""
    group = (np.zeros(len(point), int) if len(fitted.shifts) == 1 else
             _group(point[:, None], fitted.edges, in_season if fitted.by_season else None))
    total = 0.0
    for k, shifts in enumerate(fitted.shifts):
        rows = group == k
        if not rows.any():
            continue
        if (np.diff(shifts) < 0).any():     # not from conformal_quantile: sort the quantiles
            quantiles = _apply(shifts, point[rows, None], fitted.offset, fitted.floor)
            total += float(crps(quantiles, y_true[rows]).sum())
            continue
        total += float(_shifted_point_crps(point[rows], y_true[rows], shifts, fitted.offset,
                                           fitted.floor).sum())
    return total


def _shifted_point_crps(point: np.ndarray, y: np.ndarray, shifts: np.ndarray, offset: float,
                        floor: float) -> np.ndarray:
    """Per row, the CRPS of the quantiles max((p + a) e^{c_τ} − a, floor) at :data:`LEVELS`
    (``shifts`` c_τ nondecreasing): 2/L Σ_τ (q_τ − y)(1{q_τ > y} − τ), from prefix sums."""
    n_levels = len(LEVELS)
    scale = np.exp(shifts)
    base = np.maximum(point, 0.0) + offset
    level_sums = np.concatenate([[0.0], np.cumsum(LEVELS)])
    scale_sums = np.concatenate([[0.0], np.cumsum(scale)])
    weighted_sums = np.concatenate([[0.0], np.cumsum(LEVELS * scale)])
    floored = np.searchsorted(scale, (floor + offset) / base, side="left")
    below = np.where(y < floor, 0, np.searchsorted(scale, (y + offset) / base, side="right"))

    def prefix(k):          # Σ of the first k quantiles (k ≥ floored)
        return (floored * floor + base * (scale_sums[k] - scale_sums[floored])
                - offset * (k - floored))

    above_sum = prefix(n_levels) - np.where(below > 0, prefix(np.maximum(below, floored)), 0.0)
    weighted = (floor * level_sums[floored] + base * (weighted_sums[-1] - weighted_sums[floored])
                - offset * (level_sums[-1] - level_sums[floored]))
    return 2.0 / n_levels * (above_sum - y * (n_levels - below) - weighted + y * level_sums[-1])


def raw_quantiles(model, task, rows: np.ndarray, point: np.ndarray | None = None) -> np.ndarray:
    """(n, len(LEVELS)) raw quantiles (µg/m³) of ``model`` for the selected rows: its
    quantile head's when it has one, else its point forecast (``point`` if given) at
    every level (a read-only view of the n forecasts)."""
    if getattr(model, "predicts_quantiles", False):
        return np.asarray(model.predict_quantiles(task, rows), dtype=float)
    values = model.predict(task, rows) if point is None else point
    values = np.asarray(values, dtype=float)
    return np.broadcast_to(values[:, None], (len(values), len(LEVELS)))   # a read-only view


#: Rows whose distributions (:data:`LEVELS` quantiles each) are scored at a time: a whole
#: task's at hundreds of stations would be several arrays of 0.2 GiB per 100 stations.
BLOCK_ROWS = 16_384


def in_blocks(columns_of, *arrays: np.ndarray) -> dict[str, np.ndarray]:
    """``columns_of(*blocks)`` (a dict of per-row columns) for consecutive blocks of
    :data:`BLOCK_ROWS` rows of ``arrays``, concatenated: row by row the same columns as
    from the whole arrays, with temporaries the size of a block."""
    n = len(arrays[0])
    parts = [columns_of(*(a[start:start + BLOCK_ROWS] for a in arrays))
             for start in range(0, max(n, 1), BLOCK_ROWS)]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


# ---------------------------------------------------------------- the distribution


def cdf(quantiles: np.ndarray, values: np.ndarray) -> np.ndarray:
    """P(Y ≤ value) for each row's distribution (quantiles (n, L), values (n,) or
    scalar), by linear interpolation between the quantiles; below the lowest quantile
    half its level, above the highest half-way to 1."""
    quantiles = np.asarray(quantiles, dtype=float)
    values = np.broadcast_to(np.asarray(values, dtype=float), (len(quantiles),))
    below = (quantiles < values[:, None]).sum(axis=1)       # q[below-1] < value <= q[below]
    out = np.where(below == 0, LEVELS[0] / 2, (1 + LEVELS[-1]) / 2).astype(float)
    out[(below == 0) & (quantiles[:, 0] == values)] = LEVELS[0]
    rows = np.flatnonzero((below > 0) & (below < len(LEVELS)))
    k = below[rows]
    low, high = quantiles[rows, k - 1], quantiles[rows, k]
    out[rows] = LEVELS[k - 1] + (values[rows] - low) / (high - low) * (LEVELS[k] - LEVELS[k - 1])
    return out


def pit(quantiles: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The probability integral transform of each row's observed ``value``: :func:`cdf`,
    but where several quantiles equal the value (a point mass, e.g. a constant series
    forecast exactly) the middle of the levels they span, not the lowest: a perfect
    forecast of a constant then has PIT 0.5, not 0.01."""
    quantiles = np.asarray(quantiles, dtype=float)
    values = np.broadcast_to(np.asarray(values, dtype=float), (len(quantiles),))
    out = cdf(quantiles, values)
    below = (quantiles < values[:, None]).sum(axis=1)
    tied = (quantiles == values[:, None]).sum(axis=1)
    rows = np.flatnonzero(tied > 1)
    out[rows] = (LEVELS[below[rows]] + LEVELS[below[rows] + tied[rows] - 1]) / 2
    return out


def exceedance_probability(quantiles: np.ndarray, threshold: float = LIMIT_24H) -> np.ndarray:
    """P(daily mean > threshold) for each row."""
    return 1.0 - cdf(quantiles, threshold)


def category_probabilities(quantiles: np.ndarray,
                           breakpoints=CHINA_PM25_BREAKPOINTS) -> np.ndarray:
    """(n, len(breakpoints) + 1) probability of each China index category."""
    edges = np.stack([np.zeros(len(quantiles))]
                     + [cdf(quantiles, b) for b in breakpoints]
                     + [np.ones(len(quantiles))], axis=1)
    return np.diff(edges, axis=1)


def crps(quantiles: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """Per row, the CRPS (µg/m³) approximated from the quantiles: 2 × the mean pinball
    loss over :data:`LEVELS` (``scoringrules.crps_quantile``)."""
    return np.asarray(scoringrules.crps_quantile(np.asarray(y_true, dtype=float),
                                                 np.asarray(quantiles, dtype=float),
                                                 LEVELS, backend="numpy"), dtype=float)


def climatology(task, rows: np.ndarray) -> np.ndarray:
    """The climatological distribution of each selected row: the quantiles (µg/m³) of
    the training-split targets of the same station and calendar month of the target day
    (all stations pooled when a station has fewer than 30 such days)."""
    train = task.mask("train")
    month = pd.DatetimeIndex(task.rows["target_day"]).month.to_numpy()
    station = task.station_index
    out = np.empty((int(rows.sum()), len(LEVELS)))
    selected_month, selected_station = month[rows], station[rows]
    for m in np.unique(selected_month):
        pooled = task.y[train & (month == m)]
        if len(pooled) == 0:
            pooled = task.y[train]
        for s in np.unique(selected_station[selected_month == m]):
            own = task.y[train & (month == m) & (station == s)]
            sample = own if len(own) >= 30 else pooled
            out[(selected_month == m) & (selected_station == s)] = np.quantile(sample, LEVELS)
    return out


def distribution_columns(quantiles: np.ndarray, y_true: np.ndarray, reference: np.ndarray,
                         threshold: float) -> dict[str, np.ndarray]:
    """The per-row columns of :data:`DISTRIBUTION_COLUMNS` for calibrated ``quantiles``,
    the targets (NaN allowed: then CRPS and PIT are NaN) and the climatological
    ``reference`` quantiles; rounded as written to predictions.csv."""
    return {**forecast_columns(quantiles, y_true, threshold),
            **reference_columns(reference, y_true, threshold)}


def forecast_columns(quantiles: np.ndarray, y_true: np.ndarray,
                     threshold: float) -> dict[str, np.ndarray]:
    """The columns of one model's distribution: the reported quantiles, ``p_exceed``,
    ``crps`` and ``pit`` (NaN where the target is)."""
    y = np.asarray(y_true, dtype=float)
    known = np.isfinite(y)
    y_filled = np.where(known, y, 0.0)
    columns = {name: np.round(quantiles[:, level_index(level)], 3)
               for name, level in zip(QUANTILE_COLUMNS, REPORTED_LEVELS, strict=True)}
    columns["p_exceed"] = np.round(exceedance_probability(quantiles, threshold), 4)
    columns["crps"] = np.where(known, np.round(crps(quantiles, y_filled), 4), np.nan)
    columns["pit"] = np.where(known, np.round(pit(quantiles, y_filled), 4), np.nan)
    return columns


def reference_columns(reference: np.ndarray, y_true: np.ndarray,
                      threshold: float) -> dict[str, np.ndarray]:
    """The climatological reference's ``crps_climatology`` and ``p_exceed_climatology``:
    the same for every model of a fold, so computed once per fold."""
    y = np.asarray(y_true, dtype=float)
    known = np.isfinite(y)
    return {"crps_climatology": np.where(known, np.round(crps(reference, np.where(known, y, 0.0)),
                                                         4), np.nan),
            "p_exceed_climatology": np.round(exceedance_probability(reference, threshold), 4)}


# ---------------------------------------------------------------- scores


def pinball(y_true: np.ndarray, quantile: np.ndarray, level: float) -> float:
    """Mean pinball loss (µg/m³) of the ``level`` quantile forecasts."""
    diff = np.asarray(y_true, dtype=float) - np.asarray(quantile, dtype=float)
    return float(np.mean(np.maximum(level * diff, (level - 1) * diff)))


def coverage(frame: pd.DataFrame) -> dict:
    """Coverage (fraction of days inside) and mean width (µg/m³) of each central
    interval of :data:`INTERVALS`, keyed "50", "80", "90"."""
    y = frame["y_true"].to_numpy(dtype=float)
    out = {}
    for nominal, (low, high) in INTERVALS.items():
        lower, upper = frame[low].to_numpy(dtype=float), frame[high].to_numpy(dtype=float)
        out[f"{round(nominal * 100)}"] = {
            "coverage": float(np.mean((y >= lower) & (y <= upper))),
            "width": float(np.mean(upper - lower))}
    return out


def _season(dates) -> np.ndarray:
    return np.asarray(MONTH_TO_SEASON, dtype=object)[pd.DatetimeIndex(dates).month]


def probabilistic_metrics(frame: pd.DataFrame, threshold: float) -> dict:
    """Scores of one model's forecasts on a set of rows (columns ``date``, ``y_true`` and
    :data:`DISTRIBUTION_COLUMNS`):

    ``crps`` (µg/m³), ``crps_climatology`` and ``crps_skill`` = 1 − crps / crps_climatology;
    ``pinball`` per reported level; ``coverage`` (:func:`coverage`) overall,
    ``coverage_by_season`` and ``coverage_by_forecast_level`` (terciles of the forecast
    median ``q50``: low, middle, high, tied medians in one, the terciles' edges in
    ``forecast_level_edges``; grouped by the observed value instead, even a calibrated
    forecast would seem to under-cover the lowest and highest days); ``pit_histogram``: the
    fraction of rows in each of 10 equal PIT bins (calibrated: 0.1 each); ``brier``,
    ``brier_climatology`` and ``brier_skill`` for the exceedance of ``threshold``, and
    ``exceedance_frequency``; ``reliability``: per bin of forecast probability (tenths),
    rows, mean probability and observed frequency.
    """
    y = frame["y_true"].to_numpy(dtype=float)
    observed = (y > threshold).astype(float)
    crps_mean = float(frame["crps"].mean())
    crps_reference = float(frame["crps_climatology"].mean())
    brier = float(np.mean(scoringrules.brier_score(observed, frame["p_exceed"].to_numpy(),
                                                   backend="numpy")))
    brier_reference = float(np.mean(scoringrules.brier_score(
        observed, frame["p_exceed_climatology"].to_numpy(), backend="numpy")))
    seasons = _season(frame["date"])
    median = frame["q50"].to_numpy(dtype=float)
    level = np.minimum((3 * (rankdata(median) - 0.5) / max(len(median), 1)).astype(int), 2)
    pit_counts = np.histogram(frame["pit"].to_numpy(dtype=float), bins=PIT_BINS,
                              range=(0, 1))[0]
    probability = frame["p_exceed"].to_numpy(dtype=float)
    bins = np.minimum((probability * 10).astype(int), 9)
    reliability = [{"bin": f"{b / 10:.1f}-{(b + 1) / 10:.1f}", "n": int((bins == b).sum()),
                    "mean_probability": float(probability[bins == b].mean()),
                    "observed_frequency": float(observed[bins == b].mean())}
                   for b in range(10) if (bins == b).any()]
    return {
        "crps": crps_mean, "crps_climatology": crps_reference,
        "crps_skill": 1.0 - crps_mean / crps_reference if crps_reference > 0 else float("nan"),
        "pinball": {column: pinball(y, frame[column].to_numpy(), level)
                    for column, level in zip(QUANTILE_COLUMNS, REPORTED_LEVELS, strict=True)},
        "coverage": coverage(frame),
        "coverage_by_season": {s: coverage(frame[seasons == s]) for s in SEASONS
                               if (seasons == s).any()},
        "coverage_by_forecast_level": {name: coverage(frame[level == k])
                                       for k, name in enumerate(("low", "middle", "high"))
                                       if (level == k).any()},
        "forecast_level_edges": [float(e) for e in np.quantile(median, [1 / 3, 2 / 3])],
        "pit_histogram": [float(c) / max(len(frame), 1) for c in pit_counts],
        "threshold": float(threshold),
        "exceedance_frequency": float(observed.mean()),
        "brier": brier, "brier_climatology": brier_reference,
        # with the threshold never (or always) exceeded both scores are the probability
        # floor's: a skill of exactly 0 by construction, not a finding
        "brier_skill": (1.0 - brier / brier_reference
                        if brier_reference > 0 and 0 < observed.mean() < 1 else float("nan")),
        "reliability": reliability,
    }
