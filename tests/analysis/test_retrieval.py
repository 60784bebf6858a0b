"""build-index and retrieve: exactness against NumPy, the self-query sanity check, IVF recall, errors."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest

from vidkit import retrieval
from vidkit.cli.app import app
from vidkit.errors import VidkitError
from vidkit.io.features import FeatureStore, write_features


def make_store(path, features, videos, labels, clips=1, **config):
    """A feature store of `len(videos)` videos with `clips` rows each (row features given in order)."""
    n = len(videos)
    store = FeatureStore(
        features=np.asarray(features, dtype=np.float32),
        video_index=np.repeat(np.arange(n), clips),
        video_id=np.repeat(np.asarray(videos, dtype=object), clips),
        clip_start=np.tile(np.arange(clips) * 4, n),
        clip_end=np.tile(np.arange(clips) * 4 + 3, n),
        label=np.repeat(np.asarray(labels), clips),
        config={"pooling": "avg", "modality": "rgb", "backbone": "tiny", "checkpoint": None, **config},
    )
    write_features(path, store)
    return path


def random_split(tmp_path, name, n, dim, clips, seed, classes=5):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n * clips, dim))
    return make_store(
        tmp_path / f"{name}.h5", feats, [f"{name}{i}" for i in range(n)], rng.integers(classes, size=n), clips
    ), feats


def numpy_topk(gallery, gallery_labels, queries, query_labels, ks):
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    order = np.argsort(-(q @ g.T), axis=1, kind="stable")
    return {
        str(k): float(np.mean([(gallery_labels[order[i, :k]] == query_labels[i]).any() for i in range(len(q))]))
        for k in ks
    }


def test_flat_cosine_equals_numpy_brute_force(tmp_path):
    train, train_rows = random_split(tmp_path, "train", 60, 16, 3, seed=0)
    test, test_rows = random_split(tmp_path, "test", 25, 16, 3, seed=1)
    retrieval.build_index([train], tmp_path / "g.index", retrieval.IndexConfig())
    result = retrieval.retrieve(tmp_path / "g.index", [test], (1, 5, 10))
    # Video features are the mean of their 3 clip rows.
    g = train_rows.reshape(60, 3, 16).mean(1)
    q = test_rows.reshape(25, 3, 16).mean(1)
    gl = retrieval.read_features(train).label[::3]
    ql = retrieval.read_features(test).label[::3]
    assert result.topk == numpy_topk(g, gl, q, ql, (1, 5, 10))
    expected = np.argsort(
        -((q / np.linalg.norm(q, axis=1, keepdims=True)) @ (g / np.linalg.norm(g, axis=1, keepdims=True)).T), axis=1
    )[:, :10]
    assert np.array_equal(result.neighbours, expected)


def test_l2_metric_ranks_by_euclidean_distance(tmp_path):
    train, train_rows = random_split(tmp_path, "train", 40, 8, 1, seed=2)
    test, test_rows = random_split(tmp_path, "test", 10, 8, 1, seed=3)
    retrieval.build_index([train], tmp_path / "g.index", retrieval.IndexConfig(metric="l2", normalize="none"))
    result = retrieval.retrieve(tmp_path / "g.index", [test], (1, 5))
    d = ((test_rows[:, None, :] - train_rows[None]) ** 2).sum(-1)
    assert np.array_equal(result.neighbours, np.argsort(d, axis=1)[:, :5])
    np.testing.assert_allclose(result.scores, np.sort(d, axis=1)[:, :5], rtol=1e-4)


def test_self_query_scores_one_unless_self_is_excluded(tmp_path):
    train, _ = random_split(tmp_path, "train", 30, 16, 2, seed=4)
    retrieval.build_index([train], tmp_path / "g.index", retrieval.IndexConfig())
    assert retrieval.retrieve(tmp_path / "g.index", [train], (1,)).topk == {"1": 1.0}
    excluded = retrieval.retrieve(tmp_path / "g.index", [train], (1,), exclude_self=True)
    assert excluded.topk["1"] < 0.6  # random features: near chance (5 classes)
    assert not (
        retrieval.load_index(tmp_path / "g.index").video_id[excluded.neighbours[:, 0]] == excluded.query_id
    ).any()


def test_exclude_self_skips_every_clip_of_the_video_in_a_clip_level_gallery(tmp_path):
    train, _ = random_split(tmp_path, "train", 20, 8, 4, seed=5)
    retrieval.build_index([train], tmp_path / "g.index", retrieval.IndexConfig(clip_level=True))
    result = retrieval.retrieve(tmp_path / "g.index", [train], (1, 5), clip=True, exclude_self=True)
    assert result.queries == 80
    gallery_ids = retrieval.load_index(tmp_path / "g.index").video_id
    assert (gallery_ids[result.neighbours] != result.query_id[:, None]).all()


def test_joint_retrieval_checks_and_normalises_parts(tmp_path):
    rng = np.random.default_rng(6)
    videos, labels = [f"v{i}" for i in range(20)], rng.integers(4, size=20)
    a = make_store(tmp_path / "a.h5", rng.normal(size=(20, 8)), videos, labels)
    big = rng.normal(size=(20, 4)) * 1000  # a part with a huge norm must not dominate under --normalize each
    b = make_store(tmp_path / "b.h5", big, videos, labels, pooling="iic")
    config = retrieval.IndexConfig(normalize="each")
    retrieval.build_index([a, b], tmp_path / "ab.index", config)
    index = retrieval.load_index(tmp_path / "ab.index")
    assert index.index.d == 12 and [p["pooling"] for p in index.config.parts] == ["avg", "iic"]
    assert retrieval.retrieve(tmp_path / "ab.index", [a, b], (1,)).topk == {"1": 1.0}

    with pytest.raises(VidkitError, match="joins 2 feature store"):
        retrieval.retrieve(tmp_path / "ab.index", [a], (1,))
    same_width = make_store(tmp_path / "b2.h5", big, videos, labels)
    with pytest.raises(VidkitError, match=r"pooling 'avg' where .*b.h5 was with 'iic' \(the index's part 2\)"):
        retrieval.retrieve(tmp_path / "ab.index", [a, same_width], (1,))
    shuffled = make_store(tmp_path / "c.h5", rng.normal(size=(20, 4)), videos[::-1], labels)
    with pytest.raises(VidkitError, match="same videos in the same order"):
        retrieval.build_index([a, shuffled], tmp_path / "bad.index", config)
    assert not (tmp_path / "bad.index").exists()


def test_center_lets_a_part_with_a_common_direction_count(tmp_path):
    """Part b is one shared direction plus a small class signal (as a small net's pooled ReLU
    features are): unit-scaled as is, it scores about 1 against everything and the noise part a
    decides; centred on the gallery's mean, b's signal decides, and the queries are centred with the
    gallery's mean (stored in the index), not their own."""
    rng = np.random.default_rng(8)
    classes = np.eye(4, 16)  # (4, 16) one direction per class
    gallery_labels, query_labels = np.arange(40) % 4, np.array([2])  # one query: its own mean is itself
    common = np.full(16, 10.0)

    def part_b(labels):
        return common + 0.3 * classes[labels] + 0.01 * rng.normal(size=(len(labels), 16))

    a_train = make_store(
        tmp_path / "a_train.h5", rng.normal(size=(40, 8)), [f"g{i}" for i in range(40)], gallery_labels
    )
    b_train = make_store(tmp_path / "b_train.h5", part_b(gallery_labels), [f"g{i}" for i in range(40)], gallery_labels)
    a_test = make_store(tmp_path / "a_test.h5", rng.normal(size=(1, 8)), ["q0"], query_labels)
    b_test = make_store(tmp_path / "b_test.h5", part_b(query_labels), ["q0"], query_labels)
    top1 = {}
    for normalize in ("each", "center"):
        retrieval.build_index(
            [a_train, b_train], tmp_path / f"{normalize}.index", retrieval.IndexConfig(normalize=normalize)
        )
        result = retrieval.retrieve(tmp_path / f"{normalize}.index", [a_test, b_test], (1,))
        top1[normalize] = int(gallery_labels[result.neighbours[0, 0]])
    assert top1["center"] == 2 and top1["each"] != 2  # only centred, b's class signal finds the class
    index = retrieval.load_index(tmp_path / "center.index")
    assert [len(c) for c in index.config.centers] == [8, 16]
    np.testing.assert_allclose(index.config.centers[1], part_b(gallery_labels).mean(0), atol=0.05)
    assert retrieval.load_index(tmp_path / "each.index").config.centers == []


def test_query_dimension_mismatch_is_a_clear_error(tmp_path):
    train, _ = random_split(tmp_path, "train", 10, 8, 1, seed=7)
    other, _ = random_split(tmp_path, "other", 10, 6, 1, seed=8)
    retrieval.build_index([train], tmp_path / "g.index", retrieval.IndexConfig())
    with pytest.raises(VidkitError, match="6-d features"):
        retrieval.retrieve(tmp_path / "g.index", [other], (1,))


def test_ivf_recall_against_flat(tmp_path):
    # Clustered data, like real embeddings: 40 clusters in 32 dims.
    rng = np.random.default_rng(9)
    centres = rng.normal(size=(40, 32))
    gallery = centres[rng.integers(40, size=4000)] + 0.3 * rng.normal(size=(4000, 32))
    queries = centres[rng.integers(40, size=200)] + 0.3 * rng.normal(size=(200, 32))
    g = make_store(tmp_path / "g.h5", gallery, [f"g{i}" for i in range(4000)], np.zeros(4000, dtype=int))
    q = make_store(tmp_path / "q.h5", queries, [f"q{i}" for i in range(200)], np.zeros(200, dtype=int))
    retrieval.build_index([g], tmp_path / "flat.index", retrieval.IndexConfig())
    retrieval.build_index([g], tmp_path / "ivf.index", retrieval.IndexConfig(kind="ivf", nlist=64, nprobe=8))
    exact = retrieval.retrieve(tmp_path / "flat.index", [q], (10,)).neighbours
    approx = retrieval.retrieve(tmp_path / "ivf.index", [q], (10,)).neighbours
    one_cell = retrieval.retrieve(tmp_path / "ivf.index", [q], (10,), nprobe=1).neighbours
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    recall_1 = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(one_cell, exact)])
    assert recall > 0.9 and recall >= recall_1
    assert retrieval.load_index(tmp_path / "ivf.index").config.nlist == 64


def test_wrong_file_is_a_one_line_error(tmp_path, runner):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["schema"] = "vidkit.features/1"
    result = runner.invoke(app, ["retrieve", str(path), str(path)])
    assert result.exit_code == 1 and "not a retrieval index" in result.stderr and "Traceback" not in result.stderr


def test_cli_writes_neighbours_csv_and_per_class(tmp_path, runner):
    train, _ = random_split(tmp_path, "train", 30, 8, 2, seed=10, classes=3)
    test, _ = random_split(tmp_path, "test", 12, 8, 2, seed=11, classes=3)
    result = runner.invoke(app, ["build-index", str(train), "-o", str(tmp_path / "g.index"), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"index": str(tmp_path / "g.index"), "items": 30, "dim": 8, "kind": "flat"}
    result = runner.invoke(
        app,
        [
            "retrieve",
            str(tmp_path / "g.index"),
            str(test),
            "--k",
            "1,5",
            "--per-class",
            "--out",
            str(tmp_path / "n.csv"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["queries"] == 12 and summary["gallery"] == 30 and set(summary["topk"]) == {"1", "5"}
    assert set(summary["per_class"]) <= {"0", "1", "2"} and summary["neighbours"] == str(tmp_path / "n.csv")
    rows = list(csv.DictReader(open(tmp_path / "n.csv")))
    assert len(rows) == 12 * 5 and rows[0]["rank"] == "1" and rows[0]["query_id"] == "test0"
    assert all(r["gallery_id"].startswith("train") for r in rows)
    result = runner.invoke(app, ["retrieve", str(tmp_path / "g.index"), str(test), "--k", "a,b"])
    assert result.exit_code == 2


def test_queries_of_another_net_are_refused_unless_forced(tmp_path, runner, caplog):
    """A gallery embedded by one checkpoint and queries by another once scored 12.5% with no word."""
    train, _ = random_split(tmp_path, "train", 20, 8, 1, seed=12)
    rng = np.random.default_rng(13)
    other = make_store(
        tmp_path / "other.h5", rng.normal(size=(8, 8)), [f"q{i}" for i in range(8)], np.zeros(8, int), checkpoint="b.pt"
    )
    retrieval.build_index([train], tmp_path / "g.index", retrieval.IndexConfig())
    with pytest.raises(VidkitError, match="checkpoint 'b.pt'.*--force"):
        retrieval.retrieve(tmp_path / "g.index", [other], (1,))
    refused = runner.invoke(app, ["retrieve", str(tmp_path / "g.index"), str(other)])
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1 and "checkpoint 'b.pt'" in refused.stderr
    forced = runner.invoke(app, ["retrieve", str(tmp_path / "g.index"), str(other), "--force", "--k", "1"])
    assert forced.exit_code == 0 and "scoring anyway" in forced.stderr


def test_querying_the_gallery_with_itself_warns(tmp_path, caplog):
    train, _ = random_split(tmp_path, "train", 10, 8, 1, seed=14)
    retrieval.build_index([train], tmp_path / "g.index", retrieval.IndexConfig())
    retrieval.retrieve(tmp_path / "g.index", [train], (1,))
    assert "each finds itself first" in caplog.text
    caplog.clear()
    retrieval.retrieve(tmp_path / "g.index", [train], (1,), exclude_self=True)
    assert "finds itself" not in caplog.text
