"""Camera-motion compensation: a homography from flow and keypoint matches removes a camera pan."""

import cv2
import numpy as np
import pytest

from vidkit.idt import camera
from vidkit.idt.trajectories import IdtConfig, extract_trajectories


def _texture(size, seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.random((size, size)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return cv2.normalize(smooth, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def _pan(frames=20, size=96, speed=2):
    """A camera panning right over a static textured scene: the scene moves left `speed` px per frame."""
    scene = _texture(size + frames * speed + 8)
    return [scene[4 : 4 + size, 4 + t * speed : 4 + t * speed + size].copy() for t in range(frames)]


@pytest.fixture(scope="module")
def pan():
    return _pan()


def test_homography_recovers_the_pan(pan):
    motion = camera.CameraMotion("sift")
    motion.start(pan[0])
    flow = cv2.calcOpticalFlowFarneback(pan[0], pan[1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
    homography = motion.homography(pan[0], pan[1], flow)
    assert motion.last_matches > camera.MIN_MATCHES
    assert np.allclose(homography[:2, 2], [-2, 0], atol=0.3)  # earlier -> later: 2 px to the left
    assert np.allclose(homography[:2, :2], np.eye(2), atol=0.02)
    warped = camera.warp_to_previous(pan[0], pan[1], homography)
    inner = (slice(10, -10), slice(10, -10))
    assert np.abs(warped[inner].astype(int) - pan[0][inner]).mean() < 4


def test_a_pan_yields_few_trajectories_once_compensated_and_many_without(pan):
    compensated = extract_trajectories(pan, IdtConfig(compensate=True))
    raw = extract_trajectories(pan, IdtConfig(compensate=False))
    assert len(raw) > 100
    assert len(compensated) < 0.1 * len(raw)


def test_keypoint_matching_respects_the_25px_window():
    prev = camera.Keypoints(np.array([[10, 10], [100, 10]], np.float32), np.array([[0, 0], [1, 1]], np.float32), False)
    cur = camera.Keypoints(np.array([[12, 10], [40, 10]], np.float32), np.array([[1, 1], [0, 0]], np.float32), False)
    before, after = camera.KeypointMatcher.match(prev, cur)
    # Descriptor-wise, cur[0] is nearest to prev[1], but that lies 88 px away; cur[1] has nothing within 25 px.
    assert before.tolist() == [[10, 10]] and after.tolist() == [[12, 10]]


def test_human_boxes_are_masked_inclusively():
    mask = camera.human_mask((10, 10), np.array([[2.2, 3.0, 4.8, 5.0]], np.float32))
    assert mask[3:6, 3:5].sum() == 0 and mask[3, 2] == 1 and mask[3, 5] == 1 and mask[2, 3] == 1
    assert camera.human_mask((10, 10), None) is None


def test_too_few_matches_give_the_identity():
    points = np.random.default_rng(0).random((40, 2)).astype(np.float32) * 50
    assert np.array_equal(camera.estimate_homography(points, points + 3), np.eye(3))


def test_boxes_are_excluded_from_the_matches(pan):
    """A box over the whole frame leaves nothing to match: no homography (identity), as for a person."""
    everything = np.array([[0, 0, 95, 95]], np.float32)
    motion = camera.CameraMotion("sift")
    motion.start(pan[0], everything)
    flow = cv2.calcOpticalFlowFarneback(pan[0], pan[1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
    homography = motion.homography(pan[0], pan[1], flow, everything, everything)
    assert motion.last_matches == 0 and np.array_equal(homography, np.eye(3))
    left_half = np.array([[0, 0, 47, 95]], np.float32)
    motion = camera.CameraMotion("sift")
    motion.start(pan[0], left_half)
    motion.homography(pan[0], pan[1], flow, left_half, left_half)
    prev, _ = camera.flow_matches(pan[0], flow, camera.human_mask(pan[0].shape, left_half))
    assert len(prev) and prev[:, 0].min() > 47
