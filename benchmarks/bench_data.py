"""Time loading + daily aggregation of each data set (target: all 12 multi-site
stations in under 3 s on the 2-core development machine)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import best_of, data_dir  # noqa: E402

from forecast import daily, sources  # noqa: E402


def main() -> None:
    folder = data_dir()
    datasets = ["beijing", "beijing-multisite"] if folder else []
    if not folder:
        print("real data not found (set FORECAST_DATA_DIR); timing synthetic data only")
    for dataset in datasets:
        seconds, frame = best_of(lambda d=dataset: daily.to_daily(sources.load(d, data_dir=folder).hourly))
        print(f"{dataset:18s} load + daily aggregation: {seconds:6.2f} s "
              f"({len(frame):,} station-days)")
    seconds, frame = best_of(lambda: daily.to_daily(
        sources.load("synthetic", synthetic={"n_stations": 12}).hourly))
    print(f"{'synthetic x12':18s} generate + daily aggregation: {seconds:6.2f} s "
          f"({len(frame):,} station-days)")


if __name__ == "__main__":
    main()
