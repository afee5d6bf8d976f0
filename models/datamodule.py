"""The LightningDataModule: the scored training rows (shuffled by a seeded generator), the
scored validation rows, and ``predict_loader(rows)`` for any rows mask, as tensors made
by the :class:`~models.scaling.Scalers` fitted on the training rows."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from forecast.task import ForecastTask

from .scaling import EVAL_BATCH_SIZE, Scalers

__all__ = ["EVAL_BATCH_SIZE", "ForecastDataModule", "Scalers"]


class ForecastDataModule(L.LightningDataModule):
    """Train / validation loaders over the scored rows, and a predict loader for any rows."""

    def __init__(self, task: ForecastTask, batch_size: int = 64, seed: int = 0,
                 scalers: Scalers | None = None) -> None:
        super().__init__()
        self.task = task
        self.batch_size = batch_size
        self.seed = seed
        self.scalers = scalers

    def setup(self, stage: str | None = None) -> None:
        if self.scalers is None:
            self.scalers = Scalers.fit(self.task)

    def dataset(self, rows: np.ndarray, with_target: bool = True) -> TensorDataset:
        self.setup()
        tensors = self.scalers.inputs(self.task, rows)
        if with_target:
            tensors += (self.scalers.target(self.task, rows),)
        return TensorDataset(*tensors)

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(self.dataset(self.task.mask("train")), batch_size=self.batch_size,
                          shuffle=True, generator=generator, num_workers=0)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset(self.task.mask("val")), batch_size=EVAL_BATCH_SIZE,
                          num_workers=0)

    def predict_loader(self, rows: np.ndarray) -> DataLoader:
        return DataLoader(self.dataset(rows, with_target=False), batch_size=EVAL_BATCH_SIZE,
                          num_workers=0)
