"""IR's (and LA's) memory bank and NCE against the seed's: the initial rows, and what the 1e-7 changes."""

from __future__ import annotations

import math

import pytest
import torch

from vidkit.methods import create_method
from vidkit.methods.ir import SEED_Z
from vidkit.methods.losses import nce_loss
from vidkit.models import create_backbone


@pytest.mark.parametrize("name", ["ir", "la"])
def test_ir_and_la_start_from_unit_rows_as_the_seed(name):
    """Video LA's `MemoryBank._create` L2-normalised its random rows (video_la_idt.md 5); vidkit's were
    left at norms 1 +- 0.04."""
    torch.manual_seed(0)
    method = create_method(name, create_backbone("tiny"), num_videos=500)
    torch.testing.assert_close(method.bank.rows.norm(dim=1), torch.ones(500))


def _seed_nce(pos, neg, n):
    """The seed's IR loss as written: probabilities, and 1e-7 in both denominators."""
    k, t = neg.shape[1], 0.07
    p_pos, p_neg = torch.exp(pos / t) / SEED_Z, torch.exp(neg / t) / SEED_Z
    ln_data = torch.log(p_pos) - torch.log(p_pos + k / n + 1e-7)
    ln_noise = math.log(k / n) - torch.log(p_neg + k / n + 1e-7)
    return -(ln_data.sum() + ln_noise.sum()) / len(pos)


def test_the_seeds_epsilon_shifts_the_loss_by_about_1e_7_n_and_not_the_gradient():
    """docs/methods.md: at N = 200,000 and k = 4096 the 1e-7 adds 0.020 to the loss (float64), about
    1e-7 N (k + 1) / k, a near-constant: each term's gradient moves by a relative 1e-7 / (P + k/N) <= 1e-7 N / k."""
    n, k = 200_000, 4096
    gen = torch.Generator().manual_seed(0)
    pos = (torch.rand(4, generator=gen, dtype=torch.float64) * 0.8).requires_grad_(True)  # (B,)
    neg = (torch.rand(4, k, generator=gen, dtype=torch.float64) * 0.4 - 0.2).requires_grad_(True)  # (B, K)
    ours, seed = nce_loss(pos, neg, math.log(SEED_Z), n, 0.07), _seed_nce(pos, neg, n)
    assert float((seed - ours).detach()) == pytest.approx(1e-7 * n * (k + 1) / k, rel=0.01)
    grads = [torch.cat([g.flatten() for g in torch.autograd.grad(loss, (pos, neg))]) for loss in (ours, seed)]
    assert float((grads[0] - grads[1]).norm() / grads[1].norm()) < 1e-7 * n / k  # 4.9e-6
