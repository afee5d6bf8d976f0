"""Shared fixtures: small generated hourly data, the real-data folder, CLI helpers."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast import sources
from forecast.schema import CALM, COMPASS_16
from forecast.synthetic import generate_hourly

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BEIJING_HEADER = "No,year,month,day,hour,pm2.5,DEWP,TEMP,PRES,cbwd,Iws,Is,Ir"
# splits of the hand-built frames (2010-01-01 onwards) and of small generated ones
HAND_SPLITS = dict(train_end="2010-01-25", val_end="2010-02-01", test_end="2010-02-09")
SMALL_SPLITS = dict(train_end="2010-02-28", val_end="2010-03-31", test_end="2010-04-30")


def benchmark_module(name: str):
    """The script ``benchmarks/NAME.py`` imported as the module ``NAME`` (the benchmarks
    are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        name, PROJECT_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module   # a dataclass in it looks its module up there
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- generated data


def set_family(monkeypatch, name: str, **fields) -> None:
    """For the test only, the scikit-learn baseline family ``name``
    (``baselines.linear.FAMILIES``) with ``fields`` changed, e.g. a one-setting grid."""
    import dataclasses

    import baselines.linear as linear

    monkeypatch.setitem(linear.FAMILIES, name,
                        dataclasses.replace(linear.FAMILIES[name], **fields))


def cheap_hgb_hourly(monkeypatch, **fields) -> None:
    """hgb_hourly searching one setting of hgb's grid (and ``fields``, e.g. ``draws=1``):
    on its 192 more columns the whole grid costs seconds that a test of something else
    need not spend."""
    from baselines.linear import HGB_GRID

    set_family(monkeypatch, "hgb_hourly", grid=(HGB_GRID[0],), **fields)


def reverse_wind(frame: pd.DataFrame, rows: np.ndarray) -> None:
    """Turn the wind of the selected rows of ``frame`` to the opposite direction (north
    sectors southern and back; calm becomes N, a missing direction calm), in place: how
    the leakage tests perturb the wind after the issue time."""
    rotate = {name: COMPASS_16[(i + 8) % 16] for i, name in enumerate(COMPASS_16)}
    rotate[CALM] = "N"
    directions = frame["wind_dir"].to_numpy().copy()
    directions[rows] = [rotate.get(v, "calm") for v in directions[rows]]
    frame["wind_dir"] = directions


def perturb_after(hourly: pd.DataFrame, t: pd.Timestamp, *, seed: int = 3, scale: float = 1.9,
                  spread: float = 30.0, gaps: int = 200) -> pd.DataFrame:
    """A copy of ``hourly`` with every value of every column of every station at hours
    strictly after ``t`` changed (scaled by ``scale`` plus up to ``spread``), old gaps
    filled, ``gaps`` new PM2.5 gaps and the wind turned round: what a leakage test
    perturbs after the issue time."""
    out = hourly.copy()
    late = (out["time"] > t).to_numpy()
    rng = np.random.default_rng(seed)
    for column in ("pm25", "temp", "dewp", "pres", "wind_speed", "rain", "snow"):
        values = out[column].to_numpy(dtype=float, copy=True)
        values[late] = np.where(np.isnan(values[late]), 400.0,
                                values[late] * scale + rng.uniform(1, spread, late.sum()))
        out[column] = values
    pm = out["pm25"].to_numpy(copy=True)
    pm[rng.choice(np.flatnonzero(late), gaps, replace=False)] = np.nan
    out["pm25"] = pm
    reverse_wind(out, late)
    return out


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's small networks (faster on a small shared CPU)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def _synthetic_120() -> pd.DataFrame:
    return generate_hourly(seed=5, start="2010-01-01", end="2010-04-30")


@pytest.fixture
def small_hourly(_synthetic_120) -> pd.DataFrame:
    """120 days (2010-01-01 .. 2010-04-30) of one synthetic station, all weather columns."""
    frame = _synthetic_120.copy()
    frame.attrs.update(_synthetic_120.attrs)
    return frame


def _make_hourly(start: str, n_days: int, pm25=None, station: str = "S1",
                 **columns) -> pd.DataFrame:
    """A complete hourly frame of ``n_days`` from ``start``.

    ``pm25`` and each keyword column are either a scalar, an array of n_days*24 values,
    or a function ``f(day_index, hour) -> value`` (vectorised over numpy arrays).
    The default PM2.5 is 10 * day + hour, whose daily mean is 10 * day + 11.5.
    """
    times = pd.date_range(start, periods=24 * n_days, freq="h")
    day = np.repeat(np.arange(n_days), 24)
    hour = np.tile(np.arange(24), n_days)

    def values(spec, dtype=float):
        if callable(spec):
            return np.asarray(spec(day, hour), dtype=dtype)
        if np.isscalar(spec) or spec is None:
            return np.full(len(times), spec, dtype=dtype)
        return np.asarray(spec, dtype=dtype)

    frame = pd.DataFrame({
        "station": station,
        "time": times,
        "pm25": values(pm25 if pm25 is not None else (lambda d, h: 10.0 * d + h)),
    })
    for name, spec in columns.items():
        frame[name] = values(spec, dtype=object if name == "wind_dir" else float)
    return frame


@pytest.fixture
def make_hourly():
    """Factory for hand-made hourly frames (see ``_make_hourly``)."""
    return _make_hourly


def beijing_csv_text(rows: int = 48, pm25=lambda i: 20 + i) -> str:
    """A tiny file in the layout of UCI's single-site CSV, starting 2010-01-01 00:00."""
    lines = [BEIJING_HEADER]
    for i in range(rows):
        time = pd.Timestamp("2010-01-01") + pd.Timedelta(hours=i)
        lines.append(f"{i + 1},{time.year},{time.month},{time.day},{time.hour},{pm25(i)},"
                     f"-10,-5,1020,NW,{1.0 + i},0,0")
    return "\n".join(lines) + "\n"


@pytest.fixture
def beijing_csv():
    return beijing_csv_text


# ---------------------------------------------------------------- isolation


@pytest.fixture
def isolated_sources(tmp_path, monkeypatch) -> Path:
    """No FORECAST_DATA_DIR, an empty download cache under tmp_path, and no network."""
    cache = tmp_path / "cache"
    monkeypatch.setattr(sources, "CACHE_DIR", cache)
    monkeypatch.delenv("FORECAST_DATA_DIR", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("the network must not be used in tests")

    monkeypatch.setattr(sources.urllib.request, "urlopen", no_network)
    return cache


# ---------------------------------------------------------------- CLI helpers


def _run_cli(capsys, args: list[str]) -> tuple[int, str, str]:
    from forecast.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli(capsys):
    """Run ``forecast.cli.main(args)``; return (exit code, stdout, stderr)."""
    return lambda *args: _run_cli(capsys, list(args))


@pytest.fixture
def cli_error(capsys):
    """Run the CLI expecting a user error: exit 2, one stderr line, no traceback.

    Returns the error line (lower-cased for matching). ``progress=True`` allows the
    ``[forecast] ...`` progress lines that ``forecast run`` prints before failing.
    """

    def run(*args, progress: bool = False) -> str:
        code, out, err = _run_cli(capsys, list(args))
        assert code == 2, f"exit {code}, stderr: {err!r}"
        assert "Traceback" not in err and "Traceback" not in out
        lines = [line for line in err.splitlines() if line.strip()]
        if progress:
            lines = [line for line in lines if not line.startswith("[forecast]")]
        assert len(lines) == 1, f"expected exactly one line on stderr, got {err!r}"
        assert lines[0].startswith("forecast: error: ")
        return lines[0].lower()

    return run


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The folder with the UCI files: $FORECAST_DATA_DIR, else ../shared/data; skip if absent."""
    env = os.environ.get("FORECAST_DATA_DIR")
    path = Path(env).expanduser() if env else PROJECT_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (set FORECAST_DATA_DIR)")
    return path
