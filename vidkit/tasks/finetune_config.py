"""What a fine-tuning run is asked to do: `FinetuneConfig` (the protocol's settings), the choices its
options are checked against, and `LabelledSplits` (train and test lists given instead of named splits).

The settings are one idea and running them (`tasks.finetune`) another: the CLI fills a config from
its flags and `tasks.image_probe` presets one per VINCE probe, neither of which needs the training
loop's code to do so. `tasks.finetune` imports both names, so `tasks.finetune.FinetuneConfig` and
`tasks.finetune.LabelledSplits` still work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vidkit.data import modalities

# --modality -> the clip modality it reads: every modality as itself (one meaning everywhere, from
# `data.modalities`), plus `diff-stack`, TCE's differences stacked as a 2D net's channels.
INPUTS = {**{name: name for name in modalities.MODALITIES}, modalities.DIFF_STACK: "diff"}
SCHEDULES = ("cosine", "step", "plateau")
OPTIMIZERS = ("sgd", "adam")


@dataclass
class LabelledSplits:
    """Train and test videos with their labels, given instead of the store's named splits (SUN397's lists)."""

    train_videos: np.ndarray
    train_labels: np.ndarray
    test_videos: np.ndarray
    test_labels: np.ndarray
    classes: list[str] = field(default_factory=list)


@dataclass
class FinetuneConfig:
    input: str = "rgb"
    task: str = "clips"  # clips | frames (one frame per sample: image end tasks)
    linear: bool = False
    freeze_until: int = 0  # freeze the stem and stages 1..K-1 (LA's ft_begin_index); 0: nothing
    train_split: str = "train01"
    test_split: str = "test01"
    epochs: int = 30
    batch_size: int = 16
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    milestones: tuple[float, ...] = (0.5, 0.75)  # step: x0.1 at these fractions of the run
    optimizer: str = "sgd"  # sgd (momentum) | adam (VINCE's SUN397 probe)
    head: str = "linear"  # linear | mlp (VINCE's second probe head, vince.md 6.3) | norm-linear (MAE's probe)
    patience: int = 50  # plateau: epochs without a better validation loss before x0.1 (IIC)
    min_lr: float = 1e-5  # plateau: the rate never goes below this (IIC)
    dropout: float = 0.0
    flip: bool = False  # random horizontal flips in training
    val_fraction: float = 0.1
    clip_len: int | None = None  # None: the checkpoint's (diff-stack: 5 differences of 6 frames)
    stride: int | None = None
    size: int | None = None
    test_clips: int = 10
    workers: int = 2
    device: str = "auto"
    seed: int = 0
    amp: bool = True
