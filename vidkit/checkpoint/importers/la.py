"""Video LA's weights (Tokmakov et al. 2020; video_la_idt.md 7.1, 7.3, 9) as vidkit checkpoints.

Both stages save Hara's 3D ResNet-18 (shortcut B) wrapped in DataParallel (`module.` keys), which
vidkit's `resnet3d_18` keeps name for name:
- pretraining (IR, LA with the IDT prior, LA tune; `checkpoint.pth.tar`, `model_best.pth.tar`,
  `final.pth.tar`): `model_state_dict` with the 128-d embedding `fc`, the pickled `MemoryBank`
  object, a DotMap `config`, cluster labels, numpy training curves, optimizer state. The safe
  reader takes the MemoryBank and the DotMap as plain fields; the `fc` becomes IR/LA's `head.fc`,
  and the config says which of the two objectives it was;
- fine-tuning (`3D-ResNet/main.py`, `save_<epoch>.pth`): `{'epoch', 'arch', 'state_dict',
  'optimizer'}` with the `fc` classifier.
"""

from __future__ import annotations

from pathlib import Path

from vidkit.checkpoint.importers.mapping import (
    HEAD,
    METHOD_STATE,
    Converted,
    Layout,
    Rule,
    any_key,
    plain_values,
    remap,
    strip_prefix,
    take_entries,
)
from vidkit.checkpoint.recipe import UNIT_STD, InputRecipe
from vidkit.errors import CheckpointFormatError
from vidkit.models import ACTIVITYNET_MEAN

_RESNET = Rule(r"((?:conv1|bn1|layer[1-4])\..+)", r"\1")
PRETRAIN_RULES = [_RESNET, Rule(r"fc\.(weight|bias)", r"head.fc.\1", METHOD_STATE)]
FINETUNE_RULES = [_RESNET, Rule(r"fc\.(weight|bias)", r"fc.\1", HEAD)]

PRETRAIN_READ = {"model_state_dict", "config", "epoch", "iteration", "val_metric", "val_iteration", "loss"}
PRETRAIN_DROPPED = {
    "optim_state_dict": "SGD state",
    "memory_bank": "the memory bank of the training videos (training state, video_la_idt.md 5)",
    "cluster_labels": "k-means labels of the training videos (training state; vidkit cluster-idt remakes them)",
    "val_acc": "training curve",
    "train_loss": "training curve",
    "train_extra": "training curve",
}
FINETUNE_READ = {"state_dict", "arch", "epoch"}
FINETUNE_DROPPED = {"optimizer": "SGD state"}

# Pretraining: [0, 1] pixels minus the ActivityNet mean, std 1 (video_la_idt.md 7.2). Fine-tuning:
# [0, 255] pixels minus the mean, no std, i.e. std 1/255 on vidkit's [0, 1] scale (9.2). Both take
# 16-frame clips, short side resized to 112 and centre-cropped at test time.
PRETRAIN_RECIPE = InputRecipe(clip_len=16, size=112, mean=ACTIVITYNET_MEAN, std=UNIT_STD)
FINETUNE_RECIPE = InputRecipe(clip_len=16, size=112, mean=ACTIVITYNET_MEAN, std=(1 / 255,) * 3)


def matches(layout: Layout) -> bool:
    """Hara's 3D ResNet: a 5-D (7x7x7) `conv1` beside torchvision-like `layer1.0.conv1`."""
    return any_key(layout, r"(^|/)(module\.)?conv1\.weight$", 5) and any_key(
        layout, r"(^|/)(module\.)?layer1\.0\.conv1\."
    )


def _depth(state: dict) -> str:
    blocks = tuple(
        1 + max((int(k.split(".")[1]) for k in state if k.startswith(f"layer{s}.")), default=-1) for s in range(1, 5)
    )
    bottleneck = any(k.startswith("layer1.0.conv3.") for k in state)
    names = {(False, (2, 2, 2, 2)): "resnet3d_18", (False, (3, 4, 6, 3)): "resnet3d_34"}
    names[(True, (3, 4, 6, 3))] = "resnet3d_50"
    if (bottleneck, blocks) not in names:
        raise CheckpointFormatError(f"a 3D ResNet with {blocks} blocks per stage is none of vidkit's Hara nets")
    return names[(bottleneck, blocks)]


def convert(payload, source: Path) -> Converted:
    """A Video LA pretraining or fine-tuning checkpoint -> vidkit's `resnet3d_18` with its head.

    Raises:
        CheckpointFormatError: not this layout, or keys no rule knows.
    """
    if not isinstance(payload, dict) or not ({"model_state_dict", "state_dict"} & set(payload)):
        raise CheckpointFormatError("a Video LA checkpoint is a dict with model_state_dict (or state_dict)")
    pretrain = "model_state_dict" in payload
    entry = "model_state_dict" if pretrain else "state_dict"
    state = strip_prefix(payload[entry], "module.")
    config = plain_values(payload.get("config") or {})
    objective = (config.get("loss_params") or {}).get("loss", "LocalAggregationLossModule")
    converted = Converted(
        layout="la-" + ("pretrain" if pretrain else "finetuned"),
        backbone_name=_depth(state),
        backbone_kwargs={},
        input=PRETRAIN_RECIPE if pretrain else FINETUNE_RECIPE,
        method=("ir" if objective == "InstanceDiscriminationLossModule" else "la") if pretrain else "finetune",
        hparams={"config": config} if pretrain else {"dropout": 0.0},
    )
    read, dropped = (PRETRAIN_READ, PRETRAIN_DROPPED) if pretrain else (FINETUNE_READ, FINETUNE_DROPPED)
    take_entries(payload, converted.layout, read, dropped, converted)
    remap(state, PRETRAIN_RULES if pretrain else FINETUNE_RULES, converted, where=f"{entry}/")
    converted.info = plain_values(
        {k: payload[k] for k in ("epoch", "iteration", "val_metric", "arch") if k in payload}
        | {"experiment": config.get("exp_name")}
    )
    return converted
