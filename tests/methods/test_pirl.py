"""PIRL: its loss against hand-computed values, the jigsaw tiling, both objectives, and the CLI on images."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from vidkit import checkpoint as ckpt
from vidkit import pretrain as pretraining
from vidkit.cli.app import app
from vidkit.data.jigsaw import cut_tiles, draw_permutation, shuffle_tiles, tile_size
from vidkit.extract import frames as extraction
from vidkit.methods.pirl import PIRL, PIRLOptions, pirl_loss
from vidkit.models import create_backbone

# One image, E = 2, K = 2 negatives, T = 0.5, Z = 2 over a bank of N = 10.
ROWS = torch.tensor([[1.0, 0.0]])  # m_I
IMAGE = torch.tensor([[0.6, 0.8]])  # f(v_I)
JIGSAW = torch.tensor([[0.0, 1.0]])  # g(v_It)
NEGATIVES = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]]])  # (B, K, E)


def _nce_by_hand(v: list[float]) -> float:
    """-log h(m_I, v) - sum_n log(1 - h(m_n, v)), h = P / (P + K/N), P = exp(s / T) / Z (PIRL eq. 3-4)."""
    m_pn = 2 / 10

    def h(s: float) -> float:
        p = math.exp(s / 0.5) / 2.0
        return p / (p + m_pn)

    positive = ROWS[0].tolist()
    score = sum(a * b for a, b in zip(positive, v))
    negatives = [sum(a * b for a, b in zip(n, v)) for n in NEGATIVES[0].tolist()]
    return -math.log(h(score)) - sum(math.log(1 - h(s)) for s in negatives)


def _infonce_by_hand(v: list[float]) -> float:
    score = sum(a * b for a, b in zip(ROWS[0].tolist(), v))
    negatives = [sum(a * b for a, b in zip(n, v)) for n in NEGATIVES[0].tolist()]
    return -math.log(math.exp(score / 0.5) / (math.exp(score / 0.5) + sum(math.exp(s / 0.5) for s in negatives)))


@pytest.mark.parametrize("kind, by_hand", [("nce", _nce_by_hand), ("infonce", _infonce_by_hand)])
def test_pirl_loss_against_hand_computed_values(kind, by_hand):
    total, jigsaw, image = pirl_loss(
        ROWS, IMAGE, JIGSAW, NEGATIVES, weight=0.5, temperature=0.5, loss=kind, log_z=math.log(2.0), num_data=10
    )
    expected_jigsaw, expected_image = by_hand([0.0, 1.0]), by_hand([0.6, 0.8])
    assert jigsaw.item() == pytest.approx(expected_jigsaw, rel=1e-5)
    assert image.item() == pytest.approx(expected_image, rel=1e-5)
    assert total.item() == pytest.approx(0.5 * expected_jigsaw + 0.5 * expected_image, rel=1e-5)
    weighted, _, _ = pirl_loss(
        ROWS, IMAGE, JIGSAW, NEGATIVES, weight=0.25, temperature=0.5, loss=kind, log_z=math.log(2.0), num_data=10
    )
    assert weighted.item() == pytest.approx(0.25 * expected_jigsaw + 0.75 * expected_image, rel=1e-5)


def test_tiles_are_the_regions_of_the_crop():
    crop = torch.arange(3 * 225 * 225, dtype=torch.float32).view(3, 225, 225)
    tiles = cut_tiles(crop)  # (9, 3, 75, 75)
    assert tiles.shape == (9, 3, 75, 75) and tile_size(225) == 75
    for i in range(9):
        row, col = divmod(i, 3)
        torch.testing.assert_close(tiles[i], crop[:, 75 * row : 75 * row + 75, 75 * col : 75 * col + 75])
    # 32 px pads to 33 (zeros at the right and bottom): 11-px tiles, the last row/column padded.
    small = torch.ones(3, 32, 32)
    cut = cut_tiles(small)
    assert cut.shape == (9, 3, 11, 11)
    assert cut[8, :, 10, :].abs().sum() == 0 and cut[8, :, :10, :10].eq(1).all() and cut[0].eq(1).all()


def test_tiles_are_shuffled_per_sample():
    tiles = torch.arange(9, dtype=torch.float32).view(9, 1, 1, 1).expand(9, 3, 2, 2)
    order = np.array([4, 0, 8, 1, 2, 3, 5, 6, 7])
    assert shuffle_tiles(tiles, order)[:, 0, 0, 0].tolist() == order.tolist()
    orders = {tuple(draw_permutation(np.random.default_rng([0, 0, i]))) for i in range(20)}
    assert len(orders) == 20 and all(sorted(o) == list(range(9)) for o in orders)


def test_dataset_views(synth_frames):
    from vidkit.io.frame_store import FrameStore

    config = pretraining.PretrainConfig(method="pirl", size=32).resolved()
    dataset = PIRL.build_dataset(FrameStore(synth_frames), [0, 1, 2], config.recipe(), PIRLOptions(), 0)
    sample = dataset[(1, 0)]
    assert sample["image"].shape == (3, 32, 32) and sample["jigsaw"].shape == (9, 3, 11, 11)
    assert int(sample["index"]) == 1
    torch.testing.assert_close(dataset[(1, 0)]["jigsaw"], sample["jigsaw"])  # a function of (seed, epoch, index)
    assert not torch.equal(dataset[(1, 1)]["jigsaw"], sample["jigsaw"])


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "image": torch.randn(4, 3, 32, 32, generator=g),
        "jigsaw": torch.randn(4, 9, 3, 11, 11, generator=g),
        "index": torch.tensor([0, 1, 2, 3]),
    }


def test_bank_takes_the_image_embeddings_with_momentum():
    torch.manual_seed(0)
    method = PIRL(create_backbone("tiny2d"), num_videos=6, options=replace(PIRLOptions(), negatives=3))
    before = method.bank.rows.clone()
    out = method(_batch())
    assert math.isfinite(out.loss.item()) and bool(method.log_z_set)
    out.loss.backward()
    assert method.jigsaw_head.jigsaw_linear.weight.grad.abs().sum() > 0 and method.head.fc.weight.grad.abs().sum() > 0
    f = method.head(method.backbone(_batch()["image"])).detach()
    method.on_step_end(0.5)
    expected = torch.nn.functional.normalize(0.5 * before[:4] + 0.5 * f, dim=1)
    torch.testing.assert_close(method.bank.rows[:4], expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(method.bank.rows[4:], before[4:])


def test_jigsaw_embedding_depends_on_tile_order():
    torch.manual_seed(0)
    method = PIRL(create_backbone("tiny2d"), num_videos=6).eval()
    tiles = _batch()["jigsaw"][:1]
    shuffled = tiles[:, torch.tensor([1, 0, 2, 3, 4, 5, 6, 7, 8])]
    with torch.no_grad():
        assert not torch.allclose(method.encoder(tiles), method.encoder(shuffled))


def test_seed_objective_alternates_and_resumes_exactly(synth_frames, tmp_path):
    class Killed(Exception):
        pass

    def kill_at_5(done, total, loss, rate):
        if done == 5:
            raise Killed  # as a kill after step 4's checkpoint

    def run(out, steps, resume=False, progress=None):
        config = pretraining.PretrainConfig(
            method="pirl",
            backbone="tiny2d",
            steps=steps,
            batch_size=3,
            size=32,
            workers=0,
            checkpoint_every=2,
            log_every=1,
            seed=5,
            method_options={"objective": "seed", "queue": 4, "head": "mlp", "dim": 8},
        )
        return pretraining.pretrain(synth_frames, out, config, resume=resume, progress=progress)

    straight = run(tmp_path / "a.pt", 6)
    assert all(math.isfinite(v) for _, v in straight.losses)
    saved = ckpt.load(tmp_path / "a.pt")
    assert saved.hparams["objective"] == "seed" and "queue.rows" in saved.method_state
    assert "bank.rows" not in saved.method_state
    with pytest.raises(Killed):
        run(tmp_path / "b.pt", 6, progress=kill_at_5)
    assert ckpt.load(tmp_path / "b.pt").training["step"] == 4
    resumed = run(tmp_path / "b.pt", 6, resume=True)
    assert resumed.losses == straight.losses[4:]
    # The coin comes from the step-seeded RNG: over a few steps both branches serve as the query.
    torch.manual_seed(0)
    method = PIRL(create_backbone("tiny2d"), num_videos=6, options=replace(PIRLOptions(), objective="seed", queue=8))
    seen = set()
    for step in range(8):
        torch.manual_seed(step)
        seen.add(float(method(_batch(step)).metrics["jigsaw_query"]))
    assert seen == {0.0, 1.0}


@pytest.mark.parametrize("method", ["pirl", "moco"])
def test_cli_pretrains_on_an_image_folder_store(method, tmp_path, runner):
    rng = np.random.default_rng(0)
    for c, name in enumerate(("cat", "dog")):
        for i in range(3):
            path = tmp_path / "images" / name / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 60, (40, 48, 3), dtype=np.uint8) + np.uint8(120 * c)
            Image.fromarray(pixels).save(path)
    store = tmp_path / "images.h5"
    extraction.extract_frames([tmp_path / "images"], store, source="imagefolder")
    args = ["pretrain", "--method", method, str(store), "-o", str(tmp_path / "out.pt"), "--backbone", "tiny2d"]
    args += ["--steps", "3", "--batch-size", "3", "--size", "32", "--workers", "0", "--split", "all", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["steps"] == 3 and math.isfinite(summary["final_loss"])
    fresh = create_backbone("tiny2d")
    fresh.load_state_dict(ckpt.load(tmp_path / "out.pt").backbone, strict=True)


@pytest.mark.parametrize("data", ["", "/data"])
def test_make_n_pirl_family_prints_real_commands(data, tmp_path):
    """mk/pirl.mk: both recipes, toy and full scale, use only real flags and PIRL's own options."""
    from tests.test_reproductions import known_flags, make, vidkit_lines
    from vidkit.methods import method_class
    from vidkit.methods.options import parse_options

    lines = vidkit_lines(make("-n", "pirl-family", f"DATA={data}", f"RUN={tmp_path}/run").stdout)
    pretrains = [words for words in lines if words[0] == "pretrain"]
    assert len(pretrains) == 2
    for words in lines:
        flags = {w.split("=")[0] for w in words[1:] if w.startswith("--") or w in ("-o", "-O")}
        assert flags <= known_flags(words[0]), (words[0], flags - known_flags(words[0]))
    objectives = []
    for words in pretrains:
        given = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-O")
        objectives.append(parse_options(method_class("pirl").Options, given, "pirl").objective)
    assert sorted(objectives) == ["pirl", "seed"]
    if data:
        assert any("--dataset imagefolder" in " ".join(w) for w in lines)
        assert any("--dataset r2v2" in " ".join(w) for w in lines)
