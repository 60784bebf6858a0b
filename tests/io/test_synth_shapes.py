"""`synth --class-shapes`: one shape per class, and the default videos left exactly as they were."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidkit.cli.app import app
from vidkit.io import synth


def _mask(frame: np.ndarray) -> np.ndarray:
    # The shape is bright (value >= 220); the background is muted (<= 150).
    return frame.max(axis=-1) > 185


def _raster(kind: int, angle: float, side: int = 160) -> np.ndarray:
    """Shape `kind` filled at `angle` in the centre of a blank square, scaled to the same area for
    every shape (sizes are random per video, so two shapes must differ in more than size)."""
    unit = np.array(synth.SHAPES[kind][1], dtype=np.float64)
    area = 0.5 * abs(np.dot(unit[:, 0], np.roll(unit[:, 1], 1)) - np.dot(unit[:, 1], np.roll(unit[:, 0], 1)))
    frame = np.zeros((side, side, 3), dtype=np.uint8)
    synth._draw_shape(frame, kind, (side / 2, side / 2), side * 0.3 / np.sqrt(area), angle, (255, 255, 255))
    return _mask(frame)


def test_there_is_a_shape_for_every_class():
    assert len(synth.SHAPES) >= synth.MAX_CLASSES == 12
    assert len({name for name, _ in synth.SHAPES}) == len(synth.SHAPES)


@pytest.mark.parametrize("kind", range(len(synth.SHAPES)))
def test_every_shape_shows_its_rotation(kind):
    """No shape looks the same after a turn short of a full one, so rotation classes stay visible
    (the notched rectangle, the closest to symmetric, differs by its notch: about 8% at half a turn)."""
    upright = _raster(kind, 0.0)
    for angle in range(20, 341, 20):
        assert (upright != _raster(kind, float(angle))).sum() > 0.05 * upright.sum(), angle


def test_shapes_differ_in_any_pose():
    """Two shapes, brought to the same area, do not match under any rotation (centred alike)."""
    rasters = {kind: [_raster(kind, float(a)) for a in range(0, 360, 10)] for kind in range(len(synth.SHAPES))}
    for c in range(len(synth.SHAPES)):
        for d in range(c + 1, len(synth.SHAPES)):
            best = min((rasters[c][0] != other).sum() for other in rasters[d])
            assert best > 0.1 * rasters[c][0].sum(), (synth.SHAPES[c][0], synth.SHAPES[d][0])


@pytest.mark.parametrize("seed", range(8))
def test_default_videos_keep_their_random_draws(seed):
    """Without a shape the video is exactly one of the first three shapes' videos from the same
    generator: choosing a shape replaces the shape and nothing else drawn (old files stay valid)."""
    motion = seed % synth.MAX_CLASSES
    default = synth.render_video(motion, 4, 32, np.random.default_rng(seed))
    same = [
        np.array_equal(default, synth.render_video(motion, 4, 32, np.random.default_rng(seed), shape=k))
        for k in range(3)
    ]
    assert sum(same) == 1


def test_a_chosen_shape_changes_the_shape_only():
    rng_seed = [0, 4, 2]
    arrow = synth.render_video(4, 6, 64, np.random.default_rng(rng_seed), shape=0)
    bolt = synth.render_video(4, 6, 64, np.random.default_rng(rng_seed), shape=11)
    # Anti-aliased edges blend into the background: leave out two pixels around either shape.
    shapes = (_mask(arrow[0]) | _mask(bolt[0])).astype(np.uint8)
    background = cv2.dilate(shapes, np.ones((5, 5), np.uint8)) == 0
    np.testing.assert_array_equal(arrow[0][background], bolt[0][background])
    assert (_mask(arrow[0]) != _mask(bolt[0])).sum() > 20


def _record_shapes(monkeypatch) -> list[tuple[int, int | None]]:
    calls: list[tuple[int, int | None]] = []
    render = synth.render_video

    def recording(motion, frames, size, rng, shape=None):
        calls.append((motion, shape))
        return render(motion, frames, size, rng, shape=shape)

    monkeypatch.setattr(synth, "render_video", recording)
    return calls


def test_cli_class_shapes_gives_each_class_its_shape(runner, tmp_path, monkeypatch):
    calls = _record_shapes(monkeypatch)
    args = ["--classes", "3", "--train-per-class", "2", "--test-per-class", "1", "--frames", "2", "--size", "16"]
    result = runner.invoke(app, ["synth", str(tmp_path / "shapes"), *args, "--class-shapes"])
    assert result.exit_code == 0, result.stderr
    assert sorted(calls) == [(c, c) for c in range(3) for _ in range(3)]
    calls.clear()
    result = runner.invoke(app, ["synth", str(tmp_path / "plain"), *args])
    assert result.exit_code == 0, result.stderr
    assert sorted(calls) == [(c, None) for c in range(3) for _ in range(3)]


def test_class_shapes_with_tracking_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(app, ["synth", str(tmp_path / "t"), "--tracking", "--class-shapes"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --class-shapes is for action videos; tracking sequences have no classes"
    ]
