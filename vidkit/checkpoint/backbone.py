"""One way to get a backbone: from a checkpoint file or a registry name, with the recipe its inputs need.

`embed`, `finetune` and `tsne` all call `load_backbone`, so a checkpoint loads the same way
everywhere: strictly (a mismatch is an error, never a silent random-init fallback, VINCE issue #3),
with finite weights only, and with its input recipe as the defaults. A bare name gives the
random-init baseline, seeded, with its family's recipe (`vidkit.models.BACKBONES`). Importers of
the papers' own checkpoint layouts plug in here: a file that is no `vidkit.ckpt/1` goes through
`vidkit import-checkpoint` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vidkit.checkpoint.format import Checkpoint, load, load_strict
from vidkit.checkpoint.recipe import InputRecipe
from vidkit.errors import UsageError


@dataclass
class LoadedBackbone:
    model: nn.Module
    recipe: InputRecipe  # the checkpoint's, or the family's for a bare name
    name: str
    kwargs: dict  # constructor arguments (`in_channels`)
    checkpoint: Checkpoint | None  # None for a bare (random-init) backbone
    checkpoint_path: Path | None = None

    @property
    def source(self) -> dict:
        """What made the features or the classifier, for the record in an output's config."""
        return {
            "checkpoint": str(self.checkpoint_path) if self.checkpoint_path is not None else None,
            "backbone": self.name,
        }


def widen_first_conv(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Fit RGB weights to a model whose first convolution takes 3k channels: channel i gets RGB filter
    i mod 3, unscaled, as TCE builds its 15-channel input layer (tce.md 3.1)."""
    own = model.state_dict()
    fitted = dict(state)
    for key, value in state.items():
        target = own.get(key)
        if (
            target is not None
            and value.dim() >= 4
            and target.dim() == value.dim()  # a checkpoint may put any shape under a conv's name
            and 0 < value.shape[1] != target.shape[1]
            and target.shape[1] % value.shape[1] == 0
        ):
            fitted[key] = value.repeat(1, target.shape[1] // value.shape[1], *([1] * (value.dim() - 2)))
    return fitted


def load_backbone(
    checkpoint: Path | None = None, name: str | None = None, *, seed: int = 0, in_channels: int | None = None
) -> LoadedBackbone:
    """The backbone of `checkpoint`, or a random-init `name` seeded by `seed`.

    `in_channels` (say 15 for a stack of 5 differences) builds the net with a wider first
    convolution, into which a checkpoint's RGB filters are repeated.

    Raises:
        UsageError: both or neither of `checkpoint` and `name`.
        CheckpointFormatError, NonFiniteError: the checkpoint cannot be used.
        UnknownNameError: `name` (or the checkpoint's backbone) is not registered.
    """
    from vidkit.models import backbone_spec, create_backbone

    if (checkpoint is None) == (name is None):
        raise UsageError("give either a checkpoint or --backbone NAME (random weights), not both or neither")
    saved = load(checkpoint) if checkpoint is not None else None
    name = saved.backbone_name if saved is not None else name
    kwargs = dict(saved.backbone_kwargs) if saved is not None else {}
    if in_channels is not None:
        kwargs["in_channels"] = in_channels
    torch.manual_seed(seed)  # a random-init baseline (or a widened stem) is a function of the seed
    model = create_backbone(name, **kwargs)
    if saved is not None:
        load_strict(model, widen_first_conv(saved.backbone, model), what=f"{name} backbone")
        recipe = saved.input
    else:
        recipe = backbone_spec(name).recipe
    return LoadedBackbone(model, recipe, name, kwargs, saved, checkpoint)
