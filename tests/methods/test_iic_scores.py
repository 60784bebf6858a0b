"""IIC's score scale: why unit-length pooled features leave the loss at chance, and `-O center=true`.

docs/methods.md ("Toy-scale claims") has the measurement on the toy data; these tests hold its
mechanism on random clips, so they fail if either half of the explanation stops being true.
"""

from __future__ import annotations

import math

import torch

from vidkit.methods.iic import IIC, IICOptions
from vidkit.models import create_backbone


def _clips(b=16, t=8, size=32) -> torch.Tensor:
    return torch.rand(b, 3, t, size, size)  # (B, C, T, H, W)


def _mean_off_diagonal_cosine(method: IIC, clips: torch.Tensor) -> float:
    with torch.no_grad():
        unit = method._embed(method.backbone, clips)  # (B, D)
    cosine = unit @ unit.T
    return float(cosine[~torch.eye(len(unit), dtype=torch.bool)].mean())


def _method(**options) -> IIC:
    torch.manual_seed(0)
    method = IIC(create_backbone("tiny"), num_videos=8, options=IICOptions(normalize=True, **options))
    return method.train()  # BatchNorm on batch statistics, as in training


def test_unit_pooled_features_all_point_one_way_so_the_softmax_is_flat():
    """Post-ReLU average-pooled features of different clips score near 1 against each other: at
    T = 0.07 the 2K + 2 logits then differ by well under one unit, so the loss is its chance level."""
    cosine = _mean_off_diagonal_cosine(_method(), _clips())
    assert cosine > 0.9, cosine


def test_centering_spreads_the_scores():
    cosine = _mean_off_diagonal_cosine(_method(center=True), _clips())
    assert abs(cosine) < 0.2, cosine


def test_centered_loss_leaves_the_chance_level_once_the_banks_hold_the_clips():
    """With the banks holding each video's own embedding, centring lifts the positive clear of the
    negatives and the loss falls well below 2 ln(2K + 2); without it the loss stays near that level."""
    losses = {}
    for center in (False, True):
        method = _method(center=center, intra_negatives=None, view2="rgb", negatives=64)
        clips = _clips(b=8)
        batch = {"view1": clips, "index": torch.arange(8)}
        with torch.no_grad():
            own = method._embed(method.backbone, clips)
            method.bank1.rows.copy_(own)
            method.bank2.rows.copy_(own)
            losses[center] = float(method(batch).loss)
    chance = 2 * math.log(65)
    assert losses[False] > 0.8 * chance and losses[True] < 0.5 * chance, (losses, chance)
