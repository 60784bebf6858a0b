"""IIC and CMC: the loss on hand-built inputs, bank updates, intra-negatives, the clip-pair samples,
and short runs of every backbone through the CLI, embedded with both poolings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from vidkit import checkpoint as ckpt
from vidkit.cli.app import app
from vidkit.data.datasets import ClipPairDataset
from vidkit.errors import UsageError
from vidkit.io.features import read_features
from vidkit.io.frame_store import FrameStore
from vidkit.methods.iic import CMC, IIC, CMCOptions, IICOptions, contrast_scores
from vidkit.methods.intra_negatives import repeat_frame, shuffle_frames, swap_chunks
from vidkit.methods.options import parse_options


class Constant(nn.Module):
    """A 'backbone' whose output is a fixed vector for every clip (plus a parameter for the optimizer)."""

    dims, in_channels, num_features = 3, 3, 4

    def __init__(self, vector):
        super().__init__()
        self.vector = nn.Parameter(torch.as_tensor(vector, dtype=torch.float32))

    def forward(self, x):
        return self.vector.expand(len(x), -1)


def _batch(b=3, t=8):
    return {"view1": torch.rand(b, 3, t, 8, 8), "view2": torch.rand(b, 3, t, 8, 8), "index": torch.arange(b)}


@pytest.mark.parametrize(("cls", "columns"), [(IIC, 2 * (16 + 1)), (CMC, 16 + 1)])
def test_identical_scores_give_log_of_the_logit_count(cls, columns):
    """Every bank row equal to the features' direction: all logits tie, so each view's loss is
    ln(columns) (IIC: 1 + K inter + 1 + K intra; CMC: 1 + K), and the total is twice that."""
    u = torch.tensor([0.6, 0.8, 0.0, 0.0])
    method = cls(Constant(u * 3), num_videos=10, options=cls.Options(negatives=16))
    for bank in (method.bank1, method.bank2, method.bank_intra):
        if bank is not None:
            bank.rows.copy_(u.expand_as(bank.rows))
    output = method(_batch())
    assert output.loss.item() == pytest.approx(2 * math.log(columns), rel=1e-5)
    assert output.metrics["pos_score"].item() == pytest.approx(3.0)


def test_positive_far_above_negatives_gives_a_near_zero_loss():
    anchor = torch.tensor([[1.0, 0.0]])
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    scores = contrast_scores(anchor, bank, torch.tensor([0]), torch.tensor([[1, 2]]), intra=-bank)
    assert scores.tolist() == [[1.0, 0.0, 0.0, -1.0, -0.0, -0.0]]
    loss = torch.nn.functional.cross_entropy(scores * 20 / 0.07, torch.tensor([0]))
    assert loss.item() < 1e-6


def test_banks_blend_with_momentum_and_renormalise():
    method = IIC(Constant([1.0, 2.0, 2.0, 0.0]), num_videos=5, options=IICOptions(negatives=4))
    before = {name: getattr(method, name).rows.clone() for name in ("bank1", "bank2", "bank_intra")}
    method(_batch(b=2))
    method.on_step_end(0.1)
    f = torch.tensor([1.0, 2.0, 2.0, 0.0])
    for name, old in before.items():
        rows = getattr(method, name).rows
        expected = torch.nn.functional.normalize(0.5 * old[:2] + 0.5 * f, dim=1)
        torch.testing.assert_close(rows[:2], expected)
        torch.testing.assert_close(rows[2:], old[2:])  # rows of videos not in the batch are untouched


def test_l2_normalize_scores_unit_embeddings():
    """`--l2-normalize`: a feature of norm 3 scores as its unit vector (tied logits give the same
    chance loss whatever the norm), and the bank receives the unit vector."""
    u = torch.tensor([0.6, 0.8, 0.0, 0.0])
    raw, unit = (
        IIC(Constant(u * 3), num_videos=10, options=IICOptions(negatives=16, normalize=n)) for n in (False, True)
    )
    for method in (raw, unit):
        for bank in (method.bank1, method.bank2, method.bank_intra):
            bank.rows.copy_(u.expand_as(bank.rows))
    assert raw(_batch()).metrics["pos_score"].item() == pytest.approx(3.0)
    output = unit(_batch())
    assert output.metrics["pos_score"].item() == pytest.approx(1.0)
    assert output.loss.item() == pytest.approx(2 * math.log(2 * (16 + 1)), rel=1e-5)
    assert unit.hparams()["normalize"] is True
    for _, _, features in unit._pending:
        torch.testing.assert_close(features.norm(dim=1), torch.ones(len(features)))


def test_negatives_never_include_the_anchor():
    torch.manual_seed(0)
    method = IIC(Constant([1.0, 0, 0, 0]), num_videos=3, options=IICOptions(negatives=500))
    captured = {}
    original = contrast_scores.__globals__["sample_other"]

    def spy(size, own, count):
        captured["rows"] = original(size, own, count)
        return captured["rows"]

    contrast_scores.__globals__["sample_other"] = spy
    try:
        method(_batch(b=3))
    finally:
        contrast_scores.__globals__["sample_other"] = original
    assert (captured["rows"] != torch.arange(3)[:, None]).all() and set(captured["rows"].unique().tolist()) == {0, 1, 2}


def test_repeated_clip_has_zero_residual():
    torch.manual_seed(1)
    clips = torch.rand(5, 3, 16, 4, 4)
    negative = repeat_frame(clips)
    assert (negative[:, :, 1:] - negative[:, :, :-1]).abs().max() == 0
    for b in range(5):  # and the frame is one of the clip's own
        assert any(torch.equal(negative[b, :, 0], clips[b, :, t]) for t in range(16))


def test_shuffle_swaps_two_of_four_chunks():
    torch.manual_seed(2)
    clips = torch.arange(16.0).view(1, 1, 16, 1, 1).repeat(64, 3, 1, 2, 2)
    order = swap_chunks(clips)[:, 0, :, 0, 0].long()
    for row in order.tolist():
        assert sorted(row) == list(range(16)) and row != list(range(16))
        chunks = [row[i : i + 4] for i in range(0, 16, 4)]
        moved = [i for i, c in enumerate(chunks) if c != list(range(4 * i, 4 * i + 4))]
        assert len(moved) == 2  # exactly one transposition of whole chunks
        a, b = moved
        assert chunks[a] == list(range(4 * b, 4 * b + 4)) and chunks[b] == list(range(4 * a, 4 * a + 4))
    pairs = {tuple(sorted(i for i in range(4) if row[4 * i] != 4 * i)) for row in order.tolist()}
    assert len(pairs) == 6  # every pair of chunks occurs


def test_full_shuffle_is_a_permutation_and_never_the_identity():
    torch.manual_seed(3)
    clips = torch.arange(2.0).view(1, 1, 2, 1, 1).repeat(32, 1, 1, 1, 1)
    order = shuffle_frames(clips)[:, 0, :, 0, 0]
    assert (order == torch.tensor([1.0, 0.0])).all()  # with two frames, the only non-identity permutation


def test_clip_pair_views_share_the_crop_and_the_residual_is_the_frame_difference(synth_frames):
    store = FrameStore(synth_frames)
    dataset = ClipPairDataset(
        store,
        np.arange(4),
        clip_len=6,
        stride=1,
        size=24,
        resize=(28, 36),
        view2="res",
        seed=0,
        mean=(0.0,) * 3,
        std=(1.0,) * 3,
    )
    sample = dataset[(1, 0)]
    view1, view2 = sample["view1"], sample["view2"]
    assert view1.shape == view2.shape == (3, 6, 24, 24)
    assert 0.0 <= view2.min() and view2.max() <= 1.0
    torch.testing.assert_close(view2[:, 1:] * 2 - 1, view1[:, 1:] - view1[:, :-1], atol=1e-6, rtol=0)
    again = dataset[(1, 0)]
    assert torch.equal(again["view1"], view1)  # a function of (seed, epoch, index)
    assert not torch.equal(dataset[(1, 1)]["view1"], view1)


def test_flow_view_is_one_component_on_three_channels(synth_frames):
    dataset = ClipPairDataset(
        FrameStore(synth_frames),
        np.arange(4),
        clip_len=4,
        stride=1,
        size=24,
        resize=(28, 36),
        view2="u",
        seed=0,
        mean=(0.0,) * 3,
        std=(1.0,) * 3,
    )
    view2 = dataset[(0, 0)]["view2"]
    assert view2.shape == (3, 4, 24, 24) and torch.equal(view2[0], view2[1]) and torch.equal(view2[0], view2[2])


def test_bad_options_are_clear_errors():
    with pytest.raises(UsageError, match="view2='depth' of --method iic: choose one of res, u, v, rgb"):
        parse_options(IICOptions, {"view2": "depth"}, "iic")
    with pytest.raises(UsageError, match="choose one of repeat, shuffle, shuffle-full, None"):
        parse_options(IICOptions, {"intra_negatives": "blur"}, "iic")
    with pytest.raises(UsageError, match="has no option 'window'"):
        parse_options(IICOptions, {"window": "2"}, "iic")
    with pytest.raises(UsageError, match="expected an integer"):
        parse_options(IICOptions, {"negatives": "many"}, "iic")
    assert parse_options(CMCOptions, {"intra_negatives": "none"}, "cmc").intra_negatives is None
    assert parse_options(IICOptions, {"normalize": "true", "negatives": "8"}, "iic") == IICOptions(
        normalize=True, negatives=8
    )


def _pretrain(runner, frames, out, *extra):
    return runner.invoke(
        app,
        [
            "pretrain",
            str(frames),
            "-o",
            str(out),
            "--steps",
            "2",
            "--batch-size",
            "3",
            "--size",
            "32",
            "--clip-len",
            "8",
            "--workers",
            "0",
            "--json",
            *extra,
        ],
    )


@pytest.mark.parametrize(
    ("backbone", "extra"),
    [
        ("r3d", ["--method", "iic", "--view2", "res", "--neg", "repeat"]),
        ("r21d", ["--method", "iic", "--neg", "shuffle"]),
        ("c3d", ["--method", "iic", "--view2", "u", "--neg", "shuffle-full"]),
        ("r3d_18", ["--method", "cmc", "--view2", "v", "--separate-models"]),
        ("tiny", ["--method", "iic", "--view2", "rgb", "--loss", "nce", "--l2-normalize"]),
    ],
)
def test_every_backbone_pretrains_and_embeds_with_both_poolings(runner, synth_frames, tmp_path, backbone, extra):
    result = _pretrain(runner, synth_frames, tmp_path / "m.pt", "--backbone", backbone, *extra)
    assert result.exit_code == 0, result.stderr
    assert np.isfinite(json.loads(result.stdout)["final_loss"])
    saved = ckpt.load(tmp_path / "m.pt")
    assert saved.method == extra[1] and saved.input.clip_len == 8 and saved.input.resize == (37, 49)
    assert saved.input.mean == (0.0, 0.0, 0.0)
    if "--separate-models" in extra:
        assert any(k.startswith("backbone2.") for k in saved.method_state)
    widths = {}
    for pooling in ("avg", "iic"):
        out = tmp_path / f"{pooling}.h5"
        result = runner.invoke(
            app,
            [
                "embed",
                str(tmp_path / "m.pt"),
                str(synth_frames),
                "-o",
                str(out),
                "--split",
                "test01",
                "--clips-per-video",
                "2",
                "--pooling",
                pooling,
                "--modality",
                "res",
                "--workers",
                "0",
                "--json",
            ],
        )
        assert result.exit_code == 0, result.stderr
        features = read_features(out)
        assert len(features) == 6 and np.isfinite(features.features).all() and features.config["pooling"] == pooling
        widths[pooling] = features.dim
    assert widths["iic"] % widths["avg"] == 0  # channels x pooled cells (1 cell at 32 px; 18 at 112 px)


def test_iic_pooling_of_r3d_is_the_9216_wide_retrieval_feature():
    from vidkit.models import create_backbone
    from vidkit.models.pooling import clip_features

    model = create_backbone("r3d").eval()
    with torch.no_grad():
        assert clip_features(model, torch.rand(1, 3, 16, 112, 112), "iic").shape == (1, 9216)


def test_flow_view_needs_a_store_with_flow(runner, synth_dir, tmp_path):
    frames = tmp_path / "f.h5"
    assert runner.invoke(app, ["extract-frames", str(synth_dir / "videos"), "-o", str(frames)]).exit_code == 0
    result = _pretrain(
        runner, frames, tmp_path / "m.pt", "--method", "iic", "--backbone", "tiny", "--view2", "u", "--split", "all"
    )
    assert result.exit_code == 1 and "needs flow" in result.stderr
