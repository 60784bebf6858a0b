"""The end-task probe registry (torch-free): `finetune --probe NAME` runs the probe registered as NAME.

A probe is a frozen-backbone end task with the seed's settings as defaults (VINCE, vince.md 6.3).
Adding one is a module with a `run(request: ProbeRequest) -> (summary, text)` function plus one
line in `PROBES`; the command line takes its choices from `probe_names()` and never branches on a
probe's name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from vidkit.errors import UnknownNameError

# name -> "module:function"
PROBES: dict[str, str] = {
    "imagenet": "vidkit.tasks.image_probe:run",
    "sun397": "vidkit.tasks.image_probe:run",
    "kinetics-lstm": "vidkit.tasks.lstm_probe:run",
}


@dataclass
class ProbeRequest:
    """What `finetune --probe` was given: the fine-tuning options and the probes' own ones.

    `given` names the options typed on the command line (they override a probe's presets).
    """

    name: str
    frames: Path
    output: Path | None
    checkpoint: Path | None
    backbone: str | None
    config: Any  # tasks.finetune.FinetuneConfig
    given: set[str] = field(default_factory=set)
    test_only: bool = False
    resume: bool = False
    force: bool = False
    sun397_splits: Path | None = None
    fold: int = 1
    features: Path | None = None
    progress: Callable | None = None


def probe_names() -> list[str]:
    return list(PROBES)


def run_probe(request: ProbeRequest) -> tuple[dict, str]:
    """Run the probe `request.name`: its JSON summary and a one-line text report (imports torch).

    Raises:
        UnknownNameError: no such probe.
        UsageError, VidkitError: as the probe's core function.
    """
    if request.name not in PROBES:
        raise UnknownNameError(f"unknown probe {request.name!r}; choose one of {', '.join(PROBES)}")
    module, function = PROBES[request.name].split(":")
    return getattr(importlib.import_module(module), function)(request)
