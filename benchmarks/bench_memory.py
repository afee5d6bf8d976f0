"""Where a whole run's memory goes: resident memory sampled through one run, stage by stage.

Runs the pipeline of ``bench_scale.py --run`` (synthetic stations over four years;
persistence, ridge, hgb, mlp and gru; one seed; one process) once, sampling this
process's resident memory every 0.25 s on a thread, and prints for every stage the
pipeline reports (loading, the task, each fold, each model's fit, the evaluation, the
report; a model's fit begins where the registry builds it, "build NAME") when it began,
how long it took, the memory when it began and the highest sample during it. The run's
peak is the highest of those.

    python benchmarks/bench_memory.py 200
    python benchmarks/bench_memory.py 1000       # about 35 minutes on 2 cores, 12 GiB

Linux only (it reads ``/proc/self/statm``).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # noqa: E402

PAGE_GIB = os.sysconf("SC_PAGE_SIZE") / 2**30


def resident_gib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_GIB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stations", type=int)
    parser.add_argument("--mode", choices=("observed", "forecast"), default="observed")
    args = parser.parse_args()
    sys.path.insert(0, str(bench_scale.ROOT))
    from forecast import pipeline

    samples: list[tuple[float, float]] = []
    marks: list[tuple[float, str, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter(), resident_gib()))
            time.sleep(0.25)

    def mark(label: str) -> None:
        marks.append((time.perf_counter(), label, resident_gib()))

    progress, build = pipeline.progress, pipeline.registry.build

    def marked_progress(message: str) -> None:
        mark(message)
        progress(message)

    def marked_build(name: str, *a, **k):
        mark(f"build {name}")
        return build(name, *a, **k)

    pipeline.progress, pipeline.registry.build = marked_progress, marked_build
    threading.Thread(target=sample, daemon=True).start()
    start = time.perf_counter()
    bench_scale.full_run(args.stations, True, args.mode)
    mark("end")
    done.set()
    print(f"{args.stations} synthetic stations, {args.mode} mode: {marks[-1][0] - start:.0f} s, "
          f"peak {max(s for _, s in samples):.2f} GiB")
    print(f"{'began':>8} {'seconds':>8} {'GiB at start':>13} {'peak GiB':>9}  stage")
    for (began, label, at_start), (ended, _, _) in zip(marks, marks[1:], strict=False):
        peak = max([s for t, s in samples if began <= t <= ended] or [at_start])
        print(f"{began - start:8.1f} {ended - began:8.1f} {at_start:13.2f} {peak:9.2f}  "
              f"{label[:70]}")


if __name__ == "__main__":
    main()
