"""Descriptor layout and normalisation: orientation bins, per-frame unit norm, temporal grouping."""

import numpy as np

from vidkit.idt import descriptors as d


def test_orientation_votes_split_between_the_two_nearest_bins():
    dx = np.array([[1.0, 0.0, 1.0]], np.float32)
    dy = np.array([[0.0, 2.0, 1.0]], np.float32)  # 0 deg, 90 deg, 45 deg
    votes = d.orientation_weights(dx, dy, 8)
    assert np.allclose(votes[0, 0], [1, 0, 0, 0, 0, 0, 0, 0], atol=1e-3)
    assert np.allclose(votes[0, 1], [0, 0, 2, 0, 0, 0, 0, 0], atol=2e-3)
    assert np.allclose(votes[0, 2, :2], [0, np.sqrt(2)], atol=2e-3)  # exactly on bin 1 (45 deg)
    half = d.orientation_weights(
        np.array([[np.cos(np.pi / 8)]], np.float32), np.array([[np.sin(np.pi / 8)]], np.float32), 8
    )
    assert np.allclose(half[0, 0, :2], [0.5, 0.5], atol=1e-3)  # 22.5 deg: half to bin 0, half to bin 1


def test_hof_no_motion_bin_takes_weight_one_from_small_flow():
    u = np.array([[0.3, 3.0]], np.float32)
    v = np.zeros_like(u)
    votes = d.orientation_weights(u, v, 8, min_flow=d.MIN_FLOW)
    assert votes.shape == (1, 2, 9)
    assert np.allclose(votes[0, 0], [0] * 8 + [1])
    assert np.allclose(votes[0, 1], [3] + [0] * 8)


def _random_hist(rng, height=48, width=64):
    grey = rng.integers(0, 255, (height, width), dtype=np.uint8)
    flow = rng.normal(0, 2, (height, width, 2)).astype(np.float32)
    return d.frame_histograms(grey, flow)


def test_per_frame_blocks_have_unit_l2_norm_and_the_release_sizes():
    rng = np.random.default_rng(0)
    hist = _random_hist(rng)
    points = np.array([[0, 0], [63.9, 47.9], [30.2, 20.7]], np.float32)  # corners: patches clamped inside
    frame = d.describe_points(hist, points)
    assert frame.shape == (3, 132)
    start = 0
    for dim in d.FRAME_DIMS:
        assert np.allclose(np.linalg.norm(frame[:, start : start + dim], axis=1), 1.0, atol=1e-5)
        assert (frame[:, start : start + dim] >= np.sqrt(0.05 / 1e6)).all()  # epsilon keeps every bin positive
        start += dim


def test_cell_order_is_x_outer_y_inner():
    """A bright block in one 16x16 cell of a 32x32 patch puts its gradients in that cell's histogram:
    (x0, y0) is the first, (x0, y1) the second, (x1, y0) the third."""
    for (rows, cols), expected in (
        ((slice(4, 12), slice(4, 12)), 0),
        ((slice(20, 28), slice(4, 12)), 1),
        ((slice(4, 12), slice(20, 28)), 2),
    ):
        grey = np.zeros((32, 32), np.uint8)
        grey[rows, cols] = 200
        hist = d.frame_histograms(grey, np.zeros((32, 32, 2), np.float32))
        hog = d.describe_points(hist, np.array([[16, 16]], np.float32))[0, :32].reshape(4, 8)
        assert hog.sum(axis=1).argmax() == expected


def test_integral_histogram_equals_direct_sum():
    rng = np.random.default_rng(1)
    votes = rng.random((20, 30, 9)).astype(np.float32)
    table = d.integral(votes)
    assert table.shape == (21, 31, 9)
    assert np.allclose(
        table[15, 22] - table[3, 22] - table[15, 4] + table[3, 4], votes[3:15, 4:22].sum((0, 1)), atol=1e-4
    )


def test_temporal_pooling_averages_three_groups_of_five_per_kind():
    frames = np.zeros((1, 15, 132), np.float32)
    for t in range(15):
        frames[0, t] = t // 5 + 1  # group g holds the value g + 1
    pooled = d.temporal_pool(frames)
    assert pooled.shape == (1, 396)
    hog, hof = pooled[0, :96], pooled[0, 96:204]
    assert np.allclose(hog[:32], 1) and np.allclose(hog[32:64], 2) and np.allclose(hog[64:], 3)
    assert np.allclose(hof[:36], 1) and np.allclose(hof[72:], 3)
    # Mean of unit vectors: squared norm per temporal cell stays at most 1.
    rng = np.random.default_rng(2)
    per_frame = d.describe_points(_random_hist(rng), rng.random((15, 2)).astype(np.float32) * 40)
    pooled = d.temporal_pool(per_frame[None])
    assert np.linalg.norm(pooled[0, :32]) <= 1.0 + 1e-6
