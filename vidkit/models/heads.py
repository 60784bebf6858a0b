"""Heads that methods put on top of a backbone's pooled features."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ProjectionHead(nn.Module):
    """Linear projection to an embedding, L2-normalised (the 128-d heads of instance discrimination, CMC, TCE)."""

    def __init__(self, in_features: int, out_features: int = 128):
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C) -> (B, D), unit norm
        return F.normalize(self.fc(x), dim=1)


def projection_embedder(backbone: nn.Module, method_state: dict[str, torch.Tensor]) -> nn.Module:
    """The backbone under the `ProjectionHead` saved in a method's state (`head.fc.*`), or the bare backbone
    when the state holds no such head (a checkpoint saved without it).

    Instance discrimination (IR, LA) and TCE both embed in this space, their memory bank's, so both
    `embedder`s return this one function's network.
    """
    if "head.fc.weight" not in method_state:
        return backbone
    weight = method_state["head.fc.weight"]  # (D, C)
    head = ProjectionHead(weight.shape[1], weight.shape[0])
    head.load_state_dict({"fc.weight": weight, "fc.bias": method_state["head.fc.bias"]})
    return nn.Sequential(backbone, head)


class RotationHead(nn.Module):
    """4-way rotation classifier of TCE (tce.md 2.3): Linear-ReLU-BN twice (200 wide), then Linear to 4.

    NOTE: ReLU before BatchNorm, as the released TCE code orders them.
    """

    def __init__(self, in_features: int, hidden: int = 200, classes: int = 4):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(hidden),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(hidden),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C) -> (B, 4) logits
        return self.net(x)


class MLPProjectionHead(nn.Module):
    """Linear(C->C), ReLU, Linear(C->E), L2-normalised: the head of MoCo v2 (Chen et al. 2020,
    arXiv:2003.04297) and of every VINCE model (vince.md 2.2; no BatchNorm in it)."""

    def __init__(self, in_features: int, out_features: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, in_features), nn.ReLU(inplace=True), nn.Linear(in_features, out_features)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C) -> (B, E), unit norm
        return F.normalize(self.net(x), dim=1)


HEAD_KINDS = ("linear", "mlp")


def projection_head(kind: str, in_features: int, out_features: int) -> nn.Module:
    """`linear` (MoCo v1's 128-d head, `ProjectionHead`) or `mlp` (`MLPProjectionHead`)."""
    if kind == "linear":
        return ProjectionHead(in_features, out_features)
    if kind == "mlp":
        return MLPProjectionHead(in_features, out_features)
    raise ValueError(f"unknown head {kind!r}; choose one of {', '.join(HEAD_KINDS)}")
