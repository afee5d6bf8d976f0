"""Windows over a table of rows, held as the table and each window's row numbers.

A task's daily sequence is, for every row (station, issue day D), the last L days of
daily features up to D. Stored whole it is (rows, L, channels): every day's values L
times over (at 1,000 stations 2.4 GiB, and as much again in the scaled copies a network
trains and forecasts from). :class:`Windows` holds each day's values once, ``table``
(days, channels), and each window's day numbers, ``index`` (rows, L); ``windows[rows]``
gathers the array those rows' windows would be. :class:`WindowTensor` is the same for
the scaled table a network reads (PyTorch), gathered a batch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def _gather(table, index, key):
    """``table[index]`` (an array or a tensor) indexed by ``key``: rows, then window
    positions and channels, as the gathered array would be, gathering only those rows."""
    if not isinstance(key, tuple):
        return table[index[key]]
    rows, *rest = key
    index = index[rows]
    lead = (slice(None),) * (index.ndim - 1)
    return table[index][(*lead, *rest)]


@dataclass(frozen=True, eq=False)
class Windows:
    """``table`` (n_values, channels), float64, NaN for missing; ``index`` (n_rows, L),
    the table row of each window position, oldest first. Indexed like the array
    (n_rows, L, channels) it stands for: ``windows[rows]`` (a mask, indices or a slice
    of rows) is that array's rows, gathered."""

    table: np.ndarray
    index: np.ndarray

    @classmethod
    def from_array(cls, values: np.ndarray) -> Windows:
        """The windows of an array (n_rows, L, channels), each value its own table row."""
        values = np.asarray(values, dtype=float)
        n_rows, length, channels = values.shape
        return cls(values.reshape(n_rows * length, channels),
                   np.arange(n_rows * length, dtype=np.int64).reshape(n_rows, length))

    @classmethod
    def concat(cls, parts: list[Windows]) -> Windows:
        """The rows of every part, in order."""
        offsets = np.cumsum([0] + [len(p.table) for p in parts[:-1]])
        return cls(np.concatenate([p.table for p in parts]),
                   np.concatenate([p.index + o for p, o in zip(parts, offsets, strict=True)]))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (*self.index.shape, self.table.shape[1])

    @property
    def ndim(self) -> int:
        return 3

    @property
    def dtype(self) -> np.dtype:
        return self.table.dtype

    @property
    def nbytes(self) -> int:
        return self.table.nbytes + self.index.nbytes

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key) -> np.ndarray:
        return _gather(self.table, self.index, key)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        values = self.table[self.index]
        return values if dtype is None else values.astype(dtype, copy=False)

    def take(self, rows) -> Windows:
        """The windows of ``rows`` (a mask or indices), the table shared."""
        return Windows(self.table, self.index[rows])

    def channels(self, columns) -> Windows:
        """The windows of the ``columns`` channels (a mask or indices) only."""
        return Windows(self.table[:, columns], self.index)

    def moments(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """Per channel, the mean and standard deviation (ddof 0, float64) of the values of
        the windows of ``rows``, NaN ignored (NaN where a channel has none): each day's
        value weighted by the number of those windows that read it, so they are
        ``np.nanmean`` / ``np.nanstd`` of ``windows[rows]`` over its first two axes,
        computed from the days once each instead of the gathered array (up to the order
        of the additions)."""
        counts = self._reads(rows)
        days = np.flatnonzero(counts)
        counts, values = counts[days], self.table[days]
        finite = np.isfinite(values)
        weights = np.where(finite, counts[:, None].astype(float), 0.0)
        filled = np.where(finite, values, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            n = weights.sum(axis=0)
            mean = (weights * filled).sum(axis=0) / n
            variance = (weights * (filled - mean) ** 2).sum(axis=0) / n
        return mean, np.sqrt(variance)

    def values_of(self, rows) -> np.ndarray:
        """The table rows the windows of ``rows`` read, each once (channels last): what
        a per-channel minimum, maximum or any-missing over those windows needs."""
        return self.table[np.flatnonzero(self._reads(rows))]

    def days_read(self) -> tuple[np.ndarray, np.ndarray]:
        """The table rows these windows read, each once in table order, and each window
        position's place among them (shaped as ``index``): ``np.unique(index,
        return_inverse=True)`` without its sort."""
        read = np.zeros(len(self.table), dtype=bool)
        read[self.index] = True
        place = np.cumsum(read) - 1
        return np.flatnonzero(read), place[self.index]

    def _reads(self, rows) -> np.ndarray:
        """How many of the windows of ``rows`` read each table row (a count per row, so
        no sort of the windows' row numbers)."""
        return np.bincount(self.index[rows].ravel(), minlength=len(self.table))


class WindowTensor:
    """A scaled table (n_values, channels) and window row numbers (n_rows, L) as
    tensors: ``t[rows]`` gathers those rows' windows (rows, L, channels)."""

    def __init__(self, table: torch.Tensor, index: torch.Tensor) -> None:
        self.table, self.index = table, index

    @property
    def shape(self) -> tuple[int, int, int]:
        return (*self.index.shape, self.table.shape[1])

    @property
    def device(self) -> torch.device:
        return self.table.device

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key) -> torch.Tensor:
        return _gather(self.table, self.index, key)

    def to(self, device) -> WindowTensor:
        return WindowTensor(self.table.to(device), self.index.to(device))
