"""The classifier every supervised task trains: a backbone, dropout and one linear layer.

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

HEADS = ("linear", "mlp")


class MLPHead(nn.Sequential):
    """VINCE's second probe head (vince.md 6.3): Linear(C, C), ReLU, Linear(C, classes)."""

    def __init__(self, features: int, num_classes: int):
        super().__init__(nn.Linear(features, features), nn.ReLU(inplace=True), nn.Linear(features, num_classes))

    @property
    def out_features(self) -> int:
        return self[-1].out_features


class Classifier(nn.Module):
    """A backbone, dropout and one linear layer (or, with `head="mlp"`, VINCE's MLP head). With
    `frozen`, the backbone stays in eval mode and receives no gradient (a linear probe)."""

    def __init__(
        self, backbone: nn.Module, num_classes: int, dropout: float = 0.0, frozen: bool = False, head: str = "linear"
    ):
        super().__init__()
        if head not in HEADS:
            raise VidkitError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
        self.backbone, self.frozen = backbone, frozen
        self.dropout = nn.Dropout(dropout)
        linear = head == "linear"
        self.fc = (
            nn.Linear(backbone.num_features, num_classes) if linear else MLPHead(backbone.num_features, num_classes)
        )
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
    """Classes of a saved head: the length of its last bias (`fc.bias`, or `fc.2.bias` for the MLP)."""
    return len(head["fc.bias"] if "fc.bias" in head else head["fc.2.bias"])


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
