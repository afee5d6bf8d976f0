"""What the report reads from a run directory, read once and only through the records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..constants import PREDICTION_TEXT_COLUMNS
from ..results import ModelEntry, RunResult


@dataclass
class Run:
    """A run directory: its :class:`RunResult`, and the validation and test forecasts of
    every fold from ``predictions.csv`` (None when that file is missing)."""

    path: Path
    result: RunResult
    predictions: pd.DataFrame | None

    @classmethod
    def read(cls, run_dir: Path) -> Run:
        result = RunResult.read(run_dir)
        predictions = None
        path = run_dir / "predictions.csv"
        if path.is_file():
            # text columns read as categories: a few values over millions of rows (at
            # 1,000 stations the file has 12.6 million, half of them training rows)
            frame = pd.read_csv(path, dtype={c: "category" for c in PREDICTION_TEXT_COLUMNS})
            frame = frame[frame["split"].isin(["val", "test"])]
            predictions = frame.assign(
                date=pd.to_datetime(frame["date"]),
                **{c: frame[c].astype(str) for c in PREDICTION_TEXT_COLUMNS})
        return cls(run_dir, result, predictions)

    def latest_predictions(self) -> pd.DataFrame | None:
        """The forecasts of the main split (the latest fold)."""
        if self.predictions is None or not self.result.folds:
            return self.predictions
        latest = self.result.folds[-1]["name"]
        return self.predictions[self.predictions["fold"] == latest]

    def csv(self, *parts: str) -> pd.DataFrame | None:
        """A CSV of the run directory (curves, diagnostics); None when absent or empty."""
        path = self.path.joinpath(*parts)
        if not path.is_file():
            return None
        try:
            frame = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            return None
        return frame if not frame.empty else None

    # ---------------------------------------------------------- the models as one each

    def candidates(self) -> list[ModelEntry]:
        """Baselines, each network as one model (its seed ensemble) and the combination,
        in run order."""
        out = [e for e in self.result.entries.values() if e.kind == "baseline"]
        for family in self.result.network_families():
            entry = self.result.representative(family)
            if entry is not None:
                out.append(entry)
        return out + self.result.of_kind("combination")

    def pooled(self, name: str, split: str = "test") -> dict:
        """Pooled (all folds, all stations) metrics of an entry; {} when not pooled."""
        return self.result.pooled.get("models", {}).get(name, {}).get(split, {})

    def pooled_comparison(self, name: str, split: str = "test") -> dict | None:
        """An entry against the pooled best baseline."""
        for c in self.result.pooled.get("comparisons", []):
            if c["split"] == split and c["model"] == name:
                return c
        return None

    @property
    def n_folds(self) -> int:
        return len(self.result.folds)
