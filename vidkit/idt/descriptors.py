"""HOG, HOF, MBHx and MBHy along trajectories: integral orientation histograms over 2x2 cells.

[2] Wang et al., IJCV 2013, section 4; [1] Wang & Schmid, ICCV 2013. Around each trajectory
point a 32x32 patch (at the trajectory's scale) is split into 2x2 cells of 16x16 px. In each cell
an orientation histogram over the full circle is accumulated, every pixel voting with its
magnitude, split linearly between the two nearest bins:

- HOG: image gradients of the grey frame ([-1, 0, 1]), 8 bins;
- HOF: the (camera-compensated) flow, 8 bins plus a "no motion" bin that takes weight 1 from
  every pixel whose flow is at most 0.4 px: 9 bins;
- MBHx, MBHy: the gradients of the flow's x and of its y component, 8 bins each.

Per frame, each cell histogram gets max(sum, 0) + 0.05, the 2x2 cells are concatenated (x-cell
outer, y-cell inner, bins innermost), L1-normalised and square-rooted, so each per-frame vector
has unit L2 norm. Along a trajectory of 15 steps the per-frame vectors are averaged in 3 groups of
5 frames (the temporal cells), giving HOG 96, HOF 108, MBHx 96, MBHy 96.

Histograms are read from integral images, one per bin, so a cell costs 4 lookups whatever the
number of trajectories; all trajectories of a scale are described in one vectorised gather.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

EPSILON = 0.05
MIN_FLOW = 0.4
PATCH = 32
CELLS = 2  # per axis
TEMPORAL_CELLS = 3
# (name, bins) of each descriptor in the order of an output row.
KINDS: tuple[tuple[str, int], ...] = (("HOG", 8), ("HOF", 9), ("MBHx", 8), ("MBHy", 8))
FRAME_DIMS = tuple(CELLS * CELLS * bins for _, bins in KINDS)  # per-frame lengths: 32, 36, 32, 32
FRAME_DIM = sum(FRAME_DIMS)  # 132


def orientation_weights(dx: np.ndarray, dy: np.ndarray, bins: int, min_flow: float | None = None) -> np.ndarray:
    """Per-pixel soft votes: `float32 (H, W, bins + extra)` from a 2-D vector field `(dx, dy)`.

    Bin b is centred on b * 360/bins degrees. With `min_flow`, one more bin takes weight 1 from
    every pixel whose magnitude is at most `min_flow` (which then votes nowhere else).
    """
    magnitude, angle = cv2.cartToPolar(dx, dy, angleInDegrees=True)  # (H, W) each
    fbin = angle * np.float32(bins / 360.0)
    lower = np.floor(fbin)
    upper = (magnitude * (fbin - lower)).ravel()  # the share of the upper bin
    b0 = lower.astype(np.intp).ravel()
    b0[b0 >= bins] -= bins  # an angle of 360 (rounding) is bin 0
    b1 = b0 + 1
    b1[b1 == bins] = 0
    channels = bins + (1 if min_flow is not None else 0)
    votes = np.zeros(dx.size * channels, dtype=np.float32)
    base = np.arange(0, dx.size * channels, channels)  # flat index of each pixel's bin 0
    lower_share = magnitude.ravel() - upper
    if min_flow is not None:
        still = (magnitude <= min_flow).ravel()
        votes[base[still] + bins] = 1.0
        upper[still] = 0.0
        lower_share[still] = 0.0
    # b0 != b1 at every pixel, so two plain scatters (no accumulation) fill the votes.
    votes[base + b0] = lower_share
    votes[base + b1] = upper
    return votes.reshape(*dx.shape, channels)


def integral(votes: np.ndarray) -> np.ndarray:
    """Integral image per bin: `float32 (H + 1, W + 1, B)`, zero first row and column.

    float32 suffices: a cell sum is a difference of two totals of at most a frame's votes, whose
    rounding error (~1e-7 of the frame total) stays far below the 0.05 added to every bin.
    """
    return cv2.integral(votes, sdepth=cv2.CV_32F).reshape(votes.shape[0] + 1, votes.shape[1] + 1, votes.shape[2])


@dataclass
class FrameHistograms:
    """The four integral histograms of one frame pair at one scale."""

    tables: tuple[np.ndarray, ...]  # one float32 (H + 1, W + 1, B) per descriptor kind
    width: int
    height: int


def frame_histograms(grey: np.ndarray, flow: np.ndarray) -> FrameHistograms:
    """Integral histograms for HOG (on `grey`, the earlier frame) and HOF/MBH (on its outgoing `flow`).

    Args:
        grey: `uint8 (H, W)` at one scale.
        flow: `float32 (H, W, 2)` camera-compensated flow from this frame to the next, same scale.
    """
    image = grey.astype(np.float32)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=1)
    u, v = np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1])
    tables = [integral(orientation_weights(gx, gy, 8)), integral(orientation_weights(u, v, 8, MIN_FLOW))]
    for channel in (u, v):
        cx = cv2.Sobel(channel, cv2.CV_32F, 1, 0, ksize=1)
        cy = cv2.Sobel(channel, cv2.CV_32F, 0, 1, ksize=1)
        tables.append(integral(orientation_weights(cx, cy, 8)))
    height, width = grey.shape
    return FrameHistograms(tuple(tables), width, height)


def patch_corners(points: np.ndarray, width: int, height: int, patch: int = PATCH) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corners `(x0, y0)`, `int64 (n,)` each, of the patches around rounded `points`, kept inside the image."""
    x0 = np.clip(np.rint(points[:, 0]).astype(np.int64) - patch // 2, 0, max(width - patch, 0))
    y0 = np.clip(np.rint(points[:, 1]).astype(np.int64) - patch // 2, 0, max(height - patch, 0))
    return x0, y0


def describe_points(hist: FrameHistograms, points: np.ndarray) -> np.ndarray:
    """Per-frame HOG|HOF|MBHx|MBHy of each point: `float32 (n, 132)`, each block of unit L2 norm."""
    n = len(points)
    x0, y0 = patch_corners(points, hist.width, hist.height)
    side = PATCH // CELLS
    # Cell order: x-cell outer loop, y-cell inner loop.
    offsets = [(cx * side, cy * side) for cx in range(CELLS) for cy in range(CELLS)]
    left = np.stack([np.minimum(x0 + ox, hist.width) for ox, _ in offsets], axis=1)  # (n, 4)
    top = np.stack([np.minimum(y0 + oy, hist.height) for _, oy in offsets], axis=1)
    right = np.minimum(left + side, hist.width)
    bottom = np.minimum(top + side, hist.height)
    out = np.empty((n, FRAME_DIM), dtype=np.float32)
    start = 0
    for table, dim in zip(hist.tables, FRAME_DIMS):
        sums = table[bottom, right] - table[top, right] - table[bottom, left] + table[top, left]  # (n, 4, B)
        cells = np.maximum(sums, 0.0) + EPSILON
        vec = cells.reshape(n, dim)
        vec /= vec.sum(axis=1, keepdims=True)
        out[:, start : start + dim] = np.sqrt(vec)
        start += dim
    return out


def temporal_pool(frames: np.ndarray, cells: int = TEMPORAL_CELLS) -> np.ndarray:
    """Average per-frame vectors in `cells` consecutive groups and lay the blocks out per kind.

    Args:
        frames: `float32 (n, L, 132)`, L per-frame vectors per trajectory (L = 15).

    Returns:
        `float32 (n, 396)`: HOG 96 | HOF 108 | MBHx 96 | MBHy 96, each kind as its 3 temporal cells in order.
    """
    n, length, _ = frames.shape
    per = length // cells
    pooled = frames[:, : per * cells].reshape(n, cells, per, FRAME_DIM).mean(axis=2)  # (n, 3, 132)
    blocks, start = [], 0
    for dim in FRAME_DIMS:
        blocks.append(pooled[:, :, start : start + dim].reshape(n, cells * dim))
        start += dim
    return np.concatenate(blocks, axis=1)
