"""Video LA's layouts (video_la_idt.md 7.1, 7.3, 9): Hara's 3D ResNet-18 in DataParallel, with its pickled objects;
and Hara et al.'s own Kinetics ResNet-18/34 (shortcut A, the same fine-tuning layout)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from tests.checkpoint.fakes import DotMap, MemoryBank
from tests.checkpoint.importing import import_file
from tests.checkpoint.originals import HaraResNet, HaraResNet18, randomise_bn
from vidkit.checkpoint.backbone import load_backbone
from vidkit.cli.app import app
from vidkit.errors import CheckpointFormatError
from vidkit.methods.ir import IR
from vidkit.tasks.classifier import Classifier, classifier_state


def original(out: int) -> HaraResNet18:
    torch.manual_seed(3)
    return randomise_bn(HaraResNet18(out))


def wrapped(net) -> dict:
    return {f"module.{k}": v for k, v in net.state_dict().items()}


def pretrain_file(net, loss: str) -> dict:
    """`KineticsAgent.save_checkpoint`: the model, its optimizer, the MemoryBank object, the DotMap config, curves."""
    config = DotMap(
        {"exp_name": "kinetics_la_idt", "loss_params": {"loss": loss, "k": 4096, "t": 0.07, "kmeans_k": 6000}}
    )
    return {
        "model_state_dict": wrapped(net),
        "optim_state_dict": {"state": {}, "param_groups": [{"lr": 0.03, "params": [0]}]},
        "memory_bank": MemoryBank(F.normalize(torch.randn(10, 128), dim=1)),
        "cluster_labels": [torch.arange(10).repeat(3, 1)],
        "epoch": 199,
        "iteration": 1000,
        "loss": 3.2,
        "val_iteration": 200,
        "val_metric": 0.31,
        "config": config,
        "val_acc": np.array([0.1, 0.31]),
        "train_loss": np.array([5.0, 3.2]),
        "train_extra": np.array([]),
    }


@pytest.mark.parametrize(
    ("loss", "method"),
    [
        ("LocalAggregationLossModule", "la"),
        pytest.param("InstanceDiscriminationLossModule", "ir", marks=pytest.mark.slow),
    ],
)
def test_pretraining_checkpoint(tmp_path, loss, method):
    net = original(128)
    result, saved, out = import_file(tmp_path, pretrain_file(net, loss), "final.pth.tar")
    assert (result.converted.layout, saved.backbone_name, saved.method) == ("la-pretrain", "resnet3d_18", method)
    assert saved.hparams["config"]["loss_params"]["k"] == 4096 and saved.training["imported"]["epoch"] == 199
    assert {"memory_bank", "cluster_labels", "optim_state_dict"} <= set(saved.training["dropped"])
    assert saved.input.mean == pytest.approx((114.7748 / 255, 107.7354 / 255, 99.4750 / 255)) and saved.input.std == (
        1.0,
        1.0,
        1.0,
    )
    x = torch.randn(1, 3, 8, 32, 32)
    backbone = load_backbone(out).model.eval()
    with torch.no_grad():
        torch.testing.assert_close(backbone(x), net.features(x))
        embedder = IR.embedder(backbone, saved.method_state)  # the 128-d space of the memory bank
        torch.testing.assert_close(embedder(x), F.normalize(net.fc(net.features(x)), dim=1))


def test_fine_tuned_checkpoint(tmp_path):
    net = original(101)
    payload = {
        "epoch": 40,
        "arch": "resnet-18",
        "state_dict": wrapped(net),
        "optimizer": {"state": {}, "param_groups": []},
    }
    result, saved, _ = import_file(tmp_path, payload, "save_40.pth")
    assert (result.converted.layout, saved.method, saved.training["imported"]["arch"]) == (
        "la-finetuned",
        "finetune",
        "resnet-18",
    )
    assert saved.input.std == pytest.approx((1 / 255,) * 3)  # fine-tuning fed 0-255 pixels minus the mean
    model = Classifier(saved.build_backbone(), 101).eval()
    model.load_state_dict(classifier_state(saved), strict=True)
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net.fc(net.features(x)))


def hara_file(net, depth: int) -> dict:
    """Hara's `main.py` save (`resnet-34-kinetics.pth`, ...): the layout of Video LA's fine-tuned files."""
    return {"epoch": 200, "arch": f"resnet-{depth}", "state_dict": wrapped(net), "optimizer": {"state": {}}}


@pytest.mark.parametrize(("depth", "name"), [(18, "resnet3d_18a"), (34, "resnet3d_34a")])
def test_shortcut_a_checkpoints_import_into_the_shortcut_a_nets(tmp_path, depth, name):
    """Hara's Kinetics ResNet-18/34 (`--resnet_shortcut A`: no downsample keys) were refused for missing
    `layer2.0.downsample.*`; now they import, and compute what the original layout's net computes."""
    torch.manual_seed(depth)
    net = randomise_bn(HaraResNet(400, depth, "A"))
    assert not any("downsample" in k for k in net.state_dict())
    result, saved, out = import_file(tmp_path, hara_file(net, depth), f"resnet-{depth}-kinetics.pth")
    assert (result.converted.layout, saved.backbone_name, saved.method) == ("la-finetuned", name, "finetune")
    x = torch.randn(1, 3, 8, 32, 32)
    model = Classifier(load_backbone(out).model, 400).eval()
    model.load_state_dict(classifier_state(saved), strict=True)
    with torch.no_grad():
        features = net.features(x)
        torch.testing.assert_close(model.backbone(x), features)
        torch.testing.assert_close(model(x), net.fc(features))


def _state(depth: int, shortcut: str) -> dict:
    torch.manual_seed(0)
    return wrapped(HaraResNet(400, depth, shortcut))


def _refused(tmp_path, payload, runner=None) -> str:
    """The import fails (and with `runner`, on the command line with one `error:` line, exit 1)."""
    with pytest.raises(CheckpointFormatError) as caught:
        import_file(tmp_path, payload, "resnet.pth")
    if runner is not None:
        result = runner.invoke(app, ["import-checkpoint", str(tmp_path / "resnet.pth"), "-o", str(tmp_path / "x.pt")])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert [line for line in result.output.splitlines() if line.strip()] == [f"error: {caught.value}"]
    return str(caught.value)


def test_a_depth_without_a_vidkit_net_is_named(tmp_path, runner):
    state = {k: v for k, v in _state(18, "A").items() if not k.startswith("module.layer") or ".1." not in k}
    message = _refused(tmp_path, {"epoch": 1, "arch": "resnet-10", "state_dict": state, "optimizer": {}}, runner)
    assert message.startswith("this checkpoint is a 3D ResNet-10 with shortcut A;") and "resnet3d_18a" in message


def test_a_mixed_shortcut_is_named(tmp_path):
    state = {k: v for k, v in _state(34, "B").items() if not k.startswith("module.layer3.0.downsample.")}
    message = _refused(tmp_path, {"epoch": 1, "arch": "resnet-34", "state_dict": state, "optimizer": {}})
    assert message.startswith("this checkpoint is a 3D ResNet-34 with downsample layers in some stages only")


def test_another_family_or_shape_is_named(tmp_path):
    state = _state(18, "A")
    message = _refused(tmp_path, {"epoch": 1, "arch": "preresnet-18", "state_dict": state, "optimizer": {}})
    assert message.startswith("this checkpoint is Hara's preresnet-18")
    state["module.layer4.1.conv2.weight"] = torch.zeros(512, 256, 3, 3, 3)  # not a plain ResNet-18's shape
    message = _refused(tmp_path, {"epoch": 1, "arch": "resnet-18", "state_dict": state, "optimizer": {}})
    assert message.startswith("this checkpoint is a 3D ResNet-18 with shortcut A; checkpoint does not fit")
