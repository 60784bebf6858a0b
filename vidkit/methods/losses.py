"""Contrastive losses as pure functions of score tensors."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def full_precision(like: torch.Tensor):
    """A region where autocast is off, so scores, bank products and losses are fp32 even inside the
    engine's bf16 autocast: bf16 keeps 8 bits of mantissa, which puts errors of several units into
    logits of unnormalised features divided by T = 0.07."""
    return torch.autocast(device_type=like.device.type, enabled=False)


def nce_loss(pos: torch.Tensor, neg: torch.Tensor, log_z: float, num_data: int, temperature: float) -> torch.Tensor:
    """Binary NCE of instance discrimination (Wu et al. 2018), as TCE and CMC implement it (tce.md 2.5).

    With `P = exp(s / T) / Z` and noise `m * Pn = K / num_data`, the positive is scored
    `log(P / (P + m Pn))` and each negative `log(m Pn / (P + m Pn))`; the loss is minus their sum,
    averaged over the batch. Computed in log space, which is equal to the original but cannot overflow.

    Args:
        pos: `(B,)` similarity of each anchor to its positive.
        neg: `(B, K)` similarities to K negatives.
        log_z: log of the normalising constant Z (estimated once, on the first batch).
        num_data: size of the memory bank (the noise distribution is uniform over it).
        temperature: T.
    """
    log_m_pn = math.log(neg.shape[1] / num_data)
    log_p_pos = pos / temperature - log_z
    log_p_neg = neg / temperature - log_z
    # log(P / (P + mPn)) = -softplus(log mPn - log P);  log(mPn / (P + mPn)) = -softplus(log P - log mPn)
    loss = F.softplus(log_m_pn - log_p_pos) + F.softplus(log_p_neg - log_m_pn).sum(dim=1)
    return loss.mean()


def info_nce(pos: torch.Tensor, neg: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE (van den Oord et al. 2018): cross-entropy of the positive among `[pos, neg...] / T`.

    `pos (B,)`, `neg (B, K)`. Identical embeddings everywhere give `log(K + 1)`.
    """
    logits = torch.cat([pos[:, None], neg], dim=1) / temperature  # (B, 1 + K)
    return F.cross_entropy(logits, torch.zeros(len(pos), dtype=torch.long, device=pos.device))


def upgrade_nan_log_z(state_dict: dict, prefix: str) -> None:
    """Read a checkpoint of vidkit <= 0.1, whose NCE normaliser marked "not estimated yet" by NaN,
    into the `log_z` + `log_z_set` pair that replaced it (a checkpoint never holds NaN now)."""
    log_z = state_dict.get(prefix + "log_z")
    if log_z is not None and prefix + "log_z_set" not in state_dict:
        state_dict[prefix + "log_z_set"] = ~torch.isnan(log_z)
        state_dict[prefix + "log_z"] = torch.nan_to_num(log_z, nan=0.0)


def multi_positive_info_nce(
    logits: torch.Tensor, positives: torch.Tensor, temperature: float, ignore: torch.Tensor | None = None
) -> torch.Tensor:
    """VINCE's multi-positive InfoNCE (`similarity_cross_entropy`, vince.md 2.4): one InfoNCE term per
    positive, against the row's negatives only, averaged over all positives.

    For positive p of row i: `l_p = log(exp(s_p) + sum_n exp(s_n)) - s_p` with `s = logits / T`,
    where n runs over the row's negatives; the other positives of the row are left out of the
    denominator. One positive per row (column 0) is MoCo's InfoNCE. A row without negatives
    scores 0 (nothing to contrast with yet, e.g. an empty queue).

    Args:
        logits: `(B, M)` similarities of each query to M candidates.
        positives: `(B, M)` bool, True where a candidate is a positive (at least one per tensor).
        temperature: T.
        ignore: `(B, M)` bool, candidates that are neither positive nor negative (left out).
    """
    scores = logits / temperature  # (B, M)
    negatives = ~positives if ignore is None else ~(positives | ignore)  # (B, M)
    negative_lse = torch.logsumexp(scores.masked_fill(~negatives, -math.inf), dim=1, keepdim=True)  # (B, 1)
    positive_scores = scores[positives]  # (P,)
    row_lse = negative_lse.expand_as(scores)[positives]  # (P,)
    return (torch.logaddexp(positive_scores, row_lse) - positive_scores).mean()
