"""Video LA's layouts (video_la_idt.md 7.1, 7.3, 9): Hara's 3D ResNet-18 in DataParallel, with its pickled objects."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from tests.checkpoint.fakes import DotMap, MemoryBank
from tests.checkpoint.importing import import_file
from tests.checkpoint.originals import HaraResNet18, randomise_bn
from vidkit.checkpoint.backbone import load_backbone
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
