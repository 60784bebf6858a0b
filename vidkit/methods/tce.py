"""TCE: temporally coherent embeddings (Knights et al., ICPR 2020, arXiv:2004.02753; tce.md).

Each frame is embedded by a 2D backbone and a 128-d L2-normalised head. A frame is pulled towards
a temporally adjacent frame of the same video and pushed away from the memory-bank embeddings of
other videos (binary NCE over K negatives), plus a 4-way rotation-prediction loss.

The released code's defects are fixed (tce.md 2.6-2.8, 7):
- the positive is an adjacent frame within `window` frames, not the anchor itself (`data.sampling.pair_indices`);
- the memory bank is updated with momentum (0.5, the config's unused value), not overwritten;
- hard-negative mining computes `v @ M.T` (not a reshape), excludes the anchor's own row, and its
  threshold rises from -1 towards 1 as intended (`1 - exp(-rate * progress)`, not `exp(+...)`);
  switchable, on by default;
- the rotation loss is on by default (switchable);
- the random negatives that fill the places mining leaves open never repeat a hard negative or the anchor.
Scores and losses are computed in fp32 under bf16 autocast (`losses.full_precision`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

from vidkit.engine import dist
from vidkit.errors import VidkitError
from vidkit.methods.base import MethodOutput, SSLMethod
from vidkit.methods.losses import full_precision, info_nce, nce_loss, upgrade_nan_log_z
from vidkit.methods.memory_bank import MemoryBank, sample_other
from vidkit.methods.options import MethodDefaults, option
from vidkit.models.heads import ProjectionHead, RotationHead, projection_embedder


@dataclass
class TCEOptions:
    """TCE's hyper-parameters, with the paper's values (tce.md 2)."""

    dim: int = option(128, "Embedding width of the L2-normalised head.")
    negatives: int = option(8192, "Negatives per anchor (at most the training videos - 1).")
    temperature: float = option(0.07, "Temperature T of the scores.")
    bank_momentum: float = option(0.5, "Memory-bank momentum.")
    loss: str = option("nce", "Binary NCE with Z fixed on the first batch (TCE), or InfoNCE.", ("nce", "infonce"))
    mining: bool = option(True, "Hard-negative mining with the rising similarity threshold.")
    mining_fraction: float = option(1.0, "At most this fraction of the negatives are hard ones.")
    threshold: tuple[float, ...] = option((-1.0, 1.0, 5.0), "low,high,rate of the mining threshold curve.")
    rotation: bool = option(True, "Add the rotation-prediction loss.")
    rotation_weight: float = option(1.0, "Weight of the rotation loss.")
    window: int = option(1, "The positive is at most this many frames from the anchor.")
    colour: bool = option(True, "Colour jitter and random grey, drawn independently for each view (TCE's).")


class TCE(SSLMethod):
    """TCE on a 2D backbone (options: `TCEOptions`)."""

    name = "tce"
    sample = "frame_pair"  # batch keys: data.samples.SAMPLE_KEYS
    backbone_dims = 2
    # TCE (tce.md 3): 224 px frames, batch 100, lr 0.03, x0.1 at epoch 25 of 50.
    defaults = MethodDefaults(
        backbone="resnet18", size=224, clip_len=1, epochs=50, batch_size=100, lr=0.03, milestones=(0.5,), gamma=0.1
    )
    Options = TCEOptions

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: TCEOptions = TCEOptions()):
        if num_videos < 2:
            raise VidkitError("TCE needs at least 2 training videos (negatives come from other videos)")
        super().__init__(
            backbone,
            replace(options, negatives=min(options.negatives, num_videos - 1), threshold=tuple(options.threshold)),
        )
        self.derived = {"num_videos": num_videos}
        self.head = ProjectionHead(backbone.num_features, options.dim)
        self.rotation_head = RotationHead(backbone.num_features) if options.rotation else None
        self.bank = MemoryBank(num_videos, options.dim, options.bank_momentum)
        self.register_buffer("log_z", torch.tensor(0.0))  # NCE normaliser, estimated on the first batch
        self.register_buffer("log_z_set", torch.tensor(False))
        self.register_buffer("progress", torch.tensor(0.0))  # drives the mining threshold
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def build_dataset(cls, store, videos, recipe, options: TCEOptions, seed: int):
        from vidkit.data.datasets import FramePairDataset

        return FramePairDataset(
            store,
            videos,
            size=recipe.size,
            window=options.window,
            seed=seed,
            mean=recipe.mean,
            std=recipe.std,
            rotation=options.rotation,
            jitter=options.colour,
            grey=options.colour,
        )

    @classmethod
    def embedder(cls, backbone: nn.Module, method_state: dict[str, torch.Tensor]) -> nn.Module:
        """The backbone under the 128-d normalised head: what TCE plots (tce.md 4); the bare backbone
        for a checkpoint saved without its head."""
        return projection_embedder(backbone, method_state)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """`(B, 3, H, W)` -> `(B, dim)` unit-norm embeddings (what t-SNE plots)."""
        return self.head(self.backbone(frames))

    def mining_threshold(self) -> float:
        low, high, rate = self.options.threshold
        return low + (high - low) * (1.0 - math.exp(-rate * float(self.progress)))

    @torch.no_grad()
    def negative_indices(self, anchors: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        """`(B, K)` memory-bank rows to contrast each anchor with (never its own video).

        With mining, the hardest rows below the threshold come first; the places left open (rows
        at or above it, or past `mining_fraction`) are filled by random rows, as TCE does, except
        that they repeat neither a hard one nor the anchor.
        """
        k, size = self.options.negatives, len(self.bank)
        if not self.options.mining:
            return sample_other(size, own, k)
        with full_precision(anchors):
            similarity = anchors.float() @ self.bank.rows.float().T  # (B, N)
        # Too similar (>= threshold) may be the same content: excluded; so is the anchor's own row.
        rows = torch.arange(len(own), device=own.device)
        similarity = similarity.masked_fill(similarity >= self.mining_threshold(), -math.inf)
        similarity[rows, own] = -math.inf
        hard = min(int(self.options.mining_fraction * k), size - 1)
        values, indices = similarity.topk(hard, dim=1)  # (B, hard)
        chosen = torch.full((len(own), k), -1, dtype=torch.long, device=own.device)
        chosen[:, :hard] = torch.where(torch.isfinite(values), indices, -1)
        open_ = chosen < 0  # (B, K) places to fill
        # As TCE, the open places take uniformly random rows (with replacement), but never the anchor's
        # own row nor one of its hard negatives (TCE's fill could repeat those).
        allowed = torch.ones(len(own), size, device=own.device)  # (B, N)
        allowed[rows, own] = 0.0
        allowed[rows[:, None].expand_as(chosen)[~open_], chosen[~open_]] = 0.0
        allowed += (allowed.sum(dim=1, keepdim=True) == 0).float()  # a row with no open place needs none
        fill = torch.multinomial(allowed, k, replacement=True)  # (B, K)
        return torch.where(open_, fill, chosen)

    def forward(self, batch: dict[str, torch.Tensor]) -> MethodOutput:
        anchors, positives = self.embed(batch["anchor"]), self.embed(batch["positive"])  # (B, D)
        own = batch["index"]
        negatives = self.bank.gather(self.negative_indices(anchors.detach().float(), own))  # (B, K, D)
        temperature = self.options.temperature
        with full_precision(anchors):
            anchors, positives = anchors.float(), positives.float()
            pos = (anchors * positives).sum(dim=1)  # (B,)
            neg = torch.einsum("bkd,bd->bk", negatives.float(), anchors)  # (B, K)
            if self.options.loss == "infonce":
                contrast = info_nce(pos, neg, temperature)
            else:
                if not self.log_z_set:
                    self._estimate_log_z(pos.detach(), neg.detach())
                contrast = nce_loss(pos, neg, float(self.log_z), len(self.bank), temperature)
        metrics = {"contrast": contrast.detach(), "pos_sim": pos.detach().mean(), "neg_sim": neg.detach().mean()}
        loss = contrast
        if self.rotation_head is not None:
            logits = self.rotation_head(self.backbone(batch["rotated"])).float()
            rotation = F.cross_entropy(logits, batch["rotation"])
            loss = loss + self.options.rotation_weight * rotation
            metrics.update(
                rotation=rotation.detach(), rotation_acc=(logits.argmax(1) == batch["rotation"]).float().mean()
            )
        self._pending = (own, anchors.detach())
        return MethodOutput(loss, metrics)

    def _estimate_log_z(self, pos: torch.Tensor, neg: torch.Tensor) -> None:
        """Z = mean(exp(s / T)) * N over the first batch's scores (averaged over DDP ranks), then frozen."""
        scores = torch.cat([pos[:, None], neg], dim=1) / self.options.temperature
        log_mean = torch.logsumexp(scores.flatten(), 0) - math.log(scores.numel())
        log_mean = dist.all_gather_cat(log_mean[None]).mean()
        self.log_z.fill_(float(log_mean) + math.log(len(self.bank)))
        self.log_z_set.fill_(True)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        upgrade_nan_log_z(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def on_step_end(self, progress: float) -> None:
        if self._pending is not None:
            self.bank.update(*self._pending)
            self._pending = None
        self.progress.fill_(progress)
