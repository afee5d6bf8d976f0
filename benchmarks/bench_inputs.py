"""The memory of a network's inputs at scale, step by step, without training.

Builds the observed-mode task of ``bench_scale.py``'s synthetic stations (four years,
2013–2016, its main split; with ``--mode forecast`` the forecast-mode task with the
target day's hours and the stations' coordinates, and the scalers and inputs of
``gru_by_hour``, which reads those hours) and then, as a network's fit and forecasts do, fits the
scalers on the training rows and makes the inputs of the training rows, of the
validation rows and of every row. For each step it prints this process's resident
memory before, the highest sample during it (every 0.02 s, on a thread) and after, and
the step's seconds; and the size of the task's arrays.

    python benchmarks/bench_inputs.py 1000                   # about 2 minutes, 7 GiB
    python benchmarks/bench_inputs.py 1000 --baseline ridge  # then ridge's fit and forecasts
    python benchmarks/bench_inputs.py 1000 --mode forecast   # gru_by_hour's: the target
                                                             # day's hours too, about 10 GiB

Linux only (it reads ``/proc/self/statm``).
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # noqa: E402
from bench_memory import resident_gib  # noqa: E402

CONFIG = {"training": {"jobs": 1}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stations", type=int)
    parser.add_argument("--baseline", metavar="NAME",
                        help="also fit this baseline (e.g. ridge) on the task and forecast "
                             "every row, after the networks' steps")
    parser.add_argument("--mode", choices=("observed", "forecast"), default="observed",
                        help="forecast: the task with the target day's hours, and "
                             "gru_by_hour's scalers and inputs")
    args = parser.parse_args()
    by_hour = args.mode == "forecast"
    sys.path.insert(0, str(bench_scale.ROOT))
    from baselines.linear import SklearnBaseline
    from forecast import daily, quality
    from forecast.synthetic import generate_hourly, station_coordinates
    from forecast.task import build_task
    from models.scaling import Scalers

    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter(), resident_gib()))
            time.sleep(0.02)

    def step(label: str, function):
        gc.collect()
        before, start = resident_gib(), time.perf_counter()
        out = function()
        end = time.perf_counter()
        time.sleep(0.05)
        peak = max([before] + [s for t, s in samples if start <= t <= end + 0.05])
        print(f"{label:<30}{before:8.2f}{peak:8.2f}{peak - before:+8.2f}"
              f"{resident_gib():8.2f}{end - start:9.1f}", flush=True)
        return out

    threading.Thread(target=sample, daemon=True).start()
    hourly = generate_hourly(seed=0, n_stations=args.stations, start=bench_scale.START,
                             end=bench_scale.END)
    hourly, _ = quality.check(hourly)
    frame = daily.to_daily(hourly)
    print(f"{args.stations} synthetic stations; GiB: before, peak, its rise, after; seconds")
    task = step("build the task", partial(
        build_task, hourly, frame, dataset="synthetic", mode=args.mode, target_hours=by_hour,
        coordinates=station_coordinates(args.stations) if by_hour else None))
    task = replace(task, issue_hour_source=None)   # as a run without other issue hours does
    del hourly, frame   # as a run lets go of them once the task is built
    scalers = step("fit the scalers", lambda: Scalers.fit(task, target_hours=by_hour))
    kept = [step("inputs of the training rows",
                 lambda: scalers.inputs(task, task.training_rows()))]
    kept.append(step("inputs of the validation rows",
                     lambda: scalers.inputs(task, task.mask("val"))))
    step("inputs of every row (kept)", lambda: scalers.inputs(task, np.ones(len(task.y), bool)))
    if args.baseline:
        del kept, scalers
        model = step(f"fit {args.baseline}",
                     lambda: SklearnBaseline.from_config(args.baseline, CONFIG).fit(task))
        step(f"{args.baseline}: every row's forecast",
             lambda: model.predict(task, np.ones(len(task.y), bool)))
    done.set()
    for name in ("X", "sequence", "y", "target_hours", "y_hours"):
        values = getattr(task, name)
        if values is None:
            continue
        print(f"task.{name}: {values.shape}, {values.nbytes / 2**30:.3f} GiB")


if __name__ == "__main__":
    main()
