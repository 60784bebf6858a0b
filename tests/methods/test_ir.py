"""IR (instance recognition, Video LA stage 5): the loss by hand, the bank, weight decay, the kNN monitor, --init."""

from __future__ import annotations

import math

import pytest
import torch

from vidkit import checkpoint as ckpt
from vidkit import pretrain as pretraining
from vidkit.engine import train
from vidkit.errors import VidkitError
from vidkit.methods import create_method
from vidkit.methods.ir import SEED_Z, IROptions
from vidkit.methods.knn_monitor import knn_top1
from vidkit.models import create_backbone


def _ir(num_videos=4, **options):
    torch.manual_seed(0)
    return create_method("ir", create_backbone("tiny"), num_videos=num_videos, options=IROptions(**options))


def _seed_nce(v, bank, own, noise, k, n, t=0.07, z=SEED_Z, t_neg=None):
    """The seed's IR loss written out (video_la_idt.md 5), in float64, with its 1e-7 (`t_neg`: another
    temperature for the negatives, to show what a wrong one would change)."""
    v, bank = v.double(), bank.double()
    p_pos = torch.exp((v * bank[own]).sum(1) / t) / z
    p_neg = torch.exp(torch.einsum("bkd,bd->bk", bank[noise], v) / (t if t_neg is None else t_neg)) / z
    pn = k / n
    per = torch.log(p_pos / (p_pos + pn + 1e-7)) + torch.log(pn / (p_neg + pn + 1e-7)).sum(1)
    return float(-per.mean())


def test_nce_loss_is_the_seeds_with_its_constant_z():
    method = _ir(num_videos=5, negatives=3)
    v = torch.nn.functional.normalize(
        torch.tensor([[1.0, 2.0, 0.0] + [0.0] * 125, [0.0, 1.0, -1.0] + [0.0] * 125]), dim=1
    )
    # Bank rows near the embeddings, so every score is large enough that P = exp(s / T) / Z is of the
    # order of the noise K / N: each negative's term then weighs as much as the positive's (with random
    # rows, P_neg ~ 1e-7 and the negatives' terms vanish inside any tolerance).
    e = torch.eye(128)
    near = torch.stack([v[0] + 0.1 * e[5], v[0], v[1] + 0.2 * e[6], v[1], v[0] + v[1]])
    method.bank.rows.copy_(torch.nn.functional.normalize(near, dim=1))
    own = torch.tensor([1, 3])
    torch.manual_seed(7)
    loss, _ = method.instance_loss(v, own)
    torch.manual_seed(7)
    noise = torch.randint(0, 5, (2, 3))  # the same draw: uniform with replacement over the bank
    expected = _seed_nce(v, method.bank.rows, own, noise, 3, 5)
    assert float(loss) == pytest.approx(expected, rel=2e-6)
    # The negatives' share is far above the tolerance: with their temperature dropped (or their terms
    # left out) the loss would be off by more than 0.5.
    assert expected - _seed_nce(v, method.bank.rows, own, noise, 3, 5, t_neg=1.0) > 0.5


def test_nce_loss_at_orthogonal_embeddings_is_log_kz_over_n():
    """video_la_idt.md 11: with v . m = 0 the loss is ln(1 + kZ/N) + k ln(1 + N/(kZ)) (about ln(kZ/N))."""
    method = _ir(num_videos=6, negatives=4, dim=4)
    method.bank.rows.copy_(torch.tensor([[0.0, 1.0, 0.0, 0.0]]).repeat(6, 1))
    v = torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 3)
    loss, _ = method.instance_loss(v, torch.tensor([0, 1, 2]))
    k, n = 4, 6
    expected = math.log(1 + k * SEED_Z / n) + k * math.log(1 + n / (k * SEED_Z))
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_softmax_variant_is_cross_entropy_over_the_whole_bank():
    method = _ir(num_videos=3, loss="softmax", dim=2)
    method.bank.rows.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    v = torch.tensor([[0.6, 0.8]])
    loss, _ = method.instance_loss(v, torch.tensor([1]))
    scores = [0.6 / 0.07, 0.8 / 0.07, -0.6 / 0.07]
    expected = -(scores[1] - math.log(sum(math.exp(s) for s in scores)))
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_negatives_are_capped_at_the_bank_size_and_two_videos_are_needed():
    assert _ir(num_videos=6).options.negatives == 6
    with pytest.raises(VidkitError, match="at least 2"):
        _ir(num_videos=1)


def test_the_bank_moves_halfway_to_the_new_embedding_after_the_step():
    method = _ir(num_videos=4, dim=2)
    method.bank.rows.copy_(torch.tensor([[1.0, 0.0]] * 4))
    method._pending = (torch.tensor([2]), torch.tensor([[0.0, 1.0]]))
    method.on_step_end(0.5)
    torch.testing.assert_close(method.bank.rows[2], torch.tensor([1.0, 1.0]) / math.sqrt(2))
    torch.testing.assert_close(method.bank.rows[0], torch.tensor([1.0, 0.0]))


def test_no_weight_decay_on_any_batchnorm_including_the_shortcuts():
    method = create_method("ir", create_backbone("resnet3d_18"), num_videos=3, options=IROptions())
    exempt = method.no_weight_decay()
    assert "backbone.layer2.0.downsample.1.weight" in exempt and "backbone.bn1.bias" in exempt
    assert "backbone.conv1.weight" not in exempt and "head.fc.bias" not in exempt
    optimizer = train.make_optimizer(method, train.TrainConfig(steps=1, batch_size=1, weight_decay=1e-4))
    decayed, free = optimizer.param_groups
    assert free["weight_decay"] == 0.0 and decayed["weight_decay"] == 1e-4
    assert len(free["params"]) == len(exempt)
    assert len(decayed["params"]) + len(free["params"]) == len(list(method.parameters()))


def test_knn_top1_copies_the_label_of_the_nearest_row():
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    queries = torch.tensor([[0.9, 0.1], [-0.8, 0.2], [0.1, 0.9]])
    assert knn_top1(queries, torch.tensor([5, 7, 7]), bank, torch.tensor([5, 6, 7])) == pytest.approx(2 / 3)


def _config(method="ir", steps=2, **kw):
    return pretraining.PretrainConfig(
        method=method, backbone="tiny", steps=steps, batch_size=3, size=32, clip_len=4, workers=0, seed=1, **kw
    )


def test_the_knn_monitor_logs_every_epoch_into_the_checkpoint(synth_frames, tmp_path):
    # 6 training videos, batch 3: 2 steps an epoch; test01 (3 labelled videos) is the monitor's.
    pretraining.pretrain(synth_frames, tmp_path / "ir.pt", _config(steps=6))
    monitor = ckpt.load(tmp_path / "ir.pt").training["monitor"]
    assert [r["epoch"] for r in monitor] == [1, 2, 3]
    assert all(0.0 <= r["knn_top1"] <= 1.0 for r in monitor)
    pretraining.pretrain(synth_frames, tmp_path / "off.pt", _config(method_options={"knn_split": "none"}))
    assert ckpt.load(tmp_path / "off.pt").training["monitor"] == []


def test_init_starts_from_the_weights_and_bank_with_a_fresh_optimizer(synth_frames, tmp_path):
    pretraining.pretrain(synth_frames, tmp_path / "ir.pt", _config(steps=4))
    first = ckpt.load(tmp_path / "ir.pt")
    config = _config(init=str(tmp_path / "ir.pt")).resolved()
    torch.manual_seed(0)
    method = create_method("ir", create_backbone("tiny"), num_videos=6, options=config.options())
    from vidkit.data.selection import select_videos
    from vidkit.io.frame_store import FrameStore

    store = FrameStore(synth_frames)
    _, videos = select_videos(store, None)
    method.bind(store, videos, config.recipe(), 0)
    pretraining._initialise(tmp_path / "ir.pt", method, config)
    for key, value in first.backbone.items():
        torch.testing.assert_close(method.backbone.state_dict()[key], value, rtol=0, atol=0)
    torch.testing.assert_close(method.bank.rows, first.method_state["bank.rows"], rtol=0, atol=0)

    second = pretraining.pretrain(synth_frames, tmp_path / "ir2.pt", _config(init=str(tmp_path / "ir.pt")))
    saved = ckpt.load(tmp_path / "ir2.pt")
    assert second.steps == 2 and saved.training["step"] == 2  # a new run, counted from 0
    assert saved.training["config"]["pretrain"]["init"] == str(tmp_path / "ir.pt")


def test_init_refuses_a_bank_of_other_videos_or_another_backbone(synth_frames, tmp_path):
    pretraining.pretrain(synth_frames, tmp_path / "all.pt", _config(split="all"))  # 9 videos, not train01's 6
    with pytest.raises(VidkitError, match="other videos"):
        pretraining.pretrain(synth_frames, tmp_path / "x.pt", _config(init=str(tmp_path / "all.pt")))
    pretraining.pretrain(synth_frames, tmp_path / "tiny.pt", _config())
    config = _config(init=str(tmp_path / "tiny.pt"))
    config.backbone = "resnet3d_18a"
    with pytest.raises(VidkitError, match="holds a tiny backbone"):
        pretraining.pretrain(synth_frames, tmp_path / "y.pt", config)
