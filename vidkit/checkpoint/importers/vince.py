"""VINCE's released weights (Gordon et al. 2020, arXiv:2003.07990; vince.md 7) as vidkit checkpoints.

Every file of `pretrained_weights_resnet{18,50}.tar` is `torch.save(VinceModel.state_dict())`: a
plain OrderedDict with the torchvision ResNet under `feature_extractor.module.model.` (the
`module.` is always there), its unused random `fc`, and the projection head `embedding.{0,2}`
(Linear C->C, ReLU, Linear C->E). The MoCo baselines of the paper's table share the layout; the
folder a file sits in (`moco-v2-in/`, `vince-r2v2-multi-frame-multi-pair/`, ...) says which
method made it, and that decides the checkpoint's method (`moco`, `mocov2` or `vince`).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from vidkit.checkpoint.importers.mapping import (
    METHOD_STATE,
    Converted,
    Layout,
    Rule,
    any_key,
    drop,
    remap,
    resnet_name,
)
from vidkit.checkpoint.recipe import IMAGENET_MEAN, IMAGENET_STD, InputRecipe
from vidkit.errors import CheckpointFormatError

PREFIX = "feature_extractor.module.model."

RULES = [
    drop(r"feature_extractor\.module\.model\.fc\.(weight|bias)", "VINCE's unused, randomly initialised classifier"),
    Rule(r"feature_extractor\.module\.model\.(.+)", r"\1"),
    Rule(r"embedding\.([02])\.(weight|bias)", r"head.net.\1.\2", METHOD_STATE),
    drop(r"jigsaw_(linear|embedding)\..+", "the jigsaw (PIRL) pretext branch, not part of the features"),
    drop(r"imagenet_decoders\..+", "online ImageNet probes trained beside the model (monitoring only)"),
]

# vince.md 6.5: the folders of the released archives, and the method each one is.
RELEASES = {
    "moco-in": "moco",
    "moco-g": "moco",
    "moco-r2v2": "moco",
    "moco-v2-in": "mocov2",
    "moco-v2-r2v2": "mocov2",
    "vince-r2v2-multi-frame-multi-pair": "vince",
}

# Every end task fed 224 x 224 crops of frames squashed to 256 x 256, ImageNet-normalised (vince.md 2.6, 8).
RECIPE = InputRecipe(clip_len=1, size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD, resize=(256, 256))


def matches(layout: Layout) -> bool:
    """VINCE's `VinceModel`: the backbone under `feature_extractor.module.model.`."""
    return any_key(layout, r"(^|/)feature_extractor\.module\.model\.conv1\.weight$")


def _state(payload) -> dict:
    """The state dict: the file itself, or (dg_util's restore rule, vince.md 7) its one OrderedDict value."""
    if isinstance(payload, dict) and any(str(k).startswith(PREFIX) for k in payload):
        return payload
    if isinstance(payload, dict):
        inner = [v for v in payload.values() if isinstance(v, OrderedDict)]
        if len(inner) == 1 and any(str(k).startswith(PREFIX) for k in inner[0]):
            return inner[0]
    raise CheckpointFormatError(f"no {PREFIX}* keys: not a VINCE model state dict")


def convert(payload, source: Path) -> Converted:
    """VINCE's `VinceModel` state dict -> a torchvision ResNet backbone and its MLP head (`head.net.*`).

    Raises:
        CheckpointFormatError: not this layout, attention pooling (vidkit pools by average, so its
            features would differ), or keys no rule knows.
    """
    state = _state(payload)
    if any(str(k).startswith("average_layers.") for k in state):
        raise CheckpointFormatError(
            "this VINCE model pools with attention (--use-attention), which vidkit's backbones do not; "
            "its features would not be the paper's"
        )
    release = source.parent.name
    method = RELEASES.get(release, "vince")
    converted = Converted(
        layout="vince",
        backbone_name=resnet_name(state, PREFIX),
        backbone_kwargs={},
        input=RECIPE,
        method=method,
        hparams={},
    )
    remap(state, RULES, converted)
    head = converted.method_state.get("head.net.2.weight")
    if head is None:
        raise CheckpointFormatError("the VINCE state dict has no embedding head (embedding.2.weight)")
    converted.hparams = {"dim": int(head.shape[0]), "head": "mlp"}
    converted.info = {"release": release if release in RELEASES else None}
    return converted
