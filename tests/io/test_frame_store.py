"""The frame store: round trips, clip reads, schema checks, crash rollback and its scaling layout."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidkit.errors import ClipRangeError, StoreConfigError, StoreSchemaError
from vidkit.io import frame_store as store
from vidkit.io.frame_store_writer import EncodedVideo, FrameStoreWriter
from vidkit.io.image import encode_image


def _video(video_id: str, frames: np.ndarray, codec: str, flow: bool = False) -> EncodedVideo:
    """Frames are RGB; the writer's encoder takes OpenCV's BGR."""
    encoded = [encode_image(f[..., ::-1], codec) for f in frames]
    u = [encode_image(f[..., 0], codec) for f in frames[1:]] if flow else None
    v = [encode_image(f[..., 1], codec) for f in frames[1:]] if flow else None
    return EncodedVideo(video_id, f"/src/{video_id}.mp4", 25.0, frames.shape[1], frames.shape[2], encoded, u, v)


def _random_videos(rng, count, codec="raw"):
    clips = [rng.integers(0, 256, (int(rng.integers(1, 30)), 6, 8, 3), dtype=np.uint8) for _ in range(count)]
    return clips, [_video(f"v{i}", c, codec) for i, c in enumerate(clips)]


def _write(path, videos, config=store.StoreConfig(codec="raw"), commit=True, finish=True):
    with FrameStoreWriter(path, config) as writer:
        for video in videos:
            writer.add_video(video)
        if finish:
            writer.finish(None, None, {})
        elif commit:
            writer.commit()


def test_raw_roundtrip_is_exact(tmp_path):
    clips, videos = _random_videos(np.random.default_rng(0), 5)
    _write(tmp_path / "s.h5", videos)
    with store.FrameStore(tmp_path / "s.h5") as frames:
        assert frames.num_videos == 5 and frames.num_frames == sum(len(c) for c in clips)
        for i, clip in enumerate(clips):
            np.testing.assert_array_equal(frames.read_clip(i, 0, len(clip)), clip)
            record = frames.video(i)
            assert (record.id, record.n_frames, record.height, record.width) == (f"v{i}", len(clip), 6, 8)
        assert list(frames.table()["id"]) == [f"v{i}" for i in range(5)]


def test_jpeg_roundtrip_within_tolerance(tmp_path):
    # Smooth images, as real frames are: JPEG's error on noise would say nothing.
    ramp = np.linspace(0, 255, 64 * 48).reshape(48, 64).astype(np.uint8)
    clip = np.stack(
        [np.stack([np.roll(ramp, t, 1), ramp.T[:48, :48].repeat(2, 1)[:, :64], 255 - ramp], -1) for t in range(6)]
    )
    _write(tmp_path / "j.h5", [_video("a", clip, "jpeg")], store.StoreConfig())
    decoded = store.FrameStore(tmp_path / "j.h5").read_clip(0, 0, 6)
    assert np.abs(decoded.astype(int) - clip).mean() < 3


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_clip_reads_match_numpy(tmp_path_factory, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    clips, videos = _random_videos(rng, data.draw(st.integers(1, 6)))
    path = tmp_path_factory.mktemp("p") / "s.h5"
    _write(path, videos)
    frames = store.FrameStore(path)
    i = data.draw(st.integers(0, len(clips) - 1))
    n = len(clips[i])
    stride = data.draw(st.integers(1, 4))
    start = data.draw(st.integers(0, n - 1))
    length = data.draw(st.integers(1, (n - 1 - start) // stride + 1))
    np.testing.assert_array_equal(
        frames.read_clip(i, start, length, stride), clips[i][start : start + stride * length : stride]
    )
    with pytest.raises(ClipRangeError):
        frames.read_clip(i, start, length + (n - start), stride)


def test_clip_read_touches_only_its_frames(tmp_path):
    """Overwrite every byte outside one clip with garbage: that clip still reads back exactly."""
    clips, videos = _random_videos(np.random.default_rng(1), 3, codec="jpeg")
    path = tmp_path / "s.h5"
    _write(path, videos, store.StoreConfig())
    expected = store.FrameStore(path).read_clip(1, 2, 3)
    with h5py.File(path, "r+") as handle:
        first = int(handle["videos/layout"][1, 0])
        ranges = handle["streams/rgb/byte_range"][first + 2 : first + 5]
        lo, hi = int(ranges[0, 0]), int(ranges[-1].sum())
        data = handle["streams/rgb/data"]
        data[:lo] = 7
        data[hi:] = 7
    np.testing.assert_array_equal(store.FrameStore(path).read_clip(1, 2, 3), expected)


def test_flow_streams(tmp_path):
    clip = np.random.default_rng(2).integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    config = store.StoreConfig(codec="raw", flow="farneback")
    _write(tmp_path / "f.h5", [_video("a", clip, "raw", flow=True)], config)
    frames = store.FrameStore(tmp_path / "f.h5")
    assert frames.has_flow
    np.testing.assert_array_equal(frames.read_clip(0, 0, 4, stream="u")[..., 0], clip[1:, ..., 0])
    np.testing.assert_array_equal(frames.read_clip(0, 1, 3, stream="v")[..., 0], clip[2:, ..., 1])
    with pytest.raises(ClipRangeError, match="has 4 u frames"):
        frames.read_clip(0, 0, 5, stream="u")


def test_no_flow_stream_without_flow(tmp_path):
    _write(tmp_path / "s.h5", _random_videos(np.random.default_rng(3), 1)[1])
    with pytest.raises(ClipRangeError, match="without --flow"):
        store.FrameStore(tmp_path / "s.h5").read_clip(0, 0, 1, stream="u")


def test_schema_errors(tmp_path):
    with pytest.raises(StoreSchemaError, match="no such store"):
        store.FrameStore(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(StoreSchemaError, match="not a readable HDF5"):
        store.FrameStore(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle.attrs["schema"] = "vidkit.features/1"
    with pytest.raises(StoreSchemaError, match="not a frame store"):
        store.FrameStore(tmp_path / "other.h5")
    with pytest.raises(StoreSchemaError, match="not a frame store"):
        FrameStoreWriter(tmp_path / "other.h5", store.StoreConfig())


def test_config_mismatch(tmp_path):
    _write(tmp_path / "s.h5", [], store.StoreConfig(short_side=128), finish=False)
    with pytest.raises(StoreConfigError, match="short_side=128 \\(now 64\\)"):
        FrameStoreWriter(tmp_path / "s.h5", store.StoreConfig(short_side=64))


def test_uncommitted_videos_are_rolled_back(tmp_path):
    """Videos added after the last commit are invisible to readers and cut away by the next writer."""
    clips, videos = _random_videos(np.random.default_rng(4), 4)
    path = tmp_path / "s.h5"
    config = store.StoreConfig(codec="raw")
    with FrameStoreWriter(path, config) as writer:
        writer.add_video(videos[0])
        writer.add_video(videos[1])
        writer.commit()
        writer.add_video(videos[2])  # never committed: as if the process died here
    frames = store.FrameStore(path)
    assert (frames.num_videos, frames.complete) == (2, False)
    with FrameStoreWriter(path, config) as writer:
        assert list(writer.ids) == ["v0", "v1"]
        writer.add_video(videos[3])
        writer.finish(None, None, {})
    frames = store.FrameStore(path)
    assert frames.num_videos == 3 and frames.complete
    np.testing.assert_array_equal(frames.read_clip(2, 0, len(clips[3])), clips[3])
    assert frames.summary()["bytes"] == sum(c.size for c in (clips[0], clips[1], clips[3]))


def test_object_count_does_not_grow_with_videos(tmp_path):
    """Frames live in a few big datasets: 1,000 videos make no more HDF5 objects than 2."""

    def count_objects(path):
        names = []
        with h5py.File(path) as handle:
            handle.visit(names.append)
        return len(names)

    rng = np.random.default_rng(5)
    _write(tmp_path / "small.h5", _random_videos(rng, 2)[1])
    _write(
        tmp_path / "big.h5",
        [_video(f"v{i}", rng.integers(0, 256, (2, 2, 2, 3), dtype=np.uint8), "raw") for i in range(1000)],
    )
    assert count_objects(tmp_path / "small.h5") == count_objects(tmp_path / "big.h5")
    big = store.FrameStore(tmp_path / "big.h5")
    assert big.video(999).id == "v999" and big.read_clip(999, 1, 1).shape == (1, 2, 2, 3)


def test_pickles_without_its_handle(tmp_path):
    clips, videos = _random_videos(np.random.default_rng(6), 2)
    _write(tmp_path / "s.h5", videos)
    frames = store.FrameStore(tmp_path / "s.h5")
    frames.read_clip(0, 0, 1)  # opens the handle
    clone = pickle.loads(pickle.dumps(frames))
    np.testing.assert_array_equal(clone.read_clip(1, 0, 1), clips[1][:1])


def test_splits_classes_failures(tmp_path):
    _, videos = _random_videos(np.random.default_rng(7), 3)
    with FrameStoreWriter(tmp_path / "s.h5", store.StoreConfig(codec="raw")) as writer:
        for video in videos:
            writer.add_video(video)
        writer.add_failure("/bad.mp4", "cannot open /bad.mp4")
        writer.finish(["a", "b"], np.array([1, 0, -1]), {"train01": np.array([0, 1])})
    frames = store.FrameStore(tmp_path / "s.h5")
    assert frames.classes == ["a", "b"] and frames.split_names == ["train01"]
    assert frames.split("train01").tolist() == [0, 1]
    assert [frames.video(i).label for i in range(3)] == [1, 0, -1]
    assert frames.failures() == [("/bad.mp4", "cannot open /bad.mp4")]
    with pytest.raises(StoreSchemaError, match="no split 'test01'"):
        frames.split("test01")
    summary = frames.summary()
    assert (summary["videos"], summary["failed"], summary["splits"]) == (3, 1, {"train01": 2})
