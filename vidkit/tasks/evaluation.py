"""Testing a classifier the papers' way: evenly spaced centre clips per video, logits averaged.

IIC's protocol (iic.md 9): `clips` evenly spaced centre-cropped clips per test video, their logits
averaged into the video's; video- and clip-level top-1/top-5 are hits / total. The confusion
matrix is written beside the checkpoint. Used by fine-tuning's validation and test, and by every
end task that ends in a classifier.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidkit.checkpoint.recipe import InputRecipe
from vidkit.data import sampling
from vidkit.data.datasets import ClipDataset
from vidkit.engine import inference
from vidkit.errors import VidkitError
from vidkit.io.atomic import atomic_path
from vidkit.io.frame_store import FrameStore


def labelled_videos(store: FrameStore, split: str) -> tuple[np.ndarray, np.ndarray]:
    """`(videos, labels)` of the labelled videos of a split.

    Raises:
        VidkitError: no such split, or no labelled video in it.
    """
    if split not in store.split_names:
        have = ", ".join(store.split_names) or "none"
        raise VidkitError(f"{store.path.name} has no split {split!r} (it has: {have}); extract with --annotations")
    videos = store.split(split)
    labels = store.table()["label"][videos]
    keep = labels >= 0
    if not keep.any():
        raise VidkitError(f"split {split!r} of {store.path.name} holds no labelled video")
    return videos[keep], labels[keep]


def eval_items(store: FrameStore, videos: np.ndarray, recipe: InputRecipe, clips: int) -> np.ndarray:
    """`clips` evenly spaced `(video, start)` rows per video, placed in the modality's own frames."""
    span = sampling.clip_span(recipe.clip_len, recipe.stride, recipe.modality)
    counts = sampling.usable_frames(store.table()["n_frames"], recipe.modality)
    return sampling.clip_items(counts, videos, span, clips, per_frame=False)


def predict(
    model,
    store: FrameStore,
    items: np.ndarray,
    recipe: InputRecipe,
    *,
    batch_size: int,
    workers: int,
    device: torch.device,
) -> np.ndarray:
    """`(rows, classes)` logits of the clips `items` (`(video, start)` rows), centre-cropped, in eval mode."""
    dataset = ClipDataset(store, items, **recipe.clip_reading())
    model.eval()
    return inference.run(
        model,
        inference.loader(dataset, batch_size=batch_size, workers=workers, device=device),
        device=device,
        width=model.fc.out_features,
    )


def topk(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose label is among their `k` highest logits."""
    k = min(k, logits.shape[1])
    best = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float((best == labels[:, None]).any(axis=1).mean())


@dataclass
class TestResult:
    top1: float
    top5: float
    clip_top1: float
    clip_top5: float
    videos: int
    confusion: np.ndarray


def test(
    model,
    store: FrameStore,
    videos: np.ndarray,
    labels: np.ndarray,
    recipe: InputRecipe,
    *,
    clips: int,
    batch_size: int,
    workers: int,
    device: torch.device,
) -> TestResult:
    """IIC's test protocol: `clips` evenly spaced centre clips per video; their logits averaged."""
    logits = predict(
        model,
        store,
        eval_items(store, videos, recipe, clips),
        recipe,
        batch_size=batch_size,
        workers=workers,
        device=device,
    )
    per_video = logits.reshape(len(videos), clips, -1).mean(axis=1)
    clip_labels = np.repeat(labels, clips)
    classes = logits.shape[1]
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, per_video.argmax(axis=1)), 1)
    return TestResult(
        topk(per_video, labels, 1),
        topk(per_video, labels, 5),
        topk(logits, clip_labels, 1),
        topk(logits, clip_labels, 5),
        len(videos),
        confusion,
    )


def write_confusion(path: Path, confusion: np.ndarray, classes: list[str]) -> None:
    """Rows are true classes, columns predicted ones, both named."""
    names = classes if len(classes) == len(confusion) else [str(i) for i in range(len(confusion))]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["true\\predicted", *names])
        for name, row in zip(names, confusion):
            writer.writerow([name, *row.tolist()])


def confusion_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.stem + ".confusion.csv")
