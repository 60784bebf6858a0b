"""Jigsaw views for PIRL (Misra & van der Maaten, CVPR 2020, arXiv:1912.01991) as the VINCE seed cut them.

A crop (225 px in the seed: vince.md 3, the Jigsaw/PIRL row) is padded to a multiple of the grid
and cut into a 3x3 grid of tiles (75 px each); the tiles' order is shuffled per sample. The method
encodes each tile on its own and concatenates the tile vectors in that shuffled order, so the
shuffle is the whole pretext: the embedding must not depend on where a tile came from.
NOTE: the seed permuted the 9 tile *vectors* after the per-tile encoder; permuting the tiles
before it is the same function (the encoder sees each tile alone, and a batch's BatchNorm
statistics do not depend on the tiles' order) and lets the sample carry its own permutation, drawn
from the sample's rng like every other random choice (`data.datasets.sample_rng`).
Neither the seed nor vidkit takes PIRL's random 64-px sub-crop inside each tile (vince.md 3).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from vidkit.data import transforms
from vidkit.data.augment import Augmentation, augment
from vidkit.data.datasets import VideoSamples
from vidkit.io.frame_store import FrameStore


def tile_size(size: int, grid: int = 3) -> int:
    """The side of one tile of a `size`-px crop: the crop padded up to a multiple of `grid`, divided."""
    return -(-size // grid)


def cut_tiles(image: torch.Tensor, grid: int = 3) -> torch.Tensor:
    """`(C, H, W)` -> `(grid * grid, C, t, t)` tiles in row-major order (t = `tile_size(max(H, W))`).

    The image is zero-padded on the right and bottom to `grid * t` first (zero is the mean colour
    after normalisation), as the seed padded crops to a multiple of 3.
    """
    c, h, w = image.shape
    t = tile_size(max(h, w), grid)
    padded = F.pad(image, (0, grid * t - w, 0, grid * t - h))  # (C, grid t, grid t)
    rows = padded.reshape(c, grid, t, grid, t)  # (C, row, y, col, x)
    return rows.permute(1, 3, 0, 2, 4).reshape(grid * grid, c, t, t)


def shuffle_tiles(tiles: torch.Tensor, permutation: np.ndarray) -> torch.Tensor:
    """Tiles `(n, C, t, t)` in the order `permutation` gives: position i holds tile `permutation[i]`."""
    return tiles[torch.as_tensor(permutation, dtype=torch.long)]


def draw_permutation(rng: np.random.Generator, tiles: int = 9) -> np.ndarray:
    """A uniformly random order of `tiles` tiles, `(tiles,)` int64."""
    return rng.permutation(tiles)


class JigsawDataset(VideoSamples):
    """`{"image": (3, S, S), "jigsaw": (grid^2, 3, t, t), "index": ()}` per video.

    Item `i` is video `videos[i]` (its memory-bank row is `i`). One frame of the video is drawn
    uniformly (an image store's only frame), and both views are made from it, each with its own
    augmentation: the image with `augmentation`, the jigsaw crop with `jigsaw_augmentation` (PIRL
    transforms one image I into I^t).
    """

    def __init__(
        self,
        store: FrameStore,
        videos: np.ndarray,
        *,
        size: int,
        grid: int,
        augmentation: Augmentation,
        jigsaw_augmentation: Augmentation,
        seed: int,
        mean,
        std,
    ):
        self.store, self.videos = store, np.asarray(videos, dtype=np.int64)
        self.size, self.grid, self.seed, self.mean, self.std = size, grid, seed, mean, std
        self.augmentation, self.jigsaw_augmentation = augmentation, jigsaw_augmentation

    def __getitem__(self, item: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, video, rng = self.draw(item)
        frame = int(rng.integers(self.store.n_frames(video)))
        image = transforms.to_float(self.store.read_frames(video, [frame]))[0]  # (3, H, W)
        view = augment(image, self.augmentation, self.size, rng, self.mean, self.std)  # (3, S, S)
        crop = augment(image, self.jigsaw_augmentation, self.size, rng, self.mean, self.std)  # (3, S, S)
        tiles = cut_tiles(crop, self.grid)  # (grid^2, 3, t, t)
        order = draw_permutation(rng, len(tiles))
        return {"image": view, "jigsaw": shuffle_tiles(tiles, order), "index": torch.tensor(index)}
