"""Datasets over a frame store. Every random draw comes from `rng(seed, epoch, index)`, so samples do
not depend on the number of DataLoader workers and a resumed run sees exactly the data it would
have seen; the store is opened lazily inside each worker (`FrameStore` pickles without its handle).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from vidkit.data import sampling, transforms
from vidkit.io.store import FrameStore


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


class EpochSampler(Sampler):
    """Yields `(index, epoch)` for one epoch: a seeded permutation, this rank's share of it.

    Each rank takes every `world`-th index of the same permutation (the tail that does not divide
    evenly is dropped, so every rank runs the same number of steps).
    """

    def __init__(self, size: int, *, seed: int, epoch: int, rank: int = 0, world: int = 1, shuffle: bool = True):
        order = np.random.default_rng([seed, epoch]).permutation(size) if shuffle else np.arange(size)
        share = size // world
        self.indices = order[rank : share * world : world]
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return ((int(i), self.epoch) for i in self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class RunSampler(Sampler):
    """`EpochSampler` after `EpochSampler`, from a given step on, without end: one DataLoader (and one
    set of worker processes) serves a whole run. Each epoch gives this rank whole batches only."""

    def __init__(self, size: int, *, seed: int, batch_size: int, start_step: int = 0, rank: int = 0, world: int = 1):
        self.size, self.seed, self.rank, self.world = size, seed, rank, world
        self.per_epoch = size // world // batch_size * batch_size
        self.start = divmod(start_step * batch_size, self.per_epoch)  # (epoch, samples into it)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, skip = self.start
        while True:
            sampler = EpochSampler(self.size, seed=self.seed, epoch=epoch, rank=self.rank, world=self.world)
            for index in sampler.indices[skip : self.per_epoch]:
                yield int(index), epoch
            epoch, skip = epoch + 1, 0


def worker_init(_worker_id: int) -> None:
    # Each worker is one of several processes on the machine: one intra-op thread apiece.
    torch.set_num_threads(1)


class FramePairDataset(Dataset):
    """TCE samples (tce.md 2.1-2.2): an anchor frame, an adjacent positive and a rotated anchor view.

    Item `i` is video `videos[i]` of the store, and `i` is also its memory-bank row. The flip is
    shared by anchor and positive; grey and colour jitter are drawn independently for each view,
    as the TCE code does. Frames are resized to `size x size` (bilinear).
    NOTE: the TCE code resizes with nearest neighbour; bilinear with antialiasing is kinder to small sizes.
    """

    def __init__(self, store: FrameStore, videos: np.ndarray, *, size: int, window: int, seed: int,
                 mean, std, rotation: bool = True, jitter: bool = True, grey: bool = True, flip: bool = True):
        self.store, self.videos = store, np.asarray(videos, dtype=np.int64)
        self.size, self.window, self.seed = size, window, seed
        self.mean, self.std = mean, std
        self.rotation, self.jitter, self.grey, self.flip = rotation, jitter, grey, flip

    def __len__(self) -> int:
        return len(self.videos)

    def _view(self, frame: torch.Tensor, flip: bool, rng: np.random.Generator) -> torch.Tensor:
        x = transforms.resize_square(frame[None], self.size)[0]
        if flip:
            x = x.flip(-1)
        if self.grey:
            x = transforms.random_grey(x, rng)
        if self.jitter:
            x = transforms.Jitter.draw(rng)(x)
        return transforms.normalize(x, self.mean, self.std)

    def __getitem__(self, item: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, epoch = item
        rng = sample_rng(self.seed, epoch, index)
        video = int(self.videos[index])
        anchor, positive = sampling.pair_indices(self.store.n_frames(video), self.window, rng)
        frames = transforms.to_float(self.store.read_frames(video, [anchor, positive]))
        flip = bool(self.flip and rng.random() < 0.5)
        sample = {
            "anchor": self._view(frames[0], flip, rng),
            "positive": self._view(frames[1], flip, rng),
            "index": torch.tensor(index),
        }
        if self.rotation:
            # The anchor frame augmented afresh, then rotated by k * 90 degrees; k is the target.
            k = int(rng.integers(4))
            sample["rotated"] = transforms.rotate90(self._view(frames[0], bool(self.flip and rng.random() < 0.5), rng), k)
            sample["rotation"] = torch.tensor(k)
        return sample


class ClipDataset(Dataset):
    """Evaluation clips `(C, T, H, W)`: fixed `(video, start)` pairs, short side resized, centre crop.

    Modalities: `rgb`; `res` (residual frames, each frame minus the one before it, mapped from
    [-1, 1] to [0, 1] as IIC does, not mean/std-normalised); `u`/`v` (flow, repeated to 3 channels
    as IIC decodes it, normalised with mean/std 0.5).
    """

    def __init__(self, store: FrameStore, items: np.ndarray, *, clip_len: int, stride: int, size: int,
                 modality: str, mean, std):
        self.store, self.items = store, np.asarray(items, dtype=np.int64).reshape(-1, 2)
        self.clip_len, self.stride, self.size, self.modality = clip_len, stride, size, modality
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor:
        video, start = (int(v) for v in self.items[i])
        if self.modality in ("u", "v"):
            n = self.store.n_frames(video) - 1
            indices = sampling.clip_indices(start, self.clip_len, self.stride, max(n, 1))
            x = transforms.to_float(self.store.read_frames(video, indices, stream=self.modality)).expand(-1, 3, -1, -1)
            return transforms.tchw_to_cthw(transforms.normalize(transforms.resize_center_crop(x, self.size), (0.5,) * 3, (0.5,) * 3))
        n = self.store.n_frames(video)
        extra = 1 if self.modality == "res" else 0
        indices = sampling.clip_indices(start, self.clip_len + extra, self.stride, n)
        x = transforms.resize_center_crop(transforms.to_float(self.store.read_frames(video, indices)), self.size)
        if self.modality == "res":
            x = (x[1:] - x[:-1] + 1.0) / 2.0
        else:
            x = transforms.normalize(x, self.mean, self.std)
        return transforms.tchw_to_cthw(x)
