"""What the importance step ("What the models rely on") costs at scale.

Builds the task of ``bench_scale.py``'s synthetic stations (four years, 2013–2016, its
main split; ``--mode forecast``: with the target day's hours and the stations'
coordinates), fits each model on the training years (one seed), then times
:func:`forecast.importance.importance_of` on the validation rows (at most 20,000, a
seeded sample, with the report's 1,000 bootstrap draws) and, for each model, one
forecast of those rows: the step makes one unshuffled forecast and five for each group.
Prints seconds and this process's resident memory.

    python benchmarks/bench_importance.py 200
    python benchmarks/bench_importance.py 1000 --models ridge,hgb,mlp,gru   # not run yet: the
                                          # fits alone take tens of minutes (200: 10 min)
    python benchmarks/bench_importance.py 200 --mode forecast \\
        --models ridge,hgb,hgb_by_hour,mlp,gru_by_hour

Linux only (it reads ``/proc/self/statm``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # noqa: E402
from bench_memory import resident_gib  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stations", type=int)
    parser.add_argument("--models", default="ridge,hgb,mlp,gru",
                        help="comma-separated model names (default: %(default)s)")
    parser.add_argument("--mode", choices=("observed", "forecast"), default="observed")
    args = parser.parse_args()
    sys.path.insert(0, str(bench_scale.ROOT))
    from forecast import daily, quality, registry
    from forecast.config import hourly_hours, load_config
    from forecast.importance import MAX_ROWS, REPEATS, importance_of, input_groups
    from forecast.synthetic import generate_hourly, station_coordinates
    from forecast.task import build_task, sample_rows

    names = [n.strip() for n in args.models.split(",") if n.strip()]
    by_hour = registry.reads_target_hours(names)
    config = load_config(overrides={"training": {"jobs": 1, "seeds": 1},
                                    "models": {"names": names}, "task": {"mode": args.mode}})

    start = time.perf_counter()
    hourly = generate_hourly(seed=0, n_stations=args.stations, start=bench_scale.START,
                             end=bench_scale.END)
    hourly, _ = quality.check(hourly)
    task = build_task(hourly, daily.to_daily(hourly), dataset="synthetic", mode=args.mode,
                      target_hours=by_hour,
                      hourly_hours=hourly_hours(config),
                      coordinates=station_coordinates(args.stations))
    task = replace(task, issue_hour_source=None)
    del hourly
    print(f"{args.stations} synthetic stations, {args.mode} mode: the task "
          f"{time.perf_counter() - start:.1f} s, {resident_gib():.2f} GiB", flush=True)

    models = {}
    for name in names:
        start = time.perf_counter()
        models[name] = registry.build(name, config, seed=0).fit(task)
        print(f"fit {name}: {time.perf_counter() - start:.1f} s", flush=True)

    rows = sample_rows(np.flatnonzero(task.mask("val")), MAX_ROWS, 0)
    selected = np.zeros(len(task.y), dtype=bool)
    selected[rows] = True
    groups = len(input_groups(task))
    print(f"{len(rows):,} validation rows, {groups} groups: each model forecasts them "
          f"{1 + REPEATS * groups} times")
    for name, model in models.items():
        start = time.perf_counter()
        model.predict(task, selected)
        print(f"  {name}: one forecast {time.perf_counter() - start:.2f} s", flush=True)
    start = time.perf_counter()
    importance_of(models, task, seed=0, n_boot=1000)
    print(f"the importance step: {time.perf_counter() - start:.1f} s, "
          f"{resident_gib():.2f} GiB after", flush=True)


if __name__ == "__main__":
    main()
