"""Time building the ForecastTask (target: all 12 multi-site stations in under 2 s,
neighbour features included; one site well under a second)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import best_of, data_dir  # noqa: E402

from forecast import daily, sources  # noqa: E402
from forecast.task import build_task  # noqa: E402


def main() -> None:
    folder = data_dir()
    datasets = ["beijing", "beijing-multisite"] if folder else ["synthetic"]
    for dataset in datasets:
        loaded = sources.load(dataset, data_dir=folder)
        frame = daily.to_daily(loaded.hourly)
        for mode in ("observed", "forecast"):
            seconds, task = best_of(lambda m=mode, h=loaded.hourly, f=frame, d=dataset,
                                    c=loaded.coordinates:
                                    build_task(h, f, dataset=d, mode=m, coordinates=c))
            per_site = seconds / len(task.stations)
            print(f"{dataset:18s} {mode:8s} task: {seconds:5.2f} s for {len(task.stations)} "
                  f"station(s), {per_site:5.2f} s per site; X {task.X.shape}, "
                  f"sequence {task.sequence.shape}")


if __name__ == "__main__":
    main()
