"""Clips for instance recognition and local aggregation (Video LA, Tokmakov et al. ECCV-W 2020; video_la_idt.md 7.2).

Item `i` is one random clip of video `videos[i]`, and `i` is that video's memory-bank row. As the
Video LA code samples (its spatial parameters drawn once per clip, applied to every frame):
- `clip_len` consecutive frames from a uniform start; a video shorter than the clip is looped;
- a square crop of side `short side x scale`, scale one of `MULTI_SCALES` (steps of 2^-1/4), its
  corner uniform over the free range, resized to `size` (bilinear);
- greyscale with p 0.2 (luminance, torchvision's `RandomGrayscale`), colour jitter (brightness,
  contrast, saturation in [0.6, 1.4], hue in [-0.4, 0.4], random order), horizontal flip p 0.5;
- values in [0, 1] minus the recipe's mean, divided by its std (Video LA: ActivityNet mean, std 1).
NOTE: the Video LA loader never picked the last valid start (`TemporalRandomCrop`'s off-by-one,
video_la_idt.md 10.23); every start is possible here.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from vidkit.data import sampling, transforms
from vidkit.data.datasets import VideoSamples
from vidkit.io.frame_store import FrameStore

# Side of the square crop as a fraction of the short side (Hara's MultiScaleCornerCrop scales, 2^(-k/4)).
MULTI_SCALES = (1.0, 0.84089641525, 0.70710678118, 0.59460355750, 0.5)


def looped_clip(n_frames: int, clip_len: int, rng: np.random.Generator) -> np.ndarray:
    """Frame indices of `clip_len` consecutive frames from a uniform start; a short video is looped."""
    start = sampling.random_start(n_frames, clip_len, rng)
    return (start + np.arange(clip_len)) % n_frames


def square_crop_box(h: int, w: int, scale: float, rng: np.random.Generator) -> tuple[int, int, int]:
    """`(top, left, side)` of a square of side `scale * min(h, w)`, placed uniformly."""
    side = max(1, int(min(h, w) * scale))
    return int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1)), side


class InstanceClipDataset(VideoSamples):
    """One augmented clip per video and its bank row: `{"clip": (C, T, S, S), "index": ()}`."""

    def __init__(
        self,
        store: FrameStore,
        videos: np.ndarray,
        *,
        clip_len: int,
        size: int,
        seed: int,
        mean,
        std,
        grey: float = 0.2,
        jitter: float = 0.4,
        hue: float = 0.4,
        flip: bool = True,
        scales: tuple[float, ...] = MULTI_SCALES,
    ):
        self.store, self.videos = store, np.asarray(videos, dtype=np.int64)
        self.clip_len, self.size, self.seed, self.mean, self.std = clip_len, size, seed, mean, std
        self.grey, self.jitter, self.hue, self.flip, self.scales = grey, jitter, hue, flip, scales

    def __getitem__(self, item: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, video, rng = self.draw(item)
        frames = transforms.to_float(
            self.store.read_frames(video, looped_clip(self.store.n_frames(video), self.clip_len, rng))
        )  # (T, C, H, W)
        scale = self.scales[int(rng.integers(len(self.scales)))]
        top, left, side = square_crop_box(*frames.shape[-2:], scale, rng)
        x = transforms.resize_to(frames[..., top : top + side, left : left + side], (self.size, self.size))
        if rng.random() < self.grey:
            x = TF.rgb_to_grayscale(x, num_output_channels=3)
        if self.jitter or self.hue:
            x = transforms.Jitter.draw(rng, strength=self.jitter, hue=self.hue)(x)
        if self.flip and rng.random() < 0.5:
            x = x.flip(-1)
        clip = transforms.tchw_to_cthw(transforms.normalize(x, self.mean, self.std))
        return {"clip": clip, "index": torch.tensor(index)}
