"""IR: instance recognition with a memory bank (Wu et al., CVPR 2018, arXiv:1805.01978), as Video LA ran it.

Stage 5 of Tokmakov et al. (ECCV-W 2020; video_la_idt.md 5): a 3D ResNet-18 and a 128-d linear
head whose L2-normalised output `v` is compared with a memory bank of one row per training video.
The probability that a clip is instance i is `P_i = exp(v . m_i / T) / Z` with the seed's fixed
constant Z = 2,876,934.2 (inherited from the LA TensorFlow code); binary NCE (Gutmann & Hyvarinen
2010) against 4096 rows drawn uniformly with replacement (noise `P_n = 1/N`), T = 0.07. After each
step the bank rows of the batch move to `normalise(0.5 m_i + 0.5 v_i)`.

`InstanceMethod` holds what IR and LA share: head, bank (buffers, so a resume restores it), the
Video LA clips, the kNN monitor, weight decay without BatchNorm, and `--init` from an earlier stage.
Deviations from the seed (docs/methods.md, "IR and LA"): `loss=softmax` offers the exact
non-parametric softmax; negatives are capped at the bank size; BatchNorm parameters are exempt
from weight decay by module type (the seed's name test for `bn` missed the shortcut BatchNorms).
Scores and losses are computed in fp32 under bf16 autocast (`losses.full_precision`).
"""

from __future__ import annotations

import abc
import hashlib
import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vidkit.checkpoint.recipe import UNIT_STD
from vidkit.errors import VidkitError
from vidkit.methods.base import MethodOutput, SSLMethod
from vidkit.methods.losses import full_precision, nce_loss
from vidkit.methods.memory_bank import MemoryBank
from vidkit.methods.options import MethodDefaults, option
from vidkit.models import ACTIVITYNET_MEAN
from vidkit.models.heads import ProjectionHead, projection_embedder

SEED_Z = 2876934.2  # the fixed NCE normaliser of the LA/Video LA code


@dataclass
class InstanceOptions:
    """What IR and LA share (video_la_idt.md 5, 7.2)."""

    dim: int = option(128, "Embedding width of the L2-normalised linear head.")
    temperature: float = option(0.07, "Temperature T of the scores.")
    bank_momentum: float = option(0.5, "Memory-bank momentum.")
    flip: bool = option(True, "Random horizontal flip (the seed's; it mixes up left and right motion).")
    knn_split: str = option(
        "auto", "Split of the kNN monitor's validation clips: auto (test01 when present), a name, or none."
    )


@dataclass
class IROptions(InstanceOptions):
    """IR's hyper-parameters, with the Video LA IR config's values (video_la_idt.md 5, 7.3)."""

    negatives: int = option(4096, "Noise rows per clip, uniform with replacement (at most the bank size).")
    loss: str = option(
        "nce", "Binary NCE with the fixed Z (seed), or the exact softmax over the bank.", ("nce", "softmax")
    )
    z: float = option(SEED_Z, "The NCE normaliser Z, fixed for the run (the seed's constant).")


def videos_digest(ids) -> str:
    """A short digest of the training videos' ids, in order: bank row j is video j of this list."""
    return hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]


def is_norm(module: nn.Module) -> bool:
    return isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))


class InstanceMethod(SSLMethod):
    """A 3D backbone, a linear 128-d head and a memory bank of one row per training video."""

    sample = "instance_clip"  # batch keys: data.samples.SAMPLE_KEYS
    backbone_dims = 3

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: InstanceOptions):
        if num_videos < 2:
            raise VidkitError(f"--method {self.name} needs at least 2 training videos (one memory-bank row each)")
        super().__init__(backbone, options)
        self.derived = {"num_videos": num_videos}
        self.head = ProjectionHead(backbone.num_features, options.dim)
        # The seed's MemoryBank L2-normalised its random initial rows (video_la_idt.md 5).
        self.bank = MemoryBank(num_videos, options.dim, options.bank_momentum, normalize=True)
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None
        self._monitor = None

    @classmethod
    def build_dataset(cls, store, videos, recipe, options: InstanceOptions, seed: int):
        from vidkit.data.instance_clips import InstanceClipDataset

        return InstanceClipDataset(
            store,
            videos,
            clip_len=recipe.clip_len,
            size=recipe.size,
            seed=seed,
            mean=recipe.mean,
            std=recipe.std,
            flip=options.flip,
        )

    @classmethod
    def embedder(cls, backbone: nn.Module, method_state: dict[str, torch.Tensor]) -> nn.Module:
        """The backbone under the 128-d head, the space of the memory bank (the bare backbone without a head)."""
        return projection_embedder(backbone, method_state)

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """`(B, 3, T, H, W)` -> `(B, dim)` unit-norm embeddings (what the bank stores)."""
        return self.head(self.backbone(clips))

    def bind(self, store, videos, recipe, seed: int) -> None:
        """Record which videos the bank rows are, and set up the kNN monitor on the validation split."""
        from vidkit.methods.knn_monitor import KnnMonitor

        videos = np.asarray(videos, dtype=np.int64)
        ids = np.asarray(store.table()["id"])[videos]
        self.derived["videos"] = videos_digest(ids)
        split = self.options.knn_split
        if split == "auto":
            split = "test01" if "test01" in store.split_names else "none"
        if split != "none":
            self._monitor = KnnMonitor.for_split(self, self.bank, store, videos, store.split(split), recipe)

    def epoch_hooks(self):
        return self._monitor

    def no_weight_decay(self) -> set[str]:
        """Every normalisation layer's weight and bias (the seed meant to exempt BatchNorm; video_la_idt.md 10.20)."""
        return {
            f"{name}.{p}" if name else p
            for name, module in self.named_modules()
            if is_norm(module)
            for p, _ in module.named_parameters(recurse=False)
        }

    def init_from(self, method_state: dict[str, torch.Tensor], hparams: dict) -> list[str]:
        """An earlier stage's head and memory bank (`pretrain --init`), checked to be of these videos."""
        saved, own = hparams.get("videos"), self.derived.get("videos")
        if saved is not None and own is not None and saved != own:
            raise VidkitError(
                f"--init was trained on other videos than this run's {self.derived['num_videos']} "
                "(its memory bank rows would belong to other videos): use the same frame store and --split"
            )
        bank = method_state.get("bank.rows")
        if bank is not None and bank.shape != self.bank.rows.shape:
            raise VidkitError(
                f"--init's memory bank has {bank.shape[0]} rows of {bank.shape[1]}, this run needs "
                f"{len(self.bank)} of {self.options.dim} (one per training video)"
            )
        return super().init_from(method_state, hparams)

    def forward(self, batch: dict[str, torch.Tensor]) -> MethodOutput:
        v = self.embed(batch["clip"])  # (B, D) unit norm
        own = batch["index"]
        with full_precision(v):
            v = v.float()
            loss, metrics = self.instance_loss(v, own)
        self._pending = (own, v.detach())
        return MethodOutput(loss, metrics)

    @abc.abstractmethod
    def instance_loss(self, v: torch.Tensor, own: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """`v (B, D)` unit embeddings of videos `own (B,)` -> (loss, metrics), in fp32."""

    def on_step_end(self, progress: float) -> None:
        if self._pending is not None:
            self.bank.update(*self._pending)
            self._pending = None


class IR(InstanceMethod):
    """Instance recognition on a 3D backbone (options: `IROptions`)."""

    name = "ir"
    # Video LA IR config (video_la_idt.md 5): 3D ResNet-18, 16 x 112 x 112 clips, 40 epochs, batch 128,
    # lr 0.03 (its milestones 160/190 are never reached: constant), ActivityNet mean, std 1.
    defaults = MethodDefaults(
        backbone="resnet3d_18",
        size=112,
        clip_len=16,
        epochs=40,
        batch_size=128,
        lr=0.03,
        milestones=(),
        gamma=0.1,
        mean=ACTIVITYNET_MEAN,
        std=UNIT_STD,
    )
    Options = IROptions

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: IROptions = IROptions()):
        super().__init__(
            backbone, num_videos=num_videos, options=replace(options, negatives=min(options.negatives, num_videos))
        )

    def instance_loss(self, v: torch.Tensor, own: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """`v (B, D)`, `own (B,)` -> the NCE (or softmax) loss of each clip being its own video."""
        bank, temperature = self.bank.rows.float(), self.options.temperature
        pos = (v * bank[own]).sum(dim=1)  # (B,)
        if self.options.loss == "softmax":
            loss = F.cross_entropy(v @ bank.T / temperature, own)  # (B, N) logits
        else:
            # As the seed: uniform with replacement over the whole bank, so the positive may be drawn.
            noise = torch.randint(0, len(self.bank), (len(own), self.options.negatives), device=own.device)
            neg = torch.einsum("bkd,bd->bk", bank[noise], v)  # (B, K)
            loss = nce_loss(pos, neg, math.log(self.options.z), len(self.bank), temperature)
        return loss, {"pos_sim": pos.detach().mean()}
