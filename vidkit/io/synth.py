"""Labelled toy action videos whose classes differ by motion (and, on request, by shape).

Every video shows one random shape (random colour, size, start position and orientation) on a
random textured background; its class is how the shape moves: translate in one of eight
directions, rotate clockwise or counter-clockwise, grow or shrink. Start states are drawn so that
any single frame is equally likely under every class: only the order of frames tells the classes
apart, which is exactly what a video representation must learn and an image one cannot.

With `class_shapes` each class also draws its own shape (class c, shape c of `SHAPES`), while
colour, background, size, position and orientation stay random. A single frame then tells the
classes apart by shape alone, so image (single-frame) methods such as VINCE and MoCo have
something to learn and be measured on; the colours and textures that a random-init network mostly
sees carry no class. The shape is drawn from the generator either way, so the default videos are
the same bytes as before the option existed.

The output copies UCF101's layout (`videos/<Class>/v_<Class>_gNN_cNN.mp4`,
`splits/{classInd,trainlist01,testlist01}.txt`), so it goes through the same annotation parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from vidkit.errors import VidkitError
from vidkit.io.atomic import atomic_path

# (name, dx, dy, spin, growth): per-frame displacement as a fraction of the frame size, rotation
# in degrees per frame, and relative size change per frame.
MOTIONS: tuple[tuple[str, float, float, float, float], ...] = (
    ("MoveLeft", -1, 0, 0, 0),
    ("MoveRight", 1, 0, 0, 0),
    ("MoveUp", 0, -1, 0, 0),
    ("MoveDown", 0, 1, 0, 0),
    ("RotateClockwise", 0, 0, 1, 0),
    ("RotateCounterClockwise", 0, 0, -1, 0),
    ("Grow", 0, 0, 0, 1),
    ("Shrink", 0, 0, 0, -1),
    ("MoveUpLeft", -0.7071, -0.7071, 0, 0),
    ("MoveUpRight", 0.7071, -0.7071, 0, 0),
    ("MoveDownLeft", -0.7071, 0.7071, 0, 0),
    ("MoveDownRight", 0.7071, 0.7071, 0, 0),
)
MAX_CLASSES = len(MOTIONS)
FPS = 25

# Filled polygons in a unit box ([-1, 1]^2, pointing along +x at angle 0), one per class for
# `class_shapes`. None maps onto itself under any rotation short of a full turn, so rotation stays
# visible; the first three are the shapes every default video picks from.
SHAPES: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = (
    ("arrow", ((1.0, 0.0), (0.2, 0.5), (0.2, 0.2), (-1.0, 0.2), (-1.0, -0.2), (0.2, -0.2), (0.2, -0.5))),
    ("notched rectangle", ((-1.0, -0.6), (1.0, -0.6), (1.0, 0.6), (0.2, 0.6), (0.0, 0.1), (-0.2, 0.6), (-1.0, 0.6))),
    ("triangle", ((1.0, 0.0), (-0.8, 0.6), (-0.8, -0.6))),
    ("L", ((-1.0, -1.0), (-0.3, -1.0), (-0.3, 0.3), (1.0, 0.3), (1.0, 1.0), (-1.0, 1.0))),
    ("T", ((1.0, -0.9), (1.0, 0.9), (0.5, 0.9), (0.5, 0.25), (-1.0, 0.25), (-1.0, -0.25), (0.5, -0.25), (0.5, -0.9))),
    (
        "offset cross",
        (
            (-1.0, -0.2),
            (0.2, -0.2),
            (0.2, -0.7),
            (0.6, -0.7),
            (0.6, -0.2),
            (1.0, -0.2),
            (1.0, 0.2),
            (0.6, 0.2),
            (0.6, 0.7),
            (0.2, 0.7),
            (0.2, 0.2),
            (-1.0, 0.2),
        ),
    ),
    ("chevron", ((1.0, 0.0), (-1.0, 0.9), (-0.4, 0.0), (-1.0, -0.9))),
    (
        "bullet",
        tuple((0.2 + 0.8 * np.cos(a), 0.9 * np.sin(a)) for a in np.linspace(-np.pi / 2, np.pi / 2, 9))
        + ((-1.0, 0.9), (-1.0, -0.9)),
    ),
    ("flag", ((-1.0, -1.0), (-0.7, -1.0), (-0.7, 0.1), (1.0, 0.55), (-0.7, 1.0), (-1.0, 1.0))),
    ("right trapezoid", ((-1.0, -0.7), (1.0, -0.7), (0.2, 0.7), (-1.0, 0.7))),
    (
        "U",
        ((-1.0, -0.8), (1.0, -0.8), (1.0, 0.8), (0.45, 0.8), (0.45, -0.25), (-0.45, -0.25), (-0.45, 0.8), (-1.0, 0.8)),
    ),
    ("bolt", ((-0.2, -1.0), (0.6, -1.0), (0.1, -0.15), (0.7, -0.15), (-0.5, 1.0), (-0.1, 0.2), (-0.6, 0.2))),
)


@dataclass(frozen=True)
class SynthConfig:
    """What `vidkit synth` makes; the defaults give a dataset of 96 short videos in a few seconds."""

    classes: int = 8
    train_per_class: int = 8
    test_per_class: int = 4
    frames: int = 32
    size: int = 64
    seed: int = 0
    class_shapes: bool = False  # class c draws shape c of SHAPES (else a random one of the first three)


@dataclass(frozen=True)
class SynthResult:
    videos_dir: Path
    splits_dir: Path
    classes: list[str]
    train: int
    test: int

    def summary(self) -> dict:
        return {
            "videos": str(self.videos_dir),
            "splits": str(self.splits_dir),
            "classes": len(self.classes),
            "train": self.train,
            "test": self.test,
        }


def render_video(motion: int, frames: int, size: int, rng: np.random.Generator, shape: int | None = None) -> np.ndarray:
    """Render one video of class `motion`: `uint8 (frames, size, size, 3)` RGB.

    The whole path (start state plus `frames` steps of motion) stays inside the frame, and the
    start state is drawn uniformly over the states from which that path is possible, so a single
    frame does not reveal the direction of motion. `shape` indexes `SHAPES`; None draws one of the
    first three at random.
    """
    _, dx, dy, spin, growth = MOTIONS[motion]
    background = _background(size, rng)
    colour = _bright_colour(rng)
    # Drawn even when `shape` is given, so that every later draw (size, position, angle) is the same
    # as in the default videos: a fixed shape changes the shape and nothing else.
    kind = int(rng.integers(0, 3))
    if shape is not None:
        kind = shape
    angle0 = float(rng.uniform(0, 360))
    speed = size * 0.5 / max(frames - 1, 1)  # the shape crosses half the frame in one video
    radius_lo, radius_hi = size * 0.10, size * 0.22
    if growth:
        # Grow from r0 to r1 (or back): draw both ends from the same range so neither end is special.
        r_a = rng.uniform(radius_lo * 0.7, radius_lo * 1.2)
        r_b = rng.uniform(radius_hi, radius_hi * 1.3)
        radii = np.geomspace(r_a, r_b, frames) if growth > 0 else np.geomspace(r_b, r_a, frames)
    else:
        radii = np.full(frames, rng.uniform(radius_lo, radius_hi))
    margin = float(radii.max())
    travel_x, travel_y = dx * speed * (frames - 1), dy * speed * (frames - 1)
    x0 = rng.uniform(margin + max(0.0, -travel_x), size - margin - max(0.0, travel_x))
    y0 = rng.uniform(margin + max(0.0, -travel_y), size - margin - max(0.0, travel_y))
    # A quarter turn per video: with half a turn, both directions would end in the same pose.
    spin_per_frame = spin * 90.0 / max(frames - 1, 1)
    video = np.empty((frames, size, size, 3), dtype=np.uint8)
    for t in range(frames):
        frame = background.copy()
        centre = (x0 + dx * speed * t, y0 + dy * speed * t)
        _draw_shape(frame, kind, centre, float(radii[t]), angle0 + spin_per_frame * t, colour)
        video[t] = frame
    return video


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random texture: coarse noise upsampled, so that every video looks different."""
    # Muted (values 40-150) so that the saturated shape always stands out.
    coarse = rng.integers(40, 150, (4, 4, 3), dtype=np.uint8)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_LINEAR)


def _bright_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    hsv = np.array([[[rng.integers(0, 180), 255, rng.integers(220, 256)]]], dtype=np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _draw_shape(frame: np.ndarray, kind: int, centre, radius: float, angle: float, colour) -> None:
    unit = np.array(SHAPES[kind][1], dtype=np.float64)
    theta = np.deg2rad(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    points = unit @ rotation.T * radius + np.asarray(centre)
    # Sub-pixel precision (shift=4) keeps slow motion smooth instead of jumping pixel by pixel.
    cv2.fillPoly(frame, [np.round(points * 16).astype(np.int32)], colour, lineType=cv2.LINE_AA, shift=4)


def write_video(path: Path, video: np.ndarray, fps: int = FPS) -> None:
    """Encode `uint8 (T, H, W, 3)` RGB frames as H.264 (yuv420p, near-lossless CRF 12)."""
    height, width = video.shape[1:3]
    if height % 2 or width % 2:
        raise VidkitError(f"H.264 needs even frame sizes, got {width}x{height}")
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # mbtree off: with it, x264's assembly gave some videos different bytes on every other
        # call (decoded frames off by up to 29 levels), which made toy runs of one seed differ.
        stream.options = {"crf": "12", "preset": "veryfast", "x264-params": "mbtree=0"}
        for image in video:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_dataset(out_dir: Path, config: SynthConfig = SynthConfig()) -> SynthResult:
    """Write a UCF101-style toy dataset under `out_dir` (see the module docstring).

    Videos of the same seed are identical; with `class_shapes` class c draws `SHAPES[c]`. An
    existing file of the right name is kept, so a killed run finishes where it stopped.

    Raises:
        VidkitError: an impossible configuration (too many classes, odd size, no frames).
    """
    if not 1 <= config.classes <= MAX_CLASSES:
        raise VidkitError(f"--classes must be between 1 and {MAX_CLASSES}, got {config.classes}")
    if config.size < 16 or config.size % 2:
        raise VidkitError(f"--size must be an even number of at least 16 pixels, got {config.size}")
    if config.frames < 2:
        raise VidkitError(f"--frames must be at least 2, got {config.frames}")
    if config.train_per_class < 0 or config.test_per_class < 0:
        raise VidkitError("--train-per-class and --test-per-class cannot be negative")
    videos_dir, splits_dir = out_dir / "videos", out_dir / "splits"
    splits_dir.mkdir(parents=True, exist_ok=True)
    names = [m[0] for m in MOTIONS[: config.classes]]
    train_lines, test_lines = [], []
    per_class = config.test_per_class + config.train_per_class
    for label, name in enumerate(names):
        (videos_dir / name).mkdir(parents=True, exist_ok=True)
        for group in range(1, per_class + 1):
            # Test groups come first, as in UCF101 split 1 (groups 1-7 are the test set).
            relative = f"{name}/v_{name}_g{group:02d}_c01.mp4"
            path = videos_dir / relative
            if not path.exists():
                rng = np.random.default_rng([config.seed, label, group])
                shape = label if config.class_shapes else None
                write_video(path, render_video(label, config.frames, config.size, rng, shape=shape))
            if group <= config.test_per_class:
                test_lines.append(relative)
            else:
                train_lines.append(f"{relative} {label + 1}")
    _write_lines(splits_dir / "classInd.txt", [f"{i + 1} {n}" for i, n in enumerate(names)])
    _write_lines(splits_dir / "trainlist01.txt", train_lines)
    _write_lines(splits_dir / "testlist01.txt", test_lines)
    return SynthResult(videos_dir, splits_dir, names, len(train_lines), len(test_lines))


def _write_lines(path: Path, lines: list[str]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines))
