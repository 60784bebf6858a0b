"""VINCE's released layout (vince.md 7): a torchvision ResNet under `feature_extractor.module.model.`."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
import torchvision
from torch.nn import functional as F

from tests.checkpoint.importing import import_file
from tests.checkpoint.originals import randomise_bn
from vidkit.checkpoint.backbone import load_backbone
from vidkit.errors import CheckpointFormatError
from vidkit.models.heads import MLPProjectionHead

PREFIX = "feature_extractor.module.model."


def vince_state(net: torch.nn.Module, dim: int, **extra) -> OrderedDict:
    """`VinceModel.state_dict()`: the ResNet with its unused fc, then the embedding MLP."""
    width = net.fc.in_features
    state = OrderedDict((PREFIX + k, v) for k, v in net.state_dict().items())
    state["embedding.0.weight"], state["embedding.0.bias"] = torch.randn(width, width) * 0.05, torch.randn(width)
    state["embedding.2.weight"], state["embedding.2.bias"] = torch.randn(dim, width) * 0.05, torch.randn(dim)
    state.update(extra)
    return state


def test_resnet18_imports_and_gives_torchvision_features(tmp_path):
    torch.manual_seed(0)
    net = randomise_bn(torchvision.models.resnet18())
    state = vince_state(net, 64)
    result, saved, out = import_file(tmp_path, state, "vince-r2v2-multi-frame-multi-pair/000050000.pt")
    assert (result.converted.layout, saved.backbone_name, saved.method) == ("vince", "resnet18", "vince")
    assert saved.hparams == {"dim": 64, "head": "mlp"} and saved.input.size == 224 and saved.input.clip_len == 1
    assert set(saved.method_state) == {f"head.net.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
    assert saved.training["dropped"] == [PREFIX + "fc.bias", PREFIX + "fc.weight"]
    # The backbone is torchvision's, key for key: only the (dropped) classifier is missing.
    missing = torchvision.models.resnet18().load_state_dict(saved.backbone, strict=False).missing_keys
    assert sorted(missing) == ["fc.bias", "fc.weight"]
    x = torch.randn(2, 3, 64, 64)
    model = load_backbone(out).model.eval()
    net.fc = torch.nn.Identity()
    with torch.no_grad():
        torch.testing.assert_close(model(x), net(x))
        head = MLPProjectionHead(512, 64)
        head.load_state_dict({k.removeprefix("head."): v for k, v in saved.method_state.items()})
        f = net(x)
        expected = F.normalize(
            F.linear(
                F.relu(F.linear(f, state["embedding.0.weight"], state["embedding.0.bias"])),
                state["embedding.2.weight"],
                state["embedding.2.bias"],
            ),
            dim=1,
        )
        torch.testing.assert_close(head(f), expected)


def test_resnet50_moco_v2_release(tmp_path):
    state = vince_state(torchvision.models.resnet50(), 128)
    _, saved, _ = import_file(tmp_path, state, "moco-v2-r2v2/000100000.pt", paper="vince")
    assert (saved.backbone_name, saved.method, saved.hparams["dim"]) == ("resnet50", "mocov2", 128)
    assert saved.training["imported"]["release"] == "moco-v2-r2v2"


def test_pretext_branches_are_dropped_and_strangers_refused(tmp_path):
    net = torchvision.models.resnet18()
    extra = {
        "jigsaw_linear.weight": torch.randn(128, 512),
        "jigsaw_embedding.0.weight": torch.randn(512, 512),
        "imagenet_decoders.1.0.weight": torch.randn(10, 512),
    }
    result, saved, _ = import_file(tmp_path, vince_state(net, 64, **extra))
    assert {result.converted.dropped[k] for k in extra} >= {
        "the jigsaw (PIRL) pretext branch, not part of the features"
    }
    with pytest.raises(CheckpointFormatError, match=r"have no place in vidkit: mystery\.weight"):
        import_file(tmp_path / "b", vince_state(net, 64, **{"mystery.weight": torch.ones(1)}))
    with pytest.raises(CheckpointFormatError, match="attention"):
        import_file(tmp_path / "c", vince_state(net, 64, **{"average_layers.attention.weight": torch.ones(1, 512)}))


def test_a_missing_backbone_tensor_is_an_error_not_a_random_init(tmp_path):
    state = vince_state(torchvision.models.resnet18(), 64)
    del state[PREFIX + "layer3.1.bn2.running_var"]
    with pytest.raises(CheckpointFormatError, match=r"missing layer3\.1\.bn2\.running_var"):
        import_file(tmp_path, state)
