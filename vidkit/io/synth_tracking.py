"""Toy tracking sequences: a textured object moving and changing size over a textured background.

What `vidkit synth --tracking` writes, so that SiamFC tracking (vince.md 6.3-6.4) trains and scores
on CPU in minutes with no download. Each sequence draws one object, a block texture of saturated
colours, over a smooth random background scattered with static patches of the same kind of texture
(distractors, so that colour alone does not track it). The object moves at constant speed and
bounces off the frame's edges, and its size breathes by up to +-20% with a random period, so a
tracker must follow both position and scale; a box that stays where the first frame put it (the
centre-prior baseline) loses it within a few frames.

Layouts (`vidkit.io.tracking` reads both):
- `OUT/got10k/train/<seq>/00000001.jpg ...`, `groundtruth.txt`, `list.txt`: the training sequences;
- `OUT/got10k/val/...` and `OUT/otb/<seq>/img/0001.jpg ...`, `groundtruth_rect.txt`: the held-out
  sequences, the same ones in both layouts (GOT-10k boxes 0-based, OTB's 1-based, as the benchmarks).
Object sides stay between 20 px and half the frame, so that every frame passes SiamFC's pair filter.
The same seed gives byte-identical files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidkit.errors import UsageError
from vidkit.io.atomic import atomic_path
from vidkit.io.image import encode_image
from vidkit.io.tracking import write_boxes

MIN_SIDE = 20  # SiamFC's pair filter keeps boxes with both sides >= 20 px (vince.md 6.4)


@dataclass(frozen=True)
class TrackingSynthConfig:
    train: int = 8  # training sequences (GOT-10k layout)
    test: int = 4  # held-out sequences (OTB and GOT-10k val layouts)
    frames: int = 32
    size: int = 128  # frame width and height
    seed: int = 0


@dataclass
class TrackingSynthResult:
    otb: Path
    got10k: Path
    train: int
    test: int
    frames: int

    def summary(self) -> dict:
        return {
            "otb": str(self.otb),
            "got10k": str(self.got10k),
            "train": self.train,
            "test": self.test,
            "frames": self.frames,
        }


def _texture(rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    """A `cells x cells` block pattern of saturated colours, `uint8 (cells, cells, 3)`."""
    hue = rng.integers(0, 180, (cells, cells, 1))
    sat_val = rng.integers(160, 256, (cells, cells, 2))
    hsv = np.concatenate([hue, sat_val], axis=-1).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def _paste(frame: np.ndarray, texture: np.ndarray, x: int, y: int, w: int, h: int) -> None:
    frame[y : y + h, x : x + w] = cv2.resize(texture, (w, h), interpolation=cv2.INTER_NEAREST)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth muted noise plus fine grain, with a few static textured patches."""
    coarse = rng.integers(40, 200, (size // 16 + 2, size // 16 + 2, 3)).astype(np.uint8)
    frame = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    frame += rng.integers(-12, 13, (size, size, 3), dtype=np.int16)
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    for _ in range(3):
        side = int(rng.integers(10, 22))
        x, y = (int(v) for v in rng.integers(0, size - side, 2))
        _paste(frame, _texture(rng, 3), x, y, side, side)
    return frame


def sequence_boxes(rng: np.random.Generator, frames: int, size: int) -> np.ndarray:
    """Integer boxes `(frames, 4)`, 0-based x, y, w, h, always inside the frame: a bouncing, breathing object."""
    base = rng.uniform(26, 36)
    aspect = rng.uniform(0.8, 1.25)
    period, phase = rng.uniform(16, 40), rng.uniform(0, 2 * math.pi)
    angle, speed = rng.uniform(0, 2 * math.pi), rng.uniform(1.5, 3.5)
    velocity = np.array([math.cos(angle), math.sin(angle)]) * speed
    centre = rng.uniform(0.3 * size, 0.7 * size, 2)
    boxes = np.zeros((frames, 4), dtype=np.int64)
    for t in range(frames):
        scale = 1.0 + 0.2 * math.sin(2 * math.pi * t / period + phase)
        w = int(np.clip(round(base * math.sqrt(aspect) * scale), MIN_SIDE, size // 2))
        h = int(np.clip(round(base / math.sqrt(aspect) * scale), MIN_SIDE, size // 2))
        for axis, side in ((0, w), (1, h)):  # bounce off the edges
            low, high = side / 2, size - side / 2
            if centre[axis] < low or centre[axis] > high:
                velocity[axis] = -velocity[axis]
                centre[axis] = np.clip(centre[axis], low, high)
        x = int(np.clip(round(centre[0] - w / 2), 0, size - w))
        y = int(np.clip(round(centre[1] - h / 2), 0, size - h))
        boxes[t] = (x, y, w, h)
        centre = centre + velocity
    return boxes


def render_sequence(seed: tuple[int, ...], frames: int, size: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The frames (`uint8 (size, size, 3)` BGR) and 0-based integer boxes of one sequence."""
    rng = np.random.default_rng(seed)
    background = _background(rng, size)
    texture = _texture(rng)
    boxes = sequence_boxes(rng, frames, size)
    images = []
    for x, y, w, h in boxes:
        frame = background.copy()
        _paste(frame, texture, int(x), int(y), int(w), int(h))
        images.append(frame)
    return images, boxes


def _write_jpeg(path: Path, image: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(encode_image(image, "jpeg", quality=90))


def make_tracking(out_dir: Path, config: TrackingSynthConfig) -> TrackingSynthResult:
    """Write the training sequences (GOT-10k `train`) and the held-out ones (GOT-10k `val` and OTB).

    Raises:
        UsageError: frames too small for 20-px objects, or fewer than 2 frames.
    """
    if config.size < 96:
        raise UsageError(
            f"--size {config.size} is too small for tracking sequences; use 96 or more (128 is the default)"
        )
    if config.frames < 2:
        raise UsageError("tracking sequences need at least 2 frames")
    out_dir = Path(out_dir)
    otb, got = out_dir / "otb", out_dir / "got10k"
    for split, count, code in (("train", config.train, 0), ("val", config.test, 1)):
        names = [f"synth_{split}_{i:03d}" for i in range(count)]
        for i, name in enumerate(names):
            images, boxes = render_sequence((config.seed, code, i), config.frames, config.size)
            folder = got / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for t, image in enumerate(images):
                _write_jpeg(folder / f"{t + 1:08d}.jpg", image)
            write_boxes(folder / "groundtruth.txt", boxes, one_based=False)
            if split == "val":
                seq = otb / name.replace("synth_val", "Synth")
                (seq / "img").mkdir(parents=True, exist_ok=True)
                for t, image in enumerate(images):
                    _write_jpeg(seq / "img" / f"{t + 1:04d}.jpg", image)
                write_boxes(seq / "groundtruth_rect.txt", boxes, one_based=True)
        (got / split).mkdir(parents=True, exist_ok=True)
        with atomic_path(got / split / "list.txt") as tmp:
            tmp.write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    otb.mkdir(parents=True, exist_ok=True)
    return TrackingSynthResult(otb, got, config.train, config.test, config.frames)
