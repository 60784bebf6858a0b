"""`vidkit import-checkpoint` on the command line, and its result used by `vidkit embed`."""

from __future__ import annotations

import ast
import json
import os
from collections import OrderedDict

import pytest
import torch
import torchvision

from tests.conftest import REPO
from vidkit.checkpoint import importers
from vidkit.cli.app import app


def _tce_file(path, epoch: int = 3):
    """An ICPR TCE pretraining file (ResNet-18 under `module.backbone.`, the 128-d head)."""
    state = OrderedDict(
        (f"module.backbone.{k}", v)
        for k, v in torchvision.models.resnet18().state_dict().items()
        if not k.startswith("fc.")
    )
    state["module.fc_contrastive.weight"], state["module.fc_contrastive.bias"] = torch.randn(128, 512), torch.zeros(128)
    torch.save({"state_dict": state, "optimizer": {}, "NCELoss": OrderedDict(), "epoch": epoch}, path)
    return path


def test_import_then_embed(tmp_path, runner, synth_frames):
    source = _tce_file(tmp_path / "checkpoint.pth")
    out = tmp_path / "tce.pt"
    result = runner.invoke(app, ["import-checkpoint", str(source), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["layout"], summary["backbone"], summary["method"]) == ("tce-icpr-pretrain", "resnet18", "tce")
    assert summary["mapped"] == 122 and summary["input"]["size"] == 224 and len(summary["sha256"]) == 64
    feats = tmp_path / "feats.h5"
    args = ["embed", str(out), str(synth_frames), "-o", str(feats), "--size", "32", "--clips-per-video", "1", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    embedded = json.loads(result.stdout)
    assert embedded["dim"] == 512 and embedded["rows"] == 9
    # The same file imported again may replace its own result; another checkpoint there is refused.
    assert runner.invoke(app, ["import-checkpoint", str(source), "-o", str(out)]).exit_code == 0
    other = _tce_file(tmp_path / "other.pth", epoch=4)
    refused = runner.invoke(app, ["import-checkpoint", str(other), "-o", str(out)])
    assert refused.exit_code == 2 and "exists and is a finished tce checkpoint" in refused.stderr
    assert runner.invoke(app, ["import-checkpoint", str(other), "-o", str(out), "--force"]).exit_code == 0


def test_cli_errors_are_one_line(tmp_path, runner):
    source = _tce_file(tmp_path / "checkpoint.pth")
    same = runner.invoke(app, ["import-checkpoint", str(source), "-o", str(source)])
    assert same.exit_code == 2 and source.stat().st_size > 0
    wrong = runner.invoke(app, ["import-checkpoint", str(source), "-o", str(tmp_path / "o.pt"), "--from", "simclr"])
    assert wrong.exit_code == 2 and "choose one of vince, iic, tce, la" in wrong.stderr
    torch.save({"weights": torch.ones(3)}, tmp_path / "unknown.pt")
    unknown = runner.invoke(app, ["import-checkpoint", str(tmp_path / "unknown.pt"), "-o", str(tmp_path / "o.pt")])
    assert unknown.exit_code == 2 and "pass --from" in unknown.stderr
    assert runner.invoke(app, ["import-checkpoint", str(source), "-o", str(tmp_path / "good.pt")]).exit_code == 0
    again = runner.invoke(app, ["import-checkpoint", str(tmp_path / "good.pt"), "-o", str(tmp_path / "p.pt")])
    assert again.exit_code == 2 and "already a vidkit checkpoint" in again.stderr
    mismatch = runner.invoke(app, ["import-checkpoint", str(source), "-o", str(tmp_path / "o.pt"), "--from", "iic"])
    assert mismatch.exit_code == 1 and "no IIC stem" in mismatch.stderr

    class Shell:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    torch.save({"state_dict": {}, "config": Shell()}, tmp_path / "evil.pth")
    evil = runner.invoke(app, ["import-checkpoint", str(tmp_path / "evil.pth"), "-o", str(tmp_path / "o.pt")])
    assert evil.exit_code == 1 and "system" in evil.stderr and not (tmp_path / "pwned").exists()
    assert evil.stderr.count("error:") == 1 and not (tmp_path / "o.pt").exists()


def test_help_names_every_importer_and_the_registry_is_torch_free(runner):
    result = runner.invoke(app, ["import-checkpoint", "--help"])
    for name in importers.importer_names():
        assert name in result.stdout
    tree = ast.parse((REPO / "vidkit/checkpoint/importers/__init__.py").read_text())
    top = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in getattr(n, "names", [])
    }
    assert not any(str(m).split(".")[0] == "torch" for m in top)


@pytest.mark.slow
def test_imported_fine_tuned_weights_are_tested_by_finetune(tmp_path, runner, synth_frames):
    """IIC's released fine-tuned R3D layout, imported, then evaluated with `finetune --test-only`."""
    from tests.checkpoint.originals import VCOPResNet

    torch.save(VCOPResNet(factorised=False, classes=3).state_dict(), tmp_path / "r3d_ft.pth")
    out = tmp_path / "iic_ft.pt"
    assert runner.invoke(app, ["import-checkpoint", str(tmp_path / "r3d_ft.pth"), "-o", str(out)]).exit_code == 0
    args = ["finetune", str(out), str(synth_frames), "--test-only", "--test-clips", "1", "--workers", "0", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    tested = json.loads(result.stdout)
    assert tested["test_videos"] == 3 and 0.0 <= tested["test_top1"] <= 1.0
