"""Contrastive losses against analytic values and a direct (non-log-space) formula."""

from __future__ import annotations

import math

import torch

from vidkit.methods.losses import info_nce, nce_loss
from vidkit.methods.memory_bank import MemoryBank, sample_other


def test_info_nce_of_identical_embeddings():
    pos, neg = torch.ones(4), torch.ones(4, 9)
    assert float(info_nce(pos, neg, 0.07)) == math.log(10) or abs(float(info_nce(pos, neg, 0.07)) - math.log(10)) < 1e-5


def test_info_nce_of_distinct_embeddings_matches_the_formula_written_out():
    """Scores that differ, so the temperature matters: `-log(e^(p/T) / (e^(p/T) + sum_k e^(n_k/T)))`."""
    pos = torch.tensor([0.9, -0.2, 0.3])
    neg = torch.tensor([[0.1, 0.5, -0.4, 0.8], [0.3, -0.9, 0.0, 0.2], [0.3, 0.3, 0.6, -0.1]])
    for temperature in (0.07, 0.5, 1.0):
        terms = []
        for p, row in zip(pos.tolist(), neg.tolist()):
            denominator = math.exp(p / temperature) + sum(math.exp(n / temperature) for n in row)
            terms.append(-math.log(math.exp(p / temperature) / denominator))
        expected = sum(terms) / len(terms)
        assert abs(float(info_nce(pos, neg, temperature)) - expected) < 1e-5 * max(1.0, expected)
    # The same scores at T = 1 and T = 0.07 give different losses: a dropped temperature cannot pass.
    assert abs(float(info_nce(pos, neg, 0.07)) - float(info_nce(pos, neg, 1.0))) > 0.5


def test_nce_matches_the_direct_formula():
    torch.manual_seed(0)
    pos, neg = torch.rand(5) * 2 - 1, torch.rand(5, 7) * 2 - 1
    temperature, num_data, z = 0.5, 50, 30.0
    p_pos, p_neg, m_pn = torch.exp(pos / temperature) / z, torch.exp(neg / temperature) / z, 7 / num_data
    direct = -(torch.log(p_pos / (p_pos + m_pn)) + torch.log(m_pn / (p_neg + m_pn)).sum(1)).mean()
    assert abs(float(nce_loss(pos, neg, math.log(z), num_data, temperature)) - float(direct)) < 1e-5


def test_sample_other_never_draws_the_excluded_row():
    exclude = torch.tensor([0, 3, 9])
    draws = sample_other(10, exclude, 500)
    assert draws.min() >= 0 and draws.max() <= 9
    assert not (draws == exclude[:, None]).any()
    assert len(torch.unique(draws[1])) == 9  # every other row is reachable


def test_memory_bank_update_is_momentum_then_normalise():
    bank = MemoryBank(4, 3, momentum=0.5)
    bank.rows.copy_(torch.eye(4, 3))
    bank.update(torch.tensor([1]), torch.tensor([[1.0, 0.0, 0.0]]))
    expected = torch.nn.functional.normalize(torch.tensor([0.5, 0.5, 0.0]), dim=0)
    torch.testing.assert_close(bank.rows[1], expected)
    torch.testing.assert_close(bank.rows[0], torch.tensor([1.0, 0.0, 0.0]))
