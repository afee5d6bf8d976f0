"""The LightningDataModule: the scored training rows (shuffled by a seeded generator), the
scored validation rows, and ``predict_loader(rows)`` for any rows mask, as tensors made
by the :class:`~models.scaling.Scalers` fitted on the training rows.

The training rows are ``task.training_rows()``: ``mask("train")`` and, when the task
holds rows issued at other hours of the day (``ForecastTask.with_issue_hours``), their
``train_extra`` rows; validation (early stopping) reads ``mask("val")``, the end-of-day
rows only."""

from __future__ import annotations

import math

import lightning as L
import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from forecast.task import ForecastTask, sample_rows

from .scaling import EVAL_BATCH_SIZE, Scalers

__all__ = ["EVAL_BATCH_SIZE", "ForecastDataModule", "Scalers"]


class BatchTensors(Dataset):
    """Tensors of equal length, served a whole batch at a time: ``dataset[indices]`` is
    one gather per tensor instead of one lookup per row and a collate."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, indices) -> tuple[torch.Tensor, ...]:
        index = torch.as_tensor(indices, device=self.tensors[0].device)
        return tuple(t[index] for t in self.tensors)

    def to(self, device) -> BatchTensors:
        return BatchTensors(*(t.to(device) for t in self.tensors))


class ForecastDataModule(L.LightningDataModule):
    """Train / validation loaders over the scored rows, and a predict loader for any rows.

    The tensors move to the training device once per fit (in ``setup``), and batches are
    gathered from them whole: the same batches, in the same seeded order, as a shuffled
    ``DataLoader`` over a ``TensorDataset``, at a fraction of the per-step cost. The
    training loader hands Lightning an epoch's batches as one item (:class:`EpochBatches`).
    """

    def __init__(self, task: ForecastTask, batch_size: int = 64, seed: int = 0,
                 scalers: Scalers | None = None, hourly: bool = False,
                 target_hours: bool = False, max_steps_per_epoch: int | None = None,
                 max_batch_size: int | None = None, max_val_rows: int | None = None) -> None:
        super().__init__()
        self.task = task
        self.max_val_rows = max_val_rows
        self.batch_size = batch_size
        self.max_steps_per_epoch = max_steps_per_epoch
        self.max_batch_size = max_batch_size
        self.seed = seed
        self.scalers = scalers
        self.hourly = hourly   # batches also carry the hourly window (before the target)
        # batches also carry the target day's hours, and its hourly PM2.5 before the target
        self.target_hours = target_hours
        self.device = torch.device("cpu")

    def setup(self, stage: str | None = None) -> None:
        if self.scalers is None:
            self.scalers = Scalers.fit(self.task, hourly=self.hourly,
                                       target_hours=self.target_hours)
        if self.trainer is not None:
            self.device = self.trainer.strategy.root_device

    def dataset(self, rows: np.ndarray, with_target: bool = True) -> BatchTensors:
        self.setup()
        tensors = self.scalers.inputs(self.task, rows)
        if with_target and self.target_hours:
            tensors += (self.scalers.hourly_target(self.task, rows),)
        if with_target:
            tensors += (self.scalers.target(self.task, rows),)
        return BatchTensors(*tensors).to(self.device)

    def _loader(self, dataset: BatchTensors, batch_size: int, shuffle: bool,
                rows_per_epoch: int | None = None) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        # ``num_samples`` only when it samples: RandomSampler's generator would otherwise
        # draw once more an epoch, and every later epoch's order would change
        sample = {"num_samples": rows_per_epoch} if rows_per_epoch else {}
        order = (RandomSampler(dataset, generator=generator, **sample) if shuffle
                 else SequentialSampler(dataset))
        return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last=False),
                          batch_size=None, num_workers=0, generator=generator)

    @property
    def n_training_rows(self) -> int:
        """The rows the network trains on (``task.training_rows()``)."""
        return int(self.task.training_rows().sum())

    @property
    def train_batch_size(self) -> int:
        """``batch_size``, or more when an epoch of the training rows would take more than
        ``max_steps_per_epoch`` steps: at data scale (hundreds of stations) a tiny network's
        cost is otherwise per-step overhead, not arithmetic."""
        if not self.max_steps_per_epoch:
            return self.batch_size
        grown = math.ceil(self.n_training_rows / self.max_steps_per_epoch)
        if self.max_batch_size:
            grown = min(grown, self.max_batch_size)
        return max(self.batch_size, grown)

    @property
    def rows_per_epoch(self) -> int | None:
        """How many training rows an epoch draws (without replacement, anew each epoch),
        when batches of at most ``max_batch_size`` rows cannot cover them all in
        ``max_steps_per_epoch`` steps; None when every epoch reads them all."""
        if not (self.max_steps_per_epoch and self.max_batch_size):
            return None
        per_epoch = self.max_steps_per_epoch * self.train_batch_size
        return per_epoch if per_epoch < self.n_training_rows else None

    def train_batches(self) -> DataLoader:
        """The training minibatches, shuffled anew each epoch by the seeded generator
        (a fresh sample of ``rows_per_epoch`` rows each epoch at data scale)."""
        return self._loader(self.dataset(self.task.training_rows()), self.train_batch_size,
                            True, self.rows_per_epoch)

    def train_dataloader(self) -> EpochBatches:
        """One item an epoch, that epoch's minibatches (see :mod:`models.module`); with
        several processes each takes its share of every minibatch."""
        rank, world_size = ((self.trainer.global_rank, self.trainer.world_size)
                            if self.trainer is not None else (0, 1))
        return EpochBatches(self.train_batches(), rank, world_size)

    @property
    def val_loss_rows(self) -> np.ndarray:
        """The validation rows whose loss stops training early: all of them, or with more
        than ``max_val_rows`` a fixed random sample of that many (the same every epoch,
        drawn from ``seed``). At 1,000 stations the validation pass over all 353,000
        rows took as long as the epoch's training on its 131,000 sampled rows: a gru
        fit 382 s, 193 s with 50,000 (docs/performance.md)."""
        return sample_rows(np.flatnonzero(self.task.mask("val")), self.max_val_rows or 0,
                           self.seed)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.dataset(self.val_loss_rows), EVAL_BATCH_SIZE, False)

    def predict_loader(self, rows: np.ndarray) -> DataLoader:
        return self._loader(self.dataset(rows, with_target=False), EVAL_BATCH_SIZE, False)

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        """Batches are gathered from tensors already on the device (``setup``): skip
        Lightning's recursive transfer."""
        return batch


class EpochBatches:
    """An iterable of one item an epoch, that epoch's minibatches (an iterable over the
    DataLoader ``batches`` of tuples of tensors, gathered one at a time as it is read):
    Lightning's training loop then takes one step an epoch. Process ``rank`` of
    ``world_size`` (DDP) keeps rows ``rank``, ``rank + world_size``, … of each minibatch,
    wrapping round when a minibatch has fewer rows than processes, so every process takes
    the same number of optimiser steps and together they see each minibatch (as
    Lightning's DistributedSampler pads its shards)."""

    def __init__(self, batches: DataLoader, rank: int = 0, world_size: int = 1) -> None:
        self.batches, self.rank, self.world_size = batches, rank, world_size

    def __len__(self) -> int:
        return 1

    def __iter__(self):
        yield self._minibatches()

    def _minibatches(self):
        """This epoch's minibatches (this process's share of each), gathered as read."""
        if self.world_size == 1:
            yield from self.batches
            return
        for batch in self.batches:
            n = len(batch[0])
            share = torch.arange(self.rank, max(n, self.world_size), self.world_size,
                                 device=batch[0].device) % n
            yield tuple(t[share] for t in batch)
