"""The cache filters on frames made to be blank, letterboxed, duplicated or cut between shots."""

from __future__ import annotations

import numpy as np

from tests.scrape.conftest import textured
from vidkit.scrape import frame_filters as ff
from vidkit.scrape.cache import CacheConfig


def test_edge_test_separates_content_from_blank_and_blurry():
    import cv2

    frame = textured(np.random.default_rng(1), 1, 128)[0]
    blank = np.full_like(frame, 77)
    blurry = cv2.GaussianBlur(frame, (0, 0), 12)
    assert ff.edge_fraction(frame) > ff.MIN_EDGES
    assert ff.edge_fraction(blank) == 0.0
    assert ff.edge_fraction(blurry) <= ff.MIN_EDGES


def test_changed_fraction_flags_near_duplicates_only():
    rng = np.random.default_rng(2)
    a, b = textured(rng, 2, 64)
    noisy = np.clip(a.astype(int) + rng.integers(-5, 6, a.shape), 0, 255).astype(np.uint8)  # below the 10-level change
    assert ff.changed_fraction(a, noisy) < ff.MIN_CHANGED
    assert ff.changed_fraction(a, b) > 0.5


def test_letterbox_and_pillarbox_are_cropped_from_the_edges():
    frames = list(textured(np.random.default_rng(3), 4, 32))
    boxed = [np.pad(f, ((8, 12), (0, 0), (0, 0))) for f in frames]  # black bars top 8, bottom 12
    pillar = [np.pad(f, ((0, 0), (6, 6), (0, 0)), constant_values=200) for f in frames]  # flat light bars
    assert ff.letterbox(boxed) == ff.Box(8, 40, 0, 32)
    assert ff.letterbox(pillar) == ff.Box(0, 32, 6, 38)


def test_letterbox_keeps_a_blank_video_whole():
    blank = [np.zeros((20, 30, 3), np.uint8)] * 3
    assert ff.letterbox(blank) == ff.Box(0, 20, 0, 30)


def test_cap_size_only_shrinks():
    """The seed's helper enlarged small frames and left big ones: the opposite of a cap."""
    big, small = np.zeros((720, 1280, 3), np.uint8), np.zeros((100, 60, 3), np.uint8)
    assert ff.cap_size(big, 480).shape == (270, 480, 3)
    assert ff.cap_size(small, 480).shape == small.shape
    assert ff.cap_size(big, None).shape == big.shape


def test_shots_split_where_the_picture_changes_completely():
    import cv2

    rng = np.random.default_rng(4)
    scene_a = textured(rng, 1, 64)[0]
    scene_b = np.zeros_like(scene_a)  # another shot: a few rings instead of dense blocks
    for centre, radius in (((20, 20), 10), ((44, 40), 14)):
        cv2.circle(scene_b, centre, radius, (255, 255, 255), 2)
    shifted = [np.roll(scene_a, k, axis=1) for k in range(3)]  # the same shot, panning one pixel a frame
    ids = ff.shot_ids(shifted + [scene_b, np.roll(scene_b, 1, axis=1)], threshold=CacheConfig.shot_threshold)
    assert ids == [0, 0, 0, 1, 1]


def test_contiguous_runs_stay_within_one_shot():
    assert ff.contiguous_runs([0, 0, 0, 1, 1, 1, 1], 3) == [0, 3, 4]
    assert ff.contiguous_runs([0, 1, 2], 2) == []


def test_cropped_frames_hold_only_the_picture():
    frames = list(textured(np.random.default_rng(5), 2, 32))
    boxed = [np.pad(f, ((8, 8), (4, 4), (0, 0))) for f in frames]
    box = ff.letterbox(boxed)
    assert np.array_equal(box.apply(boxed[1]), frames[1])
