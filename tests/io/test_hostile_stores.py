"""Stores with the right schema but hostile content (issue 28, item 12): malformed datasets, sizes
the file cannot hold, and datasets that would read other files. Each is one `error:` line (exit 1),
and no byte outside the given stores is read."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import sys

import h5py
import numpy as np
import pytest

from vidkit.cli.app import app
from vidkit.errors import StoreSchemaError
from vidkit.io.clusters import read_clusters
from vidkit.io.features import FeatureStore, read_features, write_features
from vidkit.io.frame_store import FrameStore
from vidkit.io.index import read_index

N, D = 8, 4


def _features(path, seed=0):
    rng = np.random.default_rng(seed)
    store = FeatureStore(
        features=rng.normal(size=(N, D)).astype(np.float32),
        video_index=np.arange(N),
        video_id=np.array([f"v{i}" for i in range(N)], dtype=object),
        clip_start=np.zeros(N, np.int64),
        clip_end=np.full(N, 7, np.int64),
        label=np.arange(N) % 2,
        config={"backbone": "tiny2d"},
    )
    write_features(path, store)
    return path


def _edit(source, path, change):
    shutil.copy(source, path)
    with h5py.File(path, "r+") as handle:
        change(handle)
    return path


def _replace(name, **create):
    def change(handle):
        del handle[name]
        handle.create_dataset(name, **create)

    return change


def _link(name, target):
    def change(handle):
        del handle[name]
        handle[name] = target

    return change


def _virtual(name, source, shape, dtype=np.float32):
    def change(handle):
        del handle[name]
        layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
        layout[:] = h5py.VirtualSource(str(source), name, shape=shape)
        handle.create_virtual_dataset(name, layout)

    return change


class _Opens:
    """Records every open of the watched files through Linux inotify (HDF5 opens files in C, where
    no Python patch sees it): `opened` lists the files any process opened or read."""

    def __init__(self, *paths):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK)
        assert self.fd >= 0
        for path in paths:
            assert libc.inotify_add_watch(self.fd, os.fsencode(path), 0x20 | 0x01) >= 0  # IN_OPEN | IN_ACCESS

    def opened(self) -> bool:
        try:
            return bool(os.read(self.fd, 4096))
        except BlockingIOError:
            return False
        finally:
            os.close(self.fd)


def _one_line(result, path) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0], result.stderr
    return lines[0]


@pytest.fixture
def stores(tmp_path):
    """A good feature store, a second one (another file a hostile store may point at), and features
    that a store could take from a raw file (recognisable: all 7.0)."""
    (tmp_path / "raw.bin").write_bytes(np.full((N, D), 7.0, np.float32).tobytes())
    return _features(tmp_path / "good.h5"), _features(tmp_path / "other.h5", seed=1), tmp_path / "raw.bin"


MALFORMED = {
    "string labels": (
        lambda h: _replace("label", data=np.array(["a"] * N, dtype=object), dtype=h5py.string_dtype())(h),
        "label is str",
    ),
    "1-D features": (_replace("features", data=np.arange(N, dtype=np.float32)), "features is float32 of shape (8,)"),
    "short labels": (_replace("label", data=np.arange(N - 3)), "label has 5 along axis 0 where features has 8"),
    "2^33 rows": (_replace("features", shape=(2**33, D), dtype=np.float32, chunks=(1024, D)), "declares"),
    "2^33 int rows": (_replace("label", shape=(2**33,), dtype=np.int64), "declares"),
    "no dims": (_replace("features", shape=(N, 0), dtype=np.float32), "no dimensions"),
    "null dataspace": (_replace("label", data=h5py.Empty("i8")), "label is int64 of shape None"),
}


def _gzip_bomb(handle):
    """2^33 rows from one written gzip chunk: a few KB that would decompress to 128 GiB."""
    del handle["features"]
    dataset = handle.create_dataset(
        "features", shape=(2**33, D), dtype=np.float32, chunks=(2**16, D), compression="gzip"
    )
    dataset[: 2**16] = 0


@pytest.mark.parametrize("case", sorted(MALFORMED) + ["gzip bomb"])
def test_malformed_feature_stores_are_one_line(stores, tmp_path, runner, case):
    good = stores[0]
    change, expected = MALFORMED[case] if case != "gzip bomb" else (_gzip_bomb, "compressed bytes")
    bad = _edit(good, tmp_path / "bad.h5", change)
    assert os.path.getsize(bad) < 64 << 10
    with pytest.raises(StoreSchemaError, match=re.escape(expected)):
        read_features(bad)
    index = tmp_path / "bad.index"
    assert expected in _one_line(runner.invoke(app, ["build-index", str(bad), "-o", str(index)]), bad)
    assert not index.exists()
    assert expected in _one_line(runner.invoke(app, ["linear-probe", str(bad), str(good)]), bad)
    assert expected in _one_line(runner.invoke(app, ["linear-probe", str(good), str(bad)]), bad)


FOREIGN = {
    "external storage": lambda good, other, raw: _replace(
        "features", shape=(N, D), dtype=np.float32, external=[(str(raw), 0, h5py.h5f.UNLIMITED)]
    ),
    "external link": lambda good, other, raw: _link("features", h5py.ExternalLink(str(other), "/features")),
    "virtual dataset": lambda good, other, raw: _virtual("features", other, (N, D)),
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify watches the files")
@pytest.mark.parametrize("case", sorted(FOREIGN))
def test_a_store_never_reads_another_file(stores, tmp_path, runner, case):
    good, other, raw = stores
    bad = _edit(good, tmp_path / "bad.h5", FOREIGN[case](good, other, raw))
    watch = _Opens(other, raw)
    index = tmp_path / "bad.index"
    message = _one_line(runner.invoke(app, ["build-index", str(bad), "-o", str(index)]), bad)
    assert "not a self-contained store" in message and "/features" in message
    _one_line(runner.invoke(app, ["linear-probe", str(bad), str(good)]), bad)
    with pytest.raises(StoreSchemaError, match="reads no other file"):
        read_features(bad)
    assert not index.exists()
    assert not watch.opened(), f"{case}: a file outside the given stores was opened"


def test_external_storage_of_a_system_file_is_refused(stores, tmp_path, runner):
    """What the audit found: build-index made an index out of /etc/passwd's bytes."""
    secret = tmp_path / "passwd"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 4)
    change = _replace("features", shape=(N, D), dtype=np.uint8, external=[(str(secret), 0, h5py.h5f.UNLIMITED)])
    bad = _edit(stores[0], tmp_path / "bad.h5", change)
    message = _one_line(runner.invoke(app, ["build-index", str(bad), "-o", str(tmp_path / "i.index")]), bad)
    assert f"keeps its bytes in an external file ({secret})" in message
    assert not (tmp_path / "i.index").exists()


def test_a_hostile_index_is_one_line(stores, tmp_path, runner):
    good = stores[0]
    index = tmp_path / "good.index"
    assert runner.invoke(app, ["build-index", str(good), "-o", str(index)]).exit_code == 0
    cases = {
        "short labels": (_replace("label", data=np.arange(N - 1)), "label has 7"),
        "external link": (_link("faiss", h5py.ExternalLink(str(stores[1]), "/features")), "external link"),
        "2^33 rows": (_replace("clip_start", shape=(2**33,), dtype=np.int64, chunks=(4096,)), "declares"),
    }
    for name, (change, expected) in cases.items():
        bad = _edit(index, tmp_path / "bad.index", change)
        with pytest.raises(StoreSchemaError, match=re.escape(expected)):
            read_index(bad)
        assert expected in _one_line(runner.invoke(app, ["retrieve", str(bad), str(good)]), bad), name
    # Right shapes, wrong content: bytes that are no faiss index, or fewer vectors than videos.
    garbage = _replace("faiss", data=np.frombuffer(b"garbage, not an index", np.uint8))
    fewer = _replace("faiss", data=np.frombuffer(_serialized_flat(N - 2), np.uint8))
    for change, expected in ((garbage, "damaged retrieval index"), (fewer, "6 vectors for 8 videos")):
        bad = _edit(index, tmp_path / "bad.index", change)
        assert expected in _one_line(runner.invoke(app, ["retrieve", str(bad), str(good)]), bad)


def _serialized_flat(rows: int) -> bytes:
    import faiss

    flat = faiss.IndexFlatIP(D)
    flat.add(np.zeros((rows, D), np.float32))
    return faiss.serialize_index(flat).tobytes()


def _frame_store_cases():
    def entries(value):  # every frame's (offset, length)
        def change(handle):
            ranges = handle["streams/rgb/byte_range"]
            ranges[...] = np.broadcast_to(np.asarray(value, np.int64), ranges.shape)

        return change

    def layout(column, value):  # every video's layout column
        def change(handle):
            table = handle["videos/layout"][()]
            table[:, column] = value
            handle["videos/layout"][...] = table

        return change

    def attr(name, value):
        def change(handle):
            handle.attrs[name] = value

        return change

    strings = {"data": np.array(["a"] * 9, dtype=object), "dtype": h5py.string_dtype()}
    return {
        "2^40-byte range": ([entries([0, 2**40])], "points at rows 0..1099511627776"),
        "negative offset": ([entries([-5, 10])], "points at rows -5"),
        "more videos than rows": ([attr("num_videos", 1000)], "videos/id has 9 rows; it commits 1000"),
        "frame past the stream": ([layout(0, 10**6)], "/streams/rgb/byte_range"),
        "2^20 x 2^20 frames": ([layout(2, 2**20), layout(3, 2**20)], "cannot hold 1048576x1048576x3"),
        "string labels": ([_replace("videos/label", **strings)], "videos/label is str"),
        "2^33 rows": ([_replace("videos/fps", shape=(2**33,), dtype="f8", chunks=(8192,))], "declares"),
        "external link": ([_link("videos/fps", h5py.ExternalLink("/nonexistent/other.h5", "/x"))], "external link"),
    }


@pytest.mark.parametrize("case", sorted(_frame_store_cases()))
def test_hostile_frame_stores_are_one_line(synth_frames, tmp_path, runner, case):
    changes, expected = _frame_store_cases()[case]

    def change(handle):
        for one in changes:
            one(handle)

    bad = _edit(synth_frames, tmp_path / "bad.h5", change)
    out = tmp_path / "feats.h5"
    args = ["embed", "--backbone", "tiny2d", str(bad), "-o", str(out), "--size", "32", "--workers", "0"]
    assert expected in _one_line(runner.invoke(app, [*args, "--clips-per-video", "1", "--split", "all"]), bad)
    assert not out.exists()


def test_the_good_stores_still_read(stores, synth_frames):
    assert len(read_features(stores[0])) == N
    with FrameStore(synth_frames) as store:
        assert store.read_clip(0, 0, 4).shape == (4, 32, 32, 3)
        assert len(store.encoded_frames(0)) == store.n_frames(0)


def test_hostile_clusters_stores_are_one_line(tmp_path):
    from vidkit.io.clusters import Clusters, Encoder, EncoderBlock, write_clusters

    block = EncoderBlock((0, 2), np.zeros(2), np.eye(2), np.ones(1), np.zeros((1, 2)), np.ones((1, 2)))
    good = tmp_path / "c.h5"
    write_clusters(
        good,
        Clusters(
            video_ids=["a", "b", "c"],
            ok=np.ones(3, bool),
            labels=np.zeros((2, 3), np.int64),
            seeds=np.arange(2),
            centroids=np.zeros((2, 2, 3), np.float32),
            features=np.zeros((3, 3), np.float32),
            encoder=Encoder("seed", [block], None, None, 0, 0),
        ),
    )
    assert read_clusters(good).labels.shape == (2, 3)
    cases = {
        "labels for other videos": (_replace("labels", data=np.zeros((2, 5), np.int64)), "labels has 5 along axis 1"),
        "external link": (_link("features", h5py.ExternalLink(str(good), "/features")), "external link"),
        "2^33 features": (
            _replace("features", shape=(2**33, 3), dtype=np.float32, chunks=(4096, 3), compression="lzf"),
            "declares",
        ),
    }
    for name, (change, expected) in cases.items():
        with pytest.raises(StoreSchemaError, match=re.escape(expected)):
            read_clusters(_edit(good, tmp_path / f"{name}.h5", change))
