"""Supervised fine-tuning and linear probes on a labelled frame store: the core of `vidkit finetune`.

Protocols (each paper's, with its defects fixed):
- IIC (iic.md 9): full fine-tuning of a 3D net on RGB or raw residual clips (`input="res-raw"`), the
  best model on a validation part of the train split, 10 evenly spaced centre clips per test video
  with their logits averaged.
- TCE (tce.md 3.1): `input="diff-stack"`, N consecutive frames give N - 1 differences stacked as
  channels of a 2D net whose first convolution is widened by repeating the pretrained RGB filters.
- Video LA (video_la_idt.md 9): `freeze_until=K` freezes the stem and stages below K (its
  `ft_begin_index`); frozen BN layers still update their statistics, as there.
- VINCE (vince.md 6): `linear=True`, the backbone frozen in eval mode under one linear layer;
  `task="frames"` trains on single frames (image end tasks on a store of one-frame videos);
  `tasks.image_probe` sets the seed's optimiser (`optimizer="adam"` for SUN397), schedule and
  head (`head="mlp"` on request) per dataset, and may give SUN397's split lists as `splits`.

The validation part is a seeded random `val_fraction` of the train split, evaluated every epoch on
one deterministic centre clip per video (IIC used random train crops, iic.md 12.2 #6); the model
with the lowest validation loss is kept. Without a validation part the last model is kept.
Every epoch writes a resumable checkpoint; `resume=True` continues from it. Training runs on the
one engine (`engine.train.fit`, the classifier wrapped as `ClassifierTask`), with validation,
keep-best and the plateau schedule as its epoch hooks (`Validation`).

The plateau schedule is IIC's: x0.1 when the validation loss has not improved for `patience` (50)
epochs, down to `min_lr` (1e-5). NOTE: the test clips are 10 evenly spaced centre crops for every
input, TCE's stack of differences included; TCE's own script took 19 stacks from frames squashed
to 224x224. One protocol for all backbones keeps their numbers comparable; `--test-clips 19`
gives TCE's count (docs/methods.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from vidkit import checkpoint as ckpt
from vidkit.checkpoint.backbone import load_backbone
from vidkit.checkpoint.recipe import scaled_resize
from vidkit.data import modalities
from vidkit.data.datasets import TrainClipDataset
from vidkit.engine import schedule
from vidkit.engine import train as engine
from vidkit.engine.device import resolve_device
from vidkit.errors import UsageError, VidkitError
from vidkit.io.frame_store import FrameStore
from vidkit.io.outputs import any_file, claim_output
from vidkit.tasks.classifier import Classifier, ClassifierTask, classifier_state, freeze_stages, head_classes
from vidkit.tasks.evaluation import TestResult, confusion_path, labelled_videos, test, write_confusion
from vidkit.tasks.finetune_config import INPUTS, OPTIMIZERS, SCHEDULES, FinetuneConfig, LabelledSplits
from vidkit.tasks.validation import Validation, model_state, split_validation

log = logging.getLogger("vidkit")


@dataclass
class Built:
    model: Classifier
    recipe: ckpt.InputRecipe
    backbone_name: str
    backbone_kwargs: dict
    source: dict
    finetuned: ckpt.Checkpoint | None = None  # set when the checkpoint is itself a fine-tuned one


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
        model = Classifier(
            net, head_classes(saved.head), saved.hparams.get("dropout", 0.0), head=saved.hparams.get("head", "linear")
        )
        ckpt.load_strict(model, classifier_state(saved), what="fine-tuned classifier")
        return Built(model, saved.input, loaded.name, loaded.kwargs, {"checkpoint": str(checkpoint)}, saved)
    if diff_stack and net.dims != 2:
        raise UsageError("--input diff-stack stacks differences as channels of a 2D backbone (resnet18, resnet50, ...)")
    base = loaded.recipe
    clip_len = clip_len or (1 if config.task == "frames" else base.clip_len)
    size = config.size or base.size
    recipe = ckpt.InputRecipe(
        clip_len=clip_len,
        stride=config.stride or base.stride,
        size=size,
        modality=INPUTS[config.input],
        mean=base.mean,
        std=base.std,
        resize=scaled_resize(base, size),
    )
    model = Classifier(net, num_classes, config.dropout, frozen=config.linear, head=config.head)
    if config.freeze_until:
        freeze_stages(net, config.freeze_until)
    return Built(model, recipe, loaded.name, loaded.kwargs, loaded.source)


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
        return {
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "test_top1": t.top1,
            "test_top5": t.top5,
            "test_videos": t.videos,
            "clip_top1": t.clip_top1,
            "clip_top5": t.clip_top5,
            "val_top1": self.val_top1,
            "best_epoch": self.best_epoch,
            "epochs": self.epochs,
            "confusion": str(self.confusion_path) if self.confusion_path else None,
            "seconds": round(self.seconds, 3),
        }


def finetune(
    frames: Path,
    out: Path | None,
    *,
    checkpoint: Path | None = None,
    backbone: str | None = None,
    config: FinetuneConfig = FinetuneConfig(),
    test_only: bool = False,
    resume: bool = False,
    force: bool = False,
    splits: LabelledSplits | None = None,
    progress=None,
) -> FinetuneResult:
    """Fine-tune (or, with `test_only`, just test) a classifier on `frames`; write the checkpoint `out`.

    An existing `out` is continued with `resume` (when it is an unfinished run of the same
    fine-tuning), replaced with `force`, and refused otherwise.

    Raises:
        UsageError: no `out` to train into, `out` is an input or exists, or a non-finite `--lr`.
        VidkitError: bad options, store, splits or checkpoint; TrainingDivergedError on a NaN loss.
    """
    schedule.check_rates(lr=config.lr, weight_decay=config.weight_decay, min_lr=config.min_lr)
    if test_only:
        if out is None and checkpoint is None:
            raise UsageError("--test-only needs the fine-tuned checkpoint to test")
        written = confusion_path(out or checkpoint)
        with claim_output(written, inputs=[frames, checkpoint], existing=any_file, force=force):
            return _finetune(frames, out, checkpoint, backbone, config, True, False, progress, splits)
    if out is None:
        raise UsageError("give -o FT.pt for the fine-tuned checkpoint")

    def verdict(path: Path) -> str | None:
        return None if resume else ckpt.describe(path) + " (--resume continues an unfinished run)"

    with claim_output(out, inputs=[frames, checkpoint], existing=verdict, force=force):
        if resume and not out.exists():
            log.warning("%s does not exist yet: nothing to resume, starting a new run", out)
        return _finetune(frames, out, checkpoint, backbone, config, False, resume and out.exists(), progress, splits)


def _finetune(
    frames, out, checkpoint, backbone, config: FinetuneConfig, test_only: bool, resume: bool, progress, splits=None
) -> FinetuneResult:
    store = FrameStore(frames)
    if config.test_clips < 1 or config.epochs < 1 or not 0 <= config.val_fraction < 1:
        raise VidkitError("--test-clips and --epochs must be at least 1, and --val-fraction in [0, 1)")
    if config.schedule not in SCHEDULES:
        raise VidkitError(f"unknown --schedule {config.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if config.optimizer not in OPTIMIZERS:
        raise VidkitError(f"unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if splits is not None:
        test_videos, test_labels = splits.test_videos, splits.test_labels
        num_classes = max(len(splits.classes), int(max(splits.train_labels.max(), test_labels.max())) + 1)
    else:
        test_videos, test_labels = labelled_videos(store, config.test_split)
        num_classes = max(len(store.classes), int(test_labels.max()) + 1)
    built = build(config, num_classes, checkpoint, backbone)
    if built.recipe.modality in modalities.FLOW and not store.has_flow:
        raise VidkitError(f"--modality {built.recipe.modality} needs flow: {frames} was extracted without --flow")
    device = resolve_device(config.device)
    model = built.model.to(device)
    if test_only:
        if built.finetuned is None:
            raise VidkitError("--test-only needs a checkpoint written by vidkit finetune")
        result = _test(model, store, test_videos, test_labels, built.recipe, config, device)
        path = confusion_path(out or checkpoint)
        write_confusion(path, result.confusion, splits.classes if splits else store.classes)
        return FinetuneResult(out, result, path)
    if built.finetuned is not None:
        raise VidkitError(f"{checkpoint} is already fine-tuned; use --test-only, or start from a pretrained checkpoint")
    return train_classifier(
        store, out, built, config, device, test_videos, test_labels, resume=resume, progress=progress, splits=splits
    )


def _test(model, store, videos, labels, recipe, config: FinetuneConfig, device) -> TestResult:
    return test(
        model,
        store,
        videos,
        labels,
        recipe,
        clips=config.test_clips,
        batch_size=config.batch_size,
        workers=config.workers,
        device=device,
    )


def _save(out, built: Built, model_state, config: FinetuneConfig, training: dict) -> None:
    backbone = {k.removeprefix("backbone."): v for k, v in model_state.items() if k.startswith("backbone.")}
    head = {k: v for k, v in model_state.items() if k.startswith("fc.")}
    ckpt.save(
        ckpt.Checkpoint(
            backbone_name=built.backbone_name,
            backbone_kwargs=built.backbone_kwargs,
            backbone=backbone,
            input=built.recipe,
            method="finetune",
            hparams=asdict(config),
            head=head,
            training=training,
        ),
        out,
    )


def train_classifier(
    store: FrameStore,
    out,
    built: Built,
    config: FinetuneConfig,
    device,
    test_videos,
    test_labels,
    *,
    resume: bool = False,
    progress=None,
    splits: LabelledSplits | None = None,
) -> FinetuneResult:
    """Train on the train split (less its validation part) through the engine, keep the best epoch, test it."""
    started = time.perf_counter()
    model, recipe = built.model, built.recipe
    classes = list(splits.classes if splits is not None else store.classes)
    if splits is not None:
        videos, labels = splits.train_videos, splits.train_labels
    else:
        videos, labels = labelled_videos(store, config.train_split)
    train_videos, train_labels, val_videos, val_labels = split_validation(
        videos, labels, config.val_fraction, config.seed
    )
    dataset = TrainClipDataset(
        store, train_videos, train_labels, **recipe.clip_reading(), seed=config.seed, flip=config.flip
    )
    per_epoch = engine.steps_per_epoch(len(dataset), config.batch_size, drop_last=False)
    train_config = engine.TrainConfig(
        steps=per_epoch * config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        schedule=config.schedule,
        milestones=tuple(config.milestones),
        checkpoint_every=per_epoch,
        log_every=per_epoch,
        workers=config.workers,
        seed=config.seed,
        amp=config.amp,
        drop_last=False,
    )
    task = ClassifierTask(model)
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(
            [p for p in task.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay
        )
    else:
        optimizer = engine.make_optimizer(task, train_config)
    hooks = Validation(model, optimizer, store, val_videos, val_labels, recipe, config, device)
    position = engine.Position()
    if resume:
        saved = ckpt.load(out)
        training = saved.training
        if saved.method != "finetune" or saved.hparams != asdict(config) or training.get("complete"):
            raise UsageError(f"{out} is not an unfinished run of this fine-tuning; cannot resume")
        model.load_state_dict(classifier_state(saved))  # the checkpoint's weights are the last epoch's
        optimizer.load_state_dict(training["optimizer"])
        hooks.load_state(training)
        position = engine.Position(training["epoch"] * per_epoch, training["epoch"], 0)

    def save(module, optimizer_, position_: engine.Position, final: bool) -> None:
        _save(
            out,
            built,
            model_state(model),
            config,
            {"complete": False, "epoch": position_.epoch, "optimizer": optimizer_.state_dict(), **hooks.state()},
        )

    if position.step < train_config.steps:
        engine.fit(
            task,
            dataset,
            train_config,
            device=device,
            save=save,
            optimizer=optimizer,
            position=position,
            hooks=hooks,
            progress=engine.epoch_progress(progress, per_epoch, config.epochs),
        )
    if hooks.best["state"] is not None:
        model.load_state_dict(hooks.best["state"])
    result = _test(model, store, test_videos, test_labels, recipe, config, device)
    seconds = time.perf_counter() - started
    _save(
        out,
        built,
        model_state(model),
        config,
        {
            "complete": True,
            "epoch": config.epochs,
            "history": hooks.history,
            "source": built.source,
            "best_epoch": hooks.best["epoch"],
            "val_top1": hooks.best["top1"],
            "classes": classes,
            "test": {
                "top1": result.top1,
                "top5": result.top5,
                "clip_top1": result.clip_top1,
                "clip_top5": result.clip_top5,
                "videos": result.videos,
            },
            "seconds": seconds,
        },
    )
    path = confusion_path(out)
    write_confusion(path, result.confusion, classes)
    return FinetuneResult(
        out, result, path, config.epochs, hooks.best["epoch"], hooks.best["top1"], seconds, hooks.history
    )
