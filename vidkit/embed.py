"""Features from a backbone over a frame store: the core of `vidkit embed`.

The backbone comes from a checkpoint, or by name with random weights (the baseline every
self-supervised result is compared with). A checkpoint's input recipe (clip length, stride,
size, modality, mean/std) gives the defaults; explicit options override them.

Rows: `clips_per_video` evenly spaced clips per video (first and last included), centre-cropped
after resizing the short side; or, with `per_frame`, one clip starting at every frame (for t-SNE).
Pooling `avg` is the backbone's global average pool. Pooling `iic` is IIC's retrieval feature
(iic.md 7.5): the last convolutional map max-pooled over 2x2 spatial windows (stride 2, time
untouched) and flattened, 512x2x3x3 = 9216 values for a 16x112x112 clip through r3d/r21d/c3d.
A 2D backbone fed a clip of T frames embeds each frame and averages the T feature vectors,
unless it was built to take the frames as channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vidkit.checkpoint.backbone import load_backbone
from vidkit.checkpoint.recipe import scaled_resize
from vidkit.data import sampling
from vidkit.data.datasets import MODALITIES, ClipDataset
from vidkit.data.selection import select_videos
from vidkit.engine import inference
from vidkit.engine.device import resolve_device
from vidkit.errors import VidkitError
from vidkit.io.features import SCHEMA as FEATURES
from vidkit.io.features import FeatureStore, write_features
from vidkit.io.frame_store import FrameStore
from vidkit.io.h5 import unless_schema
from vidkit.io.outputs import claim_output
from vidkit.models.pooling import POOLINGS, clip_features


@dataclass
class EmbedConfig:
    split: str = "all"
    clips_per_video: int = 10
    per_frame: bool = False
    modality: str | None = None  # None: the checkpoint's (rgb for a bare backbone)
    pooling: str = "avg"
    clip_len: int | None = None
    stride: int | None = None
    size: int | None = None
    batch_size: int = 32
    workers: int = 2
    device: str = "auto"
    seed: int = 0


@dataclass
class EmbedResult:
    store: Path
    rows: int
    dim: int

    def summary(self) -> dict:
        return {"store": str(self.store), "rows": self.rows, "dim": self.dim}


def embed(
    frames: Path,
    out: Path,
    *,
    checkpoint: Path | None = None,
    backbone: str | None = None,
    config: EmbedConfig = EmbedConfig(),
    force: bool = False,
    progress=None,
) -> EmbedResult:
    """Write the features of `frames` (one split or all videos) to the feature store `out`.

    An existing feature store at `out` is replaced; anything else there only with `force`.

    Raises:
        UsageError: `out` is an input, or exists and is no feature store.
        VidkitError: bad options, store, split or checkpoint; non-finite features.
    """
    with claim_output(out, inputs=[frames, checkpoint], existing=unless_schema(FEATURES, "feature store"), force=force):
        return _embed(frames, out, checkpoint, backbone, config, progress)


def _embed(
    frames: Path, out: Path, checkpoint: Path | None, backbone: str | None, config: EmbedConfig, progress
) -> EmbedResult:
    if config.pooling not in POOLINGS:
        raise VidkitError(f"unknown pooling {config.pooling!r}; choose one of {', '.join(POOLINGS)}")
    loaded = load_backbone(checkpoint, backbone, seed=config.seed)
    model, recipe, source = loaded.model, loaded.recipe, loaded.source
    clip_len, stride = config.clip_len or recipe.clip_len, config.stride or recipe.stride
    size, modality = config.size or recipe.size, config.modality or recipe.modality
    if modality not in MODALITIES:
        raise VidkitError(f"unknown modality {modality!r}; choose one of {', '.join(MODALITIES)}")
    store = FrameStore(frames)
    if modality in ("u", "v") and not store.has_flow:
        raise VidkitError(f"--modality {modality} needs flow: {frames} was extracted without --flow")
    split, videos = select_videos(store, config.split)
    table = store.table()
    # Clip positions in the modality's own stream: residuals read one frame more, flow has one fewer.
    span = sampling.clip_span(clip_len, stride, modality)
    items = sampling.clip_items(
        sampling.usable_frames(table["n_frames"], modality), videos, span, config.clips_per_video, config.per_frame
    )
    dataset = ClipDataset(
        store,
        items,
        clip_len=clip_len,
        stride=stride,
        size=size,
        modality=modality,
        mean=recipe.mean,
        std=recipe.std,
        resize=scaled_resize(recipe, size),
    )
    device = resolve_device(config.device)
    model.to(device).eval()
    features = inference.run(
        lambda clips: clip_features(model, clips, config.pooling),
        inference.loader(dataset, batch_size=config.batch_size, workers=config.workers, device=device),
        device=device,
        total=len(items),
        progress=progress,
    )
    ends = sampling.clip_last_frame(items[:, 1], span, modality, table["n_frames"][items[:, 0]])
    result = FeatureStore(
        features=features,
        video_index=items[:, 0],
        video_id=table["id"][items[:, 0]],
        clip_start=items[:, 1],
        clip_end=ends,
        label=table["label"][items[:, 0]],
        config={
            **source,
            "frames": str(frames),
            "split": split,
            "modality": modality,
            "pooling": config.pooling,
            "clip_len": clip_len,
            "stride": stride,
            "size": size,
            "per_frame": config.per_frame,
            "clips_per_video": None if config.per_frame else config.clips_per_video,
            "seed": config.seed,
        },
    )
    write_features(out, result, created_by="vidkit embed")
    return EmbedResult(out, len(result), result.dim)
