"""Sampling functions and per-sample transforms."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from vidkit.data import sampling, transforms
from vidkit.data.datasets import EpochSampler


@given(st.integers(1, 500), st.integers(1, 8), st.integers(0, 2**31))
def test_pair_is_adjacent_and_inside(n, window, seed):
    anchor, positive = sampling.pair_indices(n, window, np.random.default_rng(seed))
    assert 0 <= anchor < n and 0 <= positive < n
    if n > 1:
        assert 1 <= abs(positive - anchor) <= window  # never the anchor itself (the TCE release's bug)


@given(st.integers(1, 400), st.integers(1, 64), st.integers(1, 20))
def test_evenly_spaced_clips_stay_inside(n, span, count):
    starts = sampling.evenly_spaced_starts(n, span, count)
    assert len(starts) == count and starts.min() >= 0 and (starts.max() + span <= n or n < span)
    if count > 1 and n >= span:
        assert starts[0] == 0 and starts[-1] == n - span and np.all(np.diff(starts) >= 0)


def test_clip_indices_repeat_the_last_frame():
    assert sampling.clip_indices(3, 4, 2, 8).tolist() == [3, 5, 7, 7]


@given(st.integers(1, 60), st.integers(1, 4), st.integers(0, 100), st.integers(0, 5))
def test_epoch_sampler_ranks_partition_the_epoch(size, world, seed, epoch):
    shares = [list(EpochSampler(size, seed=seed, epoch=epoch, rank=r, world=world)) for r in range(world)]
    indices = [i for share in shares for i, _ in share]
    assert len(indices) == len(set(indices)) == size // world * world
    assert all(len(s) == size // world for s in shares)
    assert shares[0] == list(EpochSampler(size, seed=seed, epoch=epoch, rank=0, world=world))  # seeded: repeatable


def test_jitter_is_one_draw_for_the_whole_clip():
    clip = torch.rand(6, 3, 8, 8)
    jitter = transforms.Jitter.draw(np.random.default_rng(0))
    together = jitter(clip.clone())
    one_by_one = torch.stack([jitter(frame.clone()) for frame in clip])
    torch.testing.assert_close(together, one_by_one)


def test_rotate_and_grey():
    x = torch.arange(4.0).view(1, 2, 2).expand(3, 2, 2)
    assert transforms.rotate90(transforms.rotate90(x, 1), 3).equal(x)
    grey = transforms.random_grey(torch.rand(3, 4, 4), np.random.default_rng(1), p=1.0)
    assert grey[0].equal(grey[1]) and grey[1].equal(grey[2])


def test_run_batch_sampler_continues_epochs_and_resumes_mid_run():
    from itertools import chain, islice

    from vidkit.data.datasets import RunBatchSampler

    run = list(islice(RunBatchSampler(10, seed=3, batch_size=4), 6))  # 2 whole batches (8 samples) per epoch
    epochs = [list(EpochSampler(10, seed=3, epoch=e))[:8] for e in range(3)]
    assert list(chain(*run)) == epochs[0] + epochs[1] + epochs[2]
    assert list(islice(RunBatchSampler(10, seed=3, batch_size=4, start_step=3), 3)) == run[3:6]


def test_without_drop_last_an_epoch_keeps_its_short_last_batch():
    from itertools import islice

    from vidkit.data.datasets import RunBatchSampler

    run = list(islice(RunBatchSampler(10, seed=3, batch_size=4, drop_last=False), 6))  # 4 + 4 + 2 per epoch
    assert [len(b) for b in run] == [4, 4, 2, 4, 4, 2]
    assert {e for _, e in run[2]} == {0} and {e for _, e in run[3]} == {1}  # never across epochs
    assert sorted(i for b in run[:3] for i, _ in b) == list(range(10))
    assert list(islice(RunBatchSampler(10, seed=3, batch_size=4, drop_last=False, start_step=4), 2)) == run[4:6]
