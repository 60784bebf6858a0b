"""Intra-negative clips (IIC, Tao et al. 2020, iic.md 4): the same video with its motion destroyed.

Pure functions of a batch `(B, C, T, H, W)`; every sample draws its own choice from the torch RNG
(which the engine re-seeds each step, so a resumed run draws the same negatives).
"""

from __future__ import annotations

import torch


def _take_frames(clips: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """`clips[b, :, order[b]]` for every b: `order (B, T)` frame indices."""
    b, c, t, h, w = clips.shape
    index = order.to(clips.device)[:, None, :, None, None].expand(b, c, order.shape[1], h, w)
    return clips.gather(2, index)


def repeat_frame(clips: torch.Tensor) -> torch.Tensor:
    """One random frame of each clip tiled over all T steps: the appearance, no motion (`--neg repeat`)."""
    b, _, t = clips.shape[:3]
    frame = torch.randint(0, t, (b, 1), device=clips.device)
    return _take_frames(clips, frame.expand(b, t))


def swap_chunks(clips: torch.Tensor, chunks: int = 4) -> torch.Tensor:
    """Split T into `chunks` equal parts and swap two of them (`--neg shuffle`, as the IIC code does:
    chunk a uniform, chunk b uniform among the others; one transposition, not a full permutation).
    Frames beyond `chunks * (T // chunks)` stay in place.
    """
    b, _, t = clips.shape[:3]
    size = t // chunks
    if size == 0:
        raise ValueError(f"a clip of {t} frames cannot be cut into {chunks} chunks")
    a = torch.randint(0, chunks, (b,))
    other = (a + torch.randint(1, chunks, (b,))) % chunks
    chunk_of = torch.arange(t) // size
    chunk_of[chunks * size :] = -1  # the remainder never moves
    offset = torch.arange(t) % size
    order = torch.arange(t).repeat(b, 1)
    from_a, from_b = chunk_of[None] == a[:, None], chunk_of[None] == other[:, None]
    order = torch.where(from_a, other[:, None] * size + offset, order)
    order = torch.where(from_b, a[:, None] * size + offset, order)
    return _take_frames(clips, order)


def shuffle_frames(clips: torch.Tensor) -> torch.Tensor:
    """A random permutation of all T frames of each clip (`--neg shuffle-full`, the paper's figure).
    A permutation that happens to be the identity is rolled by one, so no negative equals its clip."""
    b, _, t = clips.shape[:3]
    order = torch.rand(b, t).argsort(dim=1)
    identity = (order == torch.arange(t)).all(dim=1)
    order[identity] = order[identity].roll(1, dims=1)
    return _take_frames(clips, order)


INTRA_NEGATIVES = {"repeat": repeat_frame, "shuffle": swap_chunks, "shuffle-full": shuffle_frames}
