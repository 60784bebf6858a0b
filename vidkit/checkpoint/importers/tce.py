"""TCE's released weights (Knights et al., ICPR 2020, arXiv:2004.02753; tce.md 6) as vidkit checkpoints.

Two code generations, five layouts, all on torchvision ResNet names once prefixes are stripped:
- v1 self-supervised (R50, R101): a state dict, maybe under `model`, `[module.]` ResNet keys and
  the 128-d embedding `fc`;
- v1 action recognition: `{'epoch', 'state_dict', 'best_prec1', 'optimizer'}`, a 15-channel
  `conv1_custom` (the stack of 5 frame differences) and the 101-way `fc_custom`;
- July-2020 pre-training: the v1 keys plus the rotation head `fc_2, bn_2, fc_3, bn_3, fc_4`,
  the extra keys that broke strict loading in TCE issue #1;
- ICPR pre-training: `{'config': yacs CfgNode, 'state_dict', 'optimizer', 'NCELoss', 'epoch'}`,
  `[module.]backbone.*`, `fc_contrastive` and `fc_rotation_{1,2,3}`/`bn_rotation_{1,2}`;
- ICPR fine-tuning: `{'state_dict', 'optimizer', 'epoch', 'best_prec1'}`, `backbone.*` and `fc`.
The embedding head becomes TCE's `head.fc` and the rotation head its `rotation_head.net`
(Linear-ReLU-BN twice, then Linear: indices 0, 2, 3, 5, 6), so `vidkit tsne` plots the embedding
the paper plots.
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
    resnet_name,
    strip_prefix,
    take_entries,
)
from vidkit.checkpoint.recipe import IMAGENET_MEAN, IMAGENET_STD, InputRecipe
from vidkit.errors import CheckpointFormatError

_RESNET = r"((?:conv1|bn1|layer[1-4])\..+)"

# The rotation head, in vidkit's RotationHead numbering (Linear 0, ReLU 1, BN 2, Linear 3, ReLU 4, BN 5, Linear 6).
_JULY_ROTATION = {"fc_2": 0, "bn_2": 2, "fc_3": 3, "bn_3": 5, "fc_4": 6}
_ICPR_ROTATION = {"fc_rotation_1": 0, "bn_rotation_1": 2, "fc_rotation_2": 3, "bn_rotation_2": 5, "fc_rotation_3": 6}


def _rotation(names: dict[str, int]) -> Rule:
    return Rule(
        rf"({'|'.join(names)})\.(.+)", lambda m: f"rotation_head.net.{names[m.group(1)]}.{m.group(2)}", METHOD_STATE
    )


LAYOUTS = {
    "tce-v1-pretrain": [Rule(_RESNET, r"\1"), Rule(r"fc\.(weight|bias)", r"head.fc.\1", METHOD_STATE)],
    "tce-v1-finetuned": [
        Rule(r"conv1_custom\.weight", "conv1.weight"),
        Rule(_RESNET, r"\1"),
        Rule(r"fc_custom\.(weight|bias)", r"fc.\1", HEAD),
    ],
    "tce-july2020-pretrain": [
        Rule(_RESNET, r"\1"),
        Rule(r"fc\.(weight|bias)", r"head.fc.\1", METHOD_STATE),
        _rotation(_JULY_ROTATION),
    ],
    "tce-icpr-pretrain": [
        Rule(rf"backbone\.{_RESNET}", r"\1"),
        Rule(r"fc_contrastive\.(weight|bias)", r"head.fc.\1", METHOD_STATE),
        _rotation(_ICPR_ROTATION),
    ],
    "tce-icpr-finetuned": [Rule(rf"backbone\.{_RESNET}", r"\1"), Rule(r"fc\.(weight|bias)", r"fc.\1", HEAD)],
}

ENTRIES = {
    "tce-v1-finetuned": ({"state_dict", "epoch", "best_prec1"}, {"optimizer": "SGD state"}),
    "tce-icpr-pretrain": (
        {"state_dict", "config", "epoch"},
        {"optimizer": "SGD state", "NCELoss": "the NCE memory bank and its normaliser (training state, tce.md 2.4)"},
    ),
    "tce-icpr-finetuned": ({"state_dict", "epoch", "best_prec1"}, {"optimizer": "SGD state"}),
}
# A container around a v1/July state dict (CMC style, `ckpt_epoch_50.pth`: `model`, `opt`, ...).
OTHER_ENTRIES = ({"model", "state_dict", "opt", "epoch"}, {"optimizer": "SGD state", "contrast": "the NCE memory bank"})

# 224 x 224 frames, ImageNet-normalised, resized without cropping (tce.md 2.2, 3.1, 3.2).
_FRAMES = dict(size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD, resize=(224, 224))


def matches(layout: Layout) -> bool:
    """TCE's heads or 15-channel stem, or a bare 2D ResNet (a 4-D `conv1`, not VINCE's) with its `fc`."""
    if any_key(layout, r"(^|/)feature_extractor\."):
        return False
    return any_key(layout, r"(fc_contrastive|fc_rotation_1|conv1_custom|fc_2)\.weight$") or any_key(
        layout, r"(^|/)(module\.)?(backbone\.)?conv1\.weight$", 4
    )


def layout_of(state: dict) -> str:
    """Which of the five layouts a (prefix-stripped) state dict is."""
    keys = set(state)
    if "conv1_custom.weight" in keys:
        return "tce-v1-finetuned"
    if "fc_contrastive.weight" in keys:
        return "tce-icpr-pretrain"
    if "backbone.conv1.weight" in keys:
        return "tce-icpr-finetuned"
    if "fc_2.weight" in keys:
        return "tce-july2020-pretrain"
    return "tce-v1-pretrain"


def _container(payload) -> tuple[dict, str | None]:
    """The state dict and the entry it was under (None for a bare state dict)."""
    if not isinstance(payload, dict):
        raise CheckpointFormatError(f"a TCE checkpoint is a dict, not {type(payload).__name__}")
    for entry in ("state_dict", "model"):
        if isinstance(payload.get(entry), dict):
            return payload[entry], entry
    return payload, None


def convert(payload, source: Path) -> Converted:
    """A TCE checkpoint of any generation -> a torchvision ResNet, TCE's heads or the classifier.

    Raises:
        CheckpointFormatError: not one of the layouts, or keys no rule knows.
    """
    state, entry = _container(payload)
    state = strip_prefix(state, "module.")
    layout = layout_of(state)
    fine_tuned = layout.endswith("finetuned")
    backbone_prefix = "backbone." if layout.startswith("tce-icpr") else ""
    config = plain_values(payload.get("config") or payload.get("opt") or {}) if entry else {}
    stem = state.get("conv1_custom.weight")
    converted = Converted(
        layout=layout,
        backbone_name=resnet_name(state, backbone_prefix),
        backbone_kwargs={"in_channels": int(stem.shape[1])} if stem is not None else {},
        # v1 fine-tuning: 5 differences of 6 frames as 15 channels; the rest: single RGB frames.
        input=InputRecipe(clip_len=5, modality="diff", **_FRAMES)
        if stem is not None
        else InputRecipe(clip_len=1, **_FRAMES),
        method="finetune" if fine_tuned else "tce",
        hparams={"dropout": 0.0} if fine_tuned else {"config": config} if config else {},
    )
    if entry is not None:
        read, dropped = ENTRIES.get(layout, OTHER_ENTRIES)
        take_entries(payload, layout, read, dropped, converted)
    remap(state, LAYOUTS[layout], converted, where=f"{entry}/" if entry else "")
    converted.info = plain_values({k: payload[k] for k in ("epoch", "best_prec1") if entry and k in payload})
    return converted
