"""The negative queue of MoCo (He et al., CVPR 2020, arXiv:1911.05722) and VINCE (vince.md 2.5).

A FIFO ring of the K most recent key embeddings, the negatives of each query. It lives in buffers
(rows, write pointer, filled count), so a checkpoint resumes it exactly, and it holds embeddings
only (the seed also kept every key image in host RAM, tens of GB at K = 65536; vince.md 2.5).

Start and small data. MoCo starts from K random unit vectors; the seed filled the queue with one
batch tiled K / B times, so its first negatives were copies of one batch. Here the queue starts
empty and is filled by the keys of the training steps themselves, each a distinct batch: until
it is full, `keys` returns the filled rows only, so the first steps contrast against fewer (real)
negatives rather than against noise or duplicates. When K exceeds what the data can give (tiny
test sets), the queue simply wraps once it is full, and before then trains on the filled part.

Each row may carry an id (the video its key came from), so a method can tell which queued keys
belong to the query's own video: on a dataset not much larger than K, those are frequent and are
false negatives (MoCo and the seed counted them).

Under DDP the keys of all ranks are gathered before the enqueue, so every rank holds the same queue.
"""

from __future__ import annotations

import torch
from torch import nn

from vidkit.engine import dist


class NegativeQueue(nn.Module):
    """`(K, D)` key embeddings, first in first out."""

    def __init__(self, size: int, dim: int):
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"a queue needs size and dim >= 1, got {size} and {dim}")
        self.register_buffer("rows", torch.zeros(size, dim))  # (K, D)
        self.register_buffer("pointer", torch.tensor(0, dtype=torch.long))  # next row to write
        self.register_buffer("filled", torch.tensor(0, dtype=torch.long))  # rows written so far, at most K
        self.register_buffer("ids", torch.full((size,), -1, dtype=torch.long))  # (K,) whose key each row is, -1: none

    def __len__(self) -> int:
        return self.rows.shape[0]

    @property
    def keys(self) -> torch.Tensor:
        """The filled rows `(n, D)`, n <= K (their order is irrelevant to a contrastive loss)."""
        return self.rows[: int(self.filled)]

    @property
    def key_ids(self) -> torch.Tensor:
        """`(n,)` the id given with each filled row (the sample's video), -1 where none was."""
        return self.ids[: int(self.filled)]

    @property
    def full(self) -> bool:
        return int(self.filled) == len(self)

    @torch.no_grad()
    def push(self, keys: torch.Tensor, ids: torch.Tensor | None = None) -> None:
        """Enqueue `keys (B, D)` of this rank, and optionally their ids `(B,)` (gathered over ranks
        first), overwriting the oldest rows."""
        if ids is None:
            ids = torch.full((len(keys),), -1, dtype=torch.long, device=keys.device)
        keys = dist.all_gather_cat(keys.detach().to(self.rows.dtype))  # (world * B, D)
        ids = dist.all_gather_cat(ids.to(torch.long))  # (world * B,)
        size = len(self)
        if len(keys) > size:  # more keys than rows: only the newest K survive a FIFO anyway
            keys, ids = keys[-size:], ids[-size:]
        count, start = len(keys), int(self.pointer)
        slots = (start + torch.arange(count, device=self.rows.device)) % size  # (B,) wraps around
        self.rows[slots] = keys
        self.ids[slots] = ids.to(self.ids.device)
        self.pointer.fill_((start + count) % size)
        self.filled.fill_(min(int(self.filled) + count, size))
