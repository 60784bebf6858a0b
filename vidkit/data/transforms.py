"""Frame and clip transforms on tensors. Random parameters are drawn once per sample, from an explicit rng.

Drawing once and applying to every frame of a clip is what keeps a clip's frames aligned: the IIC
code drew a new crop per frame on PyTorch >= 1.7 (iic.md), which this layout rules out.
Layouts: decoded frames are `uint8 (T, H, W, C)`; model input is `float (C, T, H, W)` per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from torchvision.transforms.v2 import functional as TF


def to_float(frames: np.ndarray) -> torch.Tensor:
    """`uint8 (T, H, W, C)` -> `float (T, C, H, W)` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)


def tchw_to_cthw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(1, 0, 2, 3).contiguous()


def resize_square(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize `(T, C, H, W)` to `size x size` (aspect not kept, as TCE feeds frames)."""
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def resize_center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize the short side to `size`, then take the central `size x size` (evaluation)."""
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    x = F.interpolate(
        x,
        size=(max(size, round(h * scale)), max(size, round(w * scale))),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top : top + size, left : left + size]


def resize_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize `(T, C, H, W)` to exactly `size = (h, w)` (aspect not kept: IIC's 128x171)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)


def crop_box(h: int, w: int, size: int, rng: np.random.Generator | None) -> tuple[int, int]:
    """Top-left corner of a `size x size` crop: uniformly random, or central when `rng` is None."""
    if h < size or w < size:
        raise ValueError(f"cannot crop {size}x{size} from {h}x{w}")
    if rng is None:
        return (h - size) // 2, (w - size) // 2
    return int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))


def crop(x: torch.Tensor, box: tuple[int, int], size: int) -> torch.Tensor:
    top, left = box
    return x[..., top : top + size, left : left + size]


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """Channel-wise `(x - mean) / std` on `(T, C, H, W)` (or `(C, H, W)`)."""
    shape = (-1, 1, 1)
    return (x - torch.tensor(mean).view(shape)) / torch.tensor(std).view(shape)


@dataclass(frozen=True)
class Jitter:
    """Colour-jitter factors and their order, drawn once (torchvision ColorJitter's ranges)."""

    brightness: float
    contrast: float
    saturation: float
    hue: float
    order: tuple[int, ...]

    @classmethod
    def draw(cls, rng: np.random.Generator, strength: float = 0.5, hue: float = 0.25) -> Jitter:
        b, c, s = rng.uniform(1 - strength, 1 + strength, 3)
        return cls(
            float(b), float(c), float(s), float(rng.uniform(-hue, hue)), tuple(int(i) for i in rng.permutation(4))
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        ops = (
            lambda y: TF.adjust_brightness(y, self.brightness),
            lambda y: TF.adjust_contrast(y, self.contrast),
            lambda y: TF.adjust_saturation(y, self.saturation),
            lambda y: TF.adjust_hue(y, self.hue),
        )
        for i in self.order:
            x = ops[i](x)
        return x.clamp_(0.0, 1.0)


def random_grey(x: torch.Tensor, rng: np.random.Generator, p: float = 0.5) -> torch.Tensor:
    """With probability p, copy one random colour channel to all three (TCE's "random grey")."""
    if rng.random() >= p:
        return x
    channel = int(rng.integers(3))
    return x[..., channel : channel + 1, :, :].expand_as(x).clone()


def rotate90(x: torch.Tensor, k: int) -> torch.Tensor:
    """Rotate `(..., H, W)` by `k * 90` degrees counter-clockwise (the rotation pretext task)."""
    return torch.rot90(x, k, dims=(-2, -1))
