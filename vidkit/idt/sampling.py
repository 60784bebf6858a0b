"""Dense sampling of trajectory starts: one candidate per W x W cell, kept where the image has texture.

[2] Wang et al., IJCV 2013, section 3.1: points are sampled on a grid with step W (5 px) at
every scale; a point is kept only if the smaller eigenvalue of its structure tensor exceeds
0.001 times the largest such value in the frame (homogeneous regions cannot be tracked). After
the first frame, a cell that already holds the end point of a live trajectory gets no new point,
so sampling every frame only fills the holes left by ended or dropped trajectories.
"""

from __future__ import annotations

import cv2
import numpy as np

QUALITY = 0.001


def min_eigenvalues(grey: np.ndarray) -> np.ndarray:
    """Smaller eigenvalue of the 2x2 gradient structure tensor (block 3, Sobel 3): `float32 (H, W)`."""
    return cv2.cornerMinEigenVal(grey, 3, ksize=3)


def dense_sample(
    grey: np.ndarray, occupied: np.ndarray, step: int = 5, quality: float = QUALITY, eigen: np.ndarray | None = None
) -> np.ndarray:
    """New trajectory starts on one scale's grey image.

    Args:
        grey: `uint8 (H, W)` at this scale.
        occupied: `float32 (n, 2)` current end points (x, y) of live trajectories at this scale.
        step: grid step W in pixels; the candidate of cell (i, j) is its centre (j*W + W//2, i*W + W//2).
        quality: threshold as a fraction of the frame's largest min-eigenvalue.

    Returns:
        `float32 (m, 2)` points (x, y), row-major over the grid.
    """
    eig = min_eigenvalues(grey) if eigen is None else eigen
    height, width = grey.shape
    rows, cols = height // step, width // step
    threshold = quality * float(eig.max())
    ys = np.arange(rows) * step + step // 2
    xs = np.arange(cols) * step + step // 2
    keep = eig[np.ix_(ys, xs)] > threshold  # (rows, cols)
    if len(occupied):
        cx = np.floor(occupied[:, 0]).astype(np.int64) // step
        cy = np.floor(occupied[:, 1]).astype(np.int64) // step
        inside = (cx >= 0) & (cx < cols) & (cy >= 0) & (cy < rows)
        keep[cy[inside], cx[inside]] = False
    iy, ix = np.nonzero(keep)
    return np.stack([xs[ix], ys[iy]], axis=1).astype(np.float32)
