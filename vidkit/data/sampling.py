"""Which frames to read: pure functions of (frame count, options, rng), with no hidden state."""

from __future__ import annotations

import numpy as np

from vidkit.data import modalities


def pair_indices(n_frames: int, window: int, rng: np.random.Generator) -> tuple[int, int]:
    """An anchor frame and a temporally adjacent positive within `window` frames (TCE, tce.md 2.1).

    The anchor is uniform over the video; the positive is `anchor + d` with `d ~ U{1..window}`, or
    `anchor - d` when that runs past the end (the far edge if neither fits). NOTE: the released TCE code used `d = 0` (the anchor
    itself) by mistake; its authors agreed it should be the next frame (issue #4). A 1-frame
    video can only pair a frame with itself.
    """
    anchor = int(rng.integers(n_frames))
    if n_frames == 1:
        return anchor, anchor
    offset = int(rng.integers(1, min(window, n_frames - 1) + 1))
    if anchor + offset < n_frames:
        return anchor, anchor + offset
    if anchor - offset >= 0:
        return anchor, anchor - offset
    # Neither side is `offset` away (a window as wide as the video): take the farther side's edge.
    return anchor, (n_frames - 1 if n_frames - 1 - anchor >= anchor else 0)


def clip_indices(start: int, length: int, stride: int, n_frames: int) -> np.ndarray:
    """Frame indices of a clip; a clip longer than the video repeats its last frame."""
    return np.minimum(start + stride * np.arange(length), n_frames - 1)


def evenly_spaced_starts(n_frames: int, span: int, count: int) -> np.ndarray:
    """Start frames of `count` clips of `span` frames spread evenly over a video (first and last included).

    A video shorter than one clip gives `count` clips at frame 0 (read with repeated last frames).
    """
    last = max(n_frames - span, 0)
    return np.round(np.linspace(0, last, count)).astype(np.int64) if count > 1 else np.array([last // 2])


def random_start(n_frames: int, span: int, rng: np.random.Generator) -> int:
    """A uniformly random start for a clip of `span` frames (0 when the video is shorter)."""
    return int(rng.integers(max(n_frames - span, 0) + 1))


def clip_span(clip_len: int, stride: int, modality: str) -> int:
    """Frames (of the modality's own stream) one clip covers: the difference modalities read one more."""
    return (clip_len - 1 + (modality in modalities.DIFFERENCES)) * stride + 1


def usable_frames(n_frames: np.ndarray | int, modality: str):
    """Frames of the modality's stream a clip can use: flow has one fewer than RGB (at least 1)."""
    return np.maximum(np.asarray(n_frames) - 1, 1) if modality in modalities.FLOW else np.asarray(n_frames)


def clip_items(counts: np.ndarray, videos: np.ndarray, span: int, clips_per_video: int, per_frame: bool) -> np.ndarray:
    """`(rows, 2)` of `(video, start)`: evenly spaced clips of `span` frames, or one clip per frame,
    where `counts[video]` is the number of frames a clip may use in that video."""
    rows = []
    for video in videos:
        n = int(counts[video])
        starts = np.arange(n) if per_frame else evenly_spaced_starts(n, span, clips_per_video)
        rows.append(np.stack([np.full(len(starts), video), starts], axis=1))
    return np.concatenate(rows).astype(np.int64)


def clip_last_frame(starts: np.ndarray, span: int, modality: str, n_frames: np.ndarray) -> np.ndarray:
    """The last RGB frame each clip reads (a flow frame also touches the frame after it)."""
    return np.minimum(starts + span - 1 + (modality in modalities.FLOW), n_frames - 1)
