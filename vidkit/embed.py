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

Under `torchrun` (`torchrun --nproc_per_node N -m vidkit embed ...`, one or many nodes) the clips
are split into N contiguous runs, one per rank; each rank embeds its run, the features are
gathered in rank order, and rank 0 alone claims, locks and writes the output. The rows are those
of a single-process run, in the same order, equal up to float rounding (eval mode: a clip's
feature does not depend on the other clips of its batch), so a feature store never says how many
processes made it.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidkit.checkpoint.backbone import load_backbone
from vidkit.checkpoint.recipe import scaled_resize
from vidkit.data import modalities, sampling
from vidkit.data.datasets import ClipDataset
from vidkit.data.selection import select_videos
from vidkit.engine import dist, inference
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

    An existing feature store at `out` is replaced; anything else there only with `force`. Under
    torchrun every rank calls this; rank 0 writes the store and every rank returns its summary.

    Raises:
        UsageError: `out` is an input, or exists and is no feature store.
        VidkitError: bad options, store, split or checkpoint; non-finite features.
    """
    device = resolve_device(config.device)
    joined = dist.launched_by_torchrun() and not dist.is_distributed()
    dist.init(device)
    try:
        with _claim_on_rank0(out, [frames, checkpoint], force, device):
            return _embed(frames, out, checkpoint, backbone, config, device, progress if dist.is_main() else None)
    finally:
        if joined:
            dist.shutdown()


@contextmanager
def _claim_on_rank0(out: Path, inputs: list, force: bool, device: torch.device):
    """`claim_output` on rank 0 only (one lock, one writer), with the verdict shared with every rank,
    so that a refused output stops all ranks at once instead of leaving them waiting for rank 0."""
    existing = unless_schema(FEATURES, "feature store")
    with ExitStack() as stack:
        error = None
        if dist.is_main():
            try:
                stack.enter_context(claim_output(out, inputs=inputs, existing=existing, force=force))
            except Exception as exc:  # noqa: BLE001 - re-raised below, after telling the other ranks
                error = exc
        if dist.is_distributed():
            refused = dist.broadcast_(torch.tensor([int(error is not None)], device=device))
            if error is None and refused.item():
                raise VidkitError(f"rank 0 could not claim {out}; its error says why")
        if error is not None:
            raise error
        yield


def _embed(
    frames: Path,
    out: Path,
    checkpoint: Path | None,
    backbone: str | None,
    config: EmbedConfig,
    device: torch.device,
    progress,
) -> EmbedResult:
    if config.pooling not in POOLINGS:
        raise VidkitError(f"unknown pooling {config.pooling!r}; choose one of {', '.join(POOLINGS)}")
    loaded = load_backbone(checkpoint, backbone, seed=config.seed)
    model, recipe, source = loaded.model, loaded.recipe, loaded.source
    clip_len, stride = config.clip_len or recipe.clip_len, config.stride or recipe.stride
    size, modality = config.size or recipe.size, config.modality or recipe.modality
    modalities.check(modality)
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
    mine = _share(len(items))  # this rank's clips (all of them in one process)
    dataset = ClipDataset(
        store,
        items[mine],
        clip_len=clip_len,
        stride=stride,
        size=size,
        modality=modality,
        mean=recipe.mean,
        std=recipe.std,
        resize=scaled_resize(recipe, size),
    )
    model.to(device).eval()
    for tensor in model.state_dict().values():  # rank 0's weights everywhere (a seeded init already agrees)
        dist.broadcast_(tensor)
    features = inference.run(
        lambda clips: clip_features(model, clips, config.pooling),
        inference.loader(dataset, batch_size=config.batch_size, workers=config.workers, device=device),
        device=device,
        total=len(mine),
        progress=progress,
    )
    features = _gather(features, len(items), device)
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
    if dist.is_main():
        write_features(out, result, created_by="vidkit embed")
    return EmbedResult(out, len(result), result.dim)


def _share(total: int, rank: int | None = None, world: int | None = None) -> np.ndarray:
    """Row indices of rank `rank`'s contiguous share of `total` rows (sizes differ by at most one)."""
    rank = dist.rank() if rank is None else rank
    world = dist.world_size() if world is None else world
    return np.array_split(np.arange(total), world)[rank]


def _gather(features: np.ndarray, total: int, device: torch.device) -> np.ndarray:
    """Every rank's `(n_r, D)` features, concatenated in rank order: the rows of one process.

    Collectives need equal shapes, so each share is padded to the largest one (and a rank left
    without clips learns the width from the others) and the padding cut off after the gather.
    """
    if not dist.is_distributed():
        return features
    width = dist.all_gather_cat(torch.tensor([features.shape[1]], device=device)).max().item()
    counts = [len(_share(total, r)) for r in range(dist.world_size())]
    padded = torch.zeros((max(counts), width), dtype=torch.float32, device=device)
    if len(features):
        padded[: len(features)] = torch.from_numpy(features).to(device)
    parts = dist.all_gather_cat(padded).cpu().numpy().reshape(len(counts), max(counts), width)
    return np.concatenate([part[:count] for part, count in zip(parts, counts)])
