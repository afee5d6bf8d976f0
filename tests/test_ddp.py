"""Distributed training: ``strategy="ddp"`` with two CPU processes.

Lightning's ddp launcher starts the other rank by re-running the main script, so the
training runs in a small script of its own (a subprocess), not inside pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, os
import numpy as np
import torch

torch.set_num_threads(1)
import models
from forecast import daily, task as T
from forecast.synthetic import generate_hourly

hourly = generate_hourly(seed=0, start="2010-01-01", end="2010-06-30")
task = T.build_task(hourly, daily.to_daily(hourly), dataset="synthetic",
                    train_end="2010-04-15", val_end="2010-05-31", test_end="2010-06-30")
config = {"training": {"accelerator": "cpu", "devices": 2, "strategy": "ddp",
                       "max_epochs": 2, "hidden": 8, "layers": 1, "progress_bar": False}}
forecaster = models.NetworkForecaster.from_config("mlp", config, seed=0).fit(task)
predictions = forecaster.predict(task, np.ones(len(task.y), dtype=bool))
rank = int(os.environ.get("LOCAL_RANK", 0))
# one file per rank: the two processes share stdout, where their lines can interleave
with open(f"result_{rank}.json", "w") as out:
    json.dump({
        "rank": rank, "n": len(predictions), "rows": len(task.y),
        "finite": bool(np.isfinite(predictions).all() and (predictions >= 0).all()),
        "epochs": len(forecaster.history), "status": forecaster.info["status"],
    }, out)
"""


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    for name in ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(path.read_text()) for path in sorted(tmp_path.glob("result_*.json"))]
    assert sorted(r["rank"] for r in results) == [0, 1], done.stdout[-3000:]
    for result in results:
        assert result["status"] == "ok" and result["finite"]
        assert result["n"] == result["rows"]
    rank0 = next(r for r in results if r["rank"] == 0)
    assert rank0["epochs"] == 2  # rank 0 writes the CSV log
