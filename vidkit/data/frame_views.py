"""Query/key views of a video's frames: the samples of MoCo, MoCo v2 and VINCE (vince.md 2.1, 3).

Item `i` is video `videos[i]`. First the video's "cached" frames are chosen the way R2V2 cached
its frames (vince.md 4.3): a run of `cached` frames (4) one every `gap_seconds` (5 s, R2V2's
150-frame grid at 30 fps) at a random start, the gap shrunk to fit shorter videos. R2V2 fixed
that run once per video when it was built; here it is drawn afresh for each sample, so over the
epochs the whole video is used. Then for each of the N slots (`frames`) a query and a key frame
are picked from the run, and each image is augmented independently:
- `pairs="any"`: two draws with replacement (VINCE's multi-frame multi-pair: a query and its key
  are the same frame with probability 1/4 when 4 are cached);
- `pairs="same"`: one frame, two augmentations (MoCo; "single-frame R2V2");
- `pairs="different"`: two distinct frames when the run has two (the "multi-frame single-pair" baseline).
An image store (one-frame videos, ImageNet-style) gives two augmentations of the image in every mode.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vidkit.data import transforms
from vidkit.data.augment import Augmentation, augment
from vidkit.data.datasets import VideoSamples
from vidkit.io.frame_store import FrameStore

PAIRS = ("any", "same", "different")


def cached_frames(n_frames: int, fps: float, count: int, gap_seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Indices `(min(count, n_frames),)` of `count` frames `gap_seconds` apart at a random start, as R2V2
    cached them; the gap (at least one frame) shrinks until the run fits into the video. A store
    without a frame rate (frame folders, images) counts one frame per gap."""
    if n_frames <= count:
        return np.arange(n_frames)
    gap = round(gap_seconds * fps) if math.isfinite(fps) and fps > 0 else 1
    gap = int(min(max(gap, 1), (n_frames - 1) // max(count - 1, 1)))
    span = gap * (count - 1) + 1
    return int(rng.integers(n_frames - span + 1)) + gap * np.arange(count)


def pair_slots(count: int, frames: int, pairs: str, rng: np.random.Generator) -> np.ndarray:
    """`(frames, 2)` positions into the `count` cached frames: (query, key) of each slot."""
    if pairs == "any":
        return rng.integers(count, size=(frames, 2))
    first = rng.integers(count, size=frames)
    if pairs == "same" or count == 1:
        return np.stack([first, first], axis=1)
    if pairs == "different":
        second = (first + 1 + rng.integers(count - 1, size=frames)) % count  # uniform over the others
        return np.stack([first, second], axis=1)
    raise ValueError(f"unknown pairs {pairs!r}; choose one of {', '.join(PAIRS)}")


class FrameViewsDataset(VideoSamples):
    """`{"query": (N, 3, S, S), "key": (N, 3, S, S), "index": ()}` per video (N = `frames`)."""

    def __init__(
        self,
        store: FrameStore,
        videos: np.ndarray,
        *,
        size: int,
        frames: int,
        pairs: str,
        augmentation: Augmentation,
        seed: int,
        mean,
        std,
        cached: int = 4,
        gap_seconds: float = 5.0,
    ):
        if pairs not in PAIRS:
            raise ValueError(f"unknown pairs {pairs!r}; choose one of {', '.join(PAIRS)}")
        self.store, self.videos = store, np.asarray(videos, dtype=np.int64)
        self.size, self.frames, self.pairs, self.augmentation = size, frames, pairs, augmentation
        self.seed, self.mean, self.std = seed, mean, std
        self.cached, self.gap_seconds = cached, gap_seconds

    def _fps(self, video: int) -> float:
        return float(self.store.config.fps or self.store.video(video).fps)

    def __getitem__(self, item: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, video, rng = self.draw(item)
        run = cached_frames(self.store.n_frames(video), self._fps(video), self.cached, self.gap_seconds, rng)
        slots = pair_slots(len(run), self.frames, self.pairs, rng)  # (N, 2)
        used = np.unique(slots)
        images = dict(zip(used.tolist(), transforms.to_float(self.store.read_frames(video, run[used]))))
        views = [
            [augment(images[int(s)], self.augmentation, self.size, rng, self.mean, self.std) for s in slot]
            for slot in slots
        ]
        return {
            "query": torch.stack([v[0] for v in views]),  # (N, 3, S, S)
            "key": torch.stack([v[1] for v in views]),  # (N, 3, S, S)
            "index": torch.tensor(index),
        }
