"""VINCE: block-diagonal positives over the batch's keys, the queue as negatives, the self-batch term,
its single-frame variants, and the R2V2-style frame sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vidkit.data.frame_views import cached_frames, pair_slots
from vidkit.errors import UsageError
from vidkit.methods import create_method
from vidkit.methods.options import parse_options
from vidkit.methods.vince import VINCE, VinceOptions
from vidkit.models import create_backbone


def _vince(**given) -> VINCE:
    return create_method(
        "vince", create_backbone("tiny2d"), num_videos=6, options=parse_options(VinceOptions, given, "vince")
    )


def _reference(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, frames: int, temperature: float) -> float:
    """vince.md 2.4 written out: for each query and each key of its own video, InfoNCE against the
    other videos' keys and the queue."""
    return _reference_rows(q, k, queue, frames, temperature, slice(None))


def _fixed(method: VINCE, videos: int, frames: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q = torch.nn.functional.normalize(torch.randn(videos * frames, method.options.dim, generator=g), dim=1)
    k = torch.nn.functional.normalize(torch.randn(videos * frames, method.options.dim, generator=g), dim=1)
    method.encode = lambda batch: (q, k)
    batch = {
        "query": torch.zeros(videos, frames, 3, 8, 8),
        "key": torch.zeros(videos, frames, 3, 8, 8),
        "index": torch.arange(videos) + 10,
    }
    return q, k, batch


def test_vince_loss_matches_the_per_positive_reference():
    method = _vince(queue=5)
    queue = torch.nn.functional.normalize(torch.randn(3, 64, generator=torch.Generator().manual_seed(1)), dim=1)
    method.queue.push(queue)  # 3 of 5 rows filled: the loss uses those three
    q, k, batch = _fixed(method, videos=3, frames=2)
    loss = float(method(batch).loss)
    assert loss == pytest.approx(_reference(q, k, queue, 2, 0.07), rel=1e-5)


def test_queue_keys_of_the_querys_own_video_are_no_negatives():
    method = _vince(queue=5)
    queue = torch.nn.functional.normalize(torch.randn(3, 64, generator=torch.Generator().manual_seed(1)), dim=1)
    method.queue.push(queue, torch.tensor([10, 99, 11]))  # rows 0 and 2: keys of videos 10 and 11 of the batch
    q, k, batch = _fixed(method, videos=2, frames=2)
    # Reference per query: its video's own queue row left out.
    expected = []
    for video in range(2):
        rows = [r for r, owner in enumerate([10, 99, 11]) if owner != 10 + video]
        block = slice(2 * video, 2 * video + 2)
        expected.append(_reference_rows(q, k, queue[rows], 2, 0.07, block))
    loss = float(method(batch).loss)
    assert loss == pytest.approx(sum(expected) / 2, rel=1e-5)
    assert loss != pytest.approx(_reference(q, k, queue, 2, 0.07), rel=1e-3)  # it would differ with them counted
    kept = _vince(queue=5, exclude_own=False)
    kept.queue.push(queue, torch.tensor([10, 99, 11]))
    _fixed(kept, videos=2, frames=2)
    assert float(kept(batch).loss) == pytest.approx(_reference(q, k, queue, 2, 0.07), rel=1e-5)


def _reference_rows(q, k, queue, frames, temperature, rows: slice) -> float:
    """`_reference` averaged over the queries in `rows` only."""
    terms = []
    for i in range(*rows.indices(len(q))):
        negatives = [float(q[i] @ k[j]) for j in range(len(k)) if j // frames != i // frames]
        negatives += [float(q[i] @ row) for row in queue]
        for j in range(len(k)):
            if j // frames == i // frames:
                s = float(q[i] @ k[j]) / temperature
                terms.append(math.log(math.exp(s) + sum(math.exp(n / temperature) for n in negatives)) - s)
    return sum(terms) / len(terms)


def test_self_batch_term_adds_the_query_query_loss_at_its_temperature():
    method = _vince(queue=4, self_batch=True)
    q, k, batch = _fixed(method, videos=2, frames=2)
    output = method(batch)
    expected = _reference(q, k, torch.zeros(0, 64), 2, 0.07) + _reference(q, q, torch.zeros(0, 64), 2, 0.03)
    assert float(output.loss) == pytest.approx(expected, rel=1e-5)
    assert {"contrast", "contrast_self"} <= set(output.metrics)


def test_without_inter_batch_comparison_one_frame_is_moco():
    method = _vince(queue=4, frames=1, inter_batch=False)
    queue = torch.nn.functional.normalize(torch.randn(4, 64, generator=torch.Generator().manual_seed(2)), dim=1)
    method.queue.push(queue)
    q, k, batch = _fixed(method, videos=3, frames=1)
    scores = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / 0.07
    expected = (torch.logsumexp(scores, 1) - scores[:, 0]).mean()
    assert float(method(batch).loss) == pytest.approx(float(expected), rel=1e-5)


def test_bad_option_combinations_are_usage_errors():
    with pytest.raises(UsageError, match="inter_batch"):
        _vince(self_batch=True, inter_batch=False)
    with pytest.raises(UsageError, match="frames"):
        _vince(frames=0)


def test_cached_frames_are_spread_like_r2v2():
    rng = np.random.default_rng(0)
    run = cached_frames(3000, 30.0, 4, 5.0, rng)  # 150 frames apart, as R2V2's grid
    assert np.all(np.diff(run) == 150) and run[0] >= 0 and run[-1] < 3000
    short = cached_frames(12, 25.0, 4, 5.0, rng)  # the gap shrinks to fit: 11 // 3 = 3
    assert np.all(np.diff(short) == 3) and short[-1] < 12
    assert cached_frames(3, 25.0, 4, 5.0, rng).tolist() == [0, 1, 2]  # fewer frames than asked: all of them
    assert np.all(np.diff(cached_frames(40, math.nan, 4, 5.0, rng)) == 1)  # no frame rate: consecutive frames
    starts = {int(cached_frames(3000, 30.0, 4, 5.0, np.random.default_rng(s))[0]) for s in range(20)}
    assert len(starts) > 1  # a random start, so the whole video is used over epochs


def test_pair_slots_of_each_mode():
    rng = np.random.default_rng(0)
    same = pair_slots(4, 50, "same", rng)
    assert same.shape == (50, 2) and np.all(same[:, 0] == same[:, 1])
    different = pair_slots(4, 200, "different", rng)
    assert np.all(different[:, 0] != different[:, 1]) and set(different[:, 1].tolist()) == {0, 1, 2, 3}
    any_ = pair_slots(4, 400, "any", rng)
    assert 0 < np.mean(any_[:, 0] == any_[:, 1]) < 0.5  # independent draws: the same frame about 1/4 of the time
    assert np.all(pair_slots(1, 5, "different", rng) == 0)  # one image: two views of it


def test_dataset_yields_n_independent_views_reproducibly(synth_frames):
    from vidkit.data.augment import preset
    from vidkit.data.frame_views import FrameViewsDataset
    from vidkit.io.frame_store import FrameStore

    store = FrameStore(synth_frames)
    kwargs = dict(
        size=24, frames=4, pairs="any", augmentation=preset("standard"), seed=0, mean=(0.5,) * 3, std=(0.25,) * 3
    )
    dataset = FrameViewsDataset(store, [0, 1], **kwargs)
    sample = dataset[(1, 0)]
    assert sample["query"].shape == (4, 3, 24, 24) and sample["key"].shape == (4, 3, 24, 24)
    assert torch.equal(sample["query"], FrameViewsDataset(store, [0, 1], **kwargs)[(1, 0)]["query"])
    assert not torch.equal(sample["query"], dataset[(1, 1)]["query"])  # another epoch, other draws


@pytest.mark.parametrize("data", ["", "/data"])
def test_make_n_prints_the_vince_family_with_real_flags_and_options(data, tmp_path):
    from tests.test_reproductions import known_flags, make, vidkit_lines
    from vidkit.methods import method_class

    out = make("-n", "vince-family", f"DATA={data}", f"RUN={tmp_path}/run").stdout
    pretrains = [words for words in vidkit_lines(out) if words[0] == "pretrain"]
    assert {words[words.index("--method") + 1] for words in pretrains} == {"vince", "moco", "mocov2"}
    assert len(pretrains) == 6
    for words in vidkit_lines(out):
        flags = {w for w in words[1:] if w.startswith("--") or w in ("-o", "-O")}
        assert flags <= known_flags(words[0]), (words[0], flags - known_flags(words[0]))
    for words in pretrains:
        method = words[words.index("--method") + 1]
        given = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-O")
        parse_options(method_class(method).Options, given, method)
    if data:  # the seed's scripts' settings on R2V2 and ImageNet stores
        text = "\n".join(" ".join(w) for w in pretrains)
        assert "--steps 1000000" in text and "-O self_batch=true" in text and "--batch-size 224 --lr 0.105" in text
