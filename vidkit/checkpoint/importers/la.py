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
The same fine-tuning layout is Hara et al.'s own (`resnet-34-kinetics.pth`, ...), whose Kinetics
ResNet-18/34 were trained with `--resnet_shortcut A` (stride subsampling and zero-padded channels,
no parameters, so no `downsample` keys). The depth and the shortcut are read from the keys
(`describe`) and pick vidkit's twin (`resnet3d_34a`, ...); a net without one is refused in words
("this checkpoint is a 3D ResNet-101 with shortcut B; ...").
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


# Hara's 3D ResNet family (kenshohara/3D-ResNets-PyTorch): (bottleneck, blocks per stage) -> depth.
HARA_DEPTHS = {
    (False, (1, 1, 1, 1)): 10,
    (False, (2, 2, 2, 2)): 18,
    (False, (3, 4, 6, 3)): 34,
    (True, (3, 4, 6, 3)): 50,
    (True, (3, 4, 23, 3)): 101,
    (True, (3, 8, 36, 3)): 152,
    (True, (3, 24, 36, 3)): 200,
}
# vidkit's twins (`vidkit.models.resnet3d`): (depth, shortcut) -> backbone name.
VIDKIT_NETS = {
    (18, "B"): "resnet3d_18",
    (18, "A"): "resnet3d_18a",
    (34, "B"): "resnet3d_34",
    (34, "A"): "resnet3d_34a",
    (50, "B"): "resnet3d_50",
    (50, "A"): "resnet3d_50a",
}


def _shortcut(state: dict, bottleneck: bool) -> str | None:
    """The shortcut kind: A (no parameters), B (a 1x1x1 conv + BN where the shape changes), None (neither).

    Shortcut A (Hara's Kinetics ResNet-18/34) subsamples and pads with zero channels, so its file
    has no `downsample` keys at all; shortcut B has them in the first block of every stage whose
    shape changes: layer2-4 for basic blocks, layer1-4 for bottlenecks (64 -> 256 channels).
    """
    changing = range(1, 5) if bottleneck else range(2, 5)
    has = {s for s in range(1, 5) if any(k.startswith(f"layer{s}.0.downsample.") for k in state)}
    if not has:
        return "A"
    if has == set(changing):
        return "B"
    return None


def describe(state: dict) -> tuple[str, str | None]:
    """What a Hara 3D ResNet state dict (without `module.`) is, in words, and vidkit's twin (None: no twin).

    ("a 3D ResNet-34 with shortcut A", "resnet3d_34a")
    """
    blocks = tuple(
        1 + max((int(k.split(".")[1]) for k in state if k.startswith(f"layer{s}.")), default=-1) for s in range(1, 5)
    )
    bottleneck = any(k.startswith("layer1.0.conv3.") for k in state)
    depth = HARA_DEPTHS.get((bottleneck, blocks))
    shortcut = _shortcut(state, bottleneck)
    what = (
        f"a 3D ResNet-{depth}"
        if depth
        else f"a 3D ResNet with {blocks} {'bottleneck' if bottleneck else 'basic'} blocks per stage"
    )
    what += (
        f" with shortcut {shortcut}"
        if shortcut
        else " with downsample layers in some stages only (neither shortcut A nor B)"
    )
    return what, VIDKIT_NETS.get((depth, shortcut))


def _backbone(state: dict, arch) -> tuple[str, str]:
    """vidkit's backbone for `state` and its description.

    Raises:
        CheckpointFormatError: no vidkit twin (depth or shortcut), or the file's `arch` names another family.
    """
    what, name = describe(state)
    family = arch.rsplit("-", 1)[0] if isinstance(arch, str) and "-" in arch else None
    if family is not None and family != "resnet":
        raise CheckpointFormatError(
            f"this checkpoint is Hara's {arch} (its arch entry); vidkit has only the plain 3D ResNets "
            "(resnet3d_18, _34, _50 with shortcut B, resnet3d_18a, _34a, _50a with shortcut A)"
        )
    if name is None:
        raise CheckpointFormatError(
            f"this checkpoint is {what}; vidkit has Hara's 3D ResNet-18, -34 and -50, each with shortcut A "
            "(resnet3d_18a, _34a, _50a) or B (resnet3d_18, _34, _50)"
        )
    return name, what


def convert(payload, source: Path) -> Converted:
    """A Video LA pretraining or fine-tuning checkpoint (or Hara's) -> vidkit's `resnet3d_*` with its head.

    Raises:
        CheckpointFormatError: not this layout, a depth or shortcut vidkit has no net for, or keys no rule knows.
    """
    if not isinstance(payload, dict) or not ({"model_state_dict", "state_dict"} & set(payload)):
        raise CheckpointFormatError("a Video LA checkpoint is a dict with model_state_dict (or state_dict)")
    pretrain = "model_state_dict" in payload
    entry = "model_state_dict" if pretrain else "state_dict"
    state = strip_prefix(payload[entry], "module.")
    config = plain_values(payload.get("config") or {})
    backbone, what = _backbone(state, payload.get("arch"))
    objective = (config.get("loss_params") or {}).get("loss", "LocalAggregationLossModule")
    converted = Converted(
        layout="la-" + ("pretrain" if pretrain else "finetuned"),
        backbone_name=backbone,
        backbone_kwargs={},
        described=what,
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
