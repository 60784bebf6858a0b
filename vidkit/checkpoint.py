"""Checkpoints (`vidkit.ckpt/1`): plain dicts of tensors and primitives, safe for `torch.load(weights_only=True)`.

Keys (docs/formats.md has the full table):
    format, vidkit_version, backbone_name, backbone_kwargs, backbone (torchvision key names, no
    `module.`/`_orig_mod.` prefixes), method, hparams, method_state (heads, memory banks, queues),
    input (the recipe later commands default to: clip_len, stride, size, mean, std, modality),
    and for resuming: optimizer, step, epoch, batch, seed, config.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from vidkit import __version__
from vidkit.errors import VidkitError
from vidkit.io.atomic import atomic_path

FORMAT = "vidkit.ckpt/1"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class CheckpointFormatError(VidkitError):
    """A file is not a readable vidkit checkpoint, or does not fit the model it is loaded into."""


@dataclass
class InputRecipe:
    """How a model's inputs were made; later commands use it as their defaults."""

    clip_len: int = 1
    stride: int = 1
    size: int = 112
    modality: str = "rgb"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    resize: tuple[int, int] | None = None  # frames resized to (h, w) before cropping (IIC: 128x171); None: short side

    def to_dict(self) -> dict:
        return {"clip_len": self.clip_len, "stride": self.stride, "size": self.size, "modality": self.modality,
                "mean": list(self.mean), "std": list(self.std), "resize": list(self.resize) if self.resize else None}

    @classmethod
    def from_dict(cls, data: dict) -> InputRecipe:
        resize = data.get("resize")
        return cls(clip_len=int(data["clip_len"]), stride=int(data["stride"]), size=int(data["size"]),
                   modality=str(data["modality"]), mean=tuple(data["mean"]), std=tuple(data["std"]),
                   resize=(int(resize[0]), int(resize[1])) if resize else None)


@dataclass
class Checkpoint:
    """The content of a checkpoint file, as Python objects."""

    backbone_name: str
    backbone_kwargs: dict
    backbone: dict[str, torch.Tensor]
    input: InputRecipe
    method: str | None = None
    hparams: dict = field(default_factory=dict)
    method_state: dict[str, torch.Tensor] = field(default_factory=dict)
    head: dict[str, torch.Tensor] = field(default_factory=dict)
    training: dict = field(default_factory=dict)  # optimizer, step, epoch, batch, seed, config
    vidkit_version: str = __version__

    def build_backbone(self) -> nn.Module:
        """The backbone with these weights loaded (strictly: a mismatch is an error, never a silent skip)."""
        from vidkit.models import create_backbone

        backbone = create_backbone(self.backbone_name, **self.backbone_kwargs)
        load_strict(backbone, self.backbone, what=f"{self.backbone_name} backbone")
        return backbone


def clean_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the `module.` (DDP) and `_orig_mod.` (torch.compile) prefixes; detach to CPU."""
    cleaned = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            while key.startswith(prefix):
                key = key[len(prefix):]
        cleaned[key] = value.detach().cpu() if isinstance(value, torch.Tensor) else value
    return cleaned


def load_strict(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """`load_state_dict(strict=True)` with a one-line error naming the first offending keys."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        own, given = set(module.state_dict()), set(state)
        missing, unexpected = sorted(own - given), sorted(given - own)
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            detail.append(f"unexpected {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''}")
        if not detail:
            detail.append(str(exc).strip().splitlines()[-1].strip())
        raise CheckpointFormatError(f"checkpoint does not fit the {what}: {'; '.join(detail)}") from exc


def save(checkpoint: Checkpoint, path: str | Path) -> None:
    """Write atomically: to `<path>.tmp`, then rename, so a crash never leaves half a checkpoint."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "vidkit_version": checkpoint.vidkit_version,
        "backbone_name": checkpoint.backbone_name,
        "backbone_kwargs": dict(checkpoint.backbone_kwargs),
        "backbone": clean_state_dict(checkpoint.backbone),
        "input": checkpoint.input.to_dict(),
        "method": checkpoint.method,
        "hparams": dict(checkpoint.hparams),
        "method_state": clean_state_dict(checkpoint.method_state),
        "head": clean_state_dict(checkpoint.head),
        "training": checkpoint.training,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load(path: str | Path) -> Checkpoint:
    """Read a checkpoint with `weights_only=True`.

    Raises:
        CheckpointFormatError: missing, truncated or foreign file, or another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointFormatError(f"no such checkpoint: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointFormatError(f"{path} is not a readable checkpoint (truncated or foreign file: {reason[:160]})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointFormatError(f"{path} is not a vidkit checkpoint (format {found!r}; expected {FORMAT!r})")
    return Checkpoint(
        backbone_name=payload["backbone_name"],
        backbone_kwargs=payload["backbone_kwargs"],
        backbone=payload["backbone"],
        input=InputRecipe.from_dict(payload["input"]),
        method=payload["method"],
        hparams=payload["hparams"],
        method_state=payload["method_state"],
        head=payload["head"],
        training=payload["training"],
        vidkit_version=payload["vidkit_version"],
    )
