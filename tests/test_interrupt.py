"""Ctrl-C and SIGTERM end a run at once, leaving nothing behind; a killed run's
temporary directory is removed by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w

from forecast.pipeline import OWNER_FILE, remove_stale_temporaries

pytestmark = pytest.mark.slow


def _start_run(tmp_path: Path) -> subprocess.Popen:
    config = tmp_path / "long.toml"
    config.write_text(tomli_w.dumps({
        "data": {"dataset": "synthetic", "synthetic_start": "2010-01-01",
                 "synthetic_end": "2012-12-31"},
        "models": {"names": ["persistence", "mlp"]},
        "training": {"seeds": 1, "max_epochs": 100000, "patience": 100000,
                     "progress_bar": False},
        "run": {"out": str(tmp_path / "reports")}}))
    return subprocess.Popen([sys.executable, "-m", "forecast", "run", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)


@pytest.mark.parametrize("signal_number, status", [(signal.SIGINT, 130),
                                                   (signal.SIGTERM, 143)])
def test_a_signal_during_training_ends_the_run_and_leaves_nothing(tmp_path, signal_number,
                                                                  status):
    process = _start_run(tmp_path)
    for line in process.stdout:  # wait until the network is training
        if "model 1 of 2: persistence" in line:  # the next fit is the network
            break
    time.sleep(3.0)
    assert process.poll() is None, process.stderr.read()
    started = time.perf_counter()
    process.send_signal(signal_number)
    _, err = process.communicate(timeout=60)
    assert time.perf_counter() - started < 30
    assert process.returncode == status, err
    assert "Traceback" not in err and "interrupted" in err
    assert list((tmp_path / "reports").iterdir()) == []


def test_a_killed_runs_temporary_directory_is_removed_by_the_next(tmp_path):
    out = tmp_path / "reports"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = out / ".tmp-killed"
    stale.mkdir(parents=True)
    (stale / OWNER_FILE).write_text(str(dead.pid))
    live = out / ".tmp-running"
    live.mkdir()
    (live / OWNER_FILE).write_text(str(os.getppid()))  # a process that is alive
    finished = out / "20200101-finished"
    finished.mkdir()
    assert remove_stale_temporaries(out) == [stale]
    assert sorted(p.name for p in out.iterdir()) == [".tmp-running", "20200101-finished"]
