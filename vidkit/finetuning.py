"""Supervised fine-tuning and linear probes on a labelled frame store: the core of `vidkit finetune`.

Protocols (each paper's, with its defects fixed):
- IIC (iic.md 9): full fine-tuning of a 3D net on RGB or raw residual clips (`input="res"`), the
  best model on a validation part of the train split, 10 evenly spaced centre clips per test video
  with their logits averaged.
- TCE (tce.md 3.1): `input="diff-stack"`, N consecutive frames give N - 1 differences stacked as
  channels of a 2D net whose first convolution is widened by repeating the pretrained RGB filters.
- Video LA (video_la_idt.md 9): `freeze_until=K` freezes the stem and stages below K (its
  `ft_begin_index`); frozen BN layers still update their statistics, as there.
- VINCE (vince.md 6): `linear=True`, the backbone frozen in eval mode under one linear layer;
  `task="frames"` trains on single frames (image end tasks on a store of one-frame videos).

The validation part is a seeded random `val_fraction` of the train split, evaluated every epoch on
one deterministic centre clip per video (IIC used random train crops, iic.md 12.2 #6); the model
with the lowest validation loss is kept. Without a validation part the last model is kept.
Every epoch writes a resumable checkpoint; `resume=True` continues from it.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from vidkit import checkpoint as ckpt
from vidkit.data.datasets import ClipDataset, clip_span, worker_init
from vidkit.checkpoint.backbone import load_backbone
from vidkit.checkpoint.recipe import scaled_resize
from vidkit.embedding import clip_features, clip_items
from vidkit.engine.device import autocast, resolve_device
from vidkit.errors import UsageError, VidkitError
from vidkit.io.atomic import atomic_path
from vidkit.io.outputs import any_file, claim_output
from vidkit.io.store import FrameStore

log = logging.getLogger("vidkit")

INPUTS = {"rgb": "rgb", "res": "res-raw", "diff-stack": "diff"}  # --input -> the clip modality it reads
SCHEDULES = ("cosine", "step", "plateau")


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


class Classifier(nn.Module):
    """A backbone, dropout and one linear layer. With `frozen`, the backbone stays in eval mode and
    receives no gradient (a linear probe)."""

    def __init__(self, backbone: nn.Module, num_classes: int, dropout: float = 0.0, frozen: bool = False):
        super().__init__()
        self.backbone, self.frozen = backbone, frozen
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(backbone.num_features, num_classes)
        if frozen:
            backbone.requires_grad_(False)

    def train(self, mode: bool = True) -> Classifier:
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        if self.frozen:
            with torch.no_grad():
                features = clip_features(self.backbone, clips)
        else:
            features = clip_features(self.backbone, clips)
        return self.fc(self.dropout(features.float()))


def stage_of(name: str) -> int | None:
    """ResNet stage of a parameter: 0 for the stem, k for `layerk.*`; None when the name has no stage."""
    match = re.match(r"layer(\d)\.", name)
    if match:
        return int(match.group(1))
    return 0 if name.split(".")[0] in ("conv1", "bn1", "stem") else None


def freeze_stages(backbone: nn.Module, until: int) -> int:
    """Stop the gradient of the stem and stages below `until`; returns how many tensors were frozen."""
    frozen = 0
    for name, param in backbone.named_parameters():
        stage = stage_of(name)
        if stage is None:
            raise VidkitError(f"--freeze-until needs a ResNet-style backbone (stem, layer1..layer4); {name!r} has no stage")
        if stage < until:
            param.requires_grad_(False)
            frozen += 1
    return frozen


@dataclass
class Built:
    model: Classifier
    recipe: ckpt.InputRecipe
    backbone_name: str
    backbone_kwargs: dict
    source: dict
    finetuned: ckpt.Checkpoint | None = None  # set when the checkpoint is itself a fine-tuned one


def classifier_state(saved: ckpt.Checkpoint) -> dict[str, torch.Tensor]:
    """A fine-tuned checkpoint's backbone and head as one `Classifier` state dict."""
    return {**{f"backbone.{k}": v for k, v in saved.backbone.items()}, **saved.head}


def build(config: FinetuneConfig, num_classes: int, checkpoint: Path | None, backbone: str | None) -> Built:
    """The classifier, from a pretrained checkpoint, a fine-tuned one (`--test-only`), or a bare backbone."""
    if config.input not in INPUTS:
        raise VidkitError(f"unknown --input {config.input!r}; choose one of {', '.join(INPUTS)}")
    diff_stack = config.input == "diff-stack"
    clip_len = (config.clip_len or 5) if diff_stack else config.clip_len
    # A stack of N differences is 3N channels; the checkpoint's RGB filters are repeated into them.
    loaded = load_backbone(checkpoint, backbone, seed=config.seed, in_channels=3 * clip_len if diff_stack else None)
    saved, net = loaded.checkpoint, loaded.model
    if saved is not None and saved.method == "finetune":
        model = Classifier(net, len(saved.head["fc.bias"]), saved.hparams.get("dropout", 0.0))
        ckpt.load_strict(model, classifier_state(saved), what="fine-tuned classifier")
        return Built(model, saved.input, loaded.name, loaded.kwargs, {"checkpoint": str(checkpoint)}, saved)
    if diff_stack and net.dims != 2:
        raise UsageError("--input diff-stack stacks differences as channels of a 2D backbone (resnet18, resnet50, ...)")
    base = loaded.recipe
    clip_len = clip_len or (1 if config.task == "frames" else base.clip_len)
    size = config.size or base.size
    recipe = ckpt.InputRecipe(clip_len=clip_len, stride=config.stride or base.stride, size=size, modality=INPUTS[config.input],
                              mean=base.mean, std=base.std, resize=scaled_resize(base, size))
    model = Classifier(net, num_classes, config.dropout, frozen=config.linear)
    if config.freeze_until:
        freeze_stages(net, config.freeze_until)
    return Built(model, recipe, loaded.name, loaded.kwargs, loaded.source)


def labelled_videos(store: FrameStore, split: str) -> tuple[np.ndarray, np.ndarray]:
    if split not in store.split_names:
        have = ", ".join(store.split_names) or "none"
        raise VidkitError(f"{store.path.name} has no split {split!r} (it has: {have}); extract with --annotations")
    videos = store.split(split)
    labels = store.table()["label"][videos]
    keep = labels >= 0
    if not keep.any():
        raise VidkitError(f"split {split!r} of {store.path.name} holds no labelled video")
    return videos[keep], labels[keep]


@torch.no_grad()
def predict(model: Classifier, store: FrameStore, items: np.ndarray, recipe: ckpt.InputRecipe, *, batch_size: int,
            workers: int, device: torch.device) -> np.ndarray:
    """`(rows, classes)` logits of the clips `items` (`(video, start)` rows), centre-cropped."""
    dataset = ClipDataset(store, items, clip_len=recipe.clip_len, stride=recipe.stride, size=recipe.size,
                          modality=recipe.modality, mean=recipe.mean, std=recipe.std, resize=recipe.resize)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, worker_init_fn=worker_init)
    model.eval()
    out = []
    with autocast(device):
        for clips in loader:
            out.append(model(clips.to(device)).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, model.fc.out_features), dtype=np.float32)


def eval_items(store: FrameStore, videos: np.ndarray, recipe: ckpt.InputRecipe, clips: int) -> np.ndarray:
    """`clips` evenly spaced `(video, start)` rows per video (IIC's test clips)."""
    span = clip_span(recipe.clip_len, recipe.stride, recipe.modality)
    return clip_items(store.table()["n_frames"], videos, span, clips, per_frame=False)


def topk(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
    k = min(k, logits.shape[1])
    best = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float((best == labels[:, None]).any(axis=1).mean())


@dataclass
class TestResult:
    top1: float
    top5: float
    clip_top1: float
    clip_top5: float
    videos: int
    confusion: np.ndarray


def test(model: Classifier, store: FrameStore, videos: np.ndarray, labels: np.ndarray, recipe: ckpt.InputRecipe,
         config: FinetuneConfig, device: torch.device) -> TestResult:
    """IIC's test protocol: `test_clips` evenly spaced centre clips per video; their logits averaged."""
    items = eval_items(store, videos, recipe, config.test_clips)
    logits = predict(model, store, items, recipe, batch_size=config.batch_size, workers=config.workers, device=device)
    per_video = logits.reshape(len(videos), config.test_clips, -1).mean(axis=1)
    clip_labels = np.repeat(labels, config.test_clips)
    classes = logits.shape[1]
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, per_video.argmax(axis=1)), 1)
    return TestResult(topk(per_video, labels, 1), topk(per_video, labels, 5), topk(logits, clip_labels, 1),
                      topk(logits, clip_labels, 5), len(videos), confusion)


@dataclass
class FinetuneResult:
    checkpoint: Path | None
    test: TestResult
    confusion_path: Path | None
    epochs: int = 0
    best_epoch: int | None = None
    val_top1: float | None = None
    seconds: float = 0.0
    history: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        t = self.test
        return {"checkpoint": str(self.checkpoint) if self.checkpoint else None, "test_top1": t.top1, "test_top5": t.top5,
                "test_videos": t.videos, "clip_top1": t.clip_top1, "clip_top5": t.clip_top5,
                "val_top1": self.val_top1, "best_epoch": self.best_epoch, "epochs": self.epochs,
                "confusion": str(self.confusion_path) if self.confusion_path else None, "seconds": round(self.seconds, 3)}


def write_confusion(path: Path, confusion: np.ndarray, classes: list[str]) -> None:
    """Rows are true classes, columns predicted ones, both named."""
    names = classes if len(classes) == len(confusion) else [str(i) for i in range(len(confusion))]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["true\\predicted", *names])
        for name, row in zip(names, confusion):
            writer.writerow([name, *row.tolist()])


def confusion_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.stem + ".confusion.csv")


def finetune(frames: Path, out: Path | None, *, checkpoint: Path | None = None, backbone: str | None = None,
             config: FinetuneConfig = FinetuneConfig(), test_only: bool = False, resume: bool = False,
             force: bool = False, progress=None) -> FinetuneResult:
    """Fine-tune (or, with `test_only`, just test) a classifier on `frames`; write the checkpoint `out`.

    An existing `out` is continued with `resume` (when it is an unfinished run of the same
    fine-tuning), replaced with `force`, and refused otherwise.

    Raises:
        UsageError: no `out` to train into, `out` is an input or exists, or a non-finite `--lr`.
        VidkitError: bad options, store, splits or checkpoint; TrainingDivergedError on a NaN loss.
    """
    if not math.isfinite(config.lr):
        raise UsageError(f"--lr {config.lr} is not a finite number")
    if test_only:
        if out is None and checkpoint is None:
            raise UsageError("--test-only needs the fine-tuned checkpoint to test")
        written = confusion_path(out or checkpoint)
        with claim_output(written, inputs=[frames, checkpoint], existing=any_file, force=force):
            return _finetune(frames, out, checkpoint, backbone, config, True, False, progress)
    if out is None:
        raise UsageError("give -o FT.pt for the fine-tuned checkpoint")

    def verdict(path: Path) -> str | None:
        return None if resume else ckpt.describe(path) + " (--resume continues an unfinished run)"

    with claim_output(out, inputs=[frames, checkpoint], existing=verdict, force=force):
        if resume and not out.exists():
            log.warning("%s does not exist yet: nothing to resume, starting a new run", out)
        return _finetune(frames, out, checkpoint, backbone, config, False, resume and out.exists(), progress)


def _finetune(frames, out, checkpoint, backbone, config: FinetuneConfig, test_only: bool, resume: bool, progress) -> FinetuneResult:
    store = FrameStore(frames)
    if config.test_clips < 1 or config.epochs < 1 or not 0 <= config.val_fraction < 1:
        raise VidkitError("--test-clips and --epochs must be at least 1, and --val-fraction in [0, 1)")
    if config.schedule not in SCHEDULES:
        raise VidkitError(f"unknown --schedule {config.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    test_videos, test_labels = labelled_videos(store, config.test_split)
    num_classes = max(len(store.classes), int(test_labels.max()) + 1)
    built = build(config, num_classes, checkpoint, backbone)
    device = resolve_device(config.device)
    model = built.model.to(device)
    if test_only:
        if built.finetuned is None:
            raise VidkitError("--test-only needs a checkpoint written by vidkit finetune")
        result = test(model, store, test_videos, test_labels, built.recipe, config, device)
        path = confusion_path(out or checkpoint)
        write_confusion(path, result.confusion, store.classes)
        return FinetuneResult(out, result, path)
    if built.finetuned is not None:
        raise VidkitError(f"{checkpoint} is already fine-tuned; use --test-only, or start from a pretrained checkpoint")
    from vidkit.finetune_loop import train_classifier

    return train_classifier(store, out, built, config, device, test_videos, test_labels, resume=resume, progress=progress)
