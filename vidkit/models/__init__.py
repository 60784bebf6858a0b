"""Backbone registry: `create_backbone(name, in_channels=3)` builds any net of `BACKBONES`."""

from __future__ import annotations

from vidkit.errors import VidkitError


class UnknownNameError(VidkitError):
    """A registry was asked for a name it does not hold."""


def backbone_names() -> list[str]:
    from vidkit.models.backbones import BACKBONES

    return list(BACKBONES)


def create_backbone(name: str, in_channels: int = 3):
    """Build the backbone `name` with random weights (vidkit never downloads weights).

    Raises:
        UnknownNameError: `name` is not in the registry.
    """
    from vidkit.models.backbones import BACKBONES

    if name not in BACKBONES:
        raise UnknownNameError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name](in_channels=in_channels)
