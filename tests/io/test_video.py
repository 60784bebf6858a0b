"""PyAV decoding: real clips, a lossless clip checked exactly, resampling and frame-accurate seeks."""

from __future__ import annotations

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import REAL_CLIPS
from vidkit.errors import VideoDecodeError
from vidkit.io import video


def _moving_square(frames: int = 20, size: int = 32) -> np.ndarray:
    """A bright square moving one pixel per frame, so every frame differs and order is testable."""
    clip = np.zeros((frames, size, size, 3), dtype=np.uint8)
    for t in range(frames):
        clip[t, 8:16, t % (size - 8) : t % (size - 8) + 8] = (255, 128, 30)
    return clip


def _write_lossless(path, clip, fps=8):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = clip.shape[2], clip.shape[1], "bgr0"
        for image in clip:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_probe_real_clips(real_clips):
    for name, path in real_clips.items():
        info = video.probe(path)
        assert info.n_frames == REAL_CLIPS[name]
        assert info.codec == "h264"


def test_lossless_decode_is_exact(tmp_path):
    clip = _moving_square()
    path = tmp_path / "square.mkv"
    _write_lossless(path, clip)
    decoded = np.stack(list(video.iter_frames(path)))
    np.testing.assert_array_equal(decoded, clip)
    np.testing.assert_array_equal(video.read_frames(path, [13, 2, 13]), clip[[13, 2, 13]])


def test_read_frames_matches_sequential_decode(real_clips):
    path = real_clips["bikes"]  # 250 frames with several keyframes: seeks must land exactly
    full = np.stack(list(video.iter_frames(path)))
    assert full.shape == (250, 272, 640, 3)
    for indices in ([0], [1, 2, 3], [120, 121], [249], [200, 17, 99]):
        np.testing.assert_array_equal(video.read_frames(path, indices), full[indices])


def test_read_frames_past_the_end(real_clips):
    with pytest.raises(VideoDecodeError, match="no frame 120"):
        video.read_frames(real_clips["carphone_pristine"], [119, 120])


def test_resize_keeps_aspect(real_clips):
    frame = next(video.iter_frames(real_clips["bigbuckbunny"], short_side=90))
    assert frame.shape == (90, 160, 3)


@pytest.mark.parametrize("fps,expected", [(12.5, 66), (25.0, 132), (50.0, 264)])
def test_fps_resampling_counts(real_clips, fps, expected):
    # bigbuckbunny: 132 frames at 25 fps = 5.28 s
    frames = list(video.iter_frames(real_clips["bigbuckbunny"], short_side=32, fps=fps))
    assert len(frames) == expected


def test_max_frames(real_clips):
    assert len(list(video.iter_frames(real_clips["bikes"], short_side=32, max_frames=7))) == 7


def test_not_a_video(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    with pytest.raises(VideoDecodeError, match="cannot open"):
        video.probe(bogus)


@given(st.integers(1, 4000), st.integers(1, 4000), st.integers(1, 512))
def test_output_size_property(width, height, short):
    w, h = video.output_size(width, height, short)
    assert min(w, h) == short
    assert (w <= h) == (width <= height) or w == h
    assert abs(max(w, h) - max(width, height) * short / min(width, height)) <= 0.5


@given(st.floats(0, 100), st.floats(0.001, 10), st.floats(0.5, 120))
def test_resample_targets_tile_time(t0, span, fps):
    """Consecutive intervals hand out every output index exactly once."""
    t1, t2 = t0 + span, t0 + 2 * span
    first, second = video.resample_targets(t0, t1, fps), video.resample_targets(t1, t2, fps)
    assert first.stop == second.start
    assert list(video.resample_targets(t0, t2, fps)) == list(first) + list(second)
