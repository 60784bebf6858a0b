"""VINCE: video noise contrastive estimation (Gordon et al., "Watching the World Go By",
arXiv:2003.07990; vince.md 2-3).

MoCo's encoders and queue, trained on videos: each sample is N frames of one video (default 4),
each slot a query frame and a key frame picked independently from the video's R2V2-style cached
frames and augmented independently ("multi-frame multi-pair", vince.md 2.1). With the batch's
keys `k (B, E)` (B = videos x N, video-major) and the queue `Q (K, E)`, every query is scored
against `[k ; Q]` (vince.md 2.3):
- positives: the N keys of its own video (a block-diagonal mask over the first B columns);
- negatives: the keys of the batch's other videos and the whole queue;
- the loss is the multi-positive InfoNCE of vince.md 2.4 (one term per positive, the other
  positives left out of the denominator), `losses.multi_positive_info_nce`.
`self_batch` adds the same loss on `q q^T` with T 0.03 (VINCE R50 "large"; the trivial
self-similarity counts as a positive, as in the seed).

Single-frame variants (vince.md 3): `-O frames=1 -O pairs=same` is MoCo on video frames
("single-frame R2V2"), `-O frames=1 -O pairs=different` the multi-frame single-pair baseline;
with `-O inter_batch=false` the loss is exactly MoCo's. The seed refused inter-batch comparison
with an odd N (its assertion, vince.md 9 item 3); any N >= 1 works here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vidkit.errors import UsageError
from vidkit.methods.base import MethodOutput
from vidkit.methods.losses import full_precision, multi_positive_info_nce
from vidkit.methods.moco import AUGMENTATIONS, MoCo, contrast_metrics
from vidkit.methods.options import MethodDefaults, option
from vidkit.models.heads import HEAD_KINDS


@dataclass
class VinceOptions:
    """VINCE's hyper-parameters, with the values of its ResNet-18 script (vince.md 2.9)."""

    dim: int = option(64, "Embedding width E of the L2-normalised head (64 for R18, 128 for R50).")
    head: str = option("mlp", "Projection head: MLP C->C->E (VINCE) or linear.", HEAD_KINDS)
    temperature: float = option(0.07, "Temperature T (0.07 for R18, 0.2 for R50).")
    queue: int = option(65536, "Negative queue length K (keys of past steps).")
    key_momentum: float = option(0.999, "Momentum m of the key encoder's EMA.")
    momentum_schedule: str = option(
        "constant", "constant m, or cosine from m to 1 over the run (BYOL).", ("constant", "cosine")
    )
    augmentation: str = option("standard", "Augmentation preset (simclr for R50).", AUGMENTATIONS)
    frames: int = option(4, "Frames N per video in a sample; the batch holds videos x N query/key pairs.")
    pairs: str = option(
        "any",
        "Query and key frames: any two of the cached frames (VINCE), the same frame, or different frames.",
        ("any", "same", "different"),
    )
    inter_batch: bool = option(True, "Block-diagonal positives; other videos' keys of the batch as negatives.")
    self_batch: bool = option(False, "Add the loss on query-query similarities (VINCE R50).")
    self_temperature: float = option(0.03, "Temperature of the self-batch term.")
    cached: int = option(4, "Frames per video to pick from, spread as R2V2 cached them.")
    gap_seconds: float = option(5.0, "Seconds between those frames (R2V2: 150 frames at 30 fps).")
    exclude_own: bool = option(True, "Queue keys of the query's own video are no negatives (the seed counts them).")


class VINCE(MoCo):
    """VINCE on a 2D backbone (options: `VinceOptions`)."""

    name = "vince"
    # train_vince.sh (vince.md 2.9): ResNet-18, 224 px, 256 images = 64 videos x 4 frames per step,
    # lr 0.03, x0.1 at 60% and 80% of 200 x 5000 steps (92 passes over R2V2's 696k training videos).
    defaults = MethodDefaults(
        backbone="resnet18",
        size=224,
        clip_len=1,
        epochs=92,
        batch_size=64,
        lr=0.03,
        milestones=(0.6, 0.8),
        gamma=0.1,
    )
    Options = VinceOptions

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: VinceOptions = VinceOptions()):
        if options.frames < 1:
            raise UsageError(f"option frames={options.frames} of --method vince: expected at least 1")
        if options.self_batch and not options.inter_batch:
            raise UsageError("option self_batch=true of --method vince needs inter_batch=true (vince.md 2.3)")
        super().__init__(backbone, num_videos=num_videos, options=options)

    @classmethod
    def _frames(cls, options: VinceOptions) -> int:
        return options.frames

    def forward(self, batch: dict[str, torch.Tensor]) -> MethodOutput:
        if not self.options.inter_batch:
            return super().forward(batch)
        q, k = self.encode(batch)  # (B, E) each, B = V * N video-major
        frames = batch["query"].shape[1]
        negatives = self.queue.keys  # (n, E), read before this step's enqueue
        video = torch.arange(len(q), device=q.device) // frames  # (B,) the video of each row
        block = video[:, None] == video[None, :]  # (B, B) same video
        videos = self.row_videos(batch)  # (B,) dataset indices
        with full_precision(q):
            logits = q @ torch.cat([k, negatives.float()]).T  # (B, B + n)
            positives = torch.cat([block, block.new_zeros(len(q), len(negatives))], dim=1)  # (B, B + n)
            ignore = torch.cat([torch.zeros_like(block), self.own_in_queue(videos)], dim=1)  # (B, B + n)
            loss = multi_positive_info_nce(logits, positives, self.options.temperature, ignore)
            metrics = contrast_metrics(logits.detach(), positives, len(negatives), ignore)
            if self.options.self_batch:
                own = q @ q.T  # (B, B)
                self_loss = multi_positive_info_nce(own, block, self.options.self_temperature)
                metrics.update(contrast=loss.detach(), contrast_self=self_loss.detach())
                loss = loss + self_loss
        self._pending = (k, videos)
        return MethodOutput(loss, metrics)
