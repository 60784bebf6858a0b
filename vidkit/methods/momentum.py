"""A momentum (EMA) key encoder, shared by MoCo, MoCo v2, VINCE and PIRL's seed variant.

MoCo (He et al., CVPR 2020, arXiv:1911.05722) encodes the keys with a slowly moving copy of the
query network, so that keys enqueued many steps apart stay comparable; VINCE keeps that design
(vince.md 2.2). The copy:
- starts as an exact copy of the online network (hard-synced) and never gets gradients;
- follows it by `key = m * key + (1 - m) * online` after each optimizer step, on parameters only:
  its BatchNorm layers keep their own running statistics, as in MoCo and the seed;
- optionally raises m from `momentum` to 1 along a half cosine over the run (BYOL, Grill et al.
  2020, arXiv:2006.07733), which MoCo v3 and later recipes use;
- runs under DDP with shuffle-BN (MoCo section 3.3): the keys' batch is permuted across ranks
  before the forward and restored after, so no rank's BatchNorm sees only its own query pairs,
  which would let the network cheat through the batch statistics. (The seed's DataParallel
  shuffle was a no-op on one GPU; vince.md 2.2.)
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from vidkit.engine import dist


def ema_momentum(base: float, progress: float, cosine: bool) -> float:
    """The EMA coefficient at `progress` in [0, 1]: `base` throughout, or BYOL's
    `1 - (1 - base) * (cos(pi * progress) + 1) / 2`, which rises from `base` to 1."""
    if not cosine:
        return base
    return 1.0 - (1.0 - base) * (math.cos(math.pi * min(max(progress, 0.0), 1.0)) + 1.0) / 2.0


class MomentumEncoder(nn.Module):
    """The EMA copy of `online` (a module mapping images to embeddings, e.g. backbone + head).

    The online network is referenced, not registered, so the state dict holds only the copy
    (under `net.`); the owner keeps registering the online network itself.
    """

    def __init__(self, online: nn.Module, momentum: float = 0.999, cosine: bool = False):
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.__dict__["_online"] = online  # not a submodule: its weights are the owner's
        self.momentum = momentum
        self.cosine = cosine
        self.net = copy.deepcopy(online)
        for param in self.net.parameters():
            param.requires_grad_(False)

    @property
    def online(self) -> nn.Module:
        return self.__dict__["_online"]

    @torch.no_grad()
    def sync_(self) -> None:
        """Copy the online network's parameters and buffers exactly (m = 0)."""
        self.net.load_state_dict(self.online.state_dict())

    @torch.no_grad()
    def update(self, progress: float) -> float:
        """One EMA step after an optimizer step at `progress` in (0, 1]; returns the m used."""
        m = ema_momentum(self.momentum, progress, self.cosine)
        keys, online = list(self.net.parameters()), list(self.online.parameters())
        torch._foreach_mul_(keys, m)
        torch._foreach_add_(keys, [p.detach() for p in online], alpha=1.0 - m)
        return m

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, ...) -> (B, D), no graph
        if not dist.is_distributed() or _has_sync_bn(self.net):
            return self.net(x)
        shuffled, restore = dist.shuffle_across_ranks(x)
        return dist.unshuffle_across_ranks(self.net(shuffled), restore)


def _has_sync_bn(module: nn.Module) -> bool:
    return any(isinstance(layer, nn.SyncBatchNorm) for layer in module.modules())
