"""Distributed training: ``forecast train --strategy ddp`` with two CPU processes.

Lightning's ddp launcher starts the other rank by re-running the command, so the
training runs in a subprocess of its own, not inside pytest: exactly the command the
README gives for several GPUs, on CPUs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import models

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    for name in ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [sys.executable, "-m", "forecast", "train", "mlp", "--dataset", "synthetic",
               "--synthetic-start", "2010-01-01", "--synthetic-end", "2010-06-30",
               "--train-end", "2010-04-15", "--val-end", "2010-05-31",
               "--test-end", "2010-06-30", "--accelerator", "cpu", "--devices", "2",
               "--strategy", "ddp", "--training-max-epochs", "2", "--hidden", "8",
               "--threads", "1", "--save", "mlp.pt"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # rank 0 alone reports, and counts both processes
    assert done.stdout.count("validation RMSE") == 1, done.stdout[-3000:]
    assert "2 process(es)" in done.stdout
    network = models.NetworkForecaster.load(tmp_path / "mlp.pt")
    assert network.info["status"] == "ok" and network.info["epochs_run"] == 2
    assert network.info["world_size"] == 2 and network.info["best_epoch"] in (1, 2)
