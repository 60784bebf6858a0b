#!/usr/bin/env python3
"""What the seed's 1e-7 in IR's NCE denominators changes, at Video LA's scale (float64).

    examples/ir_nce_epsilon.py [--videos 200000,240000] [--negatives 4096] [--batch 128]

The seed's IR loss (video_la_idt.md 5) is
`-(1/B) sum [log(P_i / (P_i + k/N + 1e-7)) + sum_j log((k/N) / (P_j + k/N + 1e-7))]`, P = exp(v.m/T)/Z
with Z = 2,876,934.2. vidkit's `losses.nce_loss` computes the same from log-probabilities without
the 1e-7. Each of the k + 1 terms moves by about 1e-7 / (P + k/N), and P is tiny next to k/N
unless v.m is near 1, so the loss moves by about (k + 1) 1e-7 N / k, i.e. 1e-7 N: a near-constant
offset, while the gradients move by a relative 1e-7 N / k or less.

Unit embeddings and bank rows, random (v.m about 0, an untrained start) or trained-like (each v at
cosine 0.6 to its own row); prints per N the two losses, their difference, and the largest
absolute and relative difference of the gradients with respect to v.
"""

from __future__ import annotations

import argparse
import math

import torch
from torch.nn import functional as F

from vidkit.methods.ir import SEED_Z
from vidkit.methods.losses import nce_loss

T, EPS = 0.07, 1e-7


def seed_nce(pos: torch.Tensor, neg: torch.Tensor, n: int) -> torch.Tensor:
    """The seed's formula, probabilities and the 1e-7 as written (float64)."""
    k = neg.shape[1]
    p_pos, p_neg = torch.exp(pos / T) / SEED_Z, torch.exp(neg / T) / SEED_Z
    noise = k / n
    ln_data = torch.log(p_pos) - torch.log(p_pos + noise + EPS)
    ln_noise = math.log(noise) - torch.log(p_neg + noise + EPS)
    return -(ln_data.sum() + ln_noise.sum()) / len(pos)


def compare(n: int, k: int, batch: int, own_cosine: float, gen: torch.Generator) -> dict:
    bank = F.normalize(torch.randn(n, 128, generator=gen, dtype=torch.float64), dim=1)
    own = torch.randint(0, n, (batch,), generator=gen)
    w = F.normalize(torch.randn(batch, 128, generator=gen, dtype=torch.float64), dim=1)
    v = F.normalize(own_cosine * bank[own] + math.sqrt(1 - own_cosine**2) * w, dim=1).requires_grad_(True)
    noise = torch.randint(0, n, (batch, k), generator=gen)
    pos, neg = (v * bank[own]).sum(dim=1), torch.einsum("bkd,bd->bk", bank[noise], v)
    ours, seed = nce_loss(pos, neg, math.log(SEED_Z), n, T), seed_nce(pos, neg, n)
    (g_ours,) = torch.autograd.grad(ours, v, retain_graph=True)
    (g_seed,) = torch.autograd.grad(seed, v)
    return {
        "videos": n,
        "own_cosine": own_cosine,
        "loss_vidkit": float(ours.detach()),
        "loss_seed": float(seed.detach()),
        "difference": float((ours - seed).detach()),
        "predicted": (k + 1) * EPS * n / k,
        "grad_abs": float((g_ours - g_seed).abs().max()),
        "grad_rel": float((g_ours - g_seed).norm() / g_seed.norm()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", default="200000,240000")
    parser.add_argument("--negatives", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    print("N        b    loss vidkit  loss seed   difference  ~1e-7 N (k+1)/k  max |grad diff|  relative")
    for n in (int(x) for x in args.videos.split(",")):
        for cosine in (0.0, 0.6):
            r = compare(n, args.negatives, args.batch, cosine, torch.Generator().manual_seed(0))
            print(
                f"{n:<8d} {cosine:.1f}  {r['loss_vidkit']:11.6f}  {r['loss_seed']:10.6f}  {r['difference']:10.6f}"
                f"  {r['predicted']:15.6f}  {r['grad_abs']:15.2g}  {r['grad_rel']:.2g}"
            )


if __name__ == "__main__":
    main()
