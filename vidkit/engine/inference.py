"""The one batched inference loop: `embed`, fine-tuning's validation and test, and `tsne` all run here.

No gradients, bf16 autocast on CUDA, one `(N, D)` float32 array out, progress as it goes. What
the batches are (clips from a frame store through a DataLoader, or frames of a video file) and
what runs on them (pooled features, logits, an embedding head) is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vidkit.engine.device import autocast


def loader(dataset: Dataset, *, batch_size: int, workers: int, device: torch.device) -> DataLoader:
    """Batches of `dataset` in order (inference never shuffles)."""
    from vidkit.data.datasets import worker_init

    return DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=workers,
        worker_init_fn=worker_init,
        pin_memory=device.type == "cuda",
    )


@torch.no_grad()
def run(
    fn: Callable[[torch.Tensor], torch.Tensor],
    batches: Iterable[torch.Tensor],
    *,
    device: torch.device,
    width: int | None = None,
    total: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """`fn` over every batch (moved to `device`), the `(B, D)` outputs stacked as `(N, D)` float32.

    `width` gives the shape of an empty result; `progress(done, total)` is called after each batch.
    """
    chunks, done = [], 0
    with autocast(device):
        for batch in batches:
            chunks.append(fn(batch.to(device, non_blocking=True)).float().cpu().numpy())
            done += len(batch)
            if progress:
                progress(done, total if total is not None else done)
    if not chunks:
        return np.zeros((0, width or 0), dtype=np.float32)
    return np.concatenate(chunks)
