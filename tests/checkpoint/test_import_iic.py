"""IIC's layouts (iic.md 6, 7, 9): VCOP's R3D, R(2+1)D and C3D, SSL (with the Namespace) and fine-tuned."""

from __future__ import annotations

import argparse
from collections import OrderedDict

import pytest
import torch

from tests.checkpoint.importing import import_file
from tests.checkpoint.originals import VCOPC3D, VCOPResNet, randomise_bn
from vidkit.checkpoint.backbone import load_backbone
from vidkit.errors import CheckpointFormatError
from vidkit.tasks.classifier import Classifier, classifier_state

ARCHS = ["r3d", "r21d", "c3d"]


def original(arch: str, classes: int | None = None) -> torch.nn.Module:
    torch.manual_seed(1)
    net = VCOPC3D(classes) if arch == "c3d" else VCOPResNet(arch == "r21d", classes)
    return randomise_bn(net)


def ssl_file(net, arch: str, intra_neg: bool = True) -> dict:
    """`train_ssl.py`'s save: the Namespace, the model, the three memory banks, SGD state, the epoch."""
    opt = argparse.Namespace(model=arch, modality="res", neg="repeat", intra_neg=intra_neg, nce_k=1024, nce_t=0.07)
    banks = OrderedDict(params=torch.tensor([1024, 0.07, -1, -1, 0.5]), memory_l=torch.randn(9, 512))
    banks["memory_ab"], banks["memory_neg"] = torch.randn(9, 512), torch.randn(9, 512)
    optimizer = {"state": {}, "param_groups": [{"lr": 1.6e-5, "momentum": 0.9, "params": [0, 1]}]}
    return {"opt": opt, "model": net.state_dict(), "contrast": banks, "optimizer": optimizer, "epoch": 240}


@pytest.mark.parametrize("arch", ARCHS)
def test_ssl_checkpoint_loads_strictly_with_the_same_features(tmp_path, arch):
    net = original(arch)
    result, saved, out = import_file(tmp_path, ssl_file(net, arch), f"intraneg_{arch}_res_1001/ckpt_epoch_240.pth")
    assert (result.converted.layout, saved.backbone_name, saved.method) == (f"iic-{arch}-ssl", arch, "iic")
    assert saved.hparams["nce_k"] == 1024 and saved.hparams["modality"] == "res"
    assert (saved.input.clip_len, saved.input.size, saved.input.resize, saved.input.modality) == (
        16,
        112,
        (128, 171),
        "rgb",
    )
    assert saved.training["imported"]["epoch"] == 240
    assert {"contrast", "optimizer"} <= set(saved.training["dropped"])
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(load_backbone(out).model.eval()(x), net.features(x))


@pytest.mark.parametrize(
    ("arch", "container"),
    [("r3d", "released"), ("r3d", "ft_classify"), pytest.param("c3d", "released", marks=pytest.mark.slow)],
)
def test_fine_tuned_checkpoint_keeps_its_classifier(tmp_path, arch, container):
    net = original(arch, classes=101)
    state = net.state_dict()
    _, saved, _ = import_file(tmp_path, state if container == "released" else {"model": state})
    assert (saved.method, saved.input.modality) == ("finetune", "res-raw")
    model = Classifier(saved.build_backbone(), 101).eval()
    model.load_state_dict(classifier_state(saved), strict=True)
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net.linear(net.features(x)))


def test_r21d_widths_equal_vcops(tmp_path):
    """Every factorised conv has VCOP's intermediate width (iic.md 7.3: 83 in the stem, 42 in the first shortcut)."""
    state = original("r21d").state_dict()
    assert state["conv1.spatial_conv.weight"].shape[0] == 83
    assert state["conv3.block1.downsampleconv.spatial_conv.weight"].shape[0] == 42
    assert state["conv5.block1.conv2.spatial_conv.weight"].shape[0] == 1152
    _, saved, _ = import_file(tmp_path, ssl_file(original("r21d"), "r21d", intra_neg=False))
    assert saved.method == "cmc"  # --intra_neg False is plain CMC


def test_errors_name_the_problem(tmp_path):
    net = original("r3d")
    with pytest.raises(CheckpointFormatError, match="opt.model is 'c3d'"):
        import_file(tmp_path / "a", {**ssl_file(net, "r3d"), "opt": argparse.Namespace(model="c3d")})
    state = net.state_dict()
    state["conv2.blocks.0.conv1.temporal_spatial_conv.weight"] = torch.ones(64, 64, 3, 3, 3)  # a Res18-3D block
    with pytest.raises(CheckpointFormatError, match=r"conv2\.blocks\.0\.conv1"):
        import_file(tmp_path / "b", state)
    state = net.state_dict()
    state["conv4.block1.bn1.weight"] = torch.ones(128)  # a width vidkit's r3d does not have
    with pytest.raises(CheckpointFormatError, match=r"size mismatch for layer3\.0\.conv1\.1\.weight"):
        import_file(tmp_path / "c", state)
    with pytest.raises(CheckpointFormatError, match="no entry surprise"):
        import_file(tmp_path / "d", {**ssl_file(net, "r3d"), "surprise": 1})
