"""OTB precision and success equal a computation written straight from their definitions (got10k's report)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidkit.tasks.tracking import metrics


def _reference_sequence(boxes, truth):
    """Per-frame loops: the first result box is the ground truth; centres at x + (w - 1) / 2."""
    boxes = [list(b) for b in boxes]
    boxes[0] = list(truth[0])
    errors, overlaps = [], []
    for (x1, y1, w1, h1), (x2, y2, w2, h2) in zip(boxes, truth):
        cx1, cy1, cx2, cy2 = x1 + (w1 - 1) / 2, y1 + (h1 - 1) / 2, x2 + (w2 - 1) / 2, y2 + (h2 - 1) / 2
        errors.append(math.hypot(cx1 - cx2, cy1 - cy2))
        iw = max(0.0, min(x1 + w1, x2 + w2) - max(x1, x2))
        ih = max(0.0, min(y1 + h1, y2 + h2) - max(y1, y2))
        union = w1 * h1 + w2 * h2 - iw * ih
        overlaps.append(iw * ih / union)
    success = [sum(o > t / 20 for o in overlaps) / len(overlaps) for t in range(21)]
    precision = [sum(e <= t for e in errors) / len(errors) for t in range(51)]
    return success, precision


def _random_boxes(rng, n):
    return np.column_stack([rng.uniform(0, 100, (n, 2)), rng.uniform(5, 60, (n, 2))])


def test_precision_and_success_match_the_definitions():
    rng = np.random.default_rng(0)
    truths, results, times = [], [], []
    for n in (30, 7, 51):
        truth = _random_boxes(rng, n)
        near = truth + rng.normal(0, 8, truth.shape) * [1, 1, 0.3, 0.3]  # some hits, some misses
        boxes = np.where(rng.random((n, 1)) < 0.5, near, _random_boxes(rng, n))
        boxes[:, 2:] = np.abs(boxes[:, 2:]) + 1
        truths.append(truth)
        results.append(boxes)
        times.append(rng.uniform(0.01, 0.1, n))
    scores = [metrics.score_sequence(b, t, s) for b, t, s in zip(results, truths, times)]
    curves = [_reference_sequence(b, t) for b, t in zip(results, truths)]
    for score, (success, precision) in zip(scores, curves):
        np.testing.assert_allclose(score.success_curve, success, atol=1e-12)
        np.testing.assert_allclose(score.precision_curve, precision, atol=1e-12)
        assert score.precision == pytest.approx(precision[20])
        assert score.success == pytest.approx(sum(success) / 21)
    total = metrics.overall(scores)
    mean_success = [sum(c[0][t] for c in curves) / len(curves) for t in range(21)]
    mean_precision = [sum(c[1][t] for c in curves) / len(curves) for t in range(51)]
    assert total.success == pytest.approx(sum(mean_success) / 21)
    assert total.precision == pytest.approx(mean_precision[20])
    assert 0 < total.precision < 1 and 0 < total.success < 1
    fps = [sum(1 / x for x in s) / len(s) for s in times]
    assert total.fps == pytest.approx(sum(fps) / len(fps))


def test_a_perfect_tracker_and_the_first_box():
    truth = _random_boxes(np.random.default_rng(1), 10)
    perfect = metrics.score_sequence(truth, truth)
    assert perfect.precision == 1.0 and perfect.success == pytest.approx(20 / 21)  # IoU 1 is not > 1
    far = truth + [500, 500, 0, 0]
    lost = metrics.score_sequence(far, truth)
    assert lost.precision == pytest.approx(0.1)  # only frame 0, replaced by the ground truth
    assert metrics.overall([lost]).fps == -1


def test_results_longer_than_the_ground_truth_are_cut():
    truth = _random_boxes(np.random.default_rng(2), 5)
    score = metrics.score_sequence(np.vstack([truth, truth]), truth)
    assert score.precision == 1.0
