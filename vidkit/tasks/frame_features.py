"""Per-frame features of a frozen backbone, computed once and read back as frame sequences.

A frozen backbone in eval mode maps a frame to the same vector in every epoch, so the Kinetics
LSTM probe (vince.md 6.3) need not run it more than once: `embed --per-frame --clip-len 1` writes
one row per frame into a feature store (the cache), and `FrameSequences` hands out sequences of
consecutive rows of one video. The cache is reused only when it was made from the same frame
store, backbone and input size; otherwise it is recomputed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidkit import embed as embedding
from vidkit.errors import StoreSchemaError, VidkitError
from vidkit.io.features import FeatureStore, read_features
from vidkit.io.h5 import schema_of

log = logging.getLogger("vidkit")


def _wanted(frames: Path, checkpoint: Path | None, backbone: str | None, size: int | None, seed: int) -> dict:
    return {
        "frames": str(frames),
        "checkpoint": str(checkpoint) if checkpoint is not None else None,
        "backbone": backbone,
        "size": size,
        "seed": seed,
    }


def _matches(store: FeatureStore, wanted: dict) -> bool:
    config = store.config
    same_source = config.get("checkpoint") == wanted["checkpoint"] and (
        wanted["backbone"] is None or config.get("backbone") == wanted["backbone"]
    )
    return (
        config.get("per_frame") is True
        and config.get("clip_len") == 1
        and config.get("frames") == wanted["frames"]
        and same_source
        and (wanted["size"] is None or config.get("size") == wanted["size"])
        and config.get("modality") == "rgb"
        and (wanted["checkpoint"] is not None or config.get("seed") == wanted["seed"])  # random init
    )


def cached_frame_features(
    frames: Path,
    cache: Path,
    *,
    checkpoint: Path | None,
    backbone: str | None,
    size: int | None,
    batch_size: int,
    workers: int,
    device: str,
    seed: int,
    progress=None,
) -> FeatureStore:
    """Every frame's pooled feature (`(frames, D)` rows of `cache`), from the cache when it fits.

    Raises:
        VidkitError: the backbone, store or cache cannot be used (see `vidkit.embed.embed`).
    """
    wanted = _wanted(frames, checkpoint, backbone, size, seed)
    if cache.exists() and schema_of(cache) is not None:
        try:
            store = read_features(cache)
        except StoreSchemaError:
            store = None
        if store is not None and _matches(store, wanted):
            log.info("reusing the per-frame features in %s", cache)
            return store
        log.info("%s holds other features; recomputing them", cache)
    config = embedding.EmbedConfig(
        split="all",
        per_frame=True,
        clip_len=1,
        stride=1,
        modality="rgb",
        size=size,
        batch_size=batch_size,
        workers=workers,
        device=device,
        seed=seed,
    )
    embedding.embed(frames, cache, checkpoint=checkpoint, backbone=backbone, config=config, progress=progress)
    return read_features(cache)


@dataclass
class FrameSequences:
    """Rows of a per-frame feature store grouped by video, in frame order.

    `rows[v]` holds video `v`'s feature rows sorted by frame; `step` frames apart make the probe's
    frame rate (3 at 30 fps for the seed's 10 fps).
    """

    features: np.ndarray  # (N, D) float32
    rows: dict[int, np.ndarray]

    @classmethod
    def from_store(cls, store: FeatureStore) -> FrameSequences:
        order = np.lexsort((store.clip_start, store.video_index))
        videos, first = np.unique(store.video_index[order], return_index=True)
        groups = np.split(order, first[1:])
        return cls(store.features.astype(np.float32, copy=False), {int(v): g for v, g in zip(videos, groups)})

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    def check(self, videos: np.ndarray) -> None:
        """Raises: VidkitError: some of `videos` have no feature rows."""
        missing = [int(v) for v in videos if int(v) not in self.rows]
        if missing:
            raise VidkitError(
                f"{len(missing)} videos have no per-frame features (e.g. video {missing[0]}); recompute the cache"
            )

    def length(self, video: int) -> int:
        return len(self.rows[video])

    def sequence(self, video: int, start: int, length: int, step: int) -> np.ndarray:
        """`(length, D)` features of frames `start, start + step, ...`; a short video repeats its last frame."""
        rows = self.rows[video]
        frames = np.minimum(start + step * np.arange(length), len(rows) - 1)
        return self.features[rows[frames]]
