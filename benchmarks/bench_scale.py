"""How cost grows with the number of stations: synthetic stations over four years.

For each size a fresh process (so peak memory is that size's alone) generates the hourly
data, runs the data-quality checks, the daily aggregation and the task, and prints
seconds per stage and the peak resident memory. With ``--run`` it also runs the whole
pipeline (``forecast run``: persistence, ridge, hgb, mlp and gru, one seed, no capacity
sweep or learning curve, every rolling-origin fold) and prints the seconds of each step
the pipeline reports.

    python benchmarks/bench_scale.py                       # data → task at 12, 48, 200, 1000
    python benchmarks/bench_scale.py --run --sizes 12,48,200
    python benchmarks/bench_scale.py --run --no-refit      # the whole run without the final fit
    python benchmarks/bench_scale.py --run --mode forecast --sizes 12,48   # + the *_by_hour
    python benchmarks/bench_scale.py --run --no-train-forecasts   # run.train_forecasts = false

In forecast mode the run also fits hgb_by_hour and gru_by_hour (the target day hour by
hour), which read the target day's hourly weather, so the task builds those hours too.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "2013-01-01", "2016-12-31"


MODELS = ["persistence", "ridge", "hgb", "mlp", "gru"]


def models_of(mode: str) -> list[str]:
    return ([*MODELS[:3], "hgb_by_hour", *MODELS[3:], "gru_by_hour"] if mode == "forecast"
            else MODELS)


def data_to_task(n_stations: int, mode: str = "observed") -> dict:
    sys.path.insert(0, str(ROOT))
    from forecast import daily, quality
    from forecast.synthetic import generate_hourly, station_coordinates
    from forecast.task import build_task

    times = {}
    start = time.perf_counter()
    hourly = generate_hourly(seed=0, n_stations=n_stations, start=START, end=END)
    times["generate"] = time.perf_counter() - start
    start = time.perf_counter()
    hourly, _ = quality.check(hourly)
    times["quality"] = time.perf_counter() - start
    start = time.perf_counter()
    frame = daily.to_daily(hourly)
    times["daily"] = time.perf_counter() - start
    start = time.perf_counter()
    # with the stations' coordinates, as forecast run builds it: the upwind feature too
    task = build_task(hourly, frame, dataset="synthetic", mode=mode,
                      target_hours=mode == "forecast",
                      coordinates=station_coordinates(n_stations))
    times["task"] = time.perf_counter() - start
    return {"rows": len(hourly), "task_rows": len(task.y), **times}


def full_run(n_stations: int, refit: bool = True, mode: str = "observed",
             train_forecasts: bool = True) -> dict:
    sys.path.insert(0, str(ROOT))
    from forecast import pipeline
    from forecast.config import load_config

    marks: list[tuple[float, str]] = []
    original = pipeline.progress

    def progress(message: str) -> None:
        marks.append((time.perf_counter(), message))
        original(message)

    pipeline.progress = progress
    with tempfile.TemporaryDirectory() as out:
        config = load_config(overrides={
            "data": {"dataset": "synthetic", "synthetic_stations": n_stations,
                     "synthetic_start": START, "synthetic_end": END},
            "task": {"mode": mode},
            "models": {"names": models_of(mode)},
            # one process: the figures are the pipeline's own time and peak memory
            # (a pool of training processes would add processes this one cannot see)
            "training": {"seeds": 1, "progress_bar": False, "jobs": 1},
            "diagnostics": {"capacity_sweep": False, "learning_curve": False},
            "split": {"refit": refit},
            "run": {"out": out, "train_forecasts": train_forecasts}})
        start = time.perf_counter()
        pipeline.run(config)
        total = time.perf_counter() - start
    steps: dict[str, float] = {}
    for (t0, message), (t1, _) in zip(marks, marks[1:], strict=False):
        key = message.split(":")[0] if message.startswith("fold") else message
        steps[key] = steps.get(key, 0.0) + (t1 - t0)
    return {"total": total, "steps": steps}


def child(kind: str, n_stations: int, mode: str, train_forecasts: str) -> None:
    result = (data_to_task(n_stations, mode) if kind == "task"
              else full_run(n_stations, kind != "run-no-refit", mode,
                            train_forecasts == "train-forecasts"))
    result["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print("RESULT " + json.dumps(result), flush=True)


def measure(kind: str, n_stations: int, mode: str = "observed",
            train_forecasts: bool = True) -> dict:
    process = subprocess.run([sys.executable, __file__, "--child", kind, str(n_stations), mode,
                              "train-forecasts" if train_forecasts else "no-train-forecasts"],
                             capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    if process.returncode or not lines:
        raise SystemExit(f"{kind} at {n_stations} stations failed:\n{process.stderr[-2000:]}")
    return json.loads(lines[-1][7:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="12,48,200,1000")
    parser.add_argument("--run", action="store_true", help="also the whole pipeline")
    parser.add_argument("--no-refit", action="store_true",
                        help="the whole run without the final fit on train + val (--no-refit)")
    parser.add_argument("--mode", choices=("observed", "forecast"), default="observed",
                        help="the task's mode (forecast: with the target day's weather, "
                             "hgb_by_hour and gru_by_hour)")
    parser.add_argument("--no-train-forecasts", action="store_true",
                        help="the whole run without forecasting the main fold's training rows "
                             "(--no-train-forecasts)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2], args.child[3])
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"synthetic stations, {START} .. {END}, {args.mode} mode; seconds and peak "
          "resident memory per size")
    print(f"{'stations':>8} {'hourly rows':>12} {'generate':>9} {'quality':>8} {'daily':>7} "
          f"{'task':>7} {'data→task':>10} {'peak GiB':>9}")
    previous = None
    for n in sizes:
        r = measure("task", n, args.mode)
        total = r["quality"] + r["daily"] + r["task"] + r["generate"]
        growth = f"  ×{total / previous[1]:.1f} for ×{n / previous[0]:.1f} stations" \
            if previous else ""
        print(f"{n:>8} {r['rows']:>12,} {r['generate']:>9.1f} {r['quality']:>8.1f} "
              f"{r['daily']:>7.1f} {r['task']:>7.1f} {total:>10.1f} {r['peak_gib']:>9.2f}"
              + growth, flush=True)
        previous = (n, total)
    if not args.run:
        return
    print(f"\nwhole run ({', '.join(models_of(args.mode))}; one seed; all folds"
          + ("; no final fit" if args.no_refit else "; with the final fit")
          + ("; no training-row forecasts)" if args.no_train_forecasts else ")"))
    for n in [s for s in sizes if s <= 200]:
        r = measure("run-no-refit" if args.no_refit else "run", n, args.mode,
                    not args.no_train_forecasts)
        steps = ", ".join(f"{k} {v:.0f} s" for k, v in r["steps"].items())
        print(f"{n:>5} stations: {r['total']:.0f} s, peak {r['peak_gib']:.2f} GiB ({steps})",
              flush=True)


if __name__ == "__main__":
    main()
