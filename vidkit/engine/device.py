"""`--device auto|cpu|cuda[:N]` resolved once, then passed down (no import-time device defaults)."""

from __future__ import annotations

import os

import torch

from vidkit.errors import UsageError, VidkitError


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` takes this process's CUDA device when there is one (LOCAL_RANK under torchrun), else the CPU.

    Raises:
        UsageError: an unknown device name.
        VidkitError: CUDA asked for but not available.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise VidkitError(f"--device {name}: CUDA is not available on this machine")
    return device


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); a no-op context elsewhere."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled and device.type == "cuda")
