"""Trajectory files (release text, compact HDF5, boxes) and the clusters store."""

import gzip

import numpy as np
import pytest

from tests.conftest import SHARED_DATA
from vidkit.errors import StoreSchemaError, TrajectoryFormatError
from vidkit.io import clusters as cstore
from vidkit.io import trajectories as tio

REFERENCE = SHARED_DATA / "idt_reference" / "person01_boxing_d1.gz"


def _rows(n=5, seed=0):
    rows = np.random.default_rng(seed).random((n, 436)).astype(np.float32)
    rows[:, 0] = np.arange(15, 15 + n)
    return rows


def test_reads_densetrackstab_output():
    rows = tio.read_text(REFERENCE)
    assert rows.shape == (2001, 436)
    shape = rows[:, 10:40].reshape(-1, 15, 2)
    assert np.allclose(np.linalg.norm(shape, axis=2).sum(axis=1), 1.0, atol=1e-3)
    assert rows[:, 0].min() == 15 and rows[:, 0].max() == 359


@pytest.mark.parametrize("name", ["t.txt.gz", "t.txt"])
def test_text_round_trip_in_the_release_layout(tmp_path, name):
    rows = _rows()
    tio.write_text(tmp_path / name, rows)
    back = tio.read_text(tmp_path / name)
    assert np.allclose(back, rows, rtol=1e-6)
    raw = gzip.open(tmp_path / name).read() if name.endswith(".gz") else (tmp_path / name).read_bytes()
    first = raw.decode().splitlines()[0]
    assert first.endswith("\t") and len(first.split("\t")) == 437  # trailing tab, as the release prints


def test_empty_and_malformed_text(tmp_path):
    tio.write_text(tmp_path / "e.gz", np.zeros((0, 436)))
    assert tio.read_text(tmp_path / "e.gz").shape == (0, 436)
    (tmp_path / "bad.txt").write_text("1\t2\t3\t\n")
    with pytest.raises(TrajectoryFormatError):
        tio.read_text(tmp_path / "bad.txt")
    with pytest.raises(TrajectoryFormatError):
        tio.write_text(tmp_path / "x.gz", np.zeros((2, 10)))


def test_compact_h5_round_trip(tmp_path):
    videos = [("a", _rows(4)), ("b/../c", _rows(0)), ("d", _rows(3, seed=1))]
    tio.write_h5(tmp_path / "t.h5", videos)
    back = tio.read_h5(tmp_path / "t.h5")
    assert list(back) == ["a", "b/../c", "d"]
    assert np.allclose(back["a"], videos[0][1], atol=1e-3) and back["b/../c"].shape == (0, 436)
    assert np.allclose(back["d"][:, :10], videos[2][1][:, :10])  # header kept in float32


def test_box_file(tmp_path):
    (tmp_path / "v.bb").write_text("0 1 2 30 40 0.9 50 60 70 80 0.5\n1\n")
    boxes = tio.read_boxes(tmp_path / "v.bb", num_frames=2)
    assert boxes[0].tolist() == [[1, 2, 30, 40], [50, 60, 70, 80]] and boxes[1].shape == (0, 4)
    with pytest.raises(TrajectoryFormatError):
        tio.read_boxes(tmp_path / "v.bb", num_frames=3)


def _encoder():
    block = cstore.EncoderBlock(
        (10, 436), np.zeros(426), np.eye(3, 426), np.full(2, 0.5), np.zeros((2, 3)), np.ones((2, 3))
    )
    return cstore.Encoder("seed", [block], np.arange(12) % 4, np.ones(12, np.int8), 4, 7)


def test_clusters_store_checks_ids(tmp_path):
    clusters = cstore.Clusters(
        video_ids=["v1", "v2", "v3"],
        ok=np.array([True, False, True]),
        labels=np.array([[0, -1, 1], [1, -1, 1]]),
        seeds=np.array([1234, 1235]),
        centroids=np.zeros((2, 2, 4), np.float32),
        features=np.zeros((3, 4), np.float32),
        encoder=_encoder(),
        failures=[("v2", "no trajectories")],
        config={"k": 2},
        source="frames.h5",
    )
    cstore.write_clusters(tmp_path / "c.h5", clusters)
    back = cstore.read_clusters(tmp_path / "c.h5")
    assert back.video_ids == ["v1", "v2", "v3"] and back.failures == [("v2", "no trajectories")]
    assert back.labels_for(["v3", "v1"]).tolist() == [[1, 0], [1, 1]]  # by id, not by position
    with pytest.raises(StoreSchemaError):
        back.labels_for(["v1", "v4"])
    assert back.encoder.sketch_dim == 4 and back.encoder.blocks[0].columns == (10, 436)
    with pytest.raises(StoreSchemaError):
        cstore.read_clusters(tmp_path / "missing.h5")


def test_compact_h5_is_written_from_a_generator_one_video_at_a_time(tmp_path):
    videos = [("a", _rows(4)), ("empty", _rows(0)), ("b", _rows(5000, seed=2))]  # b spans two HDF5 chunks
    total = tio.write_h5(tmp_path / "t.h5", (item for item in videos))
    back = tio.read_h5(tmp_path / "t.h5")
    assert total == 5004 and list(back) == ["a", "empty", "b"]
    assert all(np.allclose(back[vid], rows, atol=1e-3) for vid, rows in videos)
