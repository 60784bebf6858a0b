"""The memory bank's initial rows: raw uniform (lemniscate, CMC), or L2-normalised (Video LA's; tests/methods/test_ir_bank.py)."""

from __future__ import annotations

import pytest
import torch

from vidkit.methods.memory_bank import MemoryBank


def test_normalized_initial_rows_have_unit_norm():
    torch.manual_seed(0)
    norms = MemoryBank(2000, 128, normalize=True).rows.norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(2000))


def test_raw_initial_rows_are_uniform_with_unit_norm_on_average():
    """lemniscate / CMC (TCE's and IIC's seeds): U[-s, s], s = 1 / sqrt(D / 3), not normalised."""
    torch.manual_seed(0)
    rows = MemoryBank(2000, 128).rows
    bound = 1 / (128 / 3) ** 0.5
    norms = rows.norm(dim=1)
    assert rows.abs().max() <= bound and float(norms.mean()) == pytest.approx(1.0, abs=0.01)
    assert float(norms.min()) < 0.95 and float(norms.max()) > 1.05  # spread about 1 +- 0.04
