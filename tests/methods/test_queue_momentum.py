"""The shared parts of MoCo, MoCo v2, VINCE and PIRL: the negative queue and the momentum encoder."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from tests.conftest import REPO
from vidkit.methods.momentum import MomentumEncoder, ema_momentum
from vidkit.methods.pirl import PIRL, PIRLOptions
from vidkit.methods.queue import NegativeQueue
from vidkit.models import create_backbone


def _rows(start: int, count: int, dim: int = 2) -> torch.Tensor:
    return torch.arange(start, start + count, dtype=torch.float32)[:, None].expand(count, dim).clone()


def test_queue_fills_then_wraps_first_in_first_out():
    queue = NegativeQueue(5, 2)
    assert queue.keys.shape == (0, 2) and not queue.full
    queue.push(_rows(0, 3))
    assert queue.keys[:, 0].tolist() == [0, 1, 2] and int(queue.pointer) == 3 and not queue.full
    queue.push(_rows(3, 3))  # 5 wraps to row 0
    assert queue.full and int(queue.pointer) == 1
    assert queue.rows[:, 0].tolist() == [5, 1, 2, 3, 4]
    queue.push(_rows(6, 2))  # the oldest (1, 2) go
    assert sorted(queue.keys[:, 0].tolist()) == [3, 4, 5, 6, 7] and int(queue.pointer) == 3


def test_queue_keeps_the_ids_given_with_the_keys():
    queue = NegativeQueue(3, 2)
    queue.push(_rows(0, 2))
    assert queue.key_ids.tolist() == [-1, -1]
    queue.push(_rows(2, 2), torch.tensor([7, 8]))  # wraps: row 0 now holds id 8
    assert queue.ids.tolist() == [8, -1, 7] and queue.key_ids.tolist() == [8, -1, 7]


def test_a_push_longer_than_the_queue_keeps_the_newest_keys():
    queue = NegativeQueue(3, 2)
    queue.push(_rows(0, 1))
    queue.push(_rows(10, 5))
    assert sorted(queue.keys[:, 0].tolist()) == [12, 13, 14] and queue.full


def test_queue_state_survives_a_state_dict_round_trip():
    queue = NegativeQueue(4, 3)
    queue.push(torch.randn(3, 3))
    again = NegativeQueue(4, 3)
    again.load_state_dict(queue.state_dict())
    assert torch.equal(again.keys, queue.keys) and int(again.pointer) == 3
    again.push(torch.randn(2, 3))
    assert again.full and int(again.pointer) == 1


def test_ema_momentum_is_constant_or_rises_along_a_cosine_to_one():
    assert ema_momentum(0.99, 0.5, cosine=False) == 0.99
    assert ema_momentum(0.99, 0.0, cosine=True) == pytest.approx(0.99)
    assert ema_momentum(0.99, 0.5, cosine=True) == pytest.approx(0.995)
    assert ema_momentum(0.99, 1.0, cosine=True) == pytest.approx(1.0)


def test_momentum_encoder_starts_synced_without_gradients_and_follows_by_ema():
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    encoder = MomentumEncoder(online, momentum=0.9)
    assert all(not p.requires_grad for p in encoder.net.parameters())
    assert all(torch.equal(a, b) for a, b in zip(encoder.net.parameters(), online.parameters()))
    assert not any(k.startswith("_online") for k in encoder.state_dict())  # the copy only
    before = [p.clone() for p in encoder.net.parameters()]
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    assert encoder.update(0.3) == 0.9
    for key, old, new in zip(encoder.net.parameters(), before, online.parameters()):
        torch.testing.assert_close(key, 0.9 * old + 0.1 * new)


def test_momentum_encoder_keeps_its_own_batch_norm_statistics_and_no_graph():
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    encoder = MomentumEncoder(online, momentum=0.5)
    out = encoder(torch.randn(8, 3) * 5)
    assert not out.requires_grad
    assert not torch.equal(encoder.net[1].running_mean, online[1].running_mean)  # only the copy saw the batch
    stats = encoder.net[1].running_mean.clone()
    encoder.update(1.0)
    assert torch.equal(encoder.net[1].running_mean, stats)  # buffers are not averaged


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vince", "pirl-seed", "pirl"])
def test_two_gloo_ranks_end_with_identical_queues_key_encoders_and_weights(tmp_path, name):
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
        + [str(REPO / "tests" / "methods" / "ddp_contrastive_worker.py"), str(tmp_path), name],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert set(ranks[0]["state"]) == set(ranks[1]["state"])
    for key, value in ranks[0]["state"].items():
        torch.testing.assert_close(ranks[1]["state"][key], value, rtol=0, atol=0, msg=key)
    state = ranks[0]["state"]
    if name == "vince":  # 3 steps x 2 ranks x (2 videos x 2 frames) keys, all gathered into 32 rows
        assert int(state["queue.filled"]) == 24
    elif name == "pirl-seed":  # 3 steps x 2 ranks x 2 images
        assert int(state["queue.filled"]) == 12
    else:  # both ranks' images (videos 0-3) entered the bank; the others kept their initial rows
        torch.manual_seed(0)
        options = PIRLOptions(objective="pirl", queue=32, negatives=4)  # the worker's
        initial = PIRL(create_backbone("tiny2d"), num_videos=8, options=options).bank.rows
        assert not torch.isclose(state["bank.rows"][:4], initial[:4]).all(dim=1).any()
        torch.testing.assert_close(state["bank.rows"][4:], initial[4:], rtol=0, atol=0)
        assert bool(state["log_z_set"])
    assert all(math.isfinite(loss) for loss in ranks[0]["losses"])
    assert ranks[0]["losses"] != ranks[1]["losses"]  # the ranks saw different data
