"""The classifier every supervised task trains: a backbone, dropout and one linear layer.

Heads (`HEADS`): `linear`; `mlp`, VINCE's second probe head (vince.md 6.3); `norm-linear`, a
BatchNorm without affine parameters before the linear layer, the linear probe of MAE (He et al.,
CVPR 2022, arXiv:2111.06377, appendix A.2). The last standardises the frozen features on the train
set, so one learning rate suits every backbone: pooled ReLU features share a common offset, several
times their spread across videos for a random-init ResNet (mean 0.47 against 0.13 on the toy
class-shapes store) and about equal to it for a pretrained one (0.78 against 0.72), and plain SGD
is slowed by the offset (docs/probes.md).

`Classifier` maps clips to logits; `ClassifierTask` wraps it in the engine's protocol
(`forward(batch) -> (loss, metrics)`), so fine-tuning runs on `engine.train.fit` like pretraining.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.nn import functional as F

from vidkit import checkpoint as ckpt
from vidkit.engine.train import StepOutput
from vidkit.errors import VidkitError
from vidkit.models.pooling import clip_features

HEADS = ("linear", "mlp", "norm-linear")


class MLPHead(nn.Sequential):
    """VINCE's second probe head (vince.md 6.3): Linear(C, C), ReLU, Linear(C, classes)."""

    def __init__(self, features: int, num_classes: int):
        super().__init__(nn.Linear(features, features), nn.ReLU(inplace=True), nn.Linear(features, num_classes))

    @property
    def out_features(self) -> int:
        return self[-1].out_features


class NormLinearHead(nn.Sequential):
    """MAE's linear probe: BatchNorm1d(C, affine=False), then Linear(C, classes). Under a frozen
    backbone the norm is a per-feature standardisation whose statistics are learnt in training."""

    def __init__(self, features: int, num_classes: int):
        super().__init__(nn.BatchNorm1d(features, affine=False), nn.Linear(features, num_classes))

    @property
    def out_features(self) -> int:
        return self[-1].out_features


def make_head(head: str, features: int, num_classes: int) -> nn.Module:
    """The classifier layer named `head` (one of `HEADS`) on `features` inputs."""
    if head == "linear":
        return nn.Linear(features, num_classes)
    if head == "mlp":
        return MLPHead(features, num_classes)
    if head == "norm-linear":
        return NormLinearHead(features, num_classes)
    raise VidkitError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")


class Classifier(nn.Module):
    """A backbone, dropout and one linear layer (or another of `HEADS`). With `frozen`, the backbone
    stays in eval mode and receives no gradient (a linear probe)."""

    def __init__(
        self, backbone: nn.Module, num_classes: int, dropout: float = 0.0, frozen: bool = False, head: str = "linear"
    ):
        super().__init__()
        self.backbone, self.frozen = backbone, frozen
        self.dropout = nn.Dropout(dropout)
        self.fc = make_head(head, backbone.num_features, num_classes)
        if frozen:
            backbone.requires_grad_(False)

    def train(self, mode: bool = True) -> Classifier:
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def forward(self, clips: torch.Tensor) -> torch.Tensor:  # (B, C, T, H, W) -> (B, classes)
        if self.frozen:
            with torch.no_grad():
                features = clip_features(self.backbone, clips)
        else:
            features = clip_features(self.backbone, clips)
        return self.fc(self.dropout(features.float()))


class ClassifierTask(nn.Module):
    """Cross-entropy training of a `Classifier` on `{"clip", "label"}` batches, for the engine.

    Metrics per step: the batch's correct predictions and size, so an epoch's accuracy is
    hits / seen even when its last batch is short.
    """

    def __init__(self, model: Classifier):
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> StepOutput:
        logits = self.model(batch["clip"]).float()  # (B, classes)
        loss = F.cross_entropy(logits, batch["label"])
        hits = (logits.argmax(1) == batch["label"]).sum()
        return StepOutput(loss, {"hits": hits.detach(), "seen": torch.tensor(len(logits))})

    def on_step_end(self, progress: float) -> None:
        pass


def classifier_state(saved: ckpt.Checkpoint) -> dict[str, torch.Tensor]:
    """A fine-tuned checkpoint's backbone and head as one `Classifier` state dict."""
    return {**{f"backbone.{k}": v for k, v in saved.backbone.items()}, **saved.head}


def head_classes(head: dict[str, torch.Tensor]) -> int:
    """Classes of a saved head: the length of its last bias (`fc.bias`; `fc.2.bias` for the MLP,
    `fc.1.bias` for norm-linear). A state dict lists its layers in order."""
    return len([value for key, value in head.items() if key.endswith("bias")][-1])


def stage_of(name: str) -> int | None:
    """ResNet stage of a parameter: 0 for the stem, k for `layerk.*`; None when the name has no stage."""
    match = re.match(r"layer(\d)\.", name)
    if match:
        return int(match.group(1))
    return 0 if name.split(".")[0] in ("conv1", "bn1", "stem") else None


def freeze_stages(backbone: nn.Module, until: int) -> int:
    """Stop the gradient of the stem and stages below `until`; returns how many tensors were frozen."""
    frozen = 0
    for name, param in backbone.named_parameters():
        stage = stage_of(name)
        if stage is None:
            raise VidkitError(
                f"--freeze-until needs a ResNet-style backbone (stem, layer1..layer4); {name!r} has no stage"
            )
        if stage < until:
            param.requires_grad_(False)
            frozen += 1
    return frozen
