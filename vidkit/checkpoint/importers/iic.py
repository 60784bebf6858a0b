"""IIC's released weights (Tao et al., ACM MM 2020, arXiv:2008.02531; iic.md 6, 7, 9) as vidkit checkpoints.

Three containers: the SSL checkpoints of `train_ssl.py` (`{'opt': argparse.Namespace, 'model',
'contrast', 'optimizer', 'epoch'}`; the Namespace is why `torch.load(weights_only=True)` refuses
them), the released fine-tuned weights (a bare state dict with the `linear` classifier), and
`ft_classify.py`'s own saves (`{'model': state dict}`). The backbones are VCOP's R3D, R(2+1)D and
C3D with `layer_sizes=(1,1,1,1)`; vidkit's `r3d`, `r21d` and `c3d` were built to the same shapes
on torchvision's parts, so the import is a renaming: VCOP's `conv2..conv5` are torchvision's
`layer1..layer4`, its `SpatioTemporalConv` is torchvision's `Conv2Plus1D` (spatial conv, BN,
ReLU, temporal conv), and its `downsampleconv`/`downsamplebn` are `downsample.0`/`.1`.
"""

from __future__ import annotations

import re
from pathlib import Path

from vidkit.checkpoint.importers.mapping import (
    HEAD,
    Converted,
    Layout,
    Rule,
    any_key,
    plain_values,
    remap,
    strip_prefix,
    take_entries,
)
from vidkit.checkpoint.recipe import UNIT_MEAN, UNIT_STD, InputRecipe
from vidkit.errors import CheckpointFormatError


def _layer(match: re.Match, rest: str) -> str:
    """VCOP's stage `conv{2..5}` is torchvision's `layer{1..4}`; one block per stage (`block1` -> `0`)."""
    return f"layer{int(match.group(1)) - 1}.0.{match.expand(rest)}"


def _stage(pattern: str, rest: str) -> Rule:
    return Rule(rf"conv([2-5])\.block1\.{pattern}", lambda m, rest=rest: _layer(m, rest))


CLASSIFIER = Rule(r"linear\.(weight|bias)", r"fc.\1", HEAD)

R3D = [
    Rule(r"conv1\.temporal_spatial_conv\.weight", "stem.0.weight"),
    Rule(r"bn1\.(.+)", r"stem.1.\1"),
    _stage(r"conv([12])\.temporal_spatial_conv\.weight", r"conv\2.0.weight"),
    _stage(r"bn([12])\.(.+)", r"conv\2.1.\3"),
    _stage(r"downsampleconv\.temporal_spatial_conv\.weight", "downsample.0.weight"),
    _stage(r"downsamplebn\.(.+)", r"downsample.1.\2"),
    CLASSIFIER,
]

# R(2+1)D: each SpatioTemporalConv is (spatial_conv, bn, relu, temporal_conv) = Conv2Plus1D's 0, 1, 3.
_PARTS = {"spatial_conv": "0", "bn": "1", "temporal_conv": "3"}
R21D = [
    Rule(r"conv1\.(spatial_conv|bn|temporal_conv)\.(.+)", lambda m: f"stem.{_PARTS[m.group(1)]}.{m.group(2)}"),
    Rule(r"bn1\.(.+)", r"stem.4.\1"),
    Rule(
        r"conv([2-5])\.block1\.(conv[12])\.(spatial_conv|bn|temporal_conv)\.(.+)",
        lambda m: f"layer{int(m.group(1)) - 1}.0.{m.group(2)}.0.{_PARTS[m.group(3)]}.{m.group(4)}",
    ),
    _stage(r"bn([12])\.(.+)", r"conv\2.1.\3"),
    Rule(
        r"conv([2-5])\.block1\.downsampleconv\.(spatial_conv|bn|temporal_conv)\.(.+)",
        lambda m: f"layer{int(m.group(1)) - 1}.0.downsample.0.{_PARTS[m.group(2)]}.{m.group(3)}",
    ),
    _stage(r"downsamplebn\.(.+)", r"downsample.1.\2"),
    CLASSIFIER,
]

# C3D: the named layers in the order of vidkit's `features` Sequential (conv, bn, relu [, pool]).
_C3D_INDEX = {
    "1": 0, "2": 4, "3a": 8, "3b": 11, "4a": 15, "4b": 18, "5a": 22, "5b": 25,
}  # fmt: skip
C3D = [
    Rule(r"conv(1|2|3a|3b|4a|4b|5a|5b)\.(weight|bias)", lambda m: f"features.{_C3D_INDEX[m.group(1)]}.{m.group(2)}"),
    Rule(r"bn(1|2|3a|3b|4a|4b|5a|5b)\.(.+)", lambda m: f"features.{_C3D_INDEX[m.group(1)] + 1}.{m.group(2)}"),
    CLASSIFIER,
]

ARCHITECTURES = {"r3d": R3D, "r21d": R21D, "c3d": C3D}

# 16-frame clips cropped to 112 from frames resized to 128 x 171, values in [0, 1] (iic.md 2).
RECIPE = dict(clip_len=16, size=112, mean=UNIT_MEAN, std=UNIT_STD, resize=(128, 171))

SSL_ENTRIES = {"opt", "model", "epoch"}
SSL_DROPPED = {
    "contrast": "the memory banks of the contrastive loss (training state, iic.md 5.2)",
    "optimizer": "SGD state (vidkit does not resume another code's run)",
}


def matches(layout: Layout) -> bool:
    """VCOP/IIC's R3D (`temporal_spatial_conv`), R(2+1)D (`spatial_conv`) or C3D (`conv3a`)."""
    return any_key(layout, r"(^|/|\.)conv1\.(temporal_spatial_conv|spatial_conv)\.weight$") or any_key(
        layout, r"(^|/|\.)conv3a\.weight$", 5
    )


def architecture(state: dict) -> str:
    """r3d, r21d or c3d, from the stem's key.

    Raises:
        CheckpointFormatError: none of the three.
    """
    if "conv1.temporal_spatial_conv.weight" in state:
        return "r3d"
    if "conv1.spatial_conv.weight" in state:
        return "r21d"
    if "conv3a.weight" in state:
        return "c3d"
    raise CheckpointFormatError("no IIC stem (conv1.temporal_spatial_conv, conv1.spatial_conv or conv3a) in the file")


def convert(payload, source: Path) -> Converted:
    """An IIC SSL or fine-tuned checkpoint -> vidkit's `r3d`/`r21d`/`c3d` (and its classifier as the head).

    Raises:
        CheckpointFormatError: not this layout, or keys no rule knows.
    """
    if not isinstance(payload, dict):
        raise CheckpointFormatError(f"an IIC checkpoint is a dict, not {type(payload).__name__}")
    ssl = "opt" in payload or "contrast" in payload
    wrapped = "model" in payload and isinstance(payload["model"], dict)
    state = strip_prefix(payload["model"] if wrapped else payload, "module.")
    arch = architecture(state)
    opt = plain_values(payload.get("opt", {})) if ssl else {}
    if ssl and opt.get("model", arch) != arch:
        raise CheckpointFormatError(f"the file's opt.model is {opt['model']!r} but its weights are {arch}'s")
    fine_tuned = "linear.weight" in state
    layout = f"iic-{arch}-" + ("finetuned" if fine_tuned else "ssl")
    converted = Converted(
        layout=layout,
        backbone_name=arch,
        backbone_kwargs={},
        # SSL: the network took RGB (view 1) and residual/flow (view 2) clips; RGB is its first view.
        # Fine-tuned: ft_classify's default input, the raw residual `x - shifted` (iic.md 9).
        input=InputRecipe(modality="res-raw" if fine_tuned else "rgb", **RECIPE),
        method="finetune" if fine_tuned else ("iic" if opt.get("intra_neg", True) else "cmc"),
        hparams={"dropout": 0.0} if fine_tuned else opt,
    )
    if wrapped:
        take_entries(payload, "IIC", SSL_ENTRIES if ssl else {"model"}, SSL_DROPPED if ssl else {}, converted)
    remap(state, ARCHITECTURES[arch], converted, where="model/" if wrapped else "")
    if "epoch" in payload:
        converted.info = {"epoch": int(payload["epoch"])}
    return converted
