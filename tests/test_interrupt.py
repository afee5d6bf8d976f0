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


def _start_run(tmp_path: Path, jobs: int = 1) -> subprocess.Popen:
    config = tmp_path / "long.toml"
    config.write_text(tomli_w.dumps({
        "data": {"dataset": "synthetic", "synthetic_start": "2010-01-01",
                 "synthetic_end": "2012-12-31"},
        "models": {"names": ["persistence", "mlp"]},
        "training": {"seeds": 1, "max_epochs": 100000, "patience": 100000,
                     "progress_bar": False, "jobs": jobs},
        "run": {"out": str(tmp_path / "reports")}}))
    return subprocess.Popen([sys.executable, "-m", "forecast", "run", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)


@pytest.mark.parametrize("signal_number, status, jobs", [(signal.SIGINT, 130, 1),
                                                         (signal.SIGTERM, 143, 1),
                                                         (signal.SIGINT, 130, 2)])
def test_a_signal_during_training_ends_the_run_and_leaves_nothing(tmp_path, signal_number,
                                                                  status, jobs):
    # jobs 1: the network trains in the run's own process, after the baselines; jobs 2:
    # in a pool of processes, before them
    process = _start_run(tmp_path, jobs)
    started_training = "model 1 of 2: persistence" if jobs == 1 else "training 1 network"
    for line in process.stdout:  # wait until the network is training
        if started_training in line:
            break
    time.sleep(3.0 if jobs == 1 else 8.0)   # a pool's processes start first
    assert process.poll() is None, process.stderr.read()
    started = time.perf_counter()
    process.send_signal(signal_number)
    _, err = process.communicate(timeout=60)
    assert time.perf_counter() - started < 30
    assert process.returncode == status, err
    assert "Traceback" not in err and "interrupted" in err
    assert list((tmp_path / "reports").iterdir()) == []
    if jobs > 1:   # the pool's processes went with the run
        time.sleep(2.0)
        ps = subprocess.run(["ps", "-eo", "ppid,args"], capture_output=True, text=True).stdout
        assert not any(line.split(None, 1)[0] == str(process.pid)
                       for line in ps.splitlines()[1:] if line.strip()), ps


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


def test_a_signal_whose_exception_python_drops_still_stops_the_run(monkeypatch):
    """A signal that arrives while Python runs a weakref callback (as during an import):
    the handler's exception is dropped ("Exception ignored in ..."), and the run's next
    stage or training epoch raises it again."""
    import weakref

    from forecast.cli import stop_on_signals
    from forecast.errors import Interrupted, raise_if_interrupted
    from forecast.pipeline import progress

    class Thing:
        pass

    dropped = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: dropped.append(
        unraisable.exc_type))
    with pytest.raises(Interrupted) as caught, stop_on_signals():
        thing = Thing()
        reference = weakref.ref(thing, lambda _: signal.raise_signal(signal.SIGINT))
        del thing                       # the callback runs here; its exception is dropped
        assert reference() is None and dropped == [Interrupted]
        progress("the next stage")      # ... and raised again here
    assert caught.value.signal_number == signal.SIGINT
    raise_if_interrupted()              # the command has returned: nothing pending


def test_a_caught_signal_stops_a_network_at_its_next_epoch(small_hourly, monkeypatch):
    from conftest import SMALL_SPLITS
    from test_task import build

    from forecast import errors
    from forecast.config import load_config
    from models import NetworkForecaster

    task = build(small_hourly, **SMALL_SPLITS)
    config = load_config(overrides={"training": {"max_epochs": 3, "hidden": 8,
                                                 "progress_bar": False}})
    network = NetworkForecaster.from_config("mlp", config, seed=0)
    monkeypatch.setattr(errors, "_caught_signal", int(signal.SIGTERM))
    with pytest.raises(errors.Interrupted):
        network.fit(task)


def test_two_runs_of_one_name_at_once_keep_apart_and_neither_is_lost(tmp_path):
    """Two runs started together under one --name (or one second's timestamp): each
    writes its own temporary directory, a failing one removes only its own, and the
    second to finish takes the next free name instead of the first's."""
    from forecast.pipeline import make_temporary, new_run_dir, publish

    out = tmp_path / "reports"
    config = {"run": {"name": "same"}, "data": {"dataset": "csv"}, "task": {"mode": "observed"}}
    (final_a, base_a), (final_b, base_b) = new_run_dir(out, config), new_run_dir(out, config)
    assert final_a == final_b == out / "same"
    tmp_a, tmp_b = make_temporary(base_a), make_temporary(base_b)
    assert tmp_a != tmp_b and tmp_a.is_dir() and tmp_b.is_dir()
    (tmp_a / "metrics.json").write_text("a")
    (tmp_b / "metrics.json").write_text("b")
    for tmp in (tmp_a, tmp_b):          # as if two other processes, both alive, owned them
        (tmp / OWNER_FILE).write_text(str(os.getppid()))
    assert remove_stale_temporaries(out) == []
    assert publish(tmp_a, final_a) == out / "same"
    assert publish(tmp_b, final_b) == out / "same-2"
    assert (out / "same" / "metrics.json").read_text() == "a"
    assert (out / "same-2" / "metrics.json").read_text() == "b"


def test_a_temporary_directory_not_yet_owned_is_left_alone(tmp_path):
    out = tmp_path / "reports"
    fresh = out / ".tmp-just-made"
    fresh.mkdir(parents=True)          # its run has yet to write the owner file
    assert remove_stale_temporaries(out) == [] and fresh.is_dir()
    old = time.time() - 3600
    os.utime(fresh, (old, old))
    assert remove_stale_temporaries(out) == [fresh]


def test_a_run_directory_is_as_readable_as_the_umask_allows(tmp_path):
    """Not mkdtemp's owner-only 0700: others on a shared machine read the report."""
    from forecast.pipeline import make_temporary

    previous = os.umask(0o022)
    try:
        made = make_temporary(tmp_path / "reports" / ".tmp-x-1")
    finally:
        os.umask(previous)
    assert made.stat().st_mode & 0o777 == 0o755
    assert made.name.startswith(".tmp-x-1-") and (made / OWNER_FILE).read_text() == str(os.getpid())


def test_an_out_folder_that_cannot_hold_a_run_is_refused_before_the_data_are_read(
        tmp_path, cli_error, monkeypatch):
    from forecast import pipeline

    read = []
    monkeypatch.setattr(pipeline, "load_data", lambda *a, **k: read.append(1))
    a_file = tmp_path / "a.csv"
    a_file.write_text("x\n")
    line = cli_error("run", "--dataset", "synthetic", "--out", str(a_file / "runs"),
                     progress=True)
    assert f"run.out {a_file / 'runs'}: {a_file} is a file, not a folder".lower() in line
    line = cli_error("run", "--dataset", "synthetic", "--out", str(a_file), progress=True)
    assert "is a file, not a folder" in line and not read
    # where the system refuses anyway: the reason, not the temporary directory's name
    monkeypatch.setattr(pipeline.Path, "mkdir", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(13, "Permission denied")))
    with pytest.raises(pipeline.DataError, match=r"run.out .*: cannot write a run there "
                                                 r"\(Permission denied\)"):
        pipeline.make_temporary(tmp_path / "reports" / ".tmp-x-1")
