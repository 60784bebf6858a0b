"""The one interface every pretraining objective implements; the engine knows nothing else about methods.

A method is an `nn.Module` that owns its backbone, heads, loss and state (memory banks, queues):
- `forward(batch) -> MethodOutput(loss, metrics)`: `batch` is the dict its dataset yields, on the device;
- `on_step_end(progress)`: after the optimizer step (memory-bank writes, momentum encoders);
- `hparams()`: JSON-able hyper-parameters written into the checkpoint;
- `sample`: which kind of sample it trains on (the pretraining core builds the dataset from it);
- the attribute `backbone`: what `pretrain` exports and later commands load.
State that must survive a resume lives in buffers, so `state_dict()` carries it.
"""

from __future__ import annotations

import abc
from typing import ClassVar, NamedTuple

import torch
from torch import nn


class MethodOutput(NamedTuple):
    loss: torch.Tensor  # scalar, what the engine backpropagates
    metrics: dict[str, torch.Tensor]  # scalars to log (detached)


class SSLMethod(nn.Module, metaclass=abc.ABCMeta):
    name: ClassVar[str]
    sample: ClassVar[str]
    backbone_dims: ClassVar[int]  # 2: an image net (frames), 3: a video net (clips)

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def on_step_end(self, progress: float) -> None:
        """Called after each optimizer step with `progress = step / total` in (0, 1]."""

    @abc.abstractmethod
    def hparams(self) -> dict:
        """JSON-able hyper-parameters, written into the checkpoint."""

    def method_state(self) -> dict[str, torch.Tensor]:
        """Everything but the backbone: heads and buffers (what a resume needs besides the backbone)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}
