"""TCE's two code generations and five layouts (tce.md 6), on torchvision ResNets."""

from __future__ import annotations

import argparse
from collections import OrderedDict

import pytest
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from tests.checkpoint.fakes import CfgNode
from tests.checkpoint.importing import import_file
from tests.checkpoint.originals import randomise_bn
from vidkit.checkpoint.backbone import load_backbone
from vidkit.errors import CheckpointFormatError
from vidkit.methods.tce import TCE
from vidkit.models.heads import RotationHead
from vidkit.tasks.classifier import Classifier, classifier_state


def resnet(name: str = "resnet18", in_channels: int = 3) -> nn.Module:
    torch.manual_seed(2)
    net = getattr(torchvision.models, name)()
    if in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    return randomise_bn(net)


def trunk(net: nn.Module, prefix: str = "", rename: dict | None = None) -> OrderedDict:
    """The ResNet's keys without its fc, under `prefix`, with stem renames (v1's `conv1_custom`)."""
    rename = rename or {}
    return OrderedDict((prefix + rename.get(k, k), v) for k, v in net.state_dict().items() if not k.startswith("fc."))


def linear(out: int, width: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(out, width) * 0.05, torch.randn(out) * 0.1


def rotation(names: list[str], prefix: str = "") -> OrderedDict:
    """TCE's rotation head (Linear-ReLU-BN twice, Linear to 4), under the generation's names."""
    fc1, bn1, fc2, bn2, fc3 = names
    state = OrderedDict()
    for name, (w, b) in ((fc1, linear(200)), (fc2, linear(200, 200)), (fc3, linear(4, 200))):
        state[f"{prefix}{name}.weight"], state[f"{prefix}{name}.bias"] = w, b
    for name in (bn1, bn2):
        bn = randomise_bn(nn.BatchNorm1d(200), seed=len(name))
        state.update((f"{prefix}{name}.{k}", v) for k, v in bn.state_dict().items())
    return state


def features_match(out, net: nn.Module, channels: int = 3) -> None:
    x = torch.randn(2, channels, 64, 64)
    net.fc = nn.Identity()
    with torch.no_grad():
        torch.testing.assert_close(load_backbone(out).model.eval()(x), net(x))


@pytest.mark.parametrize("container", ["bare", "cmc"])
def test_v1_self_supervised(tmp_path, container):
    net = resnet()
    state = trunk(net, "module.")
    state["module.fc.weight"], state["module.fc.bias"] = linear(128)
    payload = state if container == "bare" else {"model": state, "opt": argparse.Namespace(lr=0.03), "epoch": 50}
    result, saved, out = import_file(tmp_path, payload)
    assert (result.converted.layout, saved.method, saved.backbone_name) == ("tce-v1-pretrain", "tce", "resnet18")
    assert (saved.input.size, saved.input.clip_len) == (224, 1)
    features_match(out, net)
    # What `vidkit tsne` plots: TCE's embedder, the L2-normalised 128-d fc of the pooled features.
    embedder = TCE.embedder(load_backbone(out).model, saved.method_state).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = F.normalize(F.linear(net(x), state["module.fc.weight"], state["module.fc.bias"]), dim=1)
        torch.testing.assert_close(embedder(x), expected)


def test_v1_action_recognition_stack_of_differences(tmp_path):
    net = resnet(in_channels=15)
    state = trunk(net, "module.", {"conv1.weight": "conv1_custom.weight"})
    state["module.fc_custom.weight"], state["module.fc_custom.bias"] = linear(101)
    payload = {"epoch": 374, "state_dict": state, "best_prec1": 67.01, "optimizer": {"state": {}, "param_groups": []}}
    result, saved, _ = import_file(tmp_path, payload, "model_best.pth.tar")
    assert (result.converted.layout, saved.method, saved.backbone_kwargs) == (
        "tce-v1-finetuned",
        "finetune",
        {"in_channels": 15},
    )
    assert (saved.input.modality, saved.input.clip_len, saved.input.resize) == ("diff", 5, (224, 224))
    assert saved.training["imported"]["best_prec1"] == 67.01
    model = Classifier(saved.build_backbone(), 101).eval()
    model.load_state_dict(classifier_state(saved), strict=True)
    x = torch.randn(2, 3, 5, 64, 64)  # (B, C, T differences, H, W); TCE stacks them time-major as 15 channels
    with torch.no_grad():
        expected = F.linear(
            torch.flatten(nn.Sequential(*list(net.children())[:-1])(x.transpose(1, 2).reshape(2, 15, 64, 64)), 1),
            state["module.fc_custom.weight"],
            state["module.fc_custom.bias"],
        )
        torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize("container", ["bare", "cmc"])
def test_july_2020_rotation_head(tmp_path, container):
    """The keys that broke strict loading in TCE issue #1 (`fc_2 ... fc_4`) become vidkit's RotationHead."""
    net = resnet()
    state = trunk(net)
    state["fc.weight"], state["fc.bias"] = linear(128)
    state.update(rotation(["fc_2", "bn_2", "fc_3", "bn_3", "fc_4"]))
    payload = state if container == "bare" else {"model": state, "optimizer": {}, "epoch": 50}
    result, saved, out = import_file(tmp_path, payload, "ckpt_epoch_50.pth")
    assert result.converted.layout == "tce-july2020-pretrain"
    features_match(out, net)
    head = RotationHead(512).eval()
    head.load_state_dict(
        {k.removeprefix("rotation_head."): v for k, v in saved.method_state.items() if k.startswith("rotation_head.")}
    )
    f = torch.randn(3, 512)
    s = state
    with torch.no_grad():
        h = F.batch_norm(
            F.relu(F.linear(f, s["fc_2.weight"], s["fc_2.bias"])),
            s["bn_2.running_mean"],
            s["bn_2.running_var"],
            s["bn_2.weight"],
            s["bn_2.bias"],
        )
        h = F.batch_norm(
            F.relu(F.linear(h, s["fc_3.weight"], s["fc_3.bias"])),
            s["bn_3.running_mean"],
            s["bn_3.running_var"],
            s["bn_3.weight"],
            s["bn_3.bias"],
        )
        torch.testing.assert_close(head(f), F.linear(h, s["fc_4.weight"], s["fc_4.bias"]))


def test_icpr_pretraining_with_its_yacs_config(tmp_path):
    net = resnet()
    state = trunk(net, "module.backbone.")
    state["module.fc_contrastive.weight"], state["module.fc_contrastive.bias"] = linear(128)
    state.update(
        rotation(["fc_rotation_1", "bn_rotation_1", "fc_rotation_2", "bn_rotation_2", "fc_rotation_3"], "module.")
    )
    payload = {
        "config": CfgNode(
            {"MODEL": {"PRETRAINING": {"FC_DIM": 128}}, "TRAIN": {"PRETRAINING": {"LEARNING_RATE": 0.03}}}
        ),
        "state_dict": state,
        "optimizer": {"state": {}, "param_groups": []},
        "NCELoss": OrderedDict(
            {"Average.params": torch.tensor([8192.0, 0.07, -1.0]), "Average.memory_bank": torch.randn(7, 128)}
        ),
        "epoch": 49,
    }
    result, saved, out = import_file(tmp_path, payload, "checkpoint.pth", paper="tce")
    assert (result.converted.layout, saved.method) == ("tce-icpr-pretrain", "tce")
    assert saved.hparams["config"]["MODEL"]["PRETRAINING"]["FC_DIM"] == 128
    assert set(saved.method_state) == {"head.fc.weight", "head.fc.bias"} | {
        f"rotation_head.net.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")
    } | {
        f"rotation_head.net.{i}.{p}"
        for i in (2, 5)
        for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    }
    assert "NCELoss" in saved.training["dropped"]
    features_match(out, net)


def test_icpr_fine_tuned(tmp_path):
    net = resnet()
    state = trunk(net, "module.backbone.")
    state["module.fc.weight"], state["module.fc.bias"] = linear(101)
    payload = {"state_dict": state, "optimizer": {}, "epoch": 375, "best_prec1": 68.2}
    result, saved, out = import_file(tmp_path, payload, "best_checkpoint.pth")
    assert (result.converted.layout, saved.method, saved.input.modality) == ("tce-icpr-finetuned", "finetune", "rgb")
    assert saved.head["fc.weight"].shape == (101, 512)
    features_match(out, net)


def test_resnet50_v1_and_a_wrong_head_width(tmp_path):
    net = resnet("resnet50")
    state = trunk(net, "module.")
    state["module.fc.weight"], state["module.fc.bias"] = linear(128, 2048)
    _, saved, _ = import_file(tmp_path, state)
    assert saved.backbone_name == "resnet50"
    state["module.fc.weight"] = torch.randn(128, 512)  # the head of another width than the backbone's
    with pytest.raises(CheckpointFormatError, match="size mismatch for fc.weight"):
        import_file(tmp_path / "b", state)
