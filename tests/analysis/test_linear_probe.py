"""linear-probe: logistic regression on feature stores, against scikit-learn by hand; its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tests.analysis.test_retrieval import make_store
from vidkit.cli.app import app
from vidkit.errors import VidkitError
from vidkit.feature_probe import linear_probe, standardise


def class_split(tmp_path, name, per_class, clips, seed, offset=50.0, **config):
    """Three classes, each a 1.0 step on its own feature, under noise and a common offset of `offset`
    on every feature (as pooled ReLU features carry): `(path, row features, row labels)`."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), per_class)  # (V,)
    rows = np.repeat(labels, clips)  # (V * clips,)
    features = rng.normal(size=(len(rows), 8)) + np.eye(8)[rows] * 1.0 + offset
    videos = [f"{name}{i}" for i in range(len(labels))]
    return make_store(tmp_path / f"{name}.h5", features, videos, labels, clips, **config), features, rows


def _by_hand(train_x, train_y, test_x):
    """What the probe should do at video level: unit rows, train-set standardisation, sklearn's default LR."""
    a, b = standardise(train_x, test_x)
    return LogisticRegression(C=1.0, max_iter=1000).fit(a, train_y).predict(b)


def test_video_level_probe_equals_scikit_learn_by_hand(tmp_path):
    train, train_rows, train_labels = class_split(tmp_path, "train", 10, 4, seed=0)
    test, test_rows, test_labels = class_split(tmp_path, "test", 6, 4, seed=1)
    result = linear_probe(train, test)
    means = lambda rows: rows.reshape(-1, 4, 8).mean(axis=1)  # noqa: E731  (V, 8) per-video means
    predicted = _by_hand(means(train_rows), train_labels[::4], means(test_rows))
    assert result.topk["1"] == pytest.approx(float((predicted == test_labels[::4]).mean()))
    assert result.topk["1"] > 0.8  # the classes are separable under the offset
    assert (result.train, result.test, result.classes, result.level) == (30, 18, 3, "video")
    assert set(result.per_class) == {"0", "1", "2"}
    assert "5" not in result.topk  # k above the 3 classes is not scored


def test_clip_level_averages_each_test_videos_probabilities(tmp_path):
    train, train_rows, train_labels = class_split(tmp_path, "train", 10, 3, seed=2)
    test, test_rows, test_labels = class_split(tmp_path, "test", 5, 3, seed=3)
    result = linear_probe(train, test, level="clip")
    a, b = standardise(train_rows, test_rows)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(a, train_labels)
    per_video = model.predict_proba(b).reshape(-1, 3, 3).mean(axis=1).argmax(axis=1)  # (V,)
    assert result.train == 90 and result.test == 15  # every train clip is a sample; one prediction per test video
    assert result.topk["1"] == pytest.approx(float((per_video == test_labels[::3]).mean()))


def test_unlabelled_rows_are_left_out(tmp_path):
    rng = np.random.default_rng(4)
    labels = np.array([0, 1, 0, 1, -1, -1])
    features = rng.normal(size=(6, 4)) + np.eye(4)[np.maximum(labels, 0)] * 3
    train = make_store(tmp_path / "tr.h5", features, [f"v{i}" for i in range(6)], labels)
    test = make_store(tmp_path / "te.h5", features, [f"w{i}" for i in range(6)], labels)
    result = linear_probe(train, test)
    assert (result.train, result.test) == (4, 4)


def test_stores_of_different_nets_or_one_class_are_refused(tmp_path):
    train, *_ = class_split(tmp_path, "train", 4, 1, seed=5)
    other, *_ = class_split(tmp_path, "other", 4, 1, seed=6, checkpoint="moco.pt")
    with pytest.raises(VidkitError, match="checkpoint"):
        linear_probe(train, other)
    one = make_store(tmp_path / "one.h5", np.ones((3, 8)), ["a", "b", "c"], [1, 1, 1])
    with pytest.raises(VidkitError, match="at least two"):
        linear_probe(one, train)


def test_cli_prints_json_and_one_line_errors(tmp_path, runner):
    train, *_ = class_split(tmp_path, "train", 6, 2, seed=7)
    test, *_ = class_split(tmp_path, "test", 3, 2, seed=8)
    result = runner.invoke(app, ["linear-probe", str(train), str(test), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["test"] == 9 and summary["top1"] == summary["topk"]["1"] and summary["c"] == 1.0
    bad = runner.invoke(app, ["linear-probe", str(train), str(tmp_path / "missing.h5")])
    assert bad.exit_code == 1 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr
    assert runner.invoke(app, ["linear-probe", str(train), str(test), "--c", "0"]).exit_code == 2


def test_a_store_probed_against_itself_warns(tmp_path, caplog):
    """`linear-probe X X` reported 100% with no word: it is training accuracy."""
    train, *_ = class_split(tmp_path, "train", 4, 1, seed=9)
    test, *_ = class_split(tmp_path, "test", 4, 1, seed=10)
    linear_probe(train, test)
    assert "same videos" not in caplog.text
    linear_probe(train, train)
    assert "hold the same videos" in caplog.text and "training accuracy" in caplog.text
