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
- the rotation loss is on by default (switchable).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from vidkit.engine import dist
from vidkit.errors import VidkitError
from vidkit.methods.base import MethodOutput, SSLMethod
from vidkit.methods.losses import info_nce, nce_loss, upgrade_nan_log_z
from vidkit.methods.memory_bank import MemoryBank, sample_other
from vidkit.models.heads import ProjectionHead, RotationHead


class TCE(SSLMethod):
    """TCE on a 2D backbone.

    Args:
        backbone: any 2D backbone of the registry.
        num_videos: memory-bank rows (one per training video).
        dim: embedding width (128).
        negatives: K negatives per anchor (8192; at most `num_videos - 1`).
        temperature: T (0.07).
        bank_momentum: memory-bank momentum (0.5).
        loss: `nce` (binary NCE with Z fixed on the first batch, as TCE) or `infonce`.
        mining: hard-negative mining with the rising similarity threshold.
        mining_fraction: at most this fraction of the K negatives are hard ones (1.0).
        threshold: (low, high, rate) of the mining threshold curve (-1, 1, 5).
        rotation: add the rotation-prediction loss, with weight `rotation_weight` (1.0).
        window: the positive is at most this many frames from the anchor (1 = the next frame).
    """

    name = "tce"
    sample = "frame_pair"
    backbone_dims = 2

    def __init__(self, backbone: nn.Module, *, num_videos: int, dim: int = 128, negatives: int = 8192,
                 temperature: float = 0.07, bank_momentum: float = 0.5, loss: str = "nce", mining: bool = True,
                 mining_fraction: float = 1.0, threshold: tuple[float, float, float] = (-1.0, 1.0, 5.0),
                 rotation: bool = True, rotation_weight: float = 1.0, window: int = 1):
        super().__init__(backbone)
        if getattr(backbone, "dims", 2) != 2:
            raise VidkitError("TCE embeds single frames: pick a 2D backbone (resnet18, resnet50, tiny2d, ...)")
        if num_videos < 2:
            raise VidkitError("TCE needs at least 2 training videos (negatives come from other videos)")
        if loss not in ("nce", "infonce"):
            raise VidkitError(f"unknown TCE loss {loss!r}; choose nce or infonce")
        self.config = dict(dim=dim, negatives=min(negatives, num_videos - 1), temperature=temperature,
                           bank_momentum=bank_momentum, loss=loss, mining=mining, mining_fraction=mining_fraction,
                           threshold=list(threshold), rotation=rotation, rotation_weight=rotation_weight,
                           window=window, num_videos=num_videos)
        self.head = ProjectionHead(backbone.num_features, dim)
        self.rotation_head = RotationHead(backbone.num_features) if rotation else None
        self.bank = MemoryBank(num_videos, dim, bank_momentum)
        self.register_buffer("log_z", torch.tensor(0.0))  # NCE normaliser, estimated on the first batch
        self.register_buffer("log_z_set", torch.tensor(False))
        self.register_buffer("progress", torch.tensor(0.0))  # drives the mining threshold
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None

    def hparams(self) -> dict:
        return dict(self.config)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """`(B, 3, H, W)` -> `(B, dim)` unit-norm embeddings (what t-SNE plots)."""
        return self.head(self.backbone(frames))

    def mining_threshold(self) -> float:
        low, high, rate = self.config["threshold"]
        return low + (high - low) * (1.0 - math.exp(-rate * float(self.progress)))

    @torch.no_grad()
    def negative_indices(self, anchors: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        """`(B, K)` memory-bank rows to contrast each anchor with (never its own video)."""
        k, size = self.config["negatives"], len(self.bank)
        random = sample_other(size, own, k)
        if not self.config["mining"]:
            return random
        similarity = anchors.float() @ self.bank.rows.T  # (B, N)
        # Too similar (>= threshold) may be the same content: excluded; so is the anchor's own row.
        similarity = similarity.masked_fill(similarity >= self.mining_threshold(), -math.inf)
        similarity[torch.arange(len(own)), own] = -math.inf
        hard = min(int(self.config["mining_fraction"] * k), size - 1)
        values, indices = similarity.topk(hard, dim=1)
        chosen = random.clone()
        chosen[:, :hard] = torch.where(torch.isfinite(values), indices, random[:, :hard])
        return chosen

    def forward(self, batch: dict[str, torch.Tensor]) -> MethodOutput:
        anchors, positives = self.embed(batch["anchor"]).float(), self.embed(batch["positive"]).float()  # (B, D)
        own = batch["index"]
        negatives = self.bank.gather(self.negative_indices(anchors.detach(), own))  # (B, K, D)
        pos = (anchors * positives).sum(dim=1)  # (B,)
        neg = torch.einsum("bkd,bd->bk", negatives, anchors)  # (B, K)
        temperature = self.config["temperature"]
        if self.config["loss"] == "infonce":
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
            loss = loss + self.config["rotation_weight"] * rotation
            metrics.update(rotation=rotation.detach(), rotation_acc=(logits.argmax(1) == batch["rotation"]).float().mean())
        self._pending = (own, anchors.detach())
        return MethodOutput(loss, metrics)

    def _estimate_log_z(self, pos: torch.Tensor, neg: torch.Tensor) -> None:
        """Z = mean(exp(s / T)) * N over the first batch's scores (averaged over DDP ranks), then frozen."""
        scores = torch.cat([pos[:, None], neg], dim=1) / self.config["temperature"]
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
