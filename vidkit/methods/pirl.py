"""PIRL: pretext-invariant representation learning with the jigsaw transform (Misra & van der
Maaten, CVPR 2020, arXiv:1912.01991), with the jigsaw branch as the VINCE seed ran it (vince.md 3).

Two encoders of one image I share the backbone:
- f: the whole image -> backbone -> pool -> projection head -> E, L2-normalised;
- g: the jigsaw view I^t (`data.jigsaw`: a crop cut into 3x3 tiles, shuffled per sample) -> each
  tile -> backbone -> pool -> a linear layer C->C shared by the tiles (`jigsaw_linear`) -> the 9
  vectors concatenated in the shuffled order (9C) -> MLP 9C->C->ReLU->E (`jigsaw_embedding`),
  L2-normalised. The names are the seed's checkpoint keys.

Two objectives (`-O objective=`):
- `pirl` (default, the paper's): a memory bank of f(v_I) per image (momentum 0.5); the loss is
  `lambda * L(m_I, g(v_It)) + (1 - lambda) * L(m_I, f(v_I))`, lambda 0.5, where `L(m, v)` is the
  binary NCE of instance discrimination (the positive m_I against bank rows of other images as
  negatives, T 0.07, Z estimated on the first batch, as VISSL's PIRL runs it; `losses.nce_loss`),
  or InfoNCE with `-O loss=infonce`.
- `seed` (the VINCE code's `--jigsaw`): MoCo's momentum key encoder and negative queue; each step
  a coin decides whether the query or the key encoder gets the jigsaw view (the other gets the
  whole image), and one InfoNCE scores the query against its key, the batch's other keys and the
  queue (the seed script's inter-batch comparison, one frame per image). The seed has no
  memory bank and no lambda mixing. Its settings: `-O objective=seed -O head=mlp -O dim=64
  -O augmentation=jigsaw` on ResNet-18.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

from vidkit.data.augment import AUGMENTATIONS
from vidkit.engine import dist
from vidkit.errors import UsageError, VidkitError
from vidkit.methods.base import MethodOutput, SSLMethod
from vidkit.methods.losses import full_precision, info_nce, multi_positive_info_nce, nce_loss
from vidkit.methods.memory_bank import MemoryBank, sample_other
from vidkit.methods.momentum import MomentumEncoder
from vidkit.methods.options import MethodDefaults, option
from vidkit.methods.queue import NegativeQueue
from vidkit.models.heads import HEAD_KINDS, projection_head


@dataclass
class PIRLOptions:
    """PIRL's hyper-parameters, with the paper's values (arXiv:1912.01991 section 4)."""

    objective: str = option(
        "pirl", "pirl: memory bank, two NCE terms mixed by lambda; seed: the VINCE code's.", ("pirl", "seed")
    )
    dim: int = option(128, "Embedding width E of both L2-normalised heads.")
    head: str = option("linear", "Head of the whole image: linear (PIRL) or MLP C->C->E (the seed).", HEAD_KINDS)
    temperature: float = option(0.07, "Temperature T of the scores.")
    weight: float = option(0.5, "lambda: weight of the jigsaw term L(m_I, g(v_It)); the image term gets 1 - lambda.")
    negatives: int = option(32000, "Memory-bank negatives per image (at most the training images - 1).")
    bank_momentum: float = option(0.5, "Memory-bank momentum.")
    loss: str = option("nce", "Binary NCE with Z fixed on the first batch (PIRL), or InfoNCE.", ("nce", "infonce"))
    queue: int = option(65536, "objective=seed: negative queue length K.")
    key_momentum: float = option(0.999, "objective=seed: momentum m of the key encoder's EMA.")
    grid: int = option(3, "Tiles per side of the jigsaw view (3: 9 tiles).")
    augmentation: str = option("standard", "Augmentation preset of the whole image.", AUGMENTATIONS)
    jigsaw_augmentation: str = option("jigsaw", "Augmentation preset of the crop cut into tiles.", AUGMENTATIONS)


class JigsawHead(nn.Module):
    """Pooled tile features `(B, n, C)` in their shuffled order -> `(B, E)` unit norm (the seed's
    `jigsaw_linear` C->C per tile, then `jigsaw_embedding` nC->C->ReLU->E)."""

    def __init__(self, channels: int, dim: int, tiles: int = 9):
        super().__init__()
        self.jigsaw_linear = nn.Linear(channels, channels)
        self.jigsaw_embedding = nn.Sequential(
            nn.Linear(tiles * channels, channels), nn.ReLU(inplace=True), nn.Linear(channels, dim)
        )

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        per_tile = self.jigsaw_linear(tiles)  # (B, n, C)
        return F.normalize(self.jigsaw_embedding(per_tile.flatten(1)), dim=1)  # (B, n C) -> (B, E)


class PIRLEncoder(nn.Module):
    """f and g over one backbone: `(B, 3, H, W)` images -> f; `(B, n, 3, t, t)` tiles -> g. One
    module, so the seed objective's momentum copy follows both branches (as the seed's did)."""

    def __init__(self, backbone: nn.Module, head: nn.Module, jigsaw: JigsawHead):
        super().__init__()
        self.backbone, self.head, self.jigsaw = backbone, head, jigsaw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            return self.head(self.backbone(x))  # (B, E)
        b, n = x.shape[:2]
        pooled = self.backbone(x.flatten(0, 1))  # (B n, C): every tile on its own
        return self.jigsaw(pooled.view(b, n, -1))  # (B, E)


def pirl_loss(
    bank_rows: torch.Tensor,
    image: torch.Tensor,
    jigsaw: torch.Tensor,
    negatives: torch.Tensor,
    *,
    weight: float,
    temperature: float,
    loss: str,
    log_z: float,
    num_data: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PIRL's objective (eq. 5): `weight * L(m_I, g(v_It)) + (1 - weight) * L(m_I, f(v_I))`.

    Args:
        bank_rows: `(B, E)` m_I, the memory-bank rows of the batch's images.
        image: `(B, E)` f(v_I); jigsaw: `(B, E)` g(v_It).
        negatives: `(B, K, E)` bank rows of other images (the same K for both terms).
        loss: `nce` (binary NCE, `losses.nce_loss`, with normaliser `log_z` over `num_data`) or `infonce`.
    Returns:
        `(total, jigsaw term, image term)`, scalars.
    """

    def term(v: torch.Tensor) -> torch.Tensor:
        pos = (bank_rows * v).sum(dim=1)  # (B,)
        neg = torch.einsum("bkd,bd->bk", negatives, v)  # (B, K)
        if loss == "infonce":
            return info_nce(pos, neg, temperature)
        return nce_loss(pos, neg, log_z, num_data, temperature)

    jigsaw_term, image_term = term(jigsaw), term(image)
    return weight * jigsaw_term + (1.0 - weight) * image_term, jigsaw_term, image_term


class PIRL(SSLMethod):
    """PIRL with the jigsaw pretext on a 2D backbone (options: `PIRLOptions`)."""

    name = "pirl"
    sample = "image_jigsaw"  # batch keys: data.samples.SAMPLE_KEYS
    backbone_dims = 2
    # PIRL on ImageNet as VISSL runs it: ResNet-50, batch 1024, lr 0.12, cosine over 800 epochs; the
    # seed's 225-px crops, so that the 3x3 tiles are 75 px.
    defaults = MethodDefaults(
        backbone="resnet50",
        size=225,
        clip_len=1,
        epochs=800,
        batch_size=1024,
        lr=0.12,
        milestones=(),
        gamma=0.1,
        schedule="cosine",
    )
    Options = PIRLOptions

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: PIRLOptions = PIRLOptions()):
        if options.objective == "pirl" and num_videos < 2:
            raise VidkitError("PIRL needs at least 2 training images (negatives come from the memory bank)")
        if options.grid < 1:
            raise UsageError(f"option grid={options.grid} of --method pirl: expected at least 1")
        if not 0.0 <= options.weight <= 1.0:
            raise UsageError(f"option weight={options.weight} of --method pirl: expected lambda in [0, 1]")
        super().__init__(backbone, replace(options, negatives=max(1, min(options.negatives, num_videos - 1))))
        self.derived = {"num_videos": num_videos}
        channels = backbone.num_features
        self.head = projection_head(options.head, channels, options.dim)
        self.jigsaw_head = JigsawHead(channels, options.dim, options.grid**2)
        # f and g as one module, referenced but not registered: its weights are the three above, and
        # registering it would store them twice in every checkpoint.
        self.__dict__["encoder"] = PIRLEncoder(backbone, self.head, self.jigsaw_head)
        if options.objective == "pirl":
            self.bank = MemoryBank(num_videos, options.dim, options.bank_momentum)
            self.register_buffer("log_z", torch.tensor(0.0))  # NCE normaliser, estimated on the first batch
            self.register_buffer("log_z_set", torch.tensor(False))
        else:
            self.key_encoder = MomentumEncoder(self.encoder, options.key_momentum)
            self.queue = NegativeQueue(options.queue, options.dim)
        self._pending: tuple[torch.Tensor, ...] | None = None

    @classmethod
    def build_dataset(cls, store, videos, recipe, options: PIRLOptions, seed: int):
        from vidkit.data.augment import preset
        from vidkit.data.jigsaw import JigsawDataset

        return JigsawDataset(
            store,
            videos,
            size=recipe.size,
            grid=options.grid,
            augmentation=preset(options.augmentation),
            jigsaw_augmentation=preset(options.jigsaw_augmentation),
            seed=seed,
            mean=recipe.mean,
            std=recipe.std,
        )

    @classmethod
    def embedder(cls, backbone: nn.Module, method_state: dict[str, torch.Tensor]) -> nn.Module:
        """The backbone: PIRL transfers pooled res5 features (section 4)."""
        return backbone

    def forward(self, batch: dict[str, torch.Tensor]) -> MethodOutput:
        if self.options.objective == "seed":
            return self._forward_seed(batch)
        own = batch["index"]
        f = self.encoder(batch["image"])  # (B, E)
        g = self.encoder(batch["jigsaw"])  # (B, E)
        negatives = self.bank.gather(sample_other(len(self.bank), own, self.options.negatives))  # (B, K, E)
        with full_precision(f):
            f32, g32, rows = f.float(), g.float(), self.bank.gather(own).float()
            if self.options.loss == "nce" and not self.log_z_set:
                self._estimate_log_z(rows, torch.cat([f32, g32]).detach(), negatives.float())
            loss, jigsaw_term, image_term = pirl_loss(
                rows,
                f32,
                g32,
                negatives.float(),
                weight=self.options.weight,
                temperature=self.options.temperature,
                loss=self.options.loss,
                log_z=float(self.log_z),
                num_data=len(self.bank),
            )
        self._pending = (own, f.detach())
        metrics = {
            "jigsaw": jigsaw_term.detach(),
            "image": image_term.detach(),
            "pos_sim_jigsaw": (rows * g32).sum(1).mean().detach(),
            "pos_sim_image": (rows * f32).sum(1).mean().detach(),
        }
        return MethodOutput(loss, metrics)

    def _estimate_log_z(self, rows: torch.Tensor, embeddings: torch.Tensor, negatives: torch.Tensor) -> None:
        """Z = mean(exp(s / T)) * N over the first batch's scores of both terms (averaged over DDP
        ranks), then frozen, as instance discrimination and VISSL's NCE loss estimate it."""
        both = torch.cat([negatives, negatives])  # (2B, K, E): the same negatives score f and g
        pos = (torch.cat([rows, rows]) * embeddings).sum(1)  # (2B,)
        neg = torch.einsum("bkd,bd->bk", both, embeddings)  # (2B, K)
        scores = torch.cat([pos[:, None], neg], dim=1) / self.options.temperature
        log_mean = torch.logsumexp(scores.flatten(), 0) - math.log(scores.numel())
        log_mean = dist.all_gather_cat(log_mean[None]).mean()
        self.log_z.fill_(float(log_mean) + math.log(len(self.bank)))
        self.log_z_set.fill_(True)

    def _forward_seed(self, batch: dict[str, torch.Tensor]) -> MethodOutput:
        """The seed's variant: a coin (from the step-seeded torch RNG, so resume is exact and DDP
        ranks agree) gives the jigsaw view to the query or to the key encoder. Each query is scored
        against the batch's keys and the queue (the seed script's inter-batch comparison with one
        frame per image: its own key is the one positive, the other keys and the queue negatives)."""
        jigsaw_query = bool(torch.rand(()) < 0.5)
        query, key = (batch["jigsaw"], batch["image"]) if jigsaw_query else (batch["image"], batch["jigsaw"])
        q = self.encoder(query).float()  # (B, E)
        k = self.key_encoder(key).float()  # (B, E), no graph
        negatives = self.queue.keys  # (n, E), read before this step's enqueue
        with full_precision(q):
            logits = q @ torch.cat([k, negatives.float()]).T  # (B, B + n)
            positives = torch.zeros_like(logits, dtype=torch.bool)
            positives[:, : len(q)] = torch.eye(len(q), dtype=torch.bool, device=q.device)
            loss = multi_positive_info_nce(logits, positives, self.options.temperature)
        # The head the query did not use gets no gradient this step; a zero term keeps it in the graph,
        # which DDP (without find_unused_parameters) requires of every parameter.
        unused = self.head if jigsaw_query else self.jigsaw_head
        loss = loss + 0.0 * sum(p.sum() for p in unused.parameters())
        self._pending = (k,)
        metrics = {"pos_sim": logits[positives].mean().detach(), "jigsaw_query": torch.tensor(float(jigsaw_query))}
        return MethodOutput(loss, metrics)

    def on_step_end(self, progress: float) -> None:
        if self.options.objective == "seed":
            self.key_encoder.update(progress)
            if self._pending is not None:
                self.queue.push(self._pending[0])
        elif self._pending is not None:
            self.bank.update(*self._pending)
        self._pending = None
