"""Datasets over a frame store. Every random draw comes from `rng(seed, epoch, index)`, so samples do
not depend on the number of DataLoader workers and a resumed run sees exactly the data it would
have seen; the store is opened lazily inside each worker (`FrameStore` pickles without its handle).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from vidkit.data import modalities, sampling, transforms
from vidkit.io.frame_store import FrameStore


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


class VideoSamples(Dataset):
    """One training sample per video of `self.videos` (store rows), keyed by `EpochSampler`'s
    `(index, epoch)`: every random choice of a sample comes from `sample_rng(seed, epoch, index)`,
    so a resumed run draws the same samples. Subclasses set `videos` and `seed`."""

    videos: np.ndarray
    seed: int

    def __len__(self) -> int:
        return len(self.videos)

    def draw(self, item: tuple[int, int]) -> tuple[int, int, np.random.Generator]:
        """`(index, epoch)` -> the dataset index, its store video and the sample's generator."""
        index, epoch = item
        return index, int(self.videos[index]), sample_rng(self.seed, epoch, index)


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


class RunBatchSampler(Sampler):
    """Batches of `EpochSampler` after `EpochSampler`, from a given step on, without end: one DataLoader
    (and one set of worker processes) serves a whole run.

    With `drop_last` (pretraining) each epoch gives this rank whole batches only; without it (supervised
    training) an epoch's last batch holds what is left. Either way a batch never spans two epochs.
    """

    def __init__(
        self,
        size: int,
        *,
        seed: int,
        batch_size: int,
        start_step: int = 0,
        rank: int = 0,
        world: int = 1,
        drop_last: bool = True,
    ):
        self.size, self.seed, self.batch_size, self.rank, self.world = size, seed, batch_size, rank, world
        share = size // world
        self.per_epoch = share // batch_size if drop_last else -(-share // batch_size)  # batches per epoch
        self.used = self.per_epoch * batch_size if drop_last else share  # samples of an epoch this rank uses
        self.start = divmod(start_step, self.per_epoch)  # (epoch, batches into it)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, skip = self.start
        while True:
            indices = EpochSampler(self.size, seed=self.seed, epoch=epoch, rank=self.rank, world=self.world).indices
            indices = indices[: self.used]
            for first in range(skip * self.batch_size, len(indices), self.batch_size):
                yield [(int(i), epoch) for i in indices[first : first + self.batch_size]]
            epoch, skip = epoch + 1, 0


def worker_init(_worker_id: int) -> None:
    # Each worker is one of several processes on the machine: one intra-op thread apiece.
    torch.set_num_threads(1)


class FramePairDataset(VideoSamples):
    """TCE samples (tce.md 2.1-2.2): an anchor frame, an adjacent positive and a rotated anchor view.

    Item `i` is video `videos[i]` of the store, and `i` is also its memory-bank row. The flip is
    shared by anchor and positive; grey and colour jitter are drawn independently for each view,
    as the TCE code does. Frames are resized to `size x size` (bilinear).
    NOTE: the TCE code resizes with nearest neighbour; bilinear with antialiasing is kinder to small sizes.
    """

    def __init__(
        self,
        store: FrameStore,
        videos: np.ndarray,
        *,
        size: int,
        window: int,
        seed: int,
        mean,
        std,
        rotation: bool = True,
        jitter: bool = True,
        grey: bool = True,
        flip: bool = True,
    ):
        self.store, self.videos = store, np.asarray(videos, dtype=np.int64)
        self.size, self.window, self.seed = size, window, seed
        self.mean, self.std = mean, std
        self.rotation, self.jitter, self.grey, self.flip = rotation, jitter, grey, flip

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
        index, video, rng = self.draw(item)
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
            sample["rotated"] = transforms.rotate90(
                self._view(frames[0], bool(self.flip and rng.random() < 0.5), rng), k
            )
            sample["rotation"] = torch.tensor(k)
        return sample


def usable_frames(store: FrameStore, video: int, modality: str) -> int:
    """Frames a clip of `modality` can start in: flow has one fewer than RGB."""
    return int(sampling.usable_frames(store.n_frames(video), modality))


def read_view(store: FrameStore, video: int, start: int, clip_len: int, stride: int, modality: str) -> torch.Tensor:
    """Float `(T', C, H, W)` in [0, 1] of one modality: the difference modalities read one frame more
    (T + 1 frames, so every difference is a real one), `u`/`v` one flow component repeated to 3
    channels (as IIC decodes it)."""
    if modality in ("u", "v"):
        indices = sampling.clip_indices(start, clip_len, stride, usable_frames(store, video, modality))
        return transforms.to_float(store.read_frames(video, indices, stream=modality)).expand(-1, 3, -1, -1)
    extra = 1 if modality in modalities.DIFFERENCES else 0
    indices = sampling.clip_indices(start, clip_len + extra, stride, store.n_frames(video))
    return transforms.to_float(store.read_frames(video, indices))


def finish_view(x: torch.Tensor, modality: str, mean, std) -> torch.Tensor:
    """Cropped `(T', C, S, S)` -> model input `(C, T, S, S)`.

    - `res`: each frame minus the one before it, mapped from [-1, 1] to [0, 1] as IIC pretrains and
      retrieves; `res-raw`: the same in [-1, 1], as IIC fine-tunes (iic.md 3). vidkit reads T + 1
      frames rather than wrapping around as the IIC code does (its `roll` made frame 0 the
      spurious difference x[0] - x[T-1]).
    - `diff`: TCE's stack of differences (tce.md 3.1), earlier minus later frame divided by the
      recipe's std (what differencing two normalised frames gives).
    - others: normalised with the recipe's mean/std.
    """
    if modality == "res":
        return transforms.tchw_to_cthw((x[1:] - x[:-1] + 1.0) / 2.0)
    if modality == "res-raw":
        return transforms.tchw_to_cthw(x[1:] - x[:-1])
    if modality == "diff":
        return transforms.tchw_to_cthw((x[:-1] - x[1:]) / torch.tensor(std).view(-1, 1, 1))
    return transforms.tchw_to_cthw(transforms.normalize(x, mean, std))


class ClipPairDataset(VideoSamples):
    """IIC/CMC samples (iic.md 2): one random clip of a video as view 1 (RGB) and view 2 (`res`, `u`,
    `v`, or none for `rgb`), resized to `resize` (128x171 for 112 crops) and randomly cropped.

    The crop is drawn once per clip, so its frames stay aligned (the IIC code's crops came apart
    per frame on PyTorch >= 1.7, iic.md 12.1). The residual shares the RGB crop; a flow view gets
    its own crop offset, as IIC's seeding gave it on the torchvision it was written for.
    """

    def __init__(
        self,
        store: FrameStore,
        videos: np.ndarray,
        *,
        clip_len: int,
        stride: int,
        size: int,
        resize: tuple[int, int],
        view2: str,
        seed: int,
        mean,
        std,
    ):
        self.store, self.videos = store, np.asarray(videos, dtype=np.int64)
        self.clip_len, self.stride, self.size, self.resize = clip_len, stride, size, resize
        self.view2, self.seed, self.mean, self.std = view2, seed, mean, std

    def _crop(self, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        x = transforms.resize_to(x, self.resize)
        return transforms.crop(x, transforms.crop_box(*x.shape[-2:], self.size, rng), self.size)

    def __getitem__(self, item: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, video, rng = self.draw(item)
        flow = self.view2 in ("u", "v")
        n = usable_frames(self.store, video, self.view2)
        start = sampling.random_start(n, sampling.clip_span(self.clip_len, self.stride, self.view2), rng)
        modality = "res" if self.view2 == "res" else "rgb"
        x = self._crop(read_view(self.store, video, start, self.clip_len, self.stride, modality), rng)
        sample = {
            "view1": finish_view(x[1:] if modality == "res" else x, "rgb", self.mean, self.std),
            "index": torch.tensor(index),
        }
        if modality == "res":
            sample["view2"] = finish_view(x, "res", self.mean, self.std)
        elif flow:
            y = self._crop(read_view(self.store, video, start, self.clip_len, self.stride, self.view2), rng)
            sample["view2"] = finish_view(y, self.view2, self.mean, self.std)
        return sample


class ClipDataset(Dataset):
    """Evaluation clips `(C, T, H, W)` at fixed `(video, start)` pairs, centre-cropped: frames resized
    to `resize` (IIC's 128x171) when given, else short side to `size`. Modalities as `read_view`."""

    def __init__(
        self,
        store: FrameStore,
        items: np.ndarray,
        *,
        clip_len: int,
        stride: int,
        size: int,
        modality: str,
        mean,
        std,
        resize: tuple[int, int] | None = None,
    ):
        self.store, self.items = store, np.asarray(items, dtype=np.int64).reshape(-1, 2)
        self.clip_len, self.stride, self.size, self.modality = clip_len, stride, size, modality
        self.mean, self.std, self.resize = mean, std, resize

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor:
        video, start = (int(v) for v in self.items[i])
        x = read_view(self.store, video, start, self.clip_len, self.stride, self.modality)
        if self.resize:
            x = transforms.resize_to(x, self.resize)
            x = transforms.crop(x, transforms.crop_box(*x.shape[-2:], self.size, None), self.size)
        else:
            x = transforms.resize_center_crop(x, self.size)
        return finish_view(x, self.modality, self.mean, self.std)


class TrainClipDataset(VideoSamples):
    """Labelled training clips for fine-tuning: item `(index, epoch)` is one clip of `videos[index]` at a
    random start, resized (to `resize`, else short side to 8/7 of `size`), randomly cropped, and
    flipped when `flip` (off by default as in IIC's fine-tuning; the LA code flipped. A flip turns
    "moves left" into "moves right", so it is wrong for direction-sensitive classes such as synth's)."""

    def __init__(
        self,
        store: FrameStore,
        videos: np.ndarray,
        labels: np.ndarray,
        *,
        clip_len: int,
        stride: int,
        size: int,
        modality: str,
        mean,
        std,
        resize: tuple[int, int] | None,
        seed: int,
        flip: bool = False,
    ):
        self.store, self.videos, self.labels = (
            store,
            np.asarray(videos, dtype=np.int64),
            np.asarray(labels, dtype=np.int64),
        )
        self.clip_len, self.stride, self.size, self.modality = clip_len, stride, size, modality
        self.mean, self.std, self.resize, self.seed, self.flip = mean, std, resize, seed, flip

    def __getitem__(self, item: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, video, rng = self.draw(item)
        n = usable_frames(self.store, video, self.modality)
        start = sampling.random_start(n, sampling.clip_span(self.clip_len, self.stride, self.modality), rng)
        x = read_view(self.store, video, start, self.clip_len, self.stride, self.modality)
        if self.resize:
            x = transforms.resize_to(x, self.resize)
        else:
            x = transforms.resize_center_crop(x, round(self.size * 8 / 7))
        x = transforms.crop(x, transforms.crop_box(*x.shape[-2:], self.size, rng), self.size)
        if self.flip and rng.random() < 0.5:
            x = x.flip(-1)
        return {"clip": finish_view(x, self.modality, self.mean, self.std), "label": torch.tensor(self.labels[index])}
