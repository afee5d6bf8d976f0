"""Screen: the calibration with shifts per tercile of the forecast (Mondrian conformal).

The run's calibration (``forecast.uncertainty.Calibration``) fits one set of log-space
shifts for all days of a fold and chooses its log offset by the validation CRPS
cross-fitted over five blocks of dates. One set for all days is a compromise: with the
offsets it chooses, the highest forecasts' intervals cover less than the lowest's. This
script refits, from a run's stored point forecasts, the same calibration and one with
separate shifts for each tercile of the validation forecasts (the offset chosen in the
same way for each), and prints for each model and fold the offsets and the cross-fitted
validation CRPS of both (what an honest choice between them would read), then the
test-period CRPS and the 80 % interval's coverage by forecast tercile of each, pooled over
the folds (read once: nothing here is chosen from them). Point forecasts only: a
quantile-head network's stored quantiles are not what it calibrated.

    python benchmarks/calibration_bins.py reports/<run-id> hgb,combination
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forecast.uncertainty import (  # noqa: E402
    CALIBRATION_BLOCKS,
    LEVELS,
    OFFSETS,
    _apply,
    _shifts,
    crps,
    level_index,
)

BINS = (1, 3)


def fit(y: np.ndarray, forecast: np.ndarray, offset: float, bins: int):
    """(edges, shifts per bin): one set of shifts, or one per tercile of ``forecast``."""
    if bins == 1:
        return np.array([]), [_shifts(y, forecast[:, None], offset)]
    edges = np.quantile(forecast, [1 / 3, 2 / 3])
    k = np.digitize(forecast, edges)
    return edges, [_shifts(y[k == b], forecast[k == b][:, None], offset) for b in range(bins)]


def apply(fitted, forecast: np.ndarray, offset: float) -> np.ndarray:
    edges, shifts = fitted
    k = np.digitize(forecast, edges) if len(edges) else np.zeros(len(forecast), int)
    out = np.empty((len(forecast), len(LEVELS)))
    for b, bin_shifts in enumerate(shifts):
        rows = k == b
        if rows.any():
            raw = np.repeat(forecast[rows][:, None], len(LEVELS), axis=1)
            out[rows] = _apply(bin_shifts, raw, offset)
    return out


def cross_fitted(y, forecast, dates, offset: float, bins: int) -> float:
    """Mean CRPS, each block of dates calibrated on the others (as Calibration.fit)."""
    total = 0.0
    for block in np.array_split(np.unique(dates), CALIBRATION_BLOCKS):
        held = np.isin(dates, block)
        calibrated = apply(fit(y[~held], forecast[~held], offset, bins), forecast[held], offset)
        total += crps(calibrated, y[held]).sum()
    return total / len(y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("models", help="comma-separated entries of the run, e.g. hgb,ridge")
    args = parser.parse_args()
    table = pd.read_csv(args.run / "predictions.csv",
                        usecols=["fold", "date", "split", "model", "y_true", "y_pred"])
    for model in args.models.split(","):
        tested = {b: [] for b in BINS}
        print(model)
        for fold, rows in table[table["model"] == model].groupby("fold", sort=True):
            val, test = rows[rows["split"] == "val"], rows[rows["split"] == "test"]
            y, forecast, dates = (val["y_true"].to_numpy(), val["y_pred"].to_numpy(),
                                  val["date"].to_numpy())
            scores = {b: {a: cross_fitted(y, forecast, dates, a, b) for a in OFFSETS}
                      for b in BINS}
            offset = {b: min(OFFSETS, key=scores[b].get) for b in BINS}
            print(f"  {fold}: validation CRPS cross-fitted, one set {scores[1][offset[1]]:.3f} "
                  f"(a = {offset[1]:g}), per tercile {scores[3][offset[3]]:.3f} "
                  f"(a = {offset[3]:g})")
            for b in BINS:
                quantiles = apply(fit(y, forecast, offset[b], b), test["y_pred"].to_numpy(),
                                  offset[b])
                tested[b].append(pd.DataFrame({
                    "y": test["y_true"].to_numpy(), "forecast": test["y_pred"].to_numpy(),
                    "low": quantiles[:, level_index(0.1)],
                    "high": quantiles[:, level_index(0.9)],
                    "crps": crps(quantiles, test["y_true"].to_numpy())}))
        for b in BINS:
            scored = pd.concat(tested[b])
            third = np.minimum((3 * (scored["forecast"].rank().to_numpy() - 0.5)
                                / len(scored)).astype(int), 2)
            inside = ((scored["y"] >= scored["low"]) & (scored["y"] <= scored["high"])).to_numpy()
            by_third = "/".join(f"{100 * inside[third == k].mean():.0f}" for k in range(3))
            print(f"  test, {'one set' if b == 1 else 'per tercile'}: CRPS "
                  f"{scored['crps'].mean():.2f}, 80 % interval covers {100 * inside.mean():.0f} % "
                  f"(low/middle/high forecasts {by_third} %)")


if __name__ == "__main__":
    main()
