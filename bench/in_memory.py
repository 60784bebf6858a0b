"""Samples made once and kept in memory, so a benchmark's loops see identical tensors and no decoding."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


class InMemory(Dataset):
    """A dataset over a list of ready samples, indexed as the engine's samplers do: `(index, epoch)`."""

    def __init__(self, samples: list[dict[str, torch.Tensor]]):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item):
        index, _epoch = item
        return self.samples[index]
