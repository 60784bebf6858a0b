"""The kNN monitor of instance recognition and local aggregation (Wu et al. 2018; video_la_idt.md 5).

After each epoch, every validation video's central clip is embedded and given the label of its
single nearest memory-bank row (dot product of unit vectors); the fraction that gets its own class
right is logged as `knn_top1`. Labels never reach the loss: the number only says how training goes.
NOTE: the Video LA code took a random 16-frame window of each validation clip; the central one
here makes the curve a function of the weights alone.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from vidkit.data import sampling
from vidkit.data.datasets import ClipDataset

log = logging.getLogger("vidkit")


def knn_top1(queries: torch.Tensor, query_labels: torch.Tensor, bank: torch.Tensor, bank_labels: torch.Tensor) -> float:
    """Top-1 accuracy of 1-nearest-neighbour labels: `queries (V, D)`, `bank (N, D)`, labels `(V,)` and `(N,)`."""
    nearest = (queries.float() @ bank.float().T).argmax(dim=1)  # (V,)
    return float((bank_labels[nearest] == query_labels).float().mean())


class KnnMonitor:
    """An `engine.train.EpochHooks`: `knn_top1` of validation clips against `bank` after every epoch.

    Args:
        model: the method; its `embed(clips)` gives what the bank stores, `(B, C, T, H, W) -> (B, D)`.
        bank: the memory-bank module (its `rows` are read at the end of each epoch).
        bank_labels: `(N,)` class of each bank row's video.
        dataset: the validation clips (`data.datasets.ClipDataset`), with `labels (V,)`.
    """

    def __init__(self, model: nn.Module, bank: nn.Module, bank_labels: np.ndarray, dataset, labels: np.ndarray):
        self.model, self.bank, self.dataset = model, bank, dataset
        self.bank_labels = torch.as_tensor(bank_labels, dtype=torch.long)
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.batch_size = 16
        self.history: list[dict] = []

    @classmethod
    def for_split(
        cls, model, bank, store, train_videos: np.ndarray, val_videos: np.ndarray, recipe
    ) -> KnnMonitor | None:
        """The monitor of `val_videos` (their central clips), or None when no video on either side has a label."""
        labels = np.asarray(store.table()["label"])
        val_videos = np.asarray([v for v in val_videos if labels[v] >= 0], dtype=np.int64)
        if len(val_videos) == 0 or not (labels[np.asarray(train_videos)] >= 0).any():
            return None
        counts = np.asarray([store.n_frames(int(v)) for v in val_videos])
        starts = [int(sampling.evenly_spaced_starts(int(n), recipe.clip_len, 1)[0]) for n in counts]
        dataset = ClipDataset(
            store,
            np.stack([val_videos, starts], axis=1),
            clip_len=recipe.clip_len,
            stride=1,
            size=recipe.size,
            modality="rgb",
            mean=recipe.mean,
            std=recipe.std,
        )
        return cls(model, bank, labels[np.asarray(train_videos)], dataset, labels[val_videos])

    @torch.no_grad()
    def end_epoch(self, epoch: int, metrics: dict[str, list[float]]) -> dict:
        was_training = self.model.training
        self.model.eval()  # BatchNorm statistics are not touched by monitoring
        device = self.bank.rows.device
        chunks = []
        for first in range(0, len(self.dataset), self.batch_size):
            clips = torch.stack(
                [self.dataset[i] for i in range(first, min(first + self.batch_size, len(self.dataset)))]
            )
            chunks.append(self.model.embed(clips.to(device)).float())
        self.model.train(was_training)
        accuracy = knn_top1(torch.cat(chunks), self.labels.to(device), self.bank.rows, self.bank_labels.to(device))
        # Only what the weights and bank give: a resumed run logs the same record (its epoch's losses
        # before the resume are not kept; they are in the run's loss curve).
        record = {"epoch": epoch + 1, "knn_top1": accuracy}
        log.info("epoch %d: kNN top-1 %.4f", epoch + 1, accuracy)
        self.history.append(record)
        return record
