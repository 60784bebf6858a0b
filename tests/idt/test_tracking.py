"""Pruning rules on hand-made trajectories, the shape descriptor, and the slot bookkeeping."""

import numpy as np

from vidkit.idt import tracking as tr


def _track(steps):
    """A 16-point trajectory from 15 steps `(15, 2)`, starting at (50, 50)."""
    return np.concatenate([[[50.0, 50.0]], 50.0 + np.cumsum(steps, axis=0)])[None]


def _moving(dx=1.0):
    return np.tile([[dx, 0.0]], (15, 1))


def test_a_steadily_moving_trajectory_is_kept():
    steps = _moving(1.5)
    assert tr.keep_mask(_track(steps), steps[None]).tolist() == [True]
    assert tr.keep_mask(_track(_moving(1.0)), _moving(1.0)[None]).tolist() == [False]  # 1 px: camera motion


def test_static_trajectory_is_dropped():
    steps = _moving(0.2)  # std of x = 0.2 * 4.6 < sqrt(3)
    assert tr.is_static(tr.trajectory_stats(_track(steps))[1]).tolist() == [True]
    assert tr.keep_mask(_track(steps), _moving(2.0)[None]).tolist() == [False]
    moving_y = np.tile([[0.0, 1.0]], (15, 1))  # static in x only: kept
    assert tr.is_static(tr.trajectory_stats(_track(moving_y))[1]).tolist() == [False]


def test_erratic_trajectory_is_dropped():
    steps = _moving(12.0)  # std of x = 12 * 4.6 > 50
    assert tr.is_erratic(tr.trajectory_stats(_track(steps))[1]).tolist() == [True]
    assert tr.keep_mask(_track(steps), steps[None]).tolist() == [False]


def test_sudden_jump_is_dropped_only_when_it_dominates():
    steps = _moving(0.5)
    steps[7] = [25.0, 0.0]  # > 20 px and > 70% of the length
    _, _, s, length = tr.trajectory_stats(_track(steps))
    assert tr.is_sudden_jump(s, length).tolist() == [True]
    steps = _moving(3.0)
    steps[7] = [25.0, 0.0]  # > 20 px but only 25/67 of the length
    _, _, s, length = tr.trajectory_stats(_track(steps))
    assert tr.is_sudden_jump(s, length).tolist() == [False]


def test_camera_motion_is_judged_on_compensated_displacements():
    steps = _moving(2.0)
    still = np.full((1, 15, 2), 0.3)  # compensated flow: at most 1 px everywhere
    assert tr.is_camera_motion(still).tolist() == [True]
    assert tr.keep_mask(_track(steps), still).tolist() == [False]
    still[0, 4] = [1.5, 0.0]
    assert tr.keep_mask(_track(steps), still).tolist() == [True]


def test_shape_descriptor_is_normalised_by_total_magnitude():
    disp = np.random.default_rng(0).normal(size=(4, 15, 2))
    shape = tr.shape_descriptor(disp)
    assert shape.shape == (4, 30)
    assert np.allclose(np.linalg.norm(shape.reshape(4, 15, 2), axis=2).sum(axis=1), 1.0)
    assert np.allclose(shape[:, :2] * np.linalg.norm(disp, axis=2).sum(1)[:, None], disp[:, 0])  # interleaved dx0, dy0


def test_trackset_steps_drops_and_finishes():
    tracks = tr.TrackSet(length=3, capacity=2)
    tracks.add(np.array([[1, 1], [2, 2], [3, 3]], np.float32), frame=0)  # grows past capacity
    assert len(tracks.live) == 3
    for step in range(3):
        n = len(tracks.live)
        inside = np.ones(n, bool)
        if step == 0:
            inside[1] = False  # the second one leaves the frame
        tracks.step(np.zeros((n, 132), np.float32), np.ones((n, 2), np.float32), tracks.ends() + 1, inside)
        if step < 2:
            assert len(tracks.pop_finished()) == 0
    done = tracks.pop_finished()
    assert len(done) == 2 and len(tracks.live) == 0
    assert np.allclose(tracks.points[done[0], :, 0], [1, 2, 3, 4])
