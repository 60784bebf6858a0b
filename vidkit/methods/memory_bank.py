"""A memory bank of per-instance embeddings (Wu et al. 2018), shared by TCE, IIC, IR and LA."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from vidkit.engine import dist


class MemoryBank(nn.Module):
    """`(N, D)` unit-norm rows; row i holds the latest embedding of instance i.

    Rows start uniform in `[-s, s]` with `s = 1 / sqrt(D / 3)` (unit norm in expectation; at D = 128
    norms 1 +- 0.04, 0.80-1.17 over 240,000 rows), as the instance-discrimination code (lemniscate,
    CMC: TCE's and IIC's seeds) does; with `normalize=True` they are then L2-normalised, as Video
    LA's `MemoryBank._create` did for IR and LA (video_la_idt.md 5). Updates blend
    `momentum * old + (1 - momentum) * new` and re-normalise; under DDP every rank applies every
    rank's updates, so the banks stay identical.
    """

    def __init__(self, size: int, dim: int, momentum: float = 0.5, *, normalize: bool = False):
        super().__init__()
        bound = 1.0 / math.sqrt(dim / 3)
        rows = torch.rand(size, dim).mul_(2 * bound).add_(-bound)  # (N, D)
        self.register_buffer("rows", F.normalize(rows, dim=1) if normalize else rows)
        self.momentum = momentum

    def __len__(self) -> int:
        return self.rows.shape[0]

    def gather(self, indices: torch.Tensor) -> torch.Tensor:
        """Rows at `indices` (any shape) -> `(*indices.shape, D)`."""
        return self.rows[indices]

    @torch.no_grad()
    def update(self, indices: torch.Tensor, embeddings: torch.Tensor) -> None:
        indices, embeddings = dist.all_gather_cat(indices), dist.all_gather_cat(embeddings.detach().float())
        blended = self.rows[indices] * self.momentum + embeddings * (1.0 - self.momentum)
        self.rows[indices] = F.normalize(blended, dim=1)


def sample_other(
    size: int, exclude: torch.Tensor, count: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """`(B, count)` indices drawn uniformly (with replacement) from `0..size-1`, never `exclude[b]` in row b."""
    draws = torch.randint(0, size - 1, (len(exclude), count), device=exclude.device, generator=generator)
    return draws + (draws >= exclude[:, None]).long()  # skip over the excluded index
