"""Which videos of a frame store a command works on: a named split, all of them, or train01 by default."""

from __future__ import annotations

import numpy as np

from vidkit.errors import VidkitError


def select_videos(store, split: str | None) -> tuple[str, np.ndarray]:
    """`(split name, video indices)`: a named split, `all`, or (None) train01 when present, else all.

    Raises:
        VidkitError: the split is empty; StoreSchemaError: the store has no such split.
    """
    if split is None:
        split = "train01" if "train01" in store.split_names else "all"
    videos = np.arange(store.num_videos) if split == "all" else store.split(split)
    if len(videos) == 0:
        raise VidkitError(f"split {split!r} of {store.path.name} holds no video")
    return split, videos
