"""Checkpoints: the `vidkit.ckpt/1` format (`format`), input recipes (`recipe`), and getting a
backbone from a checkpoint or a name (`backbone`). `from vidkit import checkpoint as ckpt` gives
the format's functions and the recipe, as before the package was split."""

from vidkit.checkpoint.format import (
    FORMAT,
    Checkpoint,
    clean_state_dict,
    describe,
    load,
    load_strict,
    non_finite,
    save,
)
from vidkit.checkpoint.recipe import IMAGENET_MEAN, IMAGENET_STD, InputRecipe, scaled_resize
from vidkit.errors import CheckpointFormatError, NonFiniteError

__all__ = [
    "FORMAT",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Checkpoint",
    "CheckpointFormatError",
    "InputRecipe",
    "NonFiniteError",
    "clean_state_dict",
    "describe",
    "load",
    "load_strict",
    "non_finite",
    "save",
    "scaled_resize",
]
