"""Named augmentation presets of the contrastive image methods (vince.md 2.6), drawn per image.

Each preset is the recipe of one paper, as VINCE's code ran it, with two of its quirks fixed by
default (vince.md 9 item 9):
- blur is applied to pixels in [0, 1], before normalisation (the seed blurred the normalised tensor);
- colour jitter is applied with p 0.8 where the original paper did so (SimCLR, Chen et al. 2020,
  arXiv:2002.05709; MoCo v2, arXiv:2003.04297); the seed always applied it. MoCo v2's jitter
  comes before greyscale, with hue 0.1, as in MoCo v2's code (the seed: grey first, hue 0.4).
The recipes the seed invented itself (`standard`, `jigsaw`) and MoCo v1's (which jittered always)
keep p 1.

Every random parameter comes from the numpy generator given (the dataset's per-sample rng, see
`data.datasets.sample_rng`), so a sample is a function of (seed, epoch, index) and a resumed run
sees the same images; the operations themselves are torchvision's (`transforms.v2.functional`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from vidkit.data import transforms


@dataclass(frozen=True)
class Augmentation:
    """One preset's parameters (torchvision's meanings: RandomResizedCrop, ColorJitter, ...)."""

    scale: tuple[float, float]  # RandomResizedCrop area fraction
    ratio: tuple[float, float] = (3 / 4, 4 / 3)  # its aspect-ratio range
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.2)  # brightness, contrast, saturation, hue
    jitter_p: float = 1.0
    grey_p: float = 0.2
    grey_first: bool = False  # greyscale before the jitter (the seed's MoCo v2 order)
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    flip: bool = True


PRESETS: dict[str, Augmentation] = {
    # VINCE R18 and single-frame R2V2 (the seed's StandardVideoTransform).
    "standard": Augmentation(scale=(0.2, 1.0)),
    # VINCE R50 (SimCLR's strength-1 jitter, blur); crop scale 0.2-1 as the seed.
    "simclr": Augmentation(scale=(0.2, 1.0), jitter=(0.8, 0.8, 0.8, 0.2), jitter_p=0.8, blur_p=0.5),
    # MoCo v1 as the seed ran it (crop scale 0.08-1, jitter always).
    "moco-v1": Augmentation(scale=(0.08, 1.0)),
    # MoCo v2's own recipe (jitter p 0.8 then grey, hue 0.1, blur p 0.5).
    "moco-v2": Augmentation(scale=(0.2, 1.0), jitter=(0.4, 0.4, 0.4, 0.1), jitter_p=0.8, blur_p=0.5),
    # PIRL/jigsaw inputs (225 px, cut into 3x3 tiles by the method).
    "jigsaw": Augmentation(scale=(0.7, 1.0), jitter=(0.8, 0.8, 0.8, 0.2), blur_p=0.5),
    # Not a paper's: crop (area 0.5-1) and flip only, vidkit's toy-scale recipe. On the synth
    # class-shapes store colour jitter and grey leave a small net's loss at chance over a few hundred
    # CPU steps (docs/methods.md, Toy-scale claims); at full scale use the papers' presets.
    "crop": Augmentation(scale=(0.5, 1.0), jitter_p=0.0, grey_p=0.0),
}
AUGMENTATIONS = tuple(PRESETS)  # the names the methods' `augmentation` options accept


def preset(name: str) -> Augmentation:
    if name not in PRESETS:
        raise ValueError(f"unknown augmentation {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def crop_params(
    h: int, w: int, scale: tuple[float, float], ratio: tuple[float, float], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """`(top, left, height, width)` of a random resized crop (the algorithm of torchvision's
    `RandomResizedCrop.get_params`: 10 tries at a random area and log-uniform aspect, then the
    central crop of the nearest allowed aspect), drawn from `rng`."""
    area = h * w
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        cw, ch = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1)), ch, cw
    aspect = w / h
    if aspect < ratio[0]:
        cw, ch = w, round(w / ratio[0])
    elif aspect > ratio[1]:
        ch, cw = h, round(h * ratio[1])
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def blur_kernel(size: int) -> int:
    """The seed's kernel size: a tenth of the input size, rounded up to odd (23 at 224 px)."""
    k = max(size // 10, 1)
    return k if k % 2 else k + 1


def _jitter(x: torch.Tensor, strengths, rng: np.random.Generator) -> torch.Tensor:
    """torchvision ColorJitter with per-factor strengths, its four operations in a random order."""
    b, c, s, hue = strengths
    factors = [float(rng.uniform(max(0.0, 1 - v), 1 + v)) for v in (b, c, s)]
    shift = float(rng.uniform(-hue, hue))
    ops = (
        lambda y: TF.adjust_brightness(y, factors[0]),
        lambda y: TF.adjust_contrast(y, factors[1]),
        lambda y: TF.adjust_saturation(y, factors[2]),
        lambda y: TF.adjust_hue(y, shift),
    )
    for i in rng.permutation(4):
        x = ops[int(i)](x)
    return x.clamp(0.0, 1.0)


def _grey(x: torch.Tensor) -> torch.Tensor:
    return TF.rgb_to_grayscale(x, num_output_channels=3)


def augment(frame: torch.Tensor, recipe: Augmentation, size: int, rng: np.random.Generator, mean, std) -> torch.Tensor:
    """One augmented view `(3, size, size)`, normalised, of a float frame `(3, H, W)` in [0, 1]."""
    h, w = frame.shape[-2:]
    top, left, ch, cw = crop_params(h, w, recipe.scale, recipe.ratio, rng)
    x = TF.resized_crop(frame, top, left, ch, cw, [size, size], antialias=True).clamp(0.0, 1.0)  # (3, S, S)
    if recipe.grey_first and rng.random() < recipe.grey_p:
        x = _grey(x)
    if rng.random() < recipe.jitter_p:
        x = _jitter(x, recipe.jitter, rng)
    if not recipe.grey_first and rng.random() < recipe.grey_p:
        x = _grey(x)
    if recipe.blur_p and rng.random() < recipe.blur_p:
        sigma = float(rng.uniform(*recipe.blur_sigma))
        k = blur_kernel(size)
        x = TF.gaussian_blur(x, [k, k], [sigma, sigma])
    if recipe.flip and rng.random() < 0.5:
        x = x.flip(-1)
    return transforms.normalize(x, mean, std)
