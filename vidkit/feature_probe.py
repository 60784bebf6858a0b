"""A linear probe on frozen features: logistic regression trained on one feature store and tested on
another, the core of `vidkit linear-probe`.

`vidkit embed` runs a frozen backbone once over the train and test splits; this module fits a
multinomial logistic regression (scikit-learn's L-BFGS solver, as CLIP's linear-probe evaluation
did: Radford et al. 2021, arXiv:2103.00020, section 3.2) on the train store's rows and scores the
test store's. Which rows (`level`):
- `video` (default): one row per video, the mean of its clips' features (the retrieval protocol's
  video feature, `retrieval.video_level`), and one prediction per video;
- `clip`: every clip row is a training sample, and a test video's prediction is the mean of its
  clips' class probabilities.
Each row is scaled to unit length, then every feature is standardised with the train rows' mean
and spread: pooled ReLU features share a common offset whose size against their spread differs
from backbone to backbone, and this keeps one regularisation strength `c` meaningful for a
random-init net and a pretrained one alike (`finetune --head norm-linear` does the same inside a trained head).

Why beside `finetune --linear`: that trains the head by SGD over augmented frames, running the
backbone every epoch, with a learning rate and schedule to choose. With the backbone frozen and no
augmentation the features never change, so they are computed once (`embed`, whose stores
`build-index` reuses too) and the convex problem is solved to convergence, with nothing to tune but
the regularisation. The price is no train-time augmentation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidkit.errors import UsageError, VidkitError
from vidkit.io.features import FeatureStore, describe, other_net, read_features
from vidkit.retrieval import clip_level, same_videos, topk_hits, unit_rows, video_level

log = logging.getLogger("vidkit")

LEVELS = ("video", "clip")
DEFAULT_K = (1, 5)


@dataclass
class ProbeResult:
    train: int  # training rows (labelled)
    test: int  # test videos (labelled, scored)
    classes: int
    level: str
    c: float
    topk: dict[str, float]  # "1" -> fraction of test videos whose class is among the k best
    train_top1: float
    per_class: dict[str, float] = field(default_factory=dict)  # class label -> top-1

    def summary(self) -> dict:
        return {
            "train": self.train,
            "test": self.test,
            "classes": self.classes,
            "level": self.level,
            "c": self.c,
            "top1": self.topk["1"],
            "topk": self.topk,
            "train_top1": self.train_top1,
            "per_class": self.per_class,
        }


def _check_same_net(train: FeatureStore, test: FeatureStore, names: tuple[str, str]) -> None:
    """Refuse a test store embedded by another net, input or pooling than the train store."""
    why = other_net(describe(Path(names[0]), train), describe(Path(names[1]), test))
    if why is not None:
        raise VidkitError(f"{names[1]} {why}; a probe needs one net's features")


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows `(N, D)` to unit length, then each feature to zero mean and unit spread over the train rows
    (a feature constant over the train rows is left centred, not divided by zero)."""
    train, test = unit_rows(train.astype(np.float64)), unit_rows(test.astype(np.float64))
    mean, spread = train.mean(axis=0), train.std(axis=0)
    spread[spread < 1e-12] = 1.0
    return (train - mean) / spread, (test - mean) / spread


def linear_probe(
    train_path: Path, test_path: Path, *, level: str = "video", c: float = 1.0, ks=DEFAULT_K, max_iter: int = 1000
) -> ProbeResult:
    """Fit on `train_path`'s labelled rows, score `test_path`'s labelled videos.

    Raises:
        StoreSchemaError: a store is missing, damaged or not a feature store.
        VidkitError: the stores come from different nets, or the train store has fewer than two classes.
        UsageError: an unknown `level`, or `c` not positive.
    """
    from sklearn.linear_model import LogisticRegression

    if level not in LEVELS:
        raise UsageError(f"unknown --level {level!r}; choose one of {', '.join(LEVELS)}")
    if not c > 0:
        raise UsageError(f"--c must be positive, not {c}")
    names = (str(train_path), str(test_path))
    train_store, test_store = read_features(train_path), read_features(test_path)
    _check_same_net(train_store, test_store, names)
    rows = video_level if level == "video" else clip_level
    train, test = rows(train_store), rows(test_store)
    if same_videos(train.video_id, test.video_id):
        log.warning("%s and %s hold the same videos: the score is training accuracy, not a held-out one", *names)
    train_mask, test_mask = train.label >= 0, test.label >= 0
    classes = np.unique(train.label[train_mask])
    if len(classes) < 2:
        raise VidkitError(f"{train_path}: {len(classes)} labelled class(es); a classifier needs at least two")
    if not test_mask.any():
        raise VidkitError(f"{test_path}: no labelled videos to score")
    x_train, x_test = standardise(train.features[train_mask], test.features[test_mask])
    y_train = train.label[train_mask]
    model = LogisticRegression(C=c, max_iter=max_iter)
    model.fit(x_train, y_train)
    probabilities = model.predict_proba(x_test)  # (M, classes)
    labels, videos = test.label[test_mask], test.video_id[test_mask]
    if level == "clip":  # one prediction per video: the mean of its clips' probabilities
        unique, group = np.unique(videos, return_inverse=True)
        pooled = np.zeros((len(unique), len(classes)))
        np.add.at(pooled, group, probabilities)
        first = np.unique(group, return_index=True)[1]
        probabilities, labels = pooled, labels[first]
    ks = [k for k in ks if k <= len(classes)]
    ranked = model.classes_[np.argsort(-probabilities, axis=1)]  # (V, classes) best first
    hits = topk_hits(ranked, labels, ks)  # (V, len(ks))
    topk = {str(k): float(hits[:, i].mean()) for i, k in enumerate(ks)}
    top1 = hits[:, ks.index(1)]  # (V,)
    per_class = {str(int(label)): float(top1[labels == label].mean()) for label in np.unique(labels)}
    return ProbeResult(
        train=int(train_mask.sum()),
        test=len(labels),
        classes=len(classes),
        level=level,
        c=c,
        topk=topk,
        train_top1=float(model.score(x_train, y_train)),
        per_class=per_class,
    )
