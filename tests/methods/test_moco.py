"""MoCo and MoCo v2: the multi-positive InfoNCE on fixed numbers, the MoCo loss, options, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

from vidkit import checkpoint as ckpt
from vidkit import pretrain as pretraining
from vidkit.methods import create_method, method_class
from vidkit.methods.losses import info_nce, multi_positive_info_nce
from vidkit.methods.moco import MoCoOptions, MoCoV2Options
from vidkit.methods.options import parse_options
from vidkit.models import create_backbone
from vidkit.models.heads import MLPProjectionHead, ProjectionHead


def test_multi_positive_info_nce_on_fixed_numbers():
    # Row 0: positives at columns 0 and 1 (scores 1.0, 0.4 after T = 0.5), negatives -0.2 and 0.6.
    logits = torch.tensor([[0.5, 0.2, -0.1, 0.3]])
    positives = torch.tensor([[True, True, False, False]])
    negatives = math.exp(-0.2) + math.exp(0.6)
    expected = ((math.log(math.exp(1.0) + negatives) - 1.0) + (math.log(math.exp(0.4) + negatives) - 0.4)) / 2
    assert expected == pytest.approx(0.84886, abs=1e-4)  # worked by hand
    assert float(multi_positive_info_nce(logits, positives, 0.5)) == pytest.approx(expected, abs=1e-6)


def test_one_positive_per_row_is_info_nce_and_rows_average_over_positives():
    torch.manual_seed(0)
    pos, neg = torch.randn(4), torch.randn(4, 6)
    logits = torch.cat([pos[:, None], neg], dim=1)
    positives = torch.zeros_like(logits, dtype=torch.bool)
    positives[:, 0] = True
    torch.testing.assert_close(multi_positive_info_nce(logits, positives, 0.2), info_nce(pos, neg, 0.2))
    # Rows with 1 and 3 positives: the mean is over the 4 positives, not the 2 rows.
    logits = torch.tensor([[2.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
    positives = torch.tensor([[True, False, False, False], [True, True, True, False]])
    each = [math.log(math.exp(2.0) + 3) - 2.0] + [math.log(math.e + 1.0) - 1.0] * 3
    assert float(multi_positive_info_nce(logits, positives, 1.0)) == pytest.approx(sum(each) / 4, abs=1e-6)


def test_a_row_without_negatives_scores_zero_with_a_finite_gradient():
    logits = torch.tensor([[0.3]], requires_grad=True)
    loss = multi_positive_info_nce(logits, torch.tensor([[True]]), 0.07)
    loss.backward()
    assert float(loss.detach()) == 0.0 and torch.isfinite(logits.grad).all()


def test_heads_are_unit_norm_and_shaped():
    x = torch.randn(5, 16)
    assert ProjectionHead(16, 8)(x).norm(dim=1).allclose(torch.ones(5))
    mlp = MLPProjectionHead(16, 4)
    assert mlp(x).shape == (5, 4) and mlp(x).norm(dim=1).allclose(torch.ones(5))
    assert [type(m).__name__ for m in mlp.net] == ["Linear", "ReLU", "Linear"] and mlp.net[0].out_features == 16


def _moco(name="moco", **given):
    cls = method_class(name)
    options = parse_options(cls.Options, given, name)
    return create_method(name, create_backbone("tiny2d"), num_videos=6, options=options)


def test_moco_loss_is_info_nce_of_the_key_against_the_queue():
    torch.manual_seed(0)
    method = _moco(queue=4)
    batch = {"query": torch.randn(3, 1, 3, 16, 16), "key": torch.randn(3, 1, 3, 16, 16), "index": torch.arange(3)}
    queue = torch.nn.functional.normalize(torch.randn(4, 128), dim=1)
    method.queue.push(queue)
    method.eval()  # fixed BatchNorm, so the same images embed the same twice
    with torch.no_grad():
        loss = method(batch).loss
        q = method.embed(batch["query"][:, 0])
        k = method.key_encoder(batch["key"][:, 0])
    expected = info_nce((q * k).sum(1), q @ queue.T, 0.07)
    assert float(loss) == pytest.approx(float(expected), abs=1e-5)
    method.on_step_end(0.5)  # the step's keys go into the (full) queue, replacing the oldest three
    torch.testing.assert_close(method.queue.rows[:3], k)


def test_mocov2_and_the_seed_baseline_are_options():
    v1, v2 = MoCoOptions(), MoCoV2Options()
    assert (v1.head, v1.dim, v1.temperature, v1.queue, v1.key_momentum, v1.augmentation) == (
        "linear",
        128,
        0.07,
        65536,
        0.999,
        "moco-v1",
    )
    assert (v2.head, v2.temperature, v2.augmentation) == ("mlp", 0.2, "moco-v2")
    assert method_class("mocov2").defaults.schedule == "cosine" and method_class("moco").defaults.schedule == "step"
    seed = _moco(head="mlp", dim=64)
    assert isinstance(seed.head, MLPProjectionHead) and seed.head.net[2].out_features == 64


@pytest.mark.parametrize("name", ["moco", "mocov2", "vince"])
def test_checkpoint_backbone_loads_strictly_into_torchvision_resnet18(name, synth_frames, tmp_path):
    config = pretraining.PretrainConfig(
        method=name,
        backbone="resnet18",
        steps=1,
        batch_size=2,
        size=32,
        workers=0,
        method_options={"queue": 16, **({"frames": 2} if name == "vince" else {})},
    )
    pretraining.pretrain(synth_frames, tmp_path / "m.pt", config)
    saved = ckpt.load(tmp_path / "m.pt")
    net = torchvision.models.resnet18()
    missing, unexpected = net.load_state_dict(saved.backbone, strict=False)
    assert sorted(missing) == ["fc.bias", "fc.weight"] and not unexpected
    assert any(k.startswith("key_encoder.net.0.") for k in saved.method_state)  # the key encoder resumes too


def _fixed_keys(method, videos: torch.Tensor, seed: int = 0):
    """Replace the encoders by fixed unit `q`, `k` `(V, E)` so the loss can be written out by hand."""
    g = torch.Generator().manual_seed(seed)
    q = torch.nn.functional.normalize(torch.randn(len(videos), method.options.dim, generator=g), dim=1)
    k = torch.nn.functional.normalize(torch.randn(len(videos), method.options.dim, generator=g), dim=1)
    method.encode = lambda batch: (q, k)
    batch = {"query": torch.zeros(len(videos), 1, 3, 8, 8), "key": torch.zeros(len(videos), 1, 3, 8, 8)}
    return q, k, {**batch, "index": videos}


def _info_nce_by_hand(q, k, queue, owners, videos, temperature, exclude_own) -> float:
    """MoCo's InfoNCE written out in float64: per query, its key against the queue rows, leaving out
    (with `exclude_own`) the rows whose owner is the query's own video."""
    terms = []
    for i in range(len(q)):
        rows = [r for r in range(len(queue)) if not (exclude_own and owners[r] == int(videos[i]))]
        s = float(q[i].double() @ k[i].double()) / temperature
        negatives = [float(q[i].double() @ queue[r].double()) / temperature for r in rows]
        terms.append(math.log(math.exp(s) + sum(math.exp(n) for n in negatives)) - s)
    return sum(terms) / len(terms)


@pytest.mark.parametrize("name", ["moco", "mocov2"])
def test_queue_keys_of_the_querys_own_video_are_no_negatives(name):
    """The twin of VINCE's test: queued keys that carry a batch video's id are left out of that
    video's negatives (`exclude_own`, the default), and counted with `-O exclude_own=false`."""
    videos = torch.tensor([10, 11, 12])
    owners = [10, 99, 12, 10]  # rows 0 and 3: earlier keys of video 10, row 2 of video 12
    temperature = 0.07 if name == "moco" else 0.2
    method = _moco(name, queue=6)
    q, k, batch = _fixed_keys(method, videos)
    queue = torch.nn.functional.normalize(torch.randn(4, 128, generator=torch.Generator().manual_seed(1)), dim=1)
    queue[0], queue[2] = q[0], q[2]  # earlier keys of videos 10 and 12 that look like their queries
    method.queue.push(queue, torch.tensor(owners))  # 4 of 6 rows filled
    loss = float(method(batch).loss)
    excluded = _info_nce_by_hand(q, k, queue, owners, videos, temperature, exclude_own=True)
    counted = _info_nce_by_hand(q, k, queue, owners, videos, temperature, exclude_own=False)
    assert excluded < counted - 1.0  # far apart, so the checks below tell the two cases apart
    assert loss == pytest.approx(excluded, rel=1e-5)
    kept = _moco(name, queue=6, exclude_own=False)
    _fixed_keys(kept, videos)
    kept.queue.push(queue, torch.tensor(owners))
    assert float(kept(batch).loss) == pytest.approx(counted, rel=1e-5)
    torch.testing.assert_close(kept(batch).loss, info_nce((q * k).sum(1), q @ queue.T, temperature))


def test_a_steps_keys_enter_the_queue_with_their_videos_ids():
    """`on_step_end` pushes the keys with the batch's video ids, so the next step can leave them out."""
    method = _moco(queue=8)
    videos = torch.tensor([3, 5, 4])
    q, k, batch = _fixed_keys(method, videos)
    assert float(method(batch).loss) == 0.0  # empty queue: nothing to contrast with yet
    method.on_step_end(0.1)
    assert method.queue.key_ids.tolist() == [3, 5, 4]
    torch.testing.assert_close(method.queue.keys, k)
    # The same videos again: each query's own earlier key is out, the other two videos' keys are in.
    expected = _info_nce_by_hand(q, k, k, [3, 5, 4], videos, 0.07, exclude_own=True)
    assert float(method(batch).loss) == pytest.approx(expected, rel=1e-5)
