"""LA: local aggregation (Zhuang et al., ICCV 2019, arXiv:1903.12355) with the IDT prior of Video LA.

Tokmakov et al. (ECCV-W 2020, arXiv:2006.15731; video_la_idt.md 6): for a clip of video i with
unit embedding v,
- background neighbours B_i: the k = 4096 memory-bank rows nearest to v (dot product);
- close neighbours C_i: the videos that share a cluster with video i in at least one of the
  clusterings (their union);
- loss_i = -log(sum_{j in B_i and C_i} p_j / sum_{j in B_i} p_j + 1e-7), p_j = exp(v . m_j / T).
Where the clusters come from is the stage:
- `clusters=CLUSTERS.h5` (stage 6): the IDT prior, k-means of the videos' dense-trajectory Fisher
  vectors (`vidkit cluster-idt`), matched to the training videos by id and fixed for the run;
- `clusters=CLUSTERS.h5 tune=true` (stage 7): k-means on [memory bank | Fisher vector] every epoch;
- neither (plain LA, the paper's "Video LA" baseline): k-means on the memory bank every epoch.
NOTE: the seed refreshed k-means when the batch index equalled N // batch size, which fires at most
once per epoch and never when the batch divides N (video_la_idt.md 10.16); here it runs before every
epoch's first step, as intended. The cluster labels are buffers, so a resume continues exactly.
k-means is faiss's (`idt.clustering.kmeans`, on the GPU when faiss has one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from vidkit.checkpoint.recipe import UNIT_STD
from vidkit.errors import UsageError, VidkitError
from vidkit.methods.ir import InstanceMethod, InstanceOptions
from vidkit.methods.options import MethodDefaults, option
from vidkit.models import ACTIVITYNET_MEAN

log = logging.getLogger("vidkit")

KMEANS_SEED = 1234  # the seed's first k-means seed; clustering c of epoch e uses 1234 + e * num_c + c


@dataclass
class LAOptions(InstanceOptions):
    """LA's hyper-parameters, with the Video LA configs' values (video_la_idt.md 6, 7.3)."""

    neighbours: int = option(4096, "Background neighbours: the k nearest memory-bank rows (at most the bank size).")
    clusters: str | None = option(
        None, "Clusters store from cluster-idt: the IDT prior (fixed), or the Fisher vectors with tune=true."
    )
    tune: bool = option(False, "Stage 7: k-means on [memory bank | Fisher vectors of clusters=] every epoch.")
    kmeans_k: int = option(6000, "Clusters per k-means on the bank (at most the number of videos).")
    num_kmeans: int = option(3, "Independent k-means clusterings on the bank (seeds differ).")
    kmeans_iters: int = option(20, "k-means iterations.")


def close_neighbours(labels: torch.Tensor, anchors: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
    """`(B, K)` bool: neighbour `neighbours[b, k]` shares a cluster with video `anchors[b]` in any clustering.

    Args:
        labels: `(C, N)` cluster of each video in each of C clusterings; -1 = no cluster (a video
            whose trajectories failed), which matches nothing.
        anchors: `(B,)` video indices; neighbours: `(B, K)` video indices.
    A video is always close to itself.
    """
    mine = labels[:, anchors][:, :, None]  # (C, B, 1)
    theirs = labels[:, neighbours]  # (C, B, K)
    shared = ((theirs == mine) & (mine >= 0)).any(dim=0)  # (B, K)
    return shared | (neighbours == anchors[:, None])


def local_aggregation_loss(scores: torch.Tensor, close: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over the batch of `-log(sum_close exp(s / T) / sum exp(s / T) + 1e-7)`, one term per anchor.

    Args:
        scores: `(B, K)` similarities `v . m_j` of each anchor to its background neighbours.
        close: `(B, K)` bool, which of them are close neighbours.
    An anchor with no close neighbour costs the constant `-log(1e-7)` (about 16.1) and gets no gradient.
    NOTE: the seed divided the `(B,)` close sums by the `(B, 1)` total sums and averaged the `(B, B)`
    result; that is this loss (up to the 1e-7) while every anchor has a close neighbour, and otherwise
    still moves the anchors without one (docs/methods.md, "IR and LA"; tests/methods/test_la_seed_form.py).
    Computed from log-sums, so exp(s / T) cannot overflow; masked scores are a large finite negative, so
    the gradient stays finite.
    """
    logits = scores / temperature  # (B, K)
    log_all = torch.logsumexp(logits, dim=1)
    log_close = torch.logsumexp(logits.masked_fill(~close, -1e9), dim=1)
    return -torch.log(torch.exp(log_close - log_all) + 1e-7).mean()


class LA(InstanceMethod):
    """Local aggregation on a 3D backbone (options: `LAOptions`)."""

    name = "la"
    # Video LA's LA config (video_la_idt.md 6.2): 200 epochs, batch 256, lr 0.03, x0.1 after epochs 160 and 190.
    defaults = MethodDefaults(
        backbone="resnet3d_18",
        size=112,
        clip_len=16,
        epochs=200,
        batch_size=256,
        lr=0.03,
        milestones=(0.8, 0.95),
        gamma=0.1,
        mean=ACTIVITYNET_MEAN,
        std=UNIT_STD,
    )
    Options = LAOptions

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: LAOptions = LAOptions()):
        if options.tune and not options.clusters:
            raise UsageError("--method la -O tune=true needs -O clusters=CLUSTERS.h5 (its Fisher vectors)")
        options = replace(
            options, neighbours=min(options.neighbours, num_videos), kmeans_k=min(options.kmeans_k, num_videos)
        )
        super().__init__(backbone, num_videos=num_videos, options=options)
        # Until the first k-means: every video its own cluster (LA then is instance discrimination).
        self.register_buffer("cluster_labels", torch.arange(num_videos).repeat(options.num_kmeans, 1))  # (C, N)
        self._fisher: np.ndarray | None = None  # (N, d) the training videos' Fisher vectors, for tune

    @property
    def prior(self) -> bool:
        """The clusters are the store's, fixed for the run (stage 6)."""
        return bool(self.options.clusters) and not self.options.tune

    def bind(self, store, videos, recipe, seed: int) -> None:
        """Load the clusters store's labels (prior) or Fisher vectors (tune), matched to `videos` by id."""
        super().bind(store, videos, recipe, seed)
        if not self.options.clusters:
            return
        from vidkit.io.clusters import read_clusters

        clusters = read_clusters(self.options.clusters)
        ids = list(np.asarray(store.table()["id"])[np.asarray(videos, dtype=np.int64)])
        columns = match_ids(clusters.video_ids, ids, self.options.clusters)
        if self.prior:
            labels = torch.from_numpy(clusters.labels[:, columns].astype(np.int64))  # (C, N)
            self.cluster_labels = labels.to(self.cluster_labels.device)
            self.derived["num_clusterings"] = int(labels.shape[0])
            failed = int((~clusters.ok[columns]).sum())
            if failed:
                log.warning("%d training video(s) have no IDT cluster (their trajectories failed)", failed)
        else:
            self._fisher = clusters.features[columns].astype(np.float32)

    def init_from(self, method_state: dict[str, torch.Tensor], hparams: dict) -> list[str]:
        """Head and memory bank only: the clusters are this stage's own (the prior, or k-means)."""
        kept = {k: v for k, v in method_state.items() if k != "cluster_labels"}
        return super().init_from(kept, hparams)

    @torch.no_grad()
    def on_epoch_start(self, epoch: int) -> None:
        """k-means on the bank (joined with the Fisher vectors when tuning); nothing with the fixed prior."""
        if self.prior:
            return
        from vidkit.idt.clustering import kmeans

        features = self.bank.rows.float().cpu().numpy()  # (N, D)
        if self._fisher is not None:
            features = np.concatenate([features, self._fisher], axis=1)  # (N, D + d)
        num_c = self.options.num_kmeans
        result = kmeans(
            features, self.options.kmeans_k, num_c, seed=KMEANS_SEED + epoch * num_c, niter=self.options.kmeans_iters
        )
        self.cluster_labels.copy_(torch.from_numpy(result.labels))

    def instance_loss(self, v: torch.Tensor, own: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """`v (B, D)`, `own (B,)` -> the LA loss against the k nearest bank rows."""
        scores = v @ self.bank.rows.float().T  # (B, N)
        background, nearest = scores.topk(self.options.neighbours, dim=1)  # (B, K)
        close = close_neighbours(self.cluster_labels, own, nearest)  # (B, K)
        loss = local_aggregation_loss(background, close, self.options.temperature)
        # no_close: anchors without any close neighbour, where the seed's loss differed (docs/methods.md)
        return loss, {"close_fraction": close.float().mean().detach(), "no_close": (~close.any(dim=1)).float().mean()}


def match_ids(stored: list[str], wanted: list[str], path) -> np.ndarray:
    """Column of each `wanted` id in `stored` (a clusters store's ids).

    Raises:
        VidkitError: ids not in the store, the first few named.
    """
    position = {v: i for i, v in enumerate(stored)}
    missing = [v for v in wanted if v not in position]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise VidkitError(
            f"{len(missing)} training video(s) are not in the clusters store {path}: {shown}; "
            "run cluster-idt on this frame store"
        )
    return np.asarray([position[v] for v in wanted], dtype=np.int64)
