"""Learning-rate schedules."""

from __future__ import annotations

import pytest

from vidkit.engine.schedule import lr_factor


def test_cosine_warmup_and_step():
    assert lr_factor(0, 100, schedule="cosine") == pytest.approx(1.0)
    assert lr_factor(50, 100, schedule="cosine") == pytest.approx(0.5)
    assert lr_factor(99, 100, schedule="cosine") < 0.01
    assert lr_factor(4, 100, schedule="cosine", warmup=10) == pytest.approx(0.5)
    assert lr_factor(49, 100, schedule="step") == 1.0 and lr_factor(50, 100, schedule="step") == pytest.approx(0.1)
    assert lr_factor(90, 100, schedule="step", milestones=(0.5, 0.8)) == pytest.approx(0.01)
    with pytest.raises(ValueError):
        lr_factor(0, 10, schedule="poly")
