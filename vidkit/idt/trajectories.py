"""Improved dense trajectories of one video: frames in, 436-column rows out.

A clean-room re-implementation, in numpy and OpenCV, of the behaviour of the 2013 release
`DenseTrackStab` ([1] H. Wang and C. Schmid, "Action Recognition with Improved Trajectories",
ICCV 2013; [2] H. Wang et al., "Dense Trajectories and Motion Boundary Descriptors for Action
Recognition", IJCV 2013), as described in ../shared/reference/video_la_idt.md section 2.
Per frame pair, at every scale of the √2 pyramid:

1. Farnebäck flow, median-filtered (`pyramid`), uncompensated (moves the points) and
   camera-compensated (`camera`: frame warped back by a RANSAC homography; feeds the descriptors);
2. every live trajectory records its per-frame HOG/HOF/MBH (`descriptors`) and compensated
   displacement at its current point, then moves by the flow (`tracking`);
3. trajectories with 15 steps are tested by the pruning rules and written out;
4. new points are sampled densely where no live trajectory ends (`sampling`).

Outputs follow the release's row layout (`vidkit.io.trajectories`). The release's README warns
that RANSAC and codecs make its output vary between runs; ours is deterministic for one seed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from vidkit.idt import camera as cam
from vidkit.idt import descriptors, pyramid, sampling, tracking
from vidkit.io.trajectories import NUM_COLUMNS


@dataclass(frozen=True)
class IdtConfig:
    """Options of the trajectory stage; defaults are the release's (`DenseTrackStab -L 15 -W 5 -A 8`)."""

    length: int = 15  # L: steps per trajectory
    step: int = 5  # W: dense sampling grid step (px)
    max_scales: int = 8  # S
    detector: str = "sift"  # keypoints for camera motion: sift, orb, none (SURF stand-in, see camera.py)
    compensate: bool = True  # False: no camera-motion estimation (raw flow everywhere)
    seed: int = 0  # OpenCV's RNG (RANSAC), for reproducible output

    def to_dict(self) -> dict:
        return asdict(self)


class Timer:
    """Seconds spent per stage, accumulated over a run (for `bench/idt.py`)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now


def to_grey(frame: np.ndarray) -> np.ndarray:
    """`uint8 (H, W, 3)` RGB or `(H, W)` grey -> `uint8 (H, W)`."""
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.shape[2] == 1:
        return np.ascontiguousarray(frame[..., 0])
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def _finish(
    tracks: tracking.TrackSet, slots: np.ndarray, factor: float, frame: int, size: tuple[int, int]
) -> np.ndarray:
    """Rows (without t_pos) of the finished trajectories in `slots` that pass the pruning rules."""
    points = tracks.points[slots].astype(np.float64) * factor  # (m, L+1, 2) original pixels
    disp = tracks.disp[slots].astype(np.float64) * factor  # (m, L, 2)
    keep = tracking.keep_mask(points, disp)
    if not keep.any():
        return np.zeros((0, NUM_COLUMNS), np.float32)
    points, disp, slots = points[keep], disp[keep], slots[keep]
    mean, std, _, length = tracking.trajectory_stats(points)
    width, height = size
    m = len(slots)
    rows = np.empty((m, NUM_COLUMNS), np.float32)
    rows[:, 0] = frame
    rows[:, 1:3] = mean
    rows[:, 3:5] = std
    rows[:, 5] = length
    rows[:, 6] = factor
    rows[:, 7] = np.clip(mean[:, 0] / width, 0, 0.999)
    rows[:, 8] = np.clip(mean[:, 1] / height, 0, 0.999)
    rows[:, 9] = 0.0  # t_pos: filled in once the video length is known
    rows[:, 10 : 10 + 2 * tracks.length] = tracking.shape_descriptor(disp)
    rows[:, 10 + 2 * tracks.length :] = descriptors.temporal_pool(tracks.frames[slots])
    return rows


def extract_trajectories(
    frames: Iterable[np.ndarray],
    config: IdtConfig = IdtConfig(),
    *,
    boxes: list[np.ndarray] | None = None,
    timer: Timer | None = None,
) -> np.ndarray:
    """Improved dense trajectories of one video.

    Args:
        frames: the video's frames in order, `uint8 (H, W, 3)` RGB or `(H, W)` grey.
        config: trajectory options (the release's defaults).
        boxes: optional human boxes per frame (`vidkit.io.trajectories.read_boxes`), excluded from
            the camera-motion matches.
        timer: accumulates seconds per stage when given.

    Returns:
        `float32 (N, 436)` rows in the release's layout, in order of their end frame.
    """
    timer = timer or Timer()
    cv2.setRNGSeed(config.seed)
    iterator = iter(frames)
    try:
        first = to_grey(next(iterator))
    except StopIteration:
        return np.zeros((0, NUM_COLUMNS), np.float32)
    height, width = first.shape
    pyr = pyramid.make_pyramid(width, height, config.max_scales)
    prev = pyramid.grey_pyramid(first, pyr)
    tracks = [tracking.TrackSet(config.length) for _ in range(len(pyr))]
    for level, ts in enumerate(tracks):
        ts.add(sampling.dense_sample(prev[level], ts.ends(), config.step), frame=0)
    motion = cam.CameraMotion(config.detector) if config.compensate else None

    def box_at(t: int):
        return boxes[t] if boxes is not None and t < len(boxes) else None

    if motion is not None:
        motion.start(first, box_at(0))
    rows: list[np.ndarray] = []
    t = 0
    timer.lap("setup")
    for frame in iterator:
        t += 1
        timer.lap("decode")
        cur = pyramid.grey_pyramid(to_grey(frame), pyr)
        flows = pyramid.flow_pyramid(prev, cur)
        timer.lap("flow")
        if motion is not None:
            homography = motion.homography(prev[0], cur[0], flows[0], box_at(t - 1), box_at(t))
            warped = cam.warp_to_previous(prev[0], cur[0], homography)
            timer.lap("camera")
            warped_flows = pyramid.flow_pyramid(prev, pyramid.grey_pyramid(warped, pyr))
            timer.lap("flow")
        else:
            warped_flows = flows
        for level, ts in enumerate(tracks):
            slots = ts.live
            w, h = pyr.sizes[level]
            if len(slots):
                points = ts.points[slots, ts.age[slots]]  # (n, 2) scale pixels
                hist = descriptors.frame_histograms(prev[level], warped_flows[level])
                per_frame = descriptors.describe_points(hist, points)  # (n, 132)
                timer.lap("descriptors")
                xi = np.clip(np.rint(points[:, 0]).astype(np.int64), 0, w - 1)
                yi = np.clip(np.rint(points[:, 1]).astype(np.int64), 0, h - 1)
                moved = points + flows[level][yi, xi]
                inside = (moved[:, 0] > 0) & (moved[:, 0] < w) & (moved[:, 1] > 0) & (moved[:, 1] < h)
                ts.step(per_frame, warped_flows[level][yi, xi], moved, inside)
                done = ts.pop_finished()
                if len(done):
                    rows.append(_finish(ts, done, pyr.factors[level], t, (width, height)))
            ts.add(sampling.dense_sample(cur[level], ts.ends(), config.step), frame=t)
            timer.lap("tracking")
        prev = cur
    out = np.concatenate(rows) if rows else np.zeros((0, NUM_COLUMNS), np.float32)
    # t_pos = (end frame - L/2) / video length, as the release computes it.
    out[:, 9] = np.clip((out[:, 0] - config.length / 2) / (t + 1), 0, 0.999)
    return out
