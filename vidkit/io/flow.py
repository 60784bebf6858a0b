"""Dense optical flow with OpenCV, quantised to uint8 the two-stream way.

TV-L1 (Zach et al. 2007), as the two-stream and IIC pipelines use, needs the `optflow` module of
opencv-contrib, which the `flow` extra installs (`pip install 'vidkit[flow]'`; docs/scaling.md says
how to swap it for the default opencv-python-headless, which holds the same `cv2` module). When the
installed OpenCV lacks it we fall back to Farneback (2003), which ships with every OpenCV build.
The store records which one made the flow, and resuming a TV-L1 store where TV-L1 is missing is
refused up front rather than failing in every worker.

Quantisation follows the convention of the two-stream dumps (denseflow, MMAction2 `flow_to_img`):
each component is clipped to `[-bound, bound]` pixels and mapped linearly onto 0..255, so 127.5
means no motion and one grey level is `2 * bound / 255` pixels (0.157 px for the usual bound 20).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vidkit.errors import VidkitError

DEFAULT_BOUND = 20.0
ALGORITHMS = ("tvl1", "farneback")
INSTALL_TVL1 = (
    "pip uninstall -y opencv-python-headless && pip install 'opencv-contrib-python-headless>=4.8' "
    "(the `flow` extra: pip install 'vidkit[flow]')"
)


@dataclass(frozen=True)
class FlowEstimator:
    """A reusable flow function: `estimate(prev, next)` on `uint8 (H, W)` grey frames -> `float32 (H, W, 2)`."""

    algorithm: str  # "tvl1" or "farneback"

    def estimate(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        if self.algorithm == "tvl1":
            return _tvl1().calc(prev, nxt, None)
        # Parameters of OpenCV's own dense-flow sample: 3 levels of a 0.5 pyramid, 15 px windows.
        return cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)


_TVL1 = None


def _tvl1():
    global _TVL1  # one solver per process: creating it allocates its pyramids
    if _TVL1 is None:
        _TVL1 = cv2.optflow.DualTVL1OpticalFlow_create()
    return _TVL1


def has_tvl1() -> bool:
    """Whether this OpenCV build has TV-L1 (opencv-contrib's `cv2.optflow`)."""
    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def best_algorithm() -> str:
    """`tvl1` when this OpenCV build has it (opencv-contrib), else `farneback`."""
    return "tvl1" if has_tvl1() else "farneback"


def which_runs(algorithm: str) -> str:
    """The line `extract-frames --flow` says once: which algorithm runs and how to get the other.

    The fallback to Farneback was once silent, and a store's flow then differed from IIC's (TV-L1)
    with nothing to show it but the store's config."""
    if algorithm == "tvl1":
        return "optical flow: TV-L1 (cv2.optflow), as IIC and the two-stream papers use"
    return (
        f"optical flow: Farneback, since OpenCV {cv2.__version__} here has no TV-L1 (cv2.optflow); "
        f"IIC's numbers used TV-L1: {INSTALL_TVL1}"
    )


def require(algorithm: str) -> None:
    """Check that `algorithm` can run here, before any work.

    Raises:
        VidkitError: an unknown algorithm, or `tvl1` without opencv-contrib.
    """
    if algorithm not in ALGORITHMS:
        raise VidkitError(f"unknown flow algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    if algorithm == "tvl1" and not has_tvl1():
        raise VidkitError(
            f"this store's flow is TV-L1, which OpenCV {cv2.__version__} here lacks (no cv2.optflow); "
            f"install it with: {INSTALL_TVL1}"
        )


def quantize(flow: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """`float (..., 2)` flow in pixels -> `uint8 (..., 2)`, clipped to `[-bound, bound]`."""
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2 * bound))
    return np.round(scaled).astype(np.uint8)


def dequantize(levels: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Inverse of `quantize` (up to its rounding): `uint8` -> `float32` pixels."""
    return levels.astype(np.float32) * (2 * bound / 255.0) - bound


def quantized_flow(estimator: FlowEstimator, prev_grey: np.ndarray, next_grey: np.ndarray, bound: float):
    """Flow from one grey frame to the next as quantised `(u, v)`, `uint8 (H, W)` each."""
    levels = quantize(estimator.estimate(prev_grey, next_grey), bound)
    return levels[..., 0], levels[..., 1]
