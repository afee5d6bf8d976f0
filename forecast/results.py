"""Typed records for what passes between the stages and what a run directory holds.

:class:`ModelEntry` is one scored forecast series: a baseline, one seed of a network, a
network's seed ensemble (or, later, a combination of models). :class:`RunResult` is the
whole of ``metrics.json``: the resolved config, the data and its quality, the splits and
folds, every entry with its metrics per split, the comparisons and the pooled verdict.
The pipeline writes ``metrics.json`` only through :meth:`RunResult.write`; the report,
``forecast predict`` and the tests read it only through :meth:`RunResult.read`, which
refuses a file with a missing, unknown or mistyped field in one clear line.

Metrics per split are the dicts of :func:`forecast.evaluation.evaluate` (RMSE, MAE, bias
and intervals in µg/m³). The entries' metrics and the top-level ``best_baseline`` and
``comparisons`` are the main fold's (the latest test period) alone; ``pooled`` holds the
same over every fold and station, and the recommendation, the verdict and the report's
comparisons read ``pooled`` (its ``best_baseline`` may be another model).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError

FORMAT_VERSION = 2
METRICS_FILE = "metrics.json"
ENTRY_KINDS = ("baseline", "network", "ensemble", "combination")


@dataclass
class ModelEntry:
    """One model's forecasts as scored in a run.

    ``name``: the entry's name in predictions.csv (e.g. ``ridge``, ``gru_seed1``,
    ``gru_ensemble``); ``family``: the registry model it comes from (``ridge``, ``gru``);
    ``kind``: baseline | network (one seed) | ensemble | combination; ``seed``: a
    network's seed; ``members``: the entries an ensemble or combination averages;
    ``info``: facts of the fit (n_parameters, fit_seconds, chosen settings, ...);
    ``metrics``: {"val": {...}, "test": {...}} on the main split.
    """

    name: str
    family: str
    kind: str
    seed: int | None = None
    members: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ENTRY_KINDS:
            raise DataError(f"model entry {self.name!r}: kind {self.kind!r} is not one of "
                            f"{', '.join(ENTRY_KINDS)}")

    def score(self, split: str, key: str = "rmse") -> float | None:
        value = self.metrics.get(split, {}).get(key)
        return None if value is None or (isinstance(value, float) and math.isnan(value)) \
            else value

    @property
    def is_network(self) -> bool:
        return self.kind in ("network", "ensemble")


def representative(entries: dict[str, ModelEntry], family: str) -> ModelEntry | None:
    """A registry model as one entry of ``entries``: a baseline itself, a network its
    seed ensemble when it has one, else its single seed (None when it has no entry)."""
    of_family = [e for e in entries.values() if e.family == family]
    ensembles = [e for e in of_family if e.kind == "ensemble"]
    return ensembles[0] if ensembles else (of_family[0] if of_family else None)


@dataclass
class RunResult:
    """Everything ``metrics.json`` holds (see the module docstring)."""

    dataset: str
    synthetic: bool
    mode: str
    horizon: int
    stations: list[str]
    seed: int
    config: dict
    data: dict
    quality: dict | None
    splits: dict
    features: list[str]
    sequence_features: list[str]
    dropped_features: list[str]
    entries: dict[str, ModelEntry]
    best_baseline: str | None
    comparisons: list[dict]
    failed: dict[str, str]
    diagnostics: dict
    pooled: dict
    versions: dict
    wall_seconds: float
    format_version: int = FORMAT_VERSION

    # ---------------------------------------------------------- views

    def entry(self, name: str) -> ModelEntry:
        return self.entries[name]

    def of_kind(self, *kinds: str) -> list[ModelEntry]:
        return [e for e in self.entries.values() if e.kind in kinds]

    def members(self, family: str) -> list[ModelEntry]:
        """The single-seed entries of a network family, in seed order."""
        return sorted((e for e in self.entries.values()
                       if e.family == family and e.kind == "network"),
                      key=lambda e: e.seed if e.seed is not None else -1)

    def representative(self, family: str) -> ModelEntry | None:
        """A network family as one model: its seed ensemble, or its only seed."""
        return representative(self.entries, family)

    def network_families(self) -> list[str]:
        return list(dict.fromkeys(e.family for e in self.entries.values() if e.is_network))

    def seed_spread(self, family: str, split: str = "test") -> tuple[float, float, int] | None:
        """Mean and sample sd of a network family's per-seed RMSE, and the seed count."""
        scores = [e.score(split) for e in self.members(family)]
        scores = [s for s in scores if s is not None]
        if not scores:
            return None
        sd = float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0
        return float(np.mean(scores)), sd, len(scores)

    @property
    def made_final_fits(self) -> bool:
        """Whether the run's test rows were forecast by final fits (``split.refit``,
        :mod:`forecast.refit`); runs made before that option did not make them."""
        return bool(self.config.get("split", {}).get("refit", False))

    @property
    def recommendation(self) -> dict:
        return self.pooled.get("recommendation", {})

    @property
    def folds(self) -> list[dict]:
        return self.pooled.get("folds", [])

    # ---------------------------------------------------------- JSON

    def to_json(self) -> str:
        payload = dataclasses.asdict(self)
        payload["entries"] = list(payload["entries"].values())
        return json.dumps(_plain(payload), indent=2, allow_nan=True)

    @classmethod
    def from_json(cls, text: str, source: str = METRICS_FILE) -> RunResult:
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(payload, dict):
            raise DataError(f"{source}: expected a JSON object")
        version = payload.get("format_version")
        if version != FORMAT_VERSION:
            raise DataError(f"{source}: format version {version!r}, this version of the tool "
                            f"reads version {FORMAT_VERSION}; rerun forecast run")
        entries = payload.get("entries")
        if isinstance(entries, list):
            payload["entries"] = {
                e.get("name", "?") if isinstance(e, dict) else "?":
                    _record(ModelEntry, e, f"{source}: entries[{i}]")
                for i, e in enumerate(entries)}
        result = _record(cls, payload, source)
        _check_contents(result, source)
        return result

    def write(self, run_dir: Path) -> Path:
        path = Path(run_dir) / METRICS_FILE
        path.write_text(self.to_json())
        return path

    @classmethod
    def read(cls, run_dir: Path) -> RunResult:
        path = Path(run_dir) / METRICS_FILE
        if not Path(run_dir).is_dir():
            raise DataError(f"{run_dir}: no such folder (give a run directory that forecast "
                            "run wrote)")
        if not path.is_file():
            raise DataError(f"{run_dir} is not a run directory (no {METRICS_FILE})")
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a text file (UTF-8): not a run's results; rerun "
                            "forecast run") from None
        return cls.from_json(text, str(path))


#: What every run's ``metrics.json`` holds inside its fields, which the report and
#: ``forecast predict`` read without a fallback: the run's config sections, the data's
#: period, the quality checks' summary, each split's dates.
CONFIG_SECTIONS = ("data", "task", "models", "training", "quality", "evaluation", "run")
DATA_KEYS = ("start", "end")
QUALITY_KEYS = ("checked_rows", "total", "flags", "dropped_columns")
SPLIT_KEYS = ("start", "end")


def _check_contents(result: RunResult, source: str) -> None:
    """A DataError naming the first field of ``result`` that is empty or lacks what every
    run writes there: a damaged or hand-edited file, refused before a report or a
    forecast is made from it."""
    def lacking(mapping, keys) -> str | None:
        return next((k for k in keys if not isinstance(mapping, dict) or k not in mapping),
                    None)

    problem = None
    if not result.entries:
        problem = "field 'entries' is empty (no model)"
    elif not result.stations:
        problem = "field 'stations' is empty"
    elif not result.splits:
        problem = "field 'splits' is empty"
    elif (key := lacking(result.config, CONFIG_SECTIONS)) is not None:
        problem = f"field 'config' has no [{key}] section"
    elif (key := lacking(result.data, DATA_KEYS)) is not None:
        problem = f"field 'data' has no {key!r}"
    elif result.quality is not None and (key := lacking(result.quality, QUALITY_KEYS)):
        problem = f"field 'quality' has no {key!r}"
    else:
        for name, split in result.splits.items():
            if (key := lacking(split, SPLIT_KEYS)) is not None:
                problem = f"split {name!r} has no {key!r}"
                break
    if problem:
        raise DataError(f"{source}: {problem}: a damaged file, not a run's results; rerun "
                        "forecast run")


def _record(cls, payload, where: str):
    """``cls(**payload)``, refusing missing, unknown and mistyped fields in one line."""
    if isinstance(payload, cls):
        return payload
    if not isinstance(payload, dict):
        raise DataError(f"{where}: expected an object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(payload) - set(fields))
    if unknown:
        raise DataError(f"{where}: unknown field {unknown[0]!r} (a typo? known fields: "
                        f"{', '.join(fields)})")
    required = [n for n, f in fields.items() if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    missing = [n for n in required if n not in payload]
    if missing:
        raise DataError(f"{where}: missing field {missing[0]!r}")
    for name, value in payload.items():
        if name != "entries" and not _matches(value, hints[name]):
            raise DataError(f"{where}: field {name!r} has the wrong type "
                            f"({type(value).__name__})")
    try:
        return cls(**payload)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None


def _matches(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is not None:
        return isinstance(value, origin)
    return isinstance(value, hint)


def _plain(value):
    """numpy scalars and arrays → plain Python, recursively (JSON-ready)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
