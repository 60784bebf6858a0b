"""The backbone registry (torch-free): every backbone's name, kind and input recipe, and `create_backbone`.

Adding a backbone is one constructor (in `models/backbones.py` or a module of its own) plus one line
in `BACKBONES`. The recipe is the family's: what a random-init backbone of this kind is fed (the
baseline every pretraining result is compared with) and what the papers trained it on, as timm's
`default_cfg` keeps input size and mean/std with the model rather than with the caller.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from vidkit.checkpoint.recipe import IMAGENET_MEAN, IMAGENET_STD, UNIT_MEAN, UNIT_STD, InputRecipe
from vidkit.errors import UnknownNameError


@dataclass(frozen=True)
class BackboneSpec:
    target: str  # "module:constructor", the constructor taking `in_channels`
    dims: int  # 2: image net, input (B, C, H, W); 3: video net, input (B, C, T, H, W)
    recipe: InputRecipe  # the family's input recipe


# 2D nets: single frames at 112 px (vidkit's toy-friendly default), ImageNet statistics.
_IMAGE = InputRecipe(clip_len=1, size=112)
# torchvision's video ResNets: 16-frame clips of 112 px with Kinetics statistics (torchvision's own).
_KINETICS = InputRecipe(clip_len=16, size=112, mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989))
# VCOP/IIC's nets: 16-frame clips cropped to 112 from frames resized to 128x171, values in [0, 1] (iic.md 2).
_IIC = InputRecipe(clip_len=16, size=112, mean=UNIT_MEAN, std=UNIT_STD, resize=(128, 171))
_TINY3D = InputRecipe(clip_len=16, size=112, mean=IMAGENET_MEAN, std=IMAGENET_STD)
# Hara's 3D-ResNets as Video LA fed them: 16 x 112 x 112 clips in [0, 1] minus the ActivityNet mean, std 1.
ACTIVITYNET_MEAN = (114.7748 / 255, 107.7354 / 255, 99.4750 / 255)
_HARA = InputRecipe(clip_len=16, size=112, mean=ACTIVITYNET_MEAN, std=UNIT_STD)

BACKBONES: dict[str, BackboneSpec] = {
    "resnet18": BackboneSpec("vidkit.models.backbones:resnet18", 2, _IMAGE),
    "resnet34": BackboneSpec("vidkit.models.backbones:resnet34", 2, _IMAGE),
    "resnet50": BackboneSpec("vidkit.models.backbones:resnet50", 2, _IMAGE),
    "resnet101": BackboneSpec("vidkit.models.backbones:resnet101", 2, _IMAGE),
    "resnet152": BackboneSpec("vidkit.models.backbones:resnet152", 2, _IMAGE),
    "r3d_18": BackboneSpec("vidkit.models.backbones:r3d_18", 3, _KINETICS),
    "mc3_18": BackboneSpec("vidkit.models.backbones:mc3_18", 3, _KINETICS),
    "r2plus1d_18": BackboneSpec("vidkit.models.backbones:r2plus1d_18", 3, _KINETICS),
    "r3d": BackboneSpec("vidkit.models.backbones:r3d", 3, _IIC),
    "r21d": BackboneSpec("vidkit.models.backbones:r21d", 3, _IIC),
    "c3d": BackboneSpec("vidkit.models.backbones:c3d", 3, _IIC),
    "resnet3d_18": BackboneSpec("vidkit.models.resnet3d:resnet3d_18", 3, _HARA),
    "resnet3d_18a": BackboneSpec("vidkit.models.resnet3d:resnet3d_18a", 3, _HARA),
    "resnet3d_34": BackboneSpec("vidkit.models.resnet3d:resnet3d_34", 3, _HARA),
    "resnet3d_34a": BackboneSpec("vidkit.models.resnet3d:resnet3d_34a", 3, _HARA),
    "resnet3d_50": BackboneSpec("vidkit.models.resnet3d:resnet3d_50", 3, _HARA),
    "resnet3d_50a": BackboneSpec("vidkit.models.resnet3d:resnet3d_50a", 3, _HARA),
    "tiny": BackboneSpec("vidkit.models.backbones:tiny", 3, _TINY3D),
    "tiny2d": BackboneSpec("vidkit.models.backbones:tiny2d", 2, _IMAGE),
}


def backbone_names() -> list[str]:
    return list(BACKBONES)


def backbone_spec(name: str) -> BackboneSpec:
    """Raises: UnknownNameError: `name` is not in the registry."""
    if name not in BACKBONES:
        raise UnknownNameError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name]


def create_backbone(name: str, in_channels: int = 3):
    """Build the backbone `name` with random weights (vidkit never downloads weights).

    Raises:
        UnknownNameError: `name` is not in the registry.
    """
    module, constructor = backbone_spec(name).target.split(":")
    return getattr(importlib.import_module(module), constructor)(in_channels=in_channels)
