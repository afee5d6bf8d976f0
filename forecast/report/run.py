"""What the report reads from a run directory, read once and only through the records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..constants import PREDICTION_TEXT_COLUMNS
from ..errors import DataError
from ..results import ModelEntry, RunResult

#: The columns of predictions.csv the report draws (the latest test period's series and
#: the recommended model's fan of quantiles); the scores come from metrics.json.
REPORT_COLUMNS = (*PREDICTION_TEXT_COLUMNS, "date", "y_true", "y_pred",
                  "q05", "q25", "q50", "q75", "q95")
#: Rows of predictions.csv parsed at a time: at 1,000 stations the file has 12.6 million,
#: of which the report keeps the latest fold's test rows, about one in six.
CHUNK_ROWS = 1_000_000


@dataclass
class Run:
    """A run directory: its :class:`RunResult`, and the test forecasts of the latest fold
    (the main split) from ``predictions.csv`` (None when that file is missing)."""

    path: Path
    result: RunResult
    latest_test: pd.DataFrame | None

    @classmethod
    def read(cls, run_dir: Path) -> Run:
        result = RunResult.read(run_dir)
        latest_test = None
        path = run_dir / "predictions.csv"
        if path.is_file():
            latest_test = _latest_test(path, result.folds[-1]["name"] if result.folds
                                       else None)
        return cls(run_dir, result, latest_test)

    def csv(self, *parts: str) -> pd.DataFrame | None:
        """A CSV of the run directory (curves, diagnostics); None when absent or empty."""
        path = self.path.joinpath(*parts)
        if not path.is_file():
            return None
        try:
            frame = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
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


def days(run: Run) -> str:
    """What the scores are averaged over: days, or station-days with several stations."""
    return "station-days" if len(run.result.stations) > 1 else "days"


def test_periods(run: Run) -> str:
    """What the test scores are pooled over: the folds' test periods, or one."""
    return "test periods" if run.n_folds > 1 else "test period"


def _latest_test(path: Path, latest: str | None) -> pd.DataFrame:
    """The test rows of the fold ``latest`` in ``predictions.csv``; a file that is not the
    run's forecasts (damaged, cut short, replaced) is a DataError naming it."""
    with path.open("rb") as file:
        file.seek(0, 2)
        if file.tell() == 0:
            raise DataError(f"{path}: empty; rerun forecast run")
        file.seek(-1, 2)
        if file.read(1) != b"\n":
            raise DataError(f"{path}: its last line is cut short (the file is incomplete); "
                            "rerun forecast run")
    parts = []
    try:
        # a chunk at a time: the file holds every fold's training, validation and test
        # rows; text columns as text (a fold or station named 2014 or 01001 stays so)
        with pd.read_csv(path, dtype={c: str for c in PREDICTION_TEXT_COLUMNS},
                         usecols=lambda c: c in REPORT_COLUMNS,
                         chunksize=CHUNK_ROWS) as chunks:
            for chunk in chunks:
                missing = [c for c in REPORT_COLUMNS if c not in chunk.columns
                           and c not in ("q05", "q25", "q50", "q75", "q95")]
                if missing:
                    raise DataError(f"{path}: not a run's forecasts (no {', '.join(missing)} "
                                    "column); rerun forecast run")
                text = [c for c in chunk.columns if c not in PREDICTION_TEXT_COLUMNS
                        and c != "date" and not pd.api.types.is_numeric_dtype(chunk[c])]
                if text:
                    raise DataError(f"{path}: not a run's forecasts (its {text[0]} column "
                                    "holds text, not numbers); rerun forecast run")
                keep = chunk["split"] == "test"
                if latest is not None:
                    keep &= chunk["fold"] == latest
                parts.append(chunk[keep.to_numpy()])
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=list(REPORT_COLUMNS))
        return frame.assign(date=pd.to_datetime(frame["date"]))
    except DataError:           # a ValueError already naming the file: not wrapped again
        raise
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a run's forecasts ({str(exc).splitlines()[0]}); "
                        "rerun forecast run") from None
