"""Checkpoints: round trip with weights_only, torchvision key names, clear errors for bad files."""

from __future__ import annotations

import pytest
import torch
import torchvision

from vidkit import checkpoint as ckpt
from vidkit.models import create_backbone


def _checkpoint(name="resnet50") -> ckpt.Checkpoint:
    backbone = create_backbone(name)
    return ckpt.Checkpoint(
        backbone_name=name,
        backbone_kwargs={},
        backbone=backbone.state_dict(),
        input=ckpt.InputRecipe(clip_len=1, size=96),
        method="tce",
        hparams={"dim": 128},
        training={"step": 3, "optimizer": {"state": {}, "param_groups": []}},
    )


def test_roundtrip_and_torchvision_load(tmp_path):
    path = tmp_path / "c.pt"
    saved = _checkpoint()
    ckpt.save(saved, path)
    raw = torch.load(path, weights_only=True)  # the whole file is weights_only-safe
    assert raw["format"] == ckpt.FORMAT and raw["input"]["size"] == 96
    loaded = ckpt.load(path)
    assert loaded.training["step"] == 3 and loaded.hparams == {"dim": 128}
    result = torchvision.models.resnet50().load_state_dict(loaded.backbone, strict=False)
    assert set(result.missing_keys) == {"fc.weight", "fc.bias"} and not result.unexpected_keys
    rebuilt = loaded.build_backbone()
    torch.testing.assert_close(rebuilt.conv1.weight, saved.backbone["conv1.weight"])


def test_prefixes_are_stripped(tmp_path):
    saved = _checkpoint("tiny2d")
    saved.backbone = {f"module._orig_mod.{k}": v for k, v in saved.backbone.items()}
    ckpt.save(saved, tmp_path / "c.pt")
    assert all(not k.startswith(("module.", "_orig_mod.")) for k in ckpt.load(tmp_path / "c.pt").backbone)


def test_bad_files(tmp_path):
    with pytest.raises(ckpt.CheckpointFormatError, match="no such checkpoint"):
        ckpt.load(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(ckpt.CheckpointFormatError, match="not a readable checkpoint"):
        ckpt.load(tmp_path / "text.pt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(ckpt.CheckpointFormatError, match="not a vidkit checkpoint"):
        ckpt.load(tmp_path / "foreign.pt")
    ckpt.save(_checkpoint("tiny2d"), tmp_path / "whole.pt")
    data = (tmp_path / "whole.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ckpt.CheckpointFormatError, match="truncated"):
        ckpt.load(tmp_path / "cut.pt")


def test_mismatched_backbone_is_one_clear_error(tmp_path):
    saved = _checkpoint("resnet18")
    saved.backbone_name = "resnet34"  # weights of one net, name of another
    ckpt.save(saved, tmp_path / "c.pt")
    with pytest.raises(ckpt.CheckpointFormatError, match="does not fit the resnet34 backbone: missing layer1.2"):
        ckpt.load(tmp_path / "c.pt").build_backbone()
