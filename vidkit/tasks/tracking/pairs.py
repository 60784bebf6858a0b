"""SiamFC's training pairs from GOT-10k-layout sequences: the seed's frame filter, pair sampling,
crops and labels (vince.md 6.4).

- A frame is valid when its box has area >= 20, both sides in [20, 500], both sides in [0.01, 0.5]
  of the image's, aspect in [0.25, 4], and (GOT-10k meta present) cover > max(1, 0.3 x max cover).
- A pair is two valid frames less than `max_gap` (100) apart, 100 tries; else one frame twice. A
  sequence with fewer than 2 valid frames is replaced by a random other one.
- Crops are squares around the (shifted) target: side sqrt((w + p)(h + p)) with p = 0.5 (w + h),
  times instance/exemplar for the search view; each axis stretched by up to +-5%; the centre
  shifted by Laplace(0, 0.25) clipped to +-1 times 0.05 (exemplar) or 0.33 (search) of the side;
  out-of-image pixels take the image's mean colour; each view flipped independently, the label
  with the search view.
- The label is a binary map of the response's size, 1 within L1 distance 2.5 cells of the
  target's (shifted) centre.

Randomness is a function of `(seed, epoch, index)`, as every vidkit dataset (exact resume).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from vidkit.data.datasets import sample_rng
from vidkit.errors import VidkitError
from vidkit.io.tracking import Sequence
from vidkit.tasks.tracking.siamfc import SiamFCConfig


def read_rgb(path) -> np.ndarray:
    """`uint8 (H, W, 3)` RGB; a frame that does not decode is an error, never a silent gap."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise VidkitError(f"cannot read the frame {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def box_centre(box: np.ndarray) -> np.ndarray:
    """`(x, y, w, h)` -> centre `(cx, cy)` in pixel coordinates (siamfc's `x + (w - 1) / 2`)."""
    return np.asarray(box[:2], dtype=np.float64) + (np.asarray(box[2:], dtype=np.float64) - 1) / 2


def context_side(w: float, h: float, context: float = 0.5) -> float:
    """SiamFC's exemplar square: sqrt((w + p)(h + p)) with p = context (w + h)."""
    p = context * (w + h)
    return math.sqrt((w + p) * (h + p))


def crop(image: np.ndarray, centre, side, out: int, fill) -> np.ndarray:
    """The square (or, with `side = (sx, sy)`, rectangle) of `side` px around `centre` resized to `out` x `out`.

    One affine warp: the centre lands on the output's centre, outside pixels take `fill` (the mean
    colour), bilinear as siamfc's `cv2.resize`. image `uint8 (H, W, 3)` -> `uint8 (out, out, 3)`.
    """
    sx, sy = (side, side) if np.isscalar(side) else side
    ax, ay = out / sx, out / sy
    matrix = np.array(
        [[ax, 0, (out - 1) / 2 - ax * centre[0]], [0, ay, (out - 1) / 2 - ay * centre[1]]], dtype=np.float64
    )
    return cv2.warpAffine(
        image,
        matrix,
        (out, out),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=tuple(float(v) for v in fill),
    )


def label_map(size: int, centre_offset, radius: float = 2.5) -> np.ndarray:
    """`float32 (1, size, size)`: 1 where the L1 distance to the map's centre + `centre_offset` (dx, dy cells) <= radius."""
    c = (size - 1) / 2
    rows, cols = np.mgrid[0:size, 0:size]
    dist = np.abs(cols - (c + centre_offset[0])) + np.abs(rows - (c + centre_offset[1]))
    return (dist <= radius).astype(np.float32)[None]


def valid_frames(seq: Sequence, image_size: tuple[int, int]) -> np.ndarray:
    """Indices of the frames whose box passes the seed's filter (module docstring)."""
    width, height = image_size
    x, y, w, h = seq.boxes.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (
            (w * h >= 20)
            & (w >= 20) & (w <= 500) & (h >= 20) & (h <= 500)
            & (w / width >= 0.01) & (w / width <= 0.5) & (h / height >= 0.01) & (h / height <= 0.5)
            & (w / h >= 0.25) & (w / h <= 4)
        )  # fmt: skip
    if seq.cover is not None and seq.cover.size:
        ok &= seq.cover > max(1.0, 0.3 * float(seq.cover.max()))
    if seq.absent is not None:
        ok &= ~seq.absent
    return np.flatnonzero(ok & np.isfinite(seq.boxes).all(1))


def sample_pair(rng: np.random.Generator, valid: np.ndarray, max_gap: int = 100) -> tuple[int, int]:
    """Two valid frames less than `max_gap` apart, in order (siamfc's `_sample_pair`)."""
    if len(valid) == 1:
        return int(valid[0]), int(valid[0])
    if len(valid) == 2:
        return int(valid[0]), int(valid[1])
    for _ in range(100):
        z, x = np.sort(rng.choice(valid, 2, replace=False))
        if x - z < max_gap:
            return int(z), int(x)
    z = int(rng.choice(valid))
    return z, z


def _laplace_shift(rng: np.random.Generator) -> np.ndarray:
    return np.clip(rng.laplace(0.0, 0.25, 2), -1.0, 1.0)


class PairDataset(Dataset):
    """`pairs_per_sequence` pairs per sequence per epoch: items `{"z", "x", "label", "centre"}`.

    z `(3, E, E)` and x `(3, X, X)` float, normalised by the backbone's mean/std; label
    `(1, R, R)`; centre `(2,)` the label's centre (row, col) in cells, for the monitors.
    """

    def __init__(
        self,
        sequences: list[Sequence],
        config: SiamFCConfig,
        *,
        search_sz: int,
        response_sz: int,
        total_stride: int,
        mean,
        std,
        seed: int = 0,
    ):
        self.sequences, self.config, self.seed = sequences, config, seed
        self.search_sz, self.response_sz, self.stride = search_sz, response_sz, total_stride
        self.mean = np.asarray(mean, dtype=np.float32) * 255
        self.std = np.asarray(std, dtype=np.float32) * 255
        self.valid = []
        for seq in sequences:
            with Image.open(seq.frames[0]) as first:
                self.valid.append(valid_frames(seq, first.size))
        self.usable = [i for i, v in enumerate(self.valid) if len(v) >= 2]
        if not self.usable:
            raise VidkitError(
                "no training sequence has 2 frames whose boxes pass SiamFC's filter (sides 20-500 px, "
                "at most half the image, aspect 0.25-4)"
            )

    def __len__(self) -> int:
        return len(self.sequences) * self.config.pairs_per_sequence

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((image.astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1).copy())

    def _view(self, rng, image, box, out: int, side_factor: float, shift: float):
        """One randomly stretched, shifted and flipped crop; returns it and the target's offset (px, output frame)."""
        fill = image.reshape(-1, 3).mean(0)
        side = context_side(box[2], box[3], self.config.context) * side_factor
        sides = side * (1 + rng.uniform(-self.config.stretch, self.config.stretch, 2))
        offset = _laplace_shift(rng) * shift * side  # the crop's centre moves by this; the target by minus it
        view = crop(image, box_centre(box) + offset, sides, out, fill)
        target = -offset * out / sides  # (dx, dy) of the target from the output's centre
        if rng.random() < 0.5:
            view, target = view[:, ::-1], target * np.array([-1.0, 1.0])
        return view, target

    def __getitem__(self, item) -> dict[str, torch.Tensor]:
        index, epoch = item if isinstance(item, tuple) else (item, 0)
        rng = sample_rng(self.seed, epoch, index)
        s = index % len(self.sequences)
        if len(self.valid[s]) < 2:
            s = int(rng.choice(self.usable))
        seq = self.sequences[s]
        zi, xi = sample_pair(rng, self.valid[s], self.config.max_gap)
        cfg = self.config
        z, _ = self._view(rng, read_rgb(seq.frames[zi]), seq.boxes[zi], cfg.exemplar_sz, 1.0, cfg.shift_exemplar)
        ratio = self.search_sz / cfg.exemplar_sz
        x, target = self._view(rng, read_rgb(seq.frames[xi]), seq.boxes[xi], self.search_sz, ratio, cfg.shift_search)
        cells = target / self.stride  # (dx, dy) in response cells
        c = (self.response_sz - 1) / 2
        return {
            "z": self._tensor(z),
            "x": self._tensor(x),
            "label": torch.from_numpy(label_map(self.response_sz, cells, cfg.positive_radius)),
            "centre": torch.tensor([c + cells[1], c + cells[0]], dtype=torch.float32),
        }
