"""MoCo v1 (He et al., CVPR 2020, arXiv:1911.05722) and MoCo v2 (Chen et al., arXiv:2003.04297).

A query encoder (backbone + projection head) and its momentum copy, the key encoder, see two
augmentations of an image; the query must pick its key out of the negative queue of past keys
(InfoNCE). `moco` is MoCo v1 (linear 128-d head, T 0.07, MoCo v1 augmentation, step schedule);
`mocov2` is MoCo v2 (MLP head, T 0.2, MoCo v2 augmentation with blur, cosine schedule). Both keep
K 65536 and m 0.999.

The VINCE seed's own "MoCo" baseline (vince.md 3) differs: an MLP head with E 64 on ResNet-18;
`--method moco --backbone resnet18 -O head=mlp -O dim=64` reproduces its table's MoCo rows
(`-O pairs=same` on ImageNet frames or R2V2: "MoCo-IN" / "MoCo-R2V2"; `-O pairs=different`:
the multi-frame single-pair baseline).

Shared parts: `methods.momentum.MomentumEncoder` (EMA copy, shuffle-BN under DDP),
`methods.queue.NegativeQueue` (filled by the steps' own keys; until full the loss uses the filled
rows only), `losses.multi_positive_info_nce` (one positive per row is InfoNCE).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vidkit.data.augment import AUGMENTATIONS
from vidkit.methods.base import MethodOutput, SSLMethod
from vidkit.methods.losses import full_precision, multi_positive_info_nce
from vidkit.methods.momentum import MomentumEncoder
from vidkit.methods.options import MethodDefaults, option
from vidkit.methods.queue import NegativeQueue
from vidkit.models.heads import HEAD_KINDS, projection_head


@dataclass
class MoCoOptions:
    """MoCo v1's hyper-parameters, with the paper's values (arXiv:1911.05722 section 4)."""

    dim: int = option(128, "Embedding width E of the L2-normalised head.")
    head: str = option("linear", "Projection head: linear (MoCo v1) or MLP C->C->E (MoCo v2, VINCE).", HEAD_KINDS)
    temperature: float = option(0.07, "Temperature T of the InfoNCE logits.")
    queue: int = option(65536, "Negative queue length K (keys of past steps).")
    key_momentum: float = option(0.999, "Momentum m of the key encoder's EMA.")
    momentum_schedule: str = option(
        "constant", "constant m, or cosine from m to 1 over the run (BYOL).", ("constant", "cosine")
    )
    augmentation: str = option("moco-v1", "Augmentation preset (docs/methods.md).", AUGMENTATIONS)
    pairs: str = option(
        "same",
        "Query and key from the same frame (MoCo), different frames of a video, or any two (with replacement).",
        ("same", "different", "any"),
    )
    cached: int = option(4, "Frames per video to pick the views from, spread as R2V2 cached them.")
    gap_seconds: float = option(5.0, "Seconds between those frames (R2V2: 150 frames at 30 fps).")
    exclude_own: bool = option(True, "Queue keys of the query's own video are no negatives (MoCo counts them).")


@dataclass
class MoCoV2Options(MoCoOptions):
    """MoCo v2's changes to MoCo v1 (arXiv:2003.04297): MLP head, T 0.2, blur augmentation."""

    head: str = option("mlp", "Projection head: linear (MoCo v1) or MLP C->C->E (MoCo v2, VINCE).", HEAD_KINDS)
    temperature: float = option(0.2, "Temperature T of the InfoNCE logits.")
    augmentation: str = option("moco-v2", "Augmentation preset (docs/methods.md).", AUGMENTATIONS)


class MoCo(SSLMethod):
    """MoCo v1 on a 2D backbone (options: `MoCoOptions`); `frames_per_video` views per sample."""

    name = "moco"
    sample = "frame_views"  # batch keys: data.samples.SAMPLE_KEYS
    backbone_dims = 2
    # MoCo v1 (section 4.1): ResNet-50, 224 px, batch 256, lr 0.03, x0.1 at epochs 120 and 160 of 200.
    defaults = MethodDefaults(
        backbone="resnet50",
        size=224,
        clip_len=1,
        epochs=200,
        batch_size=256,
        lr=0.03,
        milestones=(0.6, 0.8),
        gamma=0.1,
    )
    Options = MoCoOptions
    frames_per_video = 1

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: MoCoOptions = MoCoOptions()):
        super().__init__(backbone, options)
        self.derived = {"num_videos": num_videos}
        self.head = projection_head(options.head, backbone.num_features, options.dim)
        self.key_encoder = MomentumEncoder(
            nn.Sequential(backbone, self.head), options.key_momentum, cosine=options.momentum_schedule == "cosine"
        )
        self.queue = NegativeQueue(options.queue, options.dim)
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def build_dataset(cls, store, videos, recipe, options: MoCoOptions, seed: int):
        from vidkit.data.augment import preset
        from vidkit.data.frame_views import FrameViewsDataset

        return FrameViewsDataset(
            store,
            videos,
            size=recipe.size,
            frames=cls._frames(options),
            pairs=options.pairs,
            augmentation=preset(options.augmentation),
            seed=seed,
            mean=recipe.mean,
            std=recipe.std,
            cached=options.cached,
            gap_seconds=options.gap_seconds,
        )

    @classmethod
    def _frames(cls, options) -> int:
        return cls.frames_per_video

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """`(B, 3, H, W)` -> `(B, E)` unit-norm query embeddings."""
        return self.head(self.backbone(images))

    def encode(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Queries and keys `(V * N, E)`, video-major (a video's N views are adjacent), in fp32."""
        query, key = batch["query"].flatten(0, 1), batch["key"].flatten(0, 1)  # (V * N, 3, S, S)
        q = self.embed(query)
        k = self.key_encoder(key)
        return q.float(), k.float().detach()

    def row_videos(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """`(V * N,)` the video (dataset index) of each query/key row."""
        return batch["index"].repeat_interleave(batch["query"].shape[1])

    def own_in_queue(self, videos: torch.Tensor) -> torch.Tensor:
        """`(B, n)` True where a queue row holds a key of the row's own video (with `exclude_own`)."""
        ids = self.queue.key_ids
        if not self.options.exclude_own:
            return torch.zeros(len(videos), len(ids), dtype=torch.bool, device=videos.device)
        return videos[:, None] == ids[None, :]

    def forward(self, batch: dict[str, torch.Tensor]) -> MethodOutput:
        q, k = self.encode(batch)  # (B, E) each
        videos = self.row_videos(batch)  # (B,)
        negatives = self.queue.keys  # (n, E): the filled rows, read before this step's enqueue
        with full_precision(q):
            logits = torch.cat([(q * k).sum(1, keepdim=True), q @ negatives.float().T], dim=1)  # (B, 1 + n)
            positives = torch.zeros_like(logits, dtype=torch.bool)
            positives[:, 0] = True
            ignore = torch.cat([torch.zeros_like(positives[:, :1]), self.own_in_queue(videos)], dim=1)  # (B, 1 + n)
            loss = multi_positive_info_nce(logits, positives, self.options.temperature, ignore)
        self._pending = (k, videos)
        return MethodOutput(loss, contrast_metrics(logits.detach(), positives, len(negatives), ignore))

    def on_step_end(self, progress: float) -> None:
        self.key_encoder.update(progress)
        if self._pending is not None:
            self.queue.push(*self._pending)
            self._pending = None


def contrast_metrics(
    logits: torch.Tensor, positives: torch.Tensor, queued: int, ignore: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The seed's monitors (vince.md 2.4): positive similarity, hardest negative, and the fraction of
    positives above every negative of their row; plus how many queue rows were used."""
    negatives = logits.masked_fill(positives | ignore, -2.0)  # cosine similarities are >= -1
    hardest = negatives.max(dim=1, keepdim=True).values  # (B, 1)
    return {
        "pos_sim": logits[positives].mean(),
        "neg_sim_max": hardest.mean(),
        "accuracy": (logits > hardest).masked_select(positives).float().mean(),
        "queued": torch.tensor(float(queued)),
    }


class MoCoV2(MoCo):
    """MoCo v2 (options: `MoCoV2Options`): MoCo v1 with an MLP head, T 0.2, blur, cosine schedule."""

    name = "mocov2"
    # MoCo v2 (arXiv:2003.04297): ResNet-50, 224 px, batch 256, lr 0.03, cosine over 200 epochs.
    defaults = MethodDefaults(
        backbone="resnet50",
        size=224,
        clip_len=1,
        epochs=200,
        batch_size=256,
        lr=0.03,
        milestones=(),
        gamma=0.1,
        schedule="cosine",
    )
    Options = MoCoV2Options

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: MoCoV2Options = MoCoV2Options()):
        super().__init__(backbone, num_videos=num_videos, options=options)
