"""Time ``forecast predict`` on a finished run: loading the stored models against fitting
the baselines again, as it does for a run without ``models/*.skops`` (one made before
baselines were stored).

Each way runs in a fresh process (``forecast predict RUN --json``, wall time, best of
``--repeats``), the second on a copy of the run without its ``.skops`` files; the two
outputs must be identical.

    python benchmarks/bench_predict.py reports/<run-id>
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(run_dir: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "forecast", "predict", str(run_dir), "--json"],
                         capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    stored = sorted((args.run_dir / "models").glob("*.skops"))
    if not stored:
        sys.exit(f"{args.run_dir}: no stored baselines (models/*.skops) to compare with")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / args.run_dir.name
        shutil.copytree(args.run_dir, copy)
        for path in (copy / "models").glob("*.skops"):
            path.unlink()
        results = {}
        for label, run_dir in (("stored models", args.run_dir),
                               ("baselines fitted again", copy)):
            runs = [timed(run_dir) for _ in range(args.repeats)]
            results[label] = (min(seconds for seconds, _ in runs), runs[-1][1])
    (loaded_s, loaded), (refit_s, refit) = results.values()
    print(f"{args.run_dir}: {len(stored)} stored baselines")
    print(f"  forecast predict, stored models:          {loaded_s:6.1f} s")
    print(f"  forecast predict, baselines fitted again: {refit_s:6.1f} s")
    print(f"  same output: {'yes' if loaded == refit else 'NO'}")
    if loaded != refit:
        sys.exit(1)


if __name__ == "__main__":
    main()
