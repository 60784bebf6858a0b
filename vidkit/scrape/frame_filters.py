"""The frame tests R2V2 caching applies, as pure functions of `uint8 (H, W, 3)` frames.

They follow the VINCE seed's `VideoCacherDataset` (reference notes, section 4.3):

- near-duplicates: a frame is kept only if at least 10% of its pixels differ by more than 10
  intensity levels from the last kept frame;
- content (the "Laplacian edge test"): on a 256x256 copy, a 3x3 Laplacian per channel, maximum
  absolute response over channels; a pixel is an edge above 3; frames with at most 10% edge
  pixels are blank or blurry and dropped;
- letterbox: rows and columns at the edges that are dark (< 10) or flat across all sampled frames
  are cropped, with one crop for the whole video;
- shots (optional): the edge change ratio between consecutive frames [0]; a ratio above the
  threshold starts a new shot.

[0] Zabih, Miller, Mai, "A feature-based algorithm for detecting and classifying scene breaks", 1995.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The seed's thresholds, named once.
CHANGE_LEVEL = 10  # intensity levels a pixel must change by to count as changed
MIN_CHANGED = 0.10  # fraction of changed pixels that makes a frame new
EDGE_LEVEL = 3  # Laplacian response that makes a pixel an edge
MIN_EDGES = 0.10  # fraction of edge pixels a frame needs to have content
DARK_LEVEL = 10  # a border row/column darker than this everywhere is letterbox
FLAT_RANGE = 6  # ... or one whose values span at most this many levels (a flat coloured bar)
CONTENT_SIZE = 256  # the content test runs on a square copy of this size, as the seed's did


@dataclass(frozen=True)
class Box:
    """A crop: rows `top:bottom`, columns `left:right`."""

    top: int
    bottom: int
    left: int
    right: int

    def apply(self, image: np.ndarray) -> np.ndarray:
        return image[self.top : self.bottom, self.left : self.right]

    @property
    def size(self) -> tuple[int, int]:
        return self.bottom - self.top, self.right - self.left


def changed_fraction(a: np.ndarray, b: np.ndarray, level: int = CHANGE_LEVEL) -> float:
    """Fraction of pixels whose largest channel difference between `a` and `b` exceeds `level`."""
    diff = cv2.absdiff(a, b)  # (H, W, 3)
    return float(((diff.max(axis=2) if diff.ndim == 3 else diff) > level).mean())


def edge_fraction(image: np.ndarray, level: int = EDGE_LEVEL) -> float:
    """Fraction of edge pixels: 3x3 Laplacian per channel on a 256x256 copy, max |response| > `level`."""
    small = cv2.resize(image, (CONTENT_SIZE, CONTENT_SIZE), interpolation=cv2.INTER_AREA)
    response = np.abs(cv2.Laplacian(small, cv2.CV_16S, ksize=1))  # ksize=1 is the 3x3 [0 1 0; 1 -4 1; 0 1 0]
    return float(((response.max(axis=2) if response.ndim == 3 else response) > level).mean())


def letterbox(frames: list[np.ndarray], dark: int = DARK_LEVEL, flat: int = FLAT_RANGE) -> Box:
    """The crop that removes letterbox/pillarbox bars, judged over all `frames` (same size).

    A row (column) is a bar when, over all frames, it is darker than `dark` on average or all but
    1% of its values lie within `flat` levels (a flat bar of any colour); averages and percentiles
    rather than extremes, so that the codec's ringing next to the picture does not hide a bar. Bars
    are removed from the edges inward only. When every row or column is a bar (a
    blank video), nothing is cropped: the content test drops such frames with the right reason.
    """
    stack = np.stack(frames)  # (T, H, W, 3)
    grey = stack.max(axis=3) if stack.ndim == 4 else stack  # (T, H, W): a coloured bar is not dark

    def bars(axis: int) -> np.ndarray:
        # axis 2 reduces over columns (one answer per row), axis 1 over rows (one per column)
        mean = grey.mean(axis=(0, axis))
        high, low = np.percentile(grey, [99, 1], axis=(0, axis))
        return (mean < dark) | (high - low <= flat)

    rows, cols = bars(2), bars(1)
    if rows.all() or cols.all():
        return Box(0, grey.shape[1], 0, grey.shape[2])
    top, bottom = int(np.argmin(rows)), len(rows) - int(np.argmin(rows[::-1]))
    left, right = int(np.argmin(cols)), len(cols) - int(np.argmin(cols[::-1]))
    return Box(top, bottom, left, right)


def edge_change_ratio(a: np.ndarray, b: np.ndarray, radius: int = 2) -> float:
    """Edge change ratio between two frames: the larger of the fractions of edges entering and leaving."""
    edges = [cv2.Canny(cv2.cvtColor(x, cv2.COLOR_BGR2GRAY) if x.ndim == 3 else x, 100, 200) > 0 for x in (a, b)]
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    near = [cv2.dilate(e.astype(np.uint8), kernel) > 0 for e in edges]
    count_a, count_b = int(edges[0].sum()), int(edges[1].sum())
    if count_a == 0 and count_b == 0:
        return 0.0
    leaving = (edges[0] & ~near[1]).sum() / max(count_a, 1)
    entering = (edges[1] & ~near[0]).sum() / max(count_b, 1)
    return float(max(leaving, entering))


def shot_ids(frames: list[np.ndarray], threshold: float) -> list[int]:
    """A shot number per frame: a new shot starts where the edge change ratio exceeds `threshold`."""
    ids = [0]
    for previous, current in zip(frames, frames[1:]):
        ids.append(ids[-1] + (edge_change_ratio(previous, current) > threshold))
    return ids


def cap_size(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Shrink `image` so that its longer side is at most `max_side` (aspect kept); never enlarge.

    NOTE: the seed's helper did the opposite (it enlarged small frames and left large ones alone).
    """
    if max_side is None:
        return image
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def contiguous_runs(shots: list[int], length: int) -> list[int]:
    """Start positions of every run of `length` consecutive items that lie within one shot."""
    return [s for s in range(len(shots) - length + 1) if shots[s] == shots[s + length - 1]]
