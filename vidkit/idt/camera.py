"""Camera-motion estimation: a homography between consecutive frames, and the frame warped by it.

[1] Wang & Schmid, ICCV 2013, section 2: background motion is removed by matching points between
frames, from two complementary sources, and fitting a homography with RANSAC; human detections are
masked out because people move independently of the camera. The next frame warped back by the
homography gives a camera-compensated flow, used by the descriptors and by the trajectory shape.

Sources of matches:
- flow matches: up to 1000 good features to track (quality 0.001, 3 px apart) on the earlier
  frame, each paired with itself moved by the (uncompensated) dense flow;
- keypoint matches: the release used upright extended SURF (Hessian 200), matched by nearest
  neighbour within a 25-px window.

NOTE: SURF is patented and absent from the OpenCV wheels. We use SIFT (OpenCV's main module,
128-d float descriptors like extended SURF, matched with L2) with the same 25-px window, nearest
neighbour only; `detector="orb"` uses ORB with Hamming distance, and `"none"` only flow matches.
docs/idt.md reports the measured effect of the choice on the KTH reference clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WINDOW = 25  # px: keypoint matches must lie this close in x and in y
MIN_MATCHES = 50
MIN_INLIERS = 25
RANSAC_THRESHOLD = 1.0
MARGIN = 5  # px: warped pixels whose source is nearer the border keep the earlier frame's value
DETECTORS = ("sift", "orb", "none")


@dataclass
class Keypoints:
    """Positions `float32 (n, 2)` and descriptors of one frame's keypoints."""

    points: np.ndarray
    descriptors: np.ndarray | None
    binary: bool


def human_mask(shape: tuple[int, int], boxes: np.ndarray | None) -> np.ndarray | None:
    """`uint8 (H, W)`: 1 everywhere but 0 inside each `(x1, y1, x2, y2)` box (inclusive), or None without boxes."""
    if boxes is None or len(boxes) == 0:
        return None
    height, width = shape
    mask = np.ones(shape, dtype=np.uint8)
    for x1, y1, x2, y2 in boxes:
        xa, ya = max(int(np.ceil(x1)), 0), max(int(np.ceil(y1)), 0)
        xb, yb = min(int(np.floor(x2)), width - 1), min(int(np.floor(y2)), height - 1)
        if xb >= xa and yb >= ya:
            mask[ya : yb + 1, xa : xb + 1] = 0
    return mask


class KeypointMatcher:
    """Detects keypoints on each frame and matches them to the previous frame's (25-px window)."""

    def __init__(self, detector: str = "sift"):
        if detector not in DETECTORS:
            raise ValueError(f"unknown detector {detector!r}; choose from {', '.join(DETECTORS)}")
        self.detector = detector
        if detector == "sift":
            self._impl = cv2.SIFT_create()
        elif detector == "orb":
            self._impl = cv2.ORB_create(nfeatures=1000, edgeThreshold=15, patchSize=15)
        else:
            self._impl = None

    def detect(self, grey: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        if self._impl is None:
            return Keypoints(np.zeros((0, 2), np.float32), None, False)
        keypoints, descriptors = self._impl.detectAndCompute(grey, mask)
        points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
        return Keypoints(points, descriptors, self.detector == "orb")

    @staticmethod
    def match(prev: Keypoints, cur: Keypoints) -> tuple[np.ndarray, np.ndarray]:
        """Nearest neighbour in `prev` of every `cur` keypoint among those within the window.

        Returns `(prev_points, cur_points)`, `float32 (m, 2)` each. No ratio test or cross-check,
        as in the release.
        """
        empty = np.zeros((0, 2), np.float32)
        if prev.descriptors is None or cur.descriptors is None or not len(prev.points) or not len(cur.points):
            return empty, empty
        near = (np.abs(cur.points[:, None, 0] - prev.points[None, :, 0]) < WINDOW) & (
            np.abs(cur.points[:, None, 1] - prev.points[None, :, 1]) < WINDOW
        )  # (n_cur, n_prev)
        if cur.binary:
            bits = np.unpackbits(cur.descriptors[:, None, :] ^ prev.descriptors[None, :, :], axis=2)
            dist = bits.sum(axis=2).astype(np.float32)
        else:
            a, b = cur.descriptors.astype(np.float32), prev.descriptors.astype(np.float32)
            dist = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        dist = np.where(near, dist, np.inf)
        best = dist.argmin(axis=1)
        found = np.isfinite(dist[np.arange(len(best)), best])
        return prev.points[best[found]], cur.points[found]


def flow_matches(prev_grey: np.ndarray, flow: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Good features to track on the earlier frame, paired with themselves moved by `flow` (full scale)."""
    corners = cv2.goodFeaturesToTrack(prev_grey, 1000, 0.001, 3, mask=mask)
    if corners is None:
        empty = np.zeros((0, 2), np.float32)
        return empty, empty
    points = corners.reshape(-1, 2).astype(np.float32)
    height, width = prev_grey.shape
    xi = np.clip(np.rint(points[:, 0]).astype(np.int64), 0, width - 1)
    yi = np.clip(np.rint(points[:, 1]).astype(np.int64), 0, height - 1)
    return points, points + flow[yi, xi]


def estimate_homography(prev_points: np.ndarray, cur_points: np.ndarray) -> np.ndarray:
    """RANSAC homography mapping earlier-frame points to later-frame points (`float64 (3, 3)`).

    Identity when there are too few matches (at most 50) or too few inliers (at most 25).
    """
    if len(prev_points) <= MIN_MATCHES:
        return np.eye(3)
    homography, inliers = cv2.findHomography(prev_points, cur_points, cv2.RANSAC, RANSAC_THRESHOLD)
    if homography is None or inliers is None or int(inliers.sum()) <= MIN_INLIERS:
        return np.eye(3)
    return homography


def warp_to_previous(prev_grey: np.ndarray, cur_grey: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """The later frame resampled onto the earlier one (sample `cur` at H·x), earlier pixels near the border.

    Returns `uint8 (H, W)`: where the source position falls outside the frame minus a 5-px margin,
    the earlier frame's own pixel, so the compensated flow there is about zero.
    """
    height, width = prev_grey.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(cur_grey, homography, (width, height), flags=flags)
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    source = homography @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])  # (3, H*W)
    sx, sy = source[0] / source[2], source[1] / source[2]
    outside = ((sx < MARGIN) | (sx > width - 1 - MARGIN) | (sy < MARGIN) | (sy > height - 1 - MARGIN)).reshape(
        height, width
    )
    warped[outside] = prev_grey[outside]
    return warped


class CameraMotion:
    """Per frame pair: the homography from flow and keypoint matches, with human boxes masked out."""

    def __init__(self, detector: str = "sift"):
        self.matcher = KeypointMatcher(detector)
        self._prev: Keypoints | None = None
        self.last_matches = 0

    def start(self, grey: np.ndarray, boxes: np.ndarray | None = None) -> None:
        """Detect keypoints on the first frame."""
        self._prev = self.matcher.detect(grey, human_mask(grey.shape, boxes))

    def homography(
        self,
        prev_grey: np.ndarray,
        cur_grey: np.ndarray,
        flow: np.ndarray,
        prev_boxes: np.ndarray | None = None,
        cur_boxes: np.ndarray | None = None,
    ) -> np.ndarray:
        """Homography earlier -> later frame; `flow` is the uncompensated full-scale flow between them."""
        cur = self.matcher.detect(cur_grey, human_mask(cur_grey.shape, cur_boxes))
        kp_prev, kp_cur = KeypointMatcher.match(self._prev, cur) if self._prev is not None else (None, None)
        self._prev = cur
        fl_prev, fl_cur = flow_matches(prev_grey, flow, human_mask(prev_grey.shape, prev_boxes))
        if kp_prev is not None and len(kp_prev):
            fl_prev, fl_cur = np.concatenate([kp_prev, fl_prev]), np.concatenate([kp_cur, fl_cur])
        self.last_matches = len(fl_prev)
        return estimate_homography(fl_prev, fl_cur)
