"""finetune: learning on synth data, linear probes, every input mode, test-only, resume, errors."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import dying_after
from vidkit import checkpoint as ckpt
from vidkit.cli.app import app
from vidkit.errors import VidkitError
from vidkit.extract import frames as extraction
from vidkit.io.annotations import load_annotations
from vidkit.io.synth import SynthConfig, make_dataset
from vidkit.models import create_backbone
from vidkit.tasks import finetune as finetuning


@pytest.fixture(scope="module")
def motion_frames(tmp_path_factory):
    """4 motion classes (left, right, up, down), 12 train and 5 test videos each, 16 frames of 32 px."""
    root = tmp_path_factory.mktemp("motion")
    make_dataset(root / "synth", SynthConfig(classes=4, train_per_class=12, test_per_class=5, frames=16, size=32))
    extraction.extract_frames(
        [root / "synth" / "videos"],
        root / "frames.h5",
        annotations=load_annotations(root / "synth" / "splits", "ucf101"),
    )
    return root / "frames.h5"


def _config(**overrides):
    base = dict(epochs=2, batch_size=8, lr=0.05, size=32, clip_len=8, workers=0, test_clips=3)
    return finetuning.FinetuneConfig(**{**base, **overrides})


def test_random_init_3d_net_learns_motion_well_above_chance(motion_frames, tmp_path, runner):
    """Residual clips through the tiny 3D net, from random weights: chance is 25%; this reaches 70%
    (seed 0), and the test asks for at least 50%. `--test-only` then reproduces the stored accuracy."""
    out = tmp_path / "ft.pt"
    result = runner.invoke(
        app,
        [
            "finetune",
            "--backbone",
            "tiny",
            str(motion_frames),
            "-o",
            str(out),
            "--input",
            "res-raw",
            "--epochs",
            "30",
            "--lr",
            "0.1",
            "--batch-size",
            "8",
            "--size",
            "32",
            "--clip-len",
            "8",
            "--workers",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["test_videos"] == 20 and summary["test_top1"] >= 0.5, summary
    assert summary["test_top5"] == 1.0  # 4 classes
    saved = ckpt.load(out)
    assert saved.training["test"]["top1"] == summary["test_top1"] and saved.input.modality == "res-raw"
    confusion = (tmp_path / "ft.confusion.csv").read_text().splitlines()
    assert confusion[0].startswith("true\\predicted,MoveLeft") and len(confusion) == 5
    assert sum(int(v) for line in confusion[1:] for v in line.split(",")[1:]) == 20

    again = runner.invoke(
        app,
        [
            "finetune",
            str(out),
            str(motion_frames),
            "--test-only",
            "--test-clips",
            "3",
            "--workers",
            "0",
            "--batch-size",
            "8",
            "--json",
        ],
    )
    assert again.exit_code == 0, again.stderr
    # Run alone, the reloaded model's logits equal the trained one's bit for bit; inside the whole
    # suite on 2 busy cores they twice differed enough to flip one near-tied video of 20 (float
    # summation order), so the check allows that one video and no more.
    assert abs(json.loads(again.stdout)["test_top1"] - summary["test_top1"]) <= 1 / 20 + 1e-9


def test_linear_probe_leaves_the_backbone_untouched(motion_frames, tmp_path):
    finetuning.finetune(motion_frames, tmp_path / "p.pt", backbone="tiny", config=_config(linear=True))
    saved = ckpt.load(tmp_path / "p.pt")
    torch.manual_seed(0)
    fresh = create_backbone("tiny").state_dict()
    for key, value in saved.backbone.items():
        assert torch.equal(value, fresh[key]), key  # weights and BN statistics alike
    assert not torch.equal(saved.head["fc.weight"], torch.zeros_like(saved.head["fc.weight"]))


def test_freeze_until_keeps_early_stages(motion_frames, tmp_path):
    finetuning.finetune(
        motion_frames,
        tmp_path / "f.pt",
        backbone="resnet18",
        config=_config(freeze_until=3, epochs=1, clip_len=1, task="frames"),
    )
    saved = ckpt.load(tmp_path / "f.pt").backbone
    torch.manual_seed(0)
    fresh = create_backbone("resnet18").state_dict()
    assert torch.equal(saved["conv1.weight"], fresh["conv1.weight"]) and torch.equal(
        saved["layer2.0.conv1.weight"], fresh["layer2.0.conv1.weight"]
    )
    assert not torch.equal(saved["layer3.0.conv1.weight"], fresh["layer3.0.conv1.weight"])


def test_diff_stack_widens_pretrained_rgb_filters(motion_frames, tmp_path):
    torch.manual_seed(1)
    net = create_backbone("tiny2d")
    ckpt.save(
        ckpt.Checkpoint(
            backbone_name="tiny2d",
            backbone_kwargs={},
            backbone=net.state_dict(),
            input=ckpt.InputRecipe(size=32),
            method="tce",
        ),
        tmp_path / "tce.pt",
    )
    built = finetuning.build(_config(input="diff-stack", clip_len=None), 4, tmp_path / "tce.pt", None)
    weight = built.model.backbone.state_dict()["features.0.weight"]
    assert weight.shape[1] == 15 and built.recipe.clip_len == 5 and built.recipe.modality == "diff"
    for channel in range(15):
        assert torch.equal(weight[:, channel], net.state_dict()["features.0.weight"][:, channel % 3])
    result = finetuning.finetune(
        motion_frames,
        tmp_path / "d.pt",
        checkpoint=tmp_path / "tce.pt",
        config=_config(input="diff-stack", clip_len=None),
    )
    assert 0 <= result.test.top1 <= 1 and ckpt.load(tmp_path / "d.pt").backbone_kwargs == {"in_channels": 15}


@pytest.mark.parametrize(
    ("backbone", "overrides"),
    [
        ("tiny", {"input": "rgb", "schedule": "plateau", "dropout": 0.5}),
        ("tiny", {"input": "res-raw", "schedule": "step", "flip": True}),
        ("tiny2d", {"input": "diff-stack", "clip_len": 3}),
        ("tiny2d", {"task": "frames", "clip_len": None, "linear": True, "val_fraction": 0.0}),
    ],
)
def test_every_input_mode_trains_and_tests(motion_frames, tmp_path, backbone, overrides):
    result = finetuning.finetune(motion_frames, tmp_path / "m.pt", backbone=backbone, config=_config(**overrides))
    summary = result.summary()
    assert summary["test_videos"] == 20 and 0 <= summary["test_top1"] <= summary["test_top5"] <= 1
    assert 0 <= summary["clip_top1"] <= 1 and len(result.history) == 2
    if overrides.get("task") == "frames":
        assert ckpt.load(tmp_path / "m.pt").input.clip_len == 1 and summary["best_epoch"] is None


def test_killed_run_resumes_to_the_same_result(motion_frames, tmp_path, monkeypatch):
    config = _config(epochs=3)
    whole = finetuning.finetune(motion_frames, tmp_path / "whole.pt", backbone="tiny", config=config)

    real_save = finetuning._save
    monkeypatch.setattr(finetuning, "_save", dying_after(real_save, 2))  # killed after epoch 2 was saved
    with pytest.raises(KeyboardInterrupt):
        finetuning.finetune(motion_frames, tmp_path / "cut.pt", backbone="tiny", config=config)
    monkeypatch.setattr(finetuning, "_save", real_save)
    assert ckpt.load(tmp_path / "cut.pt").training["epoch"] == 2
    resumed = finetuning.finetune(motion_frames, tmp_path / "cut.pt", backbone="tiny", config=config, resume=True)
    assert resumed.history == whole.history and resumed.test.top1 == whole.test.top1
    a, b = ckpt.load(tmp_path / "whole.pt"), ckpt.load(tmp_path / "cut.pt")
    assert all(torch.equal(a.backbone[k], b.backbone[k]) for k in a.backbone)


def test_bad_requests_are_clear_errors(motion_frames, tmp_path, runner):
    with pytest.raises(VidkitError, match="no split 'train02'"):
        finetuning.finetune(motion_frames, tmp_path / "x.pt", backbone="tiny", config=_config(train_split="train02"))
    with pytest.raises(VidkitError, match="2D backbone"):
        finetuning.finetune(motion_frames, tmp_path / "x.pt", backbone="tiny", config=_config(input="diff-stack"))
    with pytest.raises(VidkitError, match="ResNet-style"):
        finetuning.finetune(motion_frames, tmp_path / "x.pt", backbone="tiny", config=_config(freeze_until=2))
    torch.manual_seed(0)
    ckpt.save(
        ckpt.Checkpoint(
            backbone_name="tiny",
            backbone_kwargs={},
            backbone=create_backbone("tiny").state_dict(),
            input=ckpt.InputRecipe(size=32),
            method="iic",
        ),
        tmp_path / "iic.pt",
    )
    result = runner.invoke(app, ["finetune", str(tmp_path / "iic.pt"), str(motion_frames), "--test-only"])
    assert result.exit_code == 1 and "written by vidkit finetune" in result.stderr
