"""How much a better choice among a run's forecasts could gain: optimistic bounds.

Not a model and not part of the verdict: every figure but the first two columns is
chosen *on the rows it scores*, so it is a bound no honest choice can beat, not a
score any model could reach. For each fold's validation and test rows, and for all
folds pooled, it prints the RMSE (µg/m³).

Rows are labelled by fold (its test period); a fold's ``val`` rows are its validation
year. Columns:

- ``recommended``: the model the run's validation data recommend;
- ``combination``: the run's combination (weights fitted on validation, cross-fitted
  there);
- ``best entry``: the best single entry of the run on those very rows (every model,
  every network seed and ensemble; a bound on choosing one model);
- ``nnls bound``: non-negative least squares over all of those entries (persistence,
  climatology and the combination aside) fitted fold by fold on those very rows (a
  bound on any non-negative linear combination of them with weights per fold, as the
  run's combination has; the report's "Complementarity" line gives the same bound on
  validation over the combination's members alone).

When the bound is above an aim, no re-weighting or choice among the run's models can
reach that aim honestly: what is missing is in the models' inputs, not their choice.

    python benchmarks/headroom.py reports/<run-id>
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from forecast import rolling  # noqa: E402
from forecast.combination import in_sample_forecasts  # noqa: E402
from forecast.constants import REFERENCE_MODELS  # noqa: E402


def _rmse(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.sqrt(np.mean((f - y) ** 2)))


def headroom(predictions: pd.DataFrame, recommended: str) -> list[dict]:
    """One row per (split, fold or "pooled") of the RMSEs described above."""
    rows = []
    for split in ("val", "test"):
        models = sorted(predictions.loc[predictions["split"] == split, "model"].unique())
        entries = [m for m in models if m not in (*REFERENCE_MODELS, "combination")]
        keys, truth, forecasts = rolling.aligned(predictions, split, models)
        folds = keys["fold"].to_numpy()
        bound, weights = in_sample_forecasts(folds, truth, {m: forecasts[m] for m in entries})
        weights = {fold: {m: v for m, v in w.items() if v > 0} for fold, w in weights.items()}
        for fold in [*pd.unique(folds), "pooled"]:
            mine = np.ones(len(truth), bool) if fold == "pooled" else (folds == fold)
            y = truth[mine]
            scores = {m: _rmse(y, forecasts[m][mine]) for m in entries}
            best = min(scores, key=scores.get)
            rows.append({
                "split": split, "fold": str(fold), "n": int(mine.sum()),
                "recommended": _rmse(y, forecasts[recommended][mine]),
                "combination": (_rmse(y, forecasts["combination"][mine])
                                if "combination" in forecasts else float("nan")),
                "best entry": scores[best], "best entry name": best,
                "nnls bound": _rmse(y, bound[mine]),
                "nnls weights": weights if fold == "pooled" else weights[str(fold)]})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    metrics = json.loads((args.run_dir / "metrics.json").read_text())
    recommended = metrics["pooled"]["recommendation"]["model"]
    predictions = pd.read_csv(args.run_dir / "predictions.csv",
                              dtype={"fold": str, "station": str})
    rows = headroom(predictions[predictions["split"] != "train"], recommended)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{args.run_dir.name}: {metrics['dataset']}, {metrics['mode']} mode; "
          f"recommended {recommended}. RMSE, µg/m³; the last two are chosen on the rows "
          "they score (bounds, not models)")
    width = max(len(r["fold"]) for r in rows) + 2
    print(f"{'split':<6}{'fold':>{width}}{'days':>7}{'recommended':>13}{'combination':>13}"
          f"{'best entry':>12}  {'(which)':<15}{'nnls bound':>11}")
    for r in rows:
        print(f"{r['split']:<6}{r['fold']:>{width}}{r['n']:>7}{r['recommended']:>13.2f}"
              f"{r['combination']:>13.2f}{r['best entry']:>12.2f}  "
              f"{r['best entry name']:<15}{r['nnls bound']:>11.2f}")


if __name__ == "__main__":
    main()
