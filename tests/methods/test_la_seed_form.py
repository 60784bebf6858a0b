"""LA's loss per anchor (vidkit) against the seed's B x B form (docs/methods.md, "IR and LA").

The seed divided the `(B,)` sums over close neighbours by the `(B, 1)` sums over background
neighbours and averaged the resulting B x B matrix: entry [i, j] = close_j / all_i. Without the
1e-7 its mean of logs is exactly the per-row mean, since sum_ij log(c_j / a_i) = B sum_j log c_j -
B sum_i log a_i; so the two agree while every anchor has a close neighbour (and every c_j / a_i is
far above 1e-7). An anchor with none has c = 0: vidkit's loss for it is the constant -log(1e-7)
with no gradient, while in the seed its denominator a_i still divides every other anchor's c_j.
"""

from __future__ import annotations

import math

import pytest
import torch

from vidkit.methods import create_method
from vidkit.methods.la import LAOptions, local_aggregation_loss
from vidkit.models import create_backbone

T = 0.07


def seed_form(scores: torch.Tensor, close: torch.Tensor) -> torch.Tensor:
    p = torch.exp(scores / T)  # (B, K)
    ratio = (p * close).sum(dim=1) / p.sum(dim=1, keepdim=True)  # (B,) / (B, 1) -> (B, B)
    return -torch.log(ratio + 1e-7).mean()


def _batch(seed: int = 0, b: int = 16, k: int = 64):
    gen = torch.Generator().manual_seed(seed)
    scores = (torch.rand(b, k, generator=gen, dtype=torch.float64) * 0.4 + 0.3).requires_grad_(True)  # (B, K)
    close = torch.rand(b, k, generator=gen) < 0.2
    close[:, 0] = True  # every anchor has a close neighbour
    return scores, close


def _loss_and_grad(form, scores, close):
    loss = form(scores, close)
    (grad,) = torch.autograd.grad(loss, scores)
    return float(loss.detach()), grad


def test_with_a_close_neighbour_everywhere_the_per_row_form_is_the_seeds():
    scores, close = _batch()
    ours, g_ours = _loss_and_grad(lambda s, c: local_aggregation_loss(s, c, T), scores, close)
    seed, g_seed = _loss_and_grad(seed_form, scores, close)
    assert ours == pytest.approx(seed, rel=1e-6)
    torch.testing.assert_close(g_ours, g_seed, rtol=1e-5, atol=1e-9)


def test_an_anchor_without_close_neighbours_gets_no_gradient_here_and_one_in_the_seed():
    scores, close = _batch()
    close[3] = False
    ours, g_ours = _loss_and_grad(lambda s, c: local_aggregation_loss(s, c, T), scores, close)
    seed, g_seed = _loss_and_grad(seed_form, scores, close)
    assert torch.equal(g_ours[3], torch.zeros_like(g_ours[3]))  # the constant -log(1e-7)
    assert g_seed[3].abs().sum() > 0  # the seed: lower all of its background similarities
    # its row and column of the B x B matrix change the seed's loss and every other anchor's gradient
    assert abs(ours - seed) > 1e-4 and not torch.allclose(g_ours[0], g_seed[0], rtol=1e-3)
    # vidkit's is the per-row mean with that anchor at the saturation value
    with torch.no_grad():
        before = float(local_aggregation_loss(scores[:3], close[:3], T))
        after = float(local_aggregation_loss(scores[4:], close[4:], T))
    assert ours == pytest.approx((3 * before + 12 * after - math.log(1e-7)) / 16, rel=1e-9)


def test_la_reports_the_fraction_of_anchors_without_a_close_neighbour():
    """`no_close` in the step metrics: how often the seed's loss would have differed in this run."""
    torch.manual_seed(0)
    method = create_method("la", create_backbone("tiny"), num_videos=4, options=LAOptions(dim=2, neighbours=1))
    method.bank.rows.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]))
    v = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # both nearest to row 0: close for video 0, not for video 2
    loss, metrics = method.instance_loss(v, torch.tensor([0, 2]))
    assert float(metrics["no_close"]) == 0.5
    assert float(loss) == pytest.approx(-math.log(1 + 1e-7) / 2 - math.log(1e-7) / 2)
