"""The train loop: exact resume, NaN stop with the last good checkpoint kept, and 2-process DDP."""

from __future__ import annotations

import json
import math
import textwrap

import pytest
import torch

from tests.conftest import torchrun
from vidkit import checkpoint as ckpt
from vidkit import pretrain as pretraining
from vidkit.engine import train
from vidkit.extract import frames as extraction
from vidkit.io.annotations import load_split_lists
from vidkit.methods.tce import TCE


@pytest.fixture(scope="module")
def frames(synth_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("frames") / "f.h5"
    extraction.extract_frames([synth_dir / "videos"], path, annotations=load_split_lists(synth_dir / "splits"))
    return path


def _config(**overrides) -> pretraining.PretrainConfig:
    base = dict(
        backbone="tiny2d",
        steps=8,
        log_every=1,
        batch_size=3,
        size=32,
        workers=0,
        lr=0.05,
        schedule="cosine",
        split="all",
        method_options={"mining": True},
    )
    return pretraining.PretrainConfig(**{**base, **overrides})


def _losses(result) -> list[float]:
    return [loss for _, loss in result.losses]


def test_resume_continues_the_same_curve(frames, tmp_path):
    whole = pretraining.pretrain(frames, tmp_path / "whole.pt", _config(workers=1))

    def stop_at_6(step, total, loss, rate):
        if step == 6:
            raise KeyboardInterrupt  # killed between the checkpoint at 4 and the end

    with pytest.raises(KeyboardInterrupt):
        pretraining.pretrain(frames, tmp_path / "cut.pt", _config(checkpoint_every=4), progress=stop_at_6)
    assert ckpt.load(tmp_path / "cut.pt").training["step"] == 4
    resumed = pretraining.pretrain(frames, tmp_path / "cut.pt", _config(checkpoint_every=4), resume=True)
    assert [s for s, _ in resumed.losses] == [5, 6, 7, 8]
    assert _losses(resumed) == pytest.approx(_losses(whole)[4:], rel=1e-5)
    a, b = ckpt.load(tmp_path / "whole.pt"), ckpt.load(tmp_path / "cut.pt")
    for key, value in a.backbone.items():
        torch.testing.assert_close(b.backbone[key], value, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b.method_state["bank.rows"], a.method_state["bank.rows"], rtol=1e-5, atol=1e-6)


def test_resume_refuses_other_options(frames, tmp_path):
    pretraining.pretrain(frames, tmp_path / "c.pt", _config(steps=2))
    with pytest.raises(Exception, match="other tce options"):
        pretraining.pretrain(frames, tmp_path / "c.pt", _config(steps=4, method_options={"mining": False}), resume=True)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(frames, tmp_path, monkeypatch):
    forward, calls = TCE.forward, {"n": 0}

    def poisoned(self, batch):
        calls["n"] += 1
        output = forward(self, batch)
        return output._replace(loss=output.loss * math.nan) if calls["n"] == 5 else output

    monkeypatch.setattr(TCE, "forward", poisoned)
    with pytest.raises(train.TrainingDivergedError, match="nan at step 5; the checkpoint of step 4 is kept"):
        pretraining.pretrain(frames, tmp_path / "c.pt", _config(checkpoint_every=2))
    saved = ckpt.load(tmp_path / "c.pt")
    assert saved.training["step"] == 4 and all(
        torch.isfinite(v).all() for v in saved.backbone.values() if v.is_floating_point()
    )


_DDP_SCRIPT = textwrap.dedent(
    """
    import sys, torch
    from pathlib import Path
    from vidkit import pretrain as pretraining
    from vidkit.engine import dist, train

    fit = train.fit
    def fit_and_dump(method, *args, **kwargs):
        result = fit(method, *args, **kwargs)
        torch.save(method.state_dict(), Path(sys.argv[2]) / f"rank{dist.rank()}.pt")
        return result
    train.fit = fit_and_dump
    config = pretraining.PretrainConfig(backbone="tiny2d", steps=3, batch_size=2, size=32, workers=0, split="all",
                                        device="cpu", method_options={"mining": True})
    pretraining.pretrain(Path(sys.argv[1]), Path(sys.argv[2]) / "ddp.pt", config)
    """
)


@pytest.mark.slow
def test_two_process_ddp_ends_with_identical_weights(frames, tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(_DDP_SCRIPT)
    proc = torchrun(str(script), str(frames), str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], msg=f"{key} differs between ranks")
    start = ckpt.load(tmp_path / "ddp.pt")
    assert start.training["step"] == 3  # rank 0 wrote the checkpoint


def test_gradient_clipping_bounds_the_update(frames, tmp_path):
    """With a tiny clip norm and plain SGD, no parameter moves further than lr * clip."""
    start = pretraining.pretrain(frames, tmp_path / "a.pt", _config(steps=1, lr=0.0))
    clipped = pretraining.pretrain(
        frames, tmp_path / "b.pt", _config(steps=1, lr=1.0, grad_clip=1e-3, schedule="constant", weight_decay=0.0)
    )
    assert start.steps == clipped.steps == 1
    a, b = ckpt.load(tmp_path / "a.pt").backbone, ckpt.load(tmp_path / "b.pt").backbone
    moved = torch.sqrt(sum(((b[k] - a[k]) ** 2).sum() for k in a if k.endswith("weight") and "features" in k))
    assert 0 < float(moved) <= 1e-3 * 1.0 + 1e-6


@pytest.mark.slow
def test_pretrain_under_torchrun_prints_one_result(frames, tmp_path):
    """Every rank finishes with its own last loss; only rank 0's result reaches stdout (it printed two)."""
    options = ["--method", "tce", "--backbone", "tiny2d", "--steps", "2", "--batch-size", "2", "--size", "32"]
    options += ["--workers", "0", "--device", "cpu", "--split", "all", "--json"]
    proc = torchrun("-m", "vidkit", "pretrain", str(frames), "-o", str(tmp_path / "ddp.pt"), *options)
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(printed) == 1 and json.loads(printed[0])["steps"] == 2
    assert proc.stderr.count("loss: ") <= 1  # the loss curve, from rank 0 alone
