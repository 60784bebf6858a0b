"""OTB-2015's precision and success, defined exactly as the got10k toolkit's `ExperimentOTB.report`.

Per sequence (boxes `(N, 4)` x, y, w, h; the first result box is replaced by the ground truth, as there):
- centre error: Euclidean distance between centres `x + (w - 1) / 2`, `y + (h - 1) / 2`;
- IoU: intersection over union of the rectangles (eps in the denominator, clipped to [0, 1]);
- success curve: fraction of frames with IoU > t for 21 thresholds t = linspace(0, 1, 21);
- precision curve: fraction of frames with centre error <= t for t = 0..50 px.
Over sequences: the curves are averaged; success = the mean of the averaged success curve (its
area), precision = the averaged precision curve at 20 px. Speed: per sequence the mean of 1 / t
over frames timed above zero; overall the mean over sequences that have a speed.
Torch-free, so that scoring result files needs no model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IOU_THRESHOLDS = np.linspace(0, 1, 21)
ERROR_THRESHOLDS = np.arange(0, 51)
PRECISION_AT = 20  # px


def centre_errors(boxes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """`(N, 4)`, `(N, 4)` -> `(N,)` distances between the boxes' centres."""
    a = boxes[:, :2] + (boxes[:, 2:] - 1) / 2
    b = truth[:, :2] + (truth[:, 2:] - 1) / 2
    return np.sqrt(((a - b) ** 2).sum(1))


def ious(boxes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """`(N, 4)`, `(N, 4)` -> `(N,)` intersection over union."""
    left = np.maximum(boxes[:, 0], truth[:, 0])
    top = np.maximum(boxes[:, 1], truth[:, 1])
    right = np.minimum(boxes[:, 0] + boxes[:, 2], truth[:, 0] + truth[:, 2])
    bottom = np.minimum(boxes[:, 1] + boxes[:, 3], truth[:, 1] + truth[:, 3])
    inter = np.maximum(right - left, 0) * np.maximum(bottom - top, 0)
    union = boxes[:, 2] * boxes[:, 3] + truth[:, 2] * truth[:, 3] - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


@dataclass
class SequenceScore:
    success_curve: np.ndarray  # (21,)
    precision_curve: np.ndarray  # (51,)
    fps: float  # 0 when no frame was timed

    @property
    def success(self) -> float:
        return float(self.success_curve.mean())

    @property
    def precision(self) -> float:
        return float(self.precision_curve[PRECISION_AT])


def score_sequence(boxes: np.ndarray, truth: np.ndarray, times: np.ndarray | None = None) -> SequenceScore:
    """One sequence's curves and speed (the result is cut to the ground truth's length, as the toolkit)."""
    boxes = np.array(boxes, dtype=np.float64)[: len(truth)]
    truth = np.asarray(truth, dtype=np.float64)
    if len(boxes) != len(truth):
        raise ValueError(f"{len(boxes)} result boxes for {len(truth)} ground-truth boxes")
    boxes[0] = truth[0]
    overlap = ious(boxes, truth)[:, None]
    error = centre_errors(boxes, truth)[:, None]
    success = (overlap > IOU_THRESHOLDS[None]).mean(0)
    precision = (error <= ERROR_THRESHOLDS[None]).mean(0)
    fps = 0.0
    if times is not None:
        timed = np.asarray(times, dtype=np.float64)
        timed = timed[timed > 0]
        fps = float(np.mean(1.0 / timed)) if len(timed) else 0.0
    return SequenceScore(success, precision, fps)


@dataclass
class OverallScore:
    precision: float
    success: float
    fps: float  # -1 when no sequence was timed, as the toolkit
    success_curve: np.ndarray
    precision_curve: np.ndarray


def overall(scores: list[SequenceScore]) -> OverallScore:
    """The benchmark's numbers from its sequences' scores."""
    success_curve = np.mean([s.success_curve for s in scores], axis=0)
    precision_curve = np.mean([s.precision_curve for s in scores], axis=0)
    speeds = np.array([s.fps for s in scores])
    fps = float(speeds.sum() / np.count_nonzero(speeds)) if np.count_nonzero(speeds) else -1.0
    return OverallScore(
        float(precision_curve[PRECISION_AT]), float(success_curve.mean()), fps, success_curve, precision_curve
    )
