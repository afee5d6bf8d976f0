"""Shared by the benchmark scripts: where the real data is, and a timer."""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> str | None:
    """FORECAST_DATA_DIR, else ../shared/data beside the project, else None."""
    env = os.environ.get("FORECAST_DATA_DIR")
    if env and Path(env).is_dir():
        return env
    shared = ROOT.parent / "shared" / "data"
    return str(shared) if shared.is_dir() else None


def best_of(function, repeats: int = 3) -> tuple[float, object]:
    """Fastest wall time of ``repeats`` calls (seconds) and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result
