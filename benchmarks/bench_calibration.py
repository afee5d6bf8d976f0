"""Benchmark: one entry's calibration on one fold, at several numbers of stations.

A year of validation days per station, a point forecast with a multiplicative error
(the cost does not depend on the values), or with ``--quantile-head`` raw quantiles at
99 distinct levels (a network trained with the pinball loss), whose scores are 99 columns
instead of a point forecast's one. Prints, per
size, the seconds of ``Calibration.fit`` with its whole choice (the offsets of
``OFFSETS`` × one set of shifts or one per third × split by the heating season or not,
each scored by a CRPS cross-fitted over the blocks of dates), with the offsets alone
(one set for all days) and with log1p alone, and of all a run does per entry and fold
(``Calibration.fit_with_out_of_block``, as ``pipeline.forecast_rows`` calls it: that choice
and each block's own, chosen and fitted on the other blocks, sharing their fits; a
quantile head beyond ``NESTED_QUANTILE_ROWS`` rows: the calibration's setting fitted on
the other blocks; then the validation rows' per-row columns from the blocks'
calibrations).

    python benchmarks/bench_calibration.py --sizes 12,100,1000 [--quantile-head]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forecast import uncertainty  # noqa: E402
from forecast.uncertainty import Calibration  # noqa: E402


def _validation_year(n_stations: int, quantile_head: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    days = pd.date_range("2016-01-01", periods=365).to_numpy()
    dates = np.repeat(days, n_stations)
    point = rng.gamma(2.0, 40.0, len(dates)) + 5.0
    y = point * rng.lognormal(0.0, 0.4, len(point))
    if quantile_head:     # 99 distinct levels, as a network trained with the pinball loss
        spread = np.exp(0.35 * scipy.stats.norm.ppf(uncertainty.LEVELS))
        return y, point[:, None] * spread[None, :], dates
    raw = uncertainty.raw_quantiles(None, None, None, point=point)
    return y, raw, dates


def _seconds(work) -> tuple[float, object]:
    start = time.perf_counter()
    out = work()
    return time.perf_counter() - start, out


def _measure(n_stations: int, quantile_head: bool) -> str:
    y, raw, dates = _validation_year(n_stations, quantile_head)
    full, calibration = _seconds(lambda: Calibration.fit(y, raw, dates=dates))
    offsets, _ = _seconds(lambda: Calibration.fit(y, raw, dates=dates, groups=(1,),
                                                  seasons=(False,)))
    log1p, _ = _seconds(lambda: Calibration.fit(y, raw, dates=dates, offsets=(1.0,),
                                                groups=(1,), seasons=(False,)))

    def with_out_of_block():
        _, parts, _ = Calibration.fit_with_out_of_block(y, raw, dates)
        for held_out, fitted in parts:
            at = np.flatnonzero(held_out)
            uncertainty.in_blocks(lambda block, fitted=fitted: uncertainty.forecast_columns(
                fitted.apply(raw[block], dates[block]), y[block], 75.0), at)

    both, _ = _seconds(with_out_of_block)
    return (f"{n_stations:8d}  {len(y):8,d}  {full:10.2f} s  {offsets:16.2f} s  "
            f"{log1p:9.2f} s  {both:26.2f} s   (chose a = {calibration.offset:g}, "
            f"{calibration.groups} group(s){', by season' if calibration.by_season else ''})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="12,100,1000",
                        help="comma-separated numbers of stations")
    parser.add_argument("--quantile-head", action="store_true",
                        help="raw quantiles at 99 distinct levels (--loss pinball) instead of "
                             "a point forecast")
    args = parser.parse_args()
    print("stations  rows      fit (choice)  fit (offsets only)  fit (log1p)  "
          "with the validation rows out of block")
    for n_stations in (int(s) for s in args.sizes.split(",")):
        print(_measure(n_stations, args.quantile_head))


if __name__ == "__main__":
    main()
