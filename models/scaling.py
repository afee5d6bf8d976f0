"""From a ForecastTask to tensors: scalers fitted on the training rows (plain NumPy and
PyTorch, no Lightning, so a fitted network can be applied without it).

``Scalers.fit(task)`` learns, from the **training rows only** (``task.training_rows()``:
``task.mask("train")`` and, for a network trained on other issue hours too, their
``train_extra`` rows; via :func:`forecast.task.train_statistics`):

* per-feature mean and std of the tabular features ``task.X`` and of the sequence
  channels ``task.sequence`` (and, for a network that reads it, of the hourly channels
  ``task.hourly``, handled exactly as the daily sequence);
* which features / channels have missing values in training: each of them gets a 0/1
  missing-indicator column (channel) appended; the value itself is set to 0 (the
  training mean) after standardising. Values missing only outside training are also
  set to 0, without indicator;
* the range of each standardised feature / channel over the training rows: inputs are
  clipped to it, so a stray value beyond anything training showed cannot push the
  network far outside what it learnt (a feature missing throughout training is 0);
* mean and std of the transformed target (``log1p`` or identity, ``task.target_transform``)
  and its training range, used to keep predictions finite;
* for a network that reads the target day's hours (``gru_by_hour``), the same for their
  :func:`~forecast.task.target_hour_features`; its target is the identity (the daily mean
  of 24 hourly forecasts), and its hourly target is the target day's PM2.5 divided by the
  daily target's training std (:meth:`Scalers.hourly_target`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from forecast.constants import DEFAULT_TARGET_TRANSFORM
from forecast.task import (
    TARGET_HOUR_FEATURES,
    ForecastTask,
    inverse_target,
    row_indices,
    statistics_of,
    target_hour_features,
    train_statistics,
    transform_target,
)
from forecast.windows import WindowTensor

EVAL_BATCH_SIZE = 4096
PREDICTION_MARGIN = 3.0  # predictions are kept within training range ± 3 std (scaled space)
#: Scaler arrays a saved network may lack: older files have no ranges, and only the
#: networks that read the hourly window (the target day's hours) have its scalers.
OPTIONAL_STATE = ("x_low", "x_high", "seq_low", "seq_high", "hourly_mean", "hourly_std",
                  "hourly_indicate", "hourly_low", "hourly_high", "target_hours_mean",
                  "target_hours_std", "target_hours_indicate", "target_hours_low",
                  "target_hours_high")


#: Values (rows × features × ...) standardised at a time: the float64 temporaries of a
#: block stay small, where those of a whole task's sequence (hundreds of stations) took
#: several times its size.
BLOCK_VALUES = 1 << 20


def _standardise(values: np.ndarray, mean: np.ndarray, std: np.ndarray,
                 indicate: np.ndarray, low: np.ndarray | None = None,
                 high: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """(values − mean) / std with NaN → 0, clipped to [low, high] when given, then the
    indicator columns of ``indicate``, float32; of ``values[rows]`` when ``rows`` (a
    mask or indices) is given. Computed a block of rows at a time into the result: every
    value is the one the whole array at once gives."""
    index = np.arange(len(values)) if rows is None else row_indices(rows)
    per_row = max(1, int(np.prod(values.shape[1:])))
    block = max(1, BLOCK_VALUES // per_row)
    result = np.empty((len(index), *values.shape[1:-1], values.shape[-1] + int(indicate.sum())),
                      dtype=np.float32)
    for start in range(0, len(index), block):
        part = values[index[start:start + block]]
        missing = ~np.isfinite(part)
        with np.errstate(invalid="ignore", over="ignore"):
            scaled = np.where(missing, 0.0, (part - mean) / std)
        if low is not None:
            scaled = np.clip(scaled, low, high)
        result[start:start + block] = np.concatenate([scaled, missing[..., indicate]], axis=-1)
    return result


def _training_range(values: np.ndarray, mean: np.ndarray, std: np.ndarray,
                    rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per feature (last axis), the range of the standardised training values (of
    ``values[rows]`` when given), missing values counted as the 0 they are set to (a
    feature never seen in training: [0, 0])."""
    # a block of rows at a time: the whole standardised copy (1.4 GiB of the target day's
    # hours at 1,000 stations) is never held, and a minimum is a minimum in any order
    index = np.arange(len(values)) if rows is None else row_indices(rows)
    block = max(1, BLOCK_VALUES // max(1, int(np.prod(values.shape[1:]))))
    no_indicators = np.zeros(values.shape[-1], dtype=bool)
    axes = tuple(range(values.ndim - 1))
    low = high = None
    for start in range(0, max(1, len(index)), block):
        scaled = _standardise(values, mean, std, no_indicators,
                              rows=index[start:start + block])
        block_low, block_high = scaled.min(axis=axes), scaled.max(axis=axes)
        low = block_low if low is None else np.minimum(low, block_low)
        high = block_high if high is None else np.maximum(high, block_high)
    return low, high


@dataclass
class Scalers:
    x_mean: np.ndarray
    x_std: np.ndarray
    x_indicate: np.ndarray      # bool per feature: has missing values in training
    seq_mean: np.ndarray
    seq_std: np.ndarray
    seq_indicate: np.ndarray    # bool per sequence channel
    y_mean: float               # of the transformed target
    y_std: float
    y_low: float                # transformed-target range of the training rows
    y_high: float
    target_transform: str = DEFAULT_TARGET_TRANSFORM
    # range of the standardised training inputs: inputs are clipped to it, so one stray
    # value outside what training showed cannot drive a forecast to the output clip
    x_low: np.ndarray | None = None
    x_high: np.ndarray | None = None
    seq_low: np.ndarray | None = None
    seq_high: np.ndarray | None = None
    # the hourly window (networks that read it only; None for the others)
    hourly_mean: np.ndarray | None = None
    hourly_std: np.ndarray | None = None
    hourly_indicate: np.ndarray | None = None
    hourly_low: np.ndarray | None = None
    hourly_high: np.ndarray | None = None
    # the target day's hours (networks that read them only)
    target_hours_mean: np.ndarray | None = None
    target_hours_std: np.ndarray | None = None
    target_hours_indicate: np.ndarray | None = None
    target_hours_low: np.ndarray | None = None
    target_hours_high: np.ndarray | None = None

    @classmethod
    def fit(cls, task: ForecastTask, hourly: bool = False,
            target_hours: bool = False) -> Scalers:
        """Scalers of the training rows; with ``hourly`` also of the hourly window, with
        ``target_hours`` also of the target day's hours (and an identity target)."""
        train = task.training_rows(scored=False)
        scored = task.training_rows()
        if not scored.any():
            raise ValueError("no scored training row to fit the scalers on")
        x_mean, x_std = train_statistics(task, task.X)
        seq_mean, seq_std = train_statistics(task, task.sequence)
        transform = "none" if target_hours else task.target_transform
        z = transform_target(task.y, transform)
        (y_mean,), (y_std,) = train_statistics(task, z[:, None])
        x_low, x_high = _training_range(task.X, x_mean, x_std, train)
        # the windows' minimum, maximum and missing values are those of the days they read
        train_days = task.sequence.values_of(train)
        seq_low, seq_high = _training_range(train_days, seq_mean, seq_std)
        hourly_scalers = {}
        if hourly:
            if task.hourly is None:
                raise ValueError("the network reads the hourly window, which this task "
                                 "lacks (build it with task.hourly_hours > 0)")
            mean, std = train_statistics(task, task.hourly)
            low, high = _training_range(task.hourly, mean, std, train)
            hourly_scalers = dict(hourly_mean=mean, hourly_std=std, hourly_low=low,
                                  hourly_high=high,
                                  hourly_indicate=np.isnan(task.hourly[train]).any(axis=(0, 1)))
        if target_hours:
            hours = _target_hours(task, train)   # of the training rows only
            mean, std = statistics_of(hours)
            low, high = _training_range(hours, mean, std)
            hourly_scalers.update(target_hours_mean=mean, target_hours_std=std,
                                  target_hours_low=low, target_hours_high=high,
                                  target_hours_indicate=np.isnan(hours).any(axis=(0, 1)))
        return cls(
            x_mean=x_mean, x_std=x_std, x_indicate=np.isnan(task.X[train]).any(axis=0),
            seq_mean=seq_mean, seq_std=seq_std,
            seq_indicate=np.isnan(train_days).any(axis=0),
            y_mean=float(y_mean), y_std=float(y_std),
            y_low=float(z[scored].min()), y_high=float(z[scored].max()),
            target_transform=transform,
            x_low=x_low, x_high=x_high, seq_low=seq_low, seq_high=seq_high,
            **hourly_scalers,
        )

    @property
    def n_features(self) -> int:
        return len(self.x_mean) + int(self.x_indicate.sum())

    @property
    def n_channels(self) -> int:
        return len(self.seq_mean) + int(self.seq_indicate.sum())

    @property
    def n_hourly_channels(self) -> int:
        """Hourly channels the network reads (with indicators); 0 when it reads none."""
        if self.hourly_mean is None:
            return 0
        return len(self.hourly_mean) + int(self.hourly_indicate.sum())

    @property
    def n_target_hour_channels(self) -> int:
        """Channels of the target day's hours the network reads (with indicators); 0 when
        it reads none."""
        if self.target_hours_mean is None:
            return 0
        return len(self.target_hours_mean) + int(self.target_hours_indicate.sum())

    def inputs(self, task: ForecastTask, rows: np.ndarray) -> tuple[torch.Tensor, ...]:
        """(x, seq, station) tensors of the selected rows, and the hourly window
        (rows, hours, n_hourly_channels) last for a network that reads it, or the target
        day's hours (rows, 24, n_target_hour_channels) for one that reads them; ``seq`` is a
        :class:`~forecast.windows.WindowTensor` (``seq[batch]`` gathers (batch, L,
        n_channels))."""
        if task.X.shape[1] != len(self.x_mean) or task.sequence.shape[2] != len(self.seq_mean):
            raise ValueError(f"the task has {task.X.shape[1]} features and "
                             f"{task.sequence.shape[2]} sequence channels; the network was "
                             f"fitted on {len(self.x_mean)} and {len(self.seq_mean)}")
        x = _standardise(task.X, self.x_mean, self.x_std, self.x_indicate,
                         self.x_low, self.x_high, rows)
        # the days the windows read, scaled once each; the windows gathered a batch at a time
        windows = task.sequence.take(rows)
        days, position = windows.days_read()
        table = _standardise(windows.table, self.seq_mean, self.seq_std, self.seq_indicate,
                             self.seq_low, self.seq_high, days)
        seq = WindowTensor(torch.from_numpy(table), torch.from_numpy(position))
        station = task.station_index[rows].astype(np.int64)
        tensors = (torch.from_numpy(x), seq, torch.from_numpy(station))
        if self.target_hours_mean is not None:
            if len(TARGET_HOUR_FEATURES) != len(self.target_hours_mean):
                raise ValueError(f"the task has {len(TARGET_HOUR_FEATURES)} target-hour "
                                 "channels; the network was fitted on "
                                 f"{len(self.target_hours_mean)}")
            return (*tensors, torch.from_numpy(_target_hours(task, rows, self)))
        if self.hourly_mean is None:
            return tensors
        if task.hourly is None or task.hourly.shape[2] != len(self.hourly_mean):
            have = 0 if task.hourly is None else task.hourly.shape[2]
            raise ValueError(f"the task has {have} hourly channels; the network was fitted "
                             f"on {len(self.hourly_mean)} (build the hourly window with "
                             "task.hourly_hours > 0)")
        hourly = _standardise(task.hourly, self.hourly_mean, self.hourly_std,
                              self.hourly_indicate, self.hourly_low, self.hourly_high, rows)
        return (*tensors, torch.from_numpy(hourly))

    def target(self, task: ForecastTask, rows: np.ndarray) -> torch.Tensor:
        z = transform_target(task.y[rows], self.target_transform)
        return torch.from_numpy(((z - self.y_mean) / self.y_std).astype(np.float32))

    def hourly_target(self, task: ForecastTask, rows: np.ndarray) -> torch.Tensor:
        """The target day's hourly PM2.5 of the rows (rows, 24) divided by the daily
        target's training std, NaN where an hour has none (a target, never an input);
        a negative hour (``[quality] bounds`` may allow a monitor's small negatives)
        counts as 0, the least a Poisson rate can be."""
        if task.y_hours is None:
            raise ValueError("the network trains on the target day's hours, which this task "
                             "lacks (build it in forecast mode with target_hours=True)")
        hours = np.maximum(task.y_hours[rows], 0.0)    # NaN stays NaN
        return torch.from_numpy((hours / self.y_std).astype(np.float32))

    def output_clip(self) -> tuple[float, float]:
        """The scaled output range kept: the training targets' range ± PREDICTION_MARGIN."""
        return ((self.y_low - self.y_mean) / self.y_std - PREDICTION_MARGIN,
                (self.y_high - self.y_mean) / self.y_std + PREDICTION_MARGIN)

    def at_output_clip(self, scaled: np.ndarray) -> np.ndarray:
        """Which network outputs (scaled) reach or pass the output clip (NaN included)."""
        low, high = self.output_clip()
        scaled = np.asarray(scaled, dtype=float)
        return ~((scaled > low) & (scaled < high))

    def to_target(self, scaled: np.ndarray) -> np.ndarray:
        """Network outputs (scaled) → µg/m³, finite and ≥ 0."""
        low, high = self.output_clip()
        scaled = np.clip(np.nan_to_num(np.asarray(scaled, dtype=float), nan=0.0), low, high)
        return np.maximum(inverse_target(scaled * self.y_std + self.y_mean,
                                         self.target_transform), 0.0)

    # ---------------------------------------------------------- save / load (no pickle)

    def state(self) -> dict[str, torch.Tensor]:
        optional = {name: torch.from_numpy(np.asarray(getattr(self, name)))
                    for name in OPTIONAL_STATE if getattr(self, name) is not None}
        return {**optional,
            "x_mean": torch.from_numpy(self.x_mean), "x_std": torch.from_numpy(self.x_std),
            "x_indicate": torch.from_numpy(self.x_indicate),
            "seq_mean": torch.from_numpy(self.seq_mean),
            "seq_std": torch.from_numpy(self.seq_std),
            "seq_indicate": torch.from_numpy(self.seq_indicate),
            "y": torch.tensor([self.y_mean, self.y_std, self.y_low, self.y_high],
                              dtype=torch.float64),
        }

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], target_transform: str) -> Scalers:
        y_mean, y_std, y_low, y_high = state["y"].tolist()
        return cls(
            x_mean=state["x_mean"].numpy(), x_std=state["x_std"].numpy(),
            x_indicate=state["x_indicate"].numpy(), seq_mean=state["seq_mean"].numpy(),
            seq_std=state["seq_std"].numpy(), seq_indicate=state["seq_indicate"].numpy(),
            y_mean=y_mean, y_std=y_std, y_low=y_low, y_high=y_high,
            target_transform=target_transform,
            **{name: state[name].numpy() for name in OPTIONAL_STATE if name in state},
        )


def _target_hours(task: ForecastTask, rows: np.ndarray, scalers: Scalers | None = None
                  ) -> np.ndarray:
    """:func:`~forecast.task.target_hour_features` of the rows ``rows`` (a mask or
    indices), float32 (rows, 24, channels); with ``scalers`` standardised by them, with
    their indicator channels (rows, 24, ``scalers.n_target_hour_channels``)."""
    if task.target_hours is None:
        raise ValueError("the network reads the target day's hours, which this task lacks "
                         "(build it in forecast mode with target_hours=True)")
    index = row_indices(rows)
    # built a block of rows at a time: the features of a row are its own, and the float64
    # temporaries of all training rows at once would take several times the result (about
    # 6 GiB at 1,000 stations), the unscaled features of all of them 1.4 GiB more
    width = len(TARGET_HOUR_FEATURES) if scalers is None else scalers.n_target_hour_channels
    result = np.empty((len(index), 24, width), dtype=np.float32)
    block = max(1, BLOCK_VALUES // (24 * len(TARGET_HOUR_FEATURES)))
    for start in range(0, len(index), block):
        hours = target_hour_features(task.target_hours[index[start:start + block]],
                                     task.target_hour_names).astype(np.float32)
        if scalers is not None:
            hours = _standardise(hours, scalers.target_hours_mean, scalers.target_hours_std,
                                 scalers.target_hours_indicate, scalers.target_hours_low,
                                 scalers.target_hours_high)
        result[start:start + block] = hours
    return result
