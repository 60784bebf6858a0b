"""Checkpoints (`vidkit.ckpt/1`): plain dicts of tensors and primitives, safe for `torch.load(weights_only=True)`.

Keys (docs/formats.md has the full table):
    format, vidkit_version, backbone_name, backbone_kwargs, backbone (torchvision key names, no
    `module.`/`_orig_mod.` prefixes), method, hparams, method_state (heads, memory banks, queues),
    input (the recipe later commands default to: clip_len, stride, size, mean, std, modality),
    and for resuming: optimizer, step, epoch, batch, seed, config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from vidkit import __version__
from vidkit.checkpoint.recipe import InputRecipe
from vidkit.checkpoint.safe_pickle import load_torch_file
from vidkit.errors import CheckpointFormatError, NonFiniteError, VidkitError
from vidkit.io.atomic import atomic_path

FORMAT = "vidkit.ckpt/1"


def non_finite(tree, prefix: str = "") -> list[str]:
    """Names of the floating-point tensors in a nested dict/list that hold NaN or infinite values.

    Buffers count: a diverged step can leave the weights finite and BatchNorm's `running_var`
    infinite, and such a model gives NaN features in eval mode.
    """
    bad = []
    if isinstance(tree, torch.Tensor):
        if tree.is_floating_point() and not bool(torch.isfinite(tree).all()):
            bad.append(prefix or "tensor")
    elif isinstance(tree, dict):
        for key, value in tree.items():
            bad.extend(non_finite(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            bad.extend(non_finite(value, f"{prefix}[{i}]"))
    return bad


def _name_few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


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
                key = key[len(prefix) :]
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
    """Write atomically (temporary file, then rename), and only when every tensor in it is finite.

    Raises:
        NonFiniteError: a weight, buffer, head or optimizer tensor holds NaN or inf; nothing is written.
    """
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
    bad = non_finite({k: payload[k] for k in ("backbone", "method_state", "head", "training")})
    if bad:
        raise NonFiniteError(f"not writing {path}: {_name_few(bad)} hold NaN or infinite values")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def describe(path: str | Path, unit: str = "step") -> str:
    """What an existing file is, in a phrase for an error message ("an unfinished tce run (at step 40)").

    `unit` is what the run counts in (`step`, or `epoch` for the epoch-trained end tasks); a run
    that saved only the other unit is described in that one."""
    try:
        saved = load(path)
    except VidkitError:
        return "not a usable vidkit checkpoint"
    what = saved.method or "vidkit"
    if saved.training.get("complete") is False:
        unit = unit if unit in saved.training else "step" if "step" in saved.training else "epoch"
        return f"an unfinished {what} run (at {unit} {saved.training.get(unit)})"
    return f"a finished {what} checkpoint"


def load(path: str | Path) -> Checkpoint:
    """Read a checkpoint with `weights_only=True`.

    Raises:
        CheckpointFormatError: missing, truncated or foreign file, or another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointFormatError(f"no such checkpoint: {path}")
    payload = load_torch_file(path, "checkpoint", _refusal)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointFormatError(f"{path} is not a vidkit checkpoint (format {found!r}; expected {FORMAT!r})")
    # The weights a later command uses; a run's other state is checked when it is written.
    bad = non_finite({k: payload.get(k) for k in ("backbone", "head")})
    if bad:
        raise NonFiniteError(
            f"{path} holds NaN or infinite values in {_name_few(bad)} (a diverged run); it cannot be used"
        )
    return _checkpoint(payload, path)


def _refusal(path: Path, what: str) -> str:
    return (
        f"{path} holds Python objects ({what}) besides tensors and plain values, which vidkit never unpickles; "
        "if it is a paper's checkpoint, convert it with vidkit import-checkpoint"
    )


# The constructor arguments a backbone takes (`models.create_backbone`); a checkpoint names no other.
BACKBONE_KWARGS = ("in_channels",)


def _checkpoint(payload: dict, path: Path) -> Checkpoint:
    """The checkpoint in a `vidkit.ckpt/1` dict, each entry checked before use: a file that says
    `vidkit.ckpt/1` but lacks `backbone_name`, or holds a string where weights belong, is one line.

    Raises:
        CheckpointFormatError: naming the first missing or malformed entry.
    """

    def bad(key: str, why: str) -> CheckpointFormatError:
        return CheckpointFormatError(f"{path} is a damaged vidkit checkpoint: {key} {why}")

    for key in ("backbone_name", "backbone_kwargs", "backbone", "input"):
        if key not in payload:
            raise bad(key, "is missing")
    kinds = {"backbone_name": str, "vidkit_version": str, "method": (str, type(None))}
    kinds.update(
        dict.fromkeys(("backbone_kwargs", "backbone", "input", "hparams", "method_state", "head", "training"), dict)
    )
    for key, kind in kinds.items():
        if key in payload and not isinstance(payload[key], kind):
            raise bad(key, f"is a {type(payload[key]).__name__}")
    for key in ("backbone", "method_state", "head"):
        for name, value in payload.get(key, {}).items():
            if not isinstance(name, str) or not isinstance(value, torch.Tensor):
                raise bad(key, f"holds {name!r}: {type(value).__name__}, where only named tensors belong")
    for name, value in payload["backbone_kwargs"].items():
        if name not in BACKBONE_KWARGS or not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad("backbone_kwargs", f"holds {name}={value!r}; a backbone takes only a positive in_channels")
    try:
        recipe = InputRecipe.from_dict(payload["input"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise bad("input", f"is malformed ({type(exc).__name__}: {exc})") from None
    if min(recipe.clip_len, recipe.stride, recipe.size) < 1 or len(recipe.mean) != len(recipe.std):
        raise bad("input", f"is malformed ({recipe})")
    return Checkpoint(
        backbone_name=payload["backbone_name"],
        backbone_kwargs=payload["backbone_kwargs"],
        backbone=payload["backbone"],
        input=recipe,
        method=payload.get("method"),
        hparams=payload.get("hparams", {}),
        method_state=payload.get("method_state", {}),
        head=payload.get("head", {}),
        training=payload.get("training", {}),
        vidkit_version=payload.get("vidkit_version", "unknown"),
    )
