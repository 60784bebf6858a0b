"""The one interface every pretraining objective implements; the engine knows nothing else about methods.

A method is an `nn.Module` that owns its backbone, heads, loss and state (memory banks, queues),
and everything else about itself:
- `defaults` (`options.MethodDefaults`): its paper's backbone, input size, clip length, epochs,
  batch, learning rate, schedule and normalisation;
- `Options`: a dataclass of its hyper-parameters with the paper's values (`-O NAME=VALUE` sets them);
- `build_dataset(store, videos, recipe, options, seed)`: its training samples from a frame store;
- `forward(batch) -> MethodOutput(loss, metrics)`: `batch` is the dict its dataset yields, on the device;
- `on_step_end(progress)`: after the optimizer step (memory-bank writes, momentum encoders);
- optional, for methods that need them (each a no-op by default):
  `bind(store, videos, recipe, seed)` once before training (and before a resume restores the state):
  what a method reads from the store besides its dataset (LA's clusters, matched by video id);
  `on_epoch_start(epoch)` before an epoch's first step (LA's k-means refresh);
  `epoch_hooks()` an `engine.train.EpochHooks` run after every epoch (IR/LA's kNN monitor);
  `no_weight_decay()` names of parameters trained without weight decay;
  `init_from(method_state, hparams)` an earlier stage's heads and buffers (`pretrain --init`);
- `hparams()`: its options plus what was derived from the data, written into the checkpoint;
- `embedder(backbone, method_state)`: the network whose output the paper plots (default: the backbone);
- the attribute `backbone`: what `pretrain` exports and later commands load.
State that must survive a resume lives in buffers, so `state_dict()` carries it.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import ClassVar

import torch
from torch import nn

from vidkit.engine.train import StepOutput as MethodOutput  # noqa: F401 - the name methods return
from vidkit.errors import VidkitError
from vidkit.methods.options import MethodDefaults


class SSLMethod(nn.Module, metaclass=abc.ABCMeta):
    name: ClassVar[str]
    sample: ClassVar[str]  # the kind of sample it trains on (`data.samples.SAMPLE_KEYS`)
    backbone_dims: ClassVar[int]  # 2: an image net (frames), 3: a video net (clips)
    defaults: ClassVar[MethodDefaults]
    Options: ClassVar[type]  # a dataclass; `Options()` holds the paper's values

    def __init__(self, backbone: nn.Module, options):
        super().__init__()
        self.backbone = backbone
        self.options = options
        self.derived: dict = {}  # what the method worked out from the data (num_videos, dim, ...)

    @classmethod
    @abc.abstractmethod
    def build_dataset(cls, store, videos, recipe, options, seed: int) -> torch.utils.data.Dataset:
        """The training samples of `videos` (frame-store indices), in the layout `forward` reads."""

    def on_step_end(self, progress: float) -> None:
        """Called after each optimizer step with `progress = step / total` in (0, 1]."""

    def bind(self, store, videos, recipe, seed: int) -> None:
        """Called once by `pretrain` before training, with the frame store and the training videos."""

    def on_epoch_start(self, epoch: int) -> None:
        """Called before the first step of each epoch (0-based), also when a resumed run enters one."""

    def epoch_hooks(self):
        """An `engine.train.EpochHooks` to run after every epoch (monitoring only), or None."""
        return None

    def no_weight_decay(self) -> set[str]:
        """Names (as in `named_parameters()`) of the parameters to train without weight decay."""
        return set()

    def init_from(self, method_state: dict[str, torch.Tensor], hparams: dict) -> list[str]:
        """Start from an earlier stage's heads and buffers (`pretrain --init`); returns the names taken.

        Every entry of `method_state` that this method also has is copied; a shape that differs is
        an error; what is missing on either side is left as it is.

        Raises:
            VidkitError: an entry of another shape.
        """
        own = self.state_dict()
        taken = []
        for key, value in method_state.items():
            if key.startswith("backbone.") or key not in own:
                continue
            if own[key].shape != value.shape:
                raise VidkitError(
                    f"--init's {key} is {tuple(value.shape)}, this {self.name} run's is {tuple(own[key].shape)}"
                )
            with torch.no_grad():
                own[key].copy_(value)
            taken.append(key)
        return taken

    def hparams(self) -> dict:
        """JSON-able hyper-parameters, written into the checkpoint: the options, then what was derived."""
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self.options).items()}
        return {**values, **self.derived}

    def method_state(self) -> dict[str, torch.Tensor]:
        """Everything but the backbone: heads and buffers (what a resume needs besides the backbone)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}

    @classmethod
    def embedder(cls, backbone: nn.Module, method_state: dict[str, torch.Tensor]) -> nn.Module:
        """The network whose output this method's paper plots or retrieves with (default: the backbone)."""
        return backbone
