#!/usr/bin/env python3
"""How often a Video LA anchor has no close neighbour among its k background rows, at the paper's scale.

    examples/la_no_close_neighbour.py [--videos 240000] [--neighbours 4096] [--kmeans-k 6000] [--json]

LA's loss (video_la_idt.md 6.1) for an anchor i is `-log(sum_{B_i and C_i} p / sum_{B_i} p + 1e-7)`,
B_i the k = 4096 bank rows nearest to its embedding v, C_i the videos sharing a cluster with i in
any of the 3 clusterings. When no row of B_i is close, vidkit's per-row loss is the constant
-log(1e-7) with no gradient; the seed's code divided a `(B,)` sum by a `(B, 1)` sum and averaged
the B x B matrix, so such anchors still moved (docs/methods.md, "IR and LA"). This measures how
often that happens, and how far the two losses and their gradients are apart at one batch.

The bank (N x 128, unit rows) stands in for one trained by IR on Kinetics: N videos of `--classes`
classes, each row at cosine `--class-cosine` to its class centre (0 classes: uniform on the
sphere). An anchor is another clip of video i: `v = normalise(b m_i + sqrt(1 - b^2) w)`, at cosine
b to its own bank row (b = 0: an untrained network, v unrelated to the bank). Close neighbours
come from two kinds of clusterings, 3 x `--kmeans-k` clusters each:
- `kmeans`: faiss k-means of the bank (plain LA; the tune stage clusters [bank | Fisher vector]);
- `independent`: 3 random balanced labellings, a stand-in for the IDT prior at the start of stage 6,
  whose clusters come from motion descriptors and owe nothing to the bank.
Prints one row per (clustering, b): the fraction of `--anchors` anchors with no close neighbour, and
at one batch of `--batch` anchors (float64): how many of them lack one, vidkit's and the seed's
losses, the relative difference of their gradients with respect to the scores (`|g_vidkit -
g_seed| / |g_seed|`), and the mean gradient norm of a lacking anchor in the seed relative to the
others' (vidkit gives it none).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import torch
from torch.nn import functional as F

from vidkit.idt.clustering import kmeans
from vidkit.methods.la import close_neighbours, local_aggregation_loss

TEMPERATURE = 0.07


def seed_loss(scores: torch.Tensor, close: torch.Tensor) -> torch.Tensor:
    """The seed's LA loss: close sums `(B,)` over total sums `(B, 1)` broadcast to `(B, B)`, then the mean."""
    p = torch.exp(scores / TEMPERATURE)  # (B, K); float64 keeps exp(1 / 0.07) exact enough
    ratio = (p * close).sum(dim=1) / p.sum(dim=1, keepdim=True)  # (B, B): [i, j] = close_j / all_i
    return -torch.log(ratio + 1e-7).mean()


def make_bank(n: int, dim: int, classes: int, class_cosine: float, gen: torch.Generator) -> torch.Tensor:
    """`(N, dim)` unit rows, each at about `class_cosine` to its class centre (uniform when `classes` is 0)."""
    noise = F.normalize(torch.randn(n, dim, generator=gen), dim=1)
    if classes == 0:
        return noise
    centres = F.normalize(torch.randn(classes, dim, generator=gen), dim=1)
    of = torch.randint(0, classes, (n,), generator=gen)
    return F.normalize(class_cosine * centres[of] + math.sqrt(1 - class_cosine**2) * noise, dim=1)


def anchors_for(bank: torch.Tensor, own: torch.Tensor, cosine: float, gen: torch.Generator) -> torch.Tensor:
    """Another clip of each video `own`: unit vectors at about `cosine` to its bank row."""
    w = F.normalize(torch.randn(len(own), bank.shape[1], generator=gen), dim=1)
    return F.normalize(cosine * bank[own] + math.sqrt(1 - cosine**2) * w, dim=1)


def independent_labels(n: int, k: int, num_c: int, gen: torch.Generator) -> torch.Tensor:
    """`(num_c, N)` balanced random clusterings (about N / k videos each)."""
    return torch.stack([torch.randperm(n, generator=gen) % k for _ in range(num_c)])


def measure(bank, labels, own, v, neighbours: int, batch: int) -> dict:
    """Fraction of anchors without a close neighbour; the seed's and vidkit's losses at the first `batch` anchors."""
    none = 0
    for start in range(0, len(own), 512):
        scores = v[start : start + 512] @ bank.T  # (b, N)
        _, nearest = scores.topk(neighbours, dim=1)  # (b, K)
        close = close_neighbours(labels, own[start : start + 512], nearest)
        none += int((~close.any(dim=1)).sum())
    b_v, b_own = v[:batch].double(), own[:batch]
    scores, nearest = (b_v @ bank.double().T).topk(neighbours, dim=1)
    close = close_neighbours(labels, b_own, nearest)
    scores.requires_grad_(True)
    ours = local_aggregation_loss(scores, close, TEMPERATURE)
    (g_ours,) = torch.autograd.grad(ours, scores)
    seed = seed_loss(scores, close)
    (g_seed,) = torch.autograd.grad(seed, scores)
    lacking = ~close.any(dim=1)
    norms = g_seed.norm(dim=1)  # (B,) each anchor's gradient in the seed
    return {
        "no_close_fraction": none / len(own),
        "batch_no_close": int(lacking.sum()),
        "loss_vidkit": float(ours.detach()),
        "loss_seed": float(seed.detach()),
        "grad_diff": float((g_ours - g_seed).norm() / g_seed.norm()),  # relative, over the batch
        # an anchor without close neighbours: its gradient in the seed against the others' (vidkit's: 0)
        "seed_grad_lacking": float(norms[lacking].mean() / norms[~lacking].mean()) if lacking.any() else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=240_000, help="bank rows N (Kinetics-400 train: about 240k)")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--neighbours", type=int, default=4096, help="background neighbours k")
    parser.add_argument("--kmeans-k", type=int, default=6000)
    parser.add_argument("--num-kmeans", type=int, default=3)
    parser.add_argument("--niter", type=int, default=20, help="k-means iterations (the seed's 20)")
    parser.add_argument("--classes", type=int, default=400)
    parser.add_argument("--class-cosine", type=float, default=0.5)
    parser.add_argument("--cosines", default="0,0.2,0.4,0.6", help="anchor-to-own-row cosines b")
    parser.add_argument("--anchors", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=256, help="the seed's LA batch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    args = parser.parse_args()

    gen = torch.Generator().manual_seed(args.seed)
    bank = make_bank(args.videos, args.dim, args.classes, args.class_cosine, gen)
    own = torch.randperm(args.videos, generator=gen)[: args.anchors]
    started = time.time()
    clusterings = {
        "independent": independent_labels(args.videos, args.kmeans_k, args.num_kmeans, gen),
        "kmeans": torch.from_numpy(
            kmeans(bank.numpy(), args.kmeans_k, args.num_kmeans, seed=1234, niter=args.niter).labels
        ),
    }
    print(f"k-means: {time.time() - started:.0f} s", file=sys.stderr)
    if not args.json:
        print("clustering    b   no close  (batch)  loss vidkit  loss seed  grad diff  seed grad, lacking")
    for cosine in (float(c) for c in args.cosines.split(",")):
        v = anchors_for(bank, own, cosine, torch.Generator().manual_seed(args.seed + 1))
        for name, labels in clusterings.items():
            row = {
                "clustering": name,
                "anchor_cosine": cosine,
                **measure(bank, labels, own, v, args.neighbours, args.batch),
            }
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(
                    f"{name:12s} {cosine:.1f}  {row['no_close_fraction']:8.4f}  {row['batch_no_close']:7d}  "
                    f"{row['loss_vidkit']:11.4f}  {row['loss_seed']:9.4f}  {row['grad_diff']:9.3g}  "
                    f"{row['seed_grad_lacking']:.3g}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
