"""The supervised training loop of `vidkit finetune`: epochs of SGD, validation, the best model, resume.

Kept apart from the self-supervised engine (`engine.train`) because it is epoch-based (validation
and the plateau schedule act per epoch) and keeps the best model rather than the last one.
Randomness follows the engine's rule: data from `(seed, epoch, index)`, dropout from `(seed, step)`,
so a resumed run continues as the uninterrupted one would.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from vidkit import checkpoint as ckpt
from vidkit.data.datasets import EpochSampler, TrainClipDataset, worker_init
from vidkit.engine.device import autocast
from vidkit.engine.schedule import lr_factor
from vidkit.errors import TrainingDivergedError
from vidkit.finetuning import (
    Built,
    FinetuneConfig,
    FinetuneResult,
    classifier_state,
    confusion_path,
    eval_items,
    labelled_videos,
    predict,
    test,
    topk,
    write_confusion,
)
from vidkit.io.store import FrameStore


def split_validation(videos: np.ndarray, labels: np.ndarray, fraction: float, seed: int):
    """A seeded random `fraction` of the train videos (at least one when fraction > 0) held out."""
    order = np.random.default_rng([seed, 7]).permutation(len(videos))
    n_val = min(max(1, round(fraction * len(videos))), len(videos) - 1) if fraction > 0 else 0
    val, train = order[:n_val], order[n_val:]
    return videos[train], labels[train], videos[val], labels[val]


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _save(out, built: Built, model_state, config: FinetuneConfig, training: dict) -> None:
    backbone = {k.removeprefix("backbone."): v for k, v in model_state.items() if k.startswith("backbone.")}
    head = {k: v for k, v in model_state.items() if k.startswith("fc.")}
    ckpt.save(ckpt.Checkpoint(backbone_name=built.backbone_name, backbone_kwargs=built.backbone_kwargs, backbone=backbone,
                              input=built.recipe, method="finetune", hparams=asdict(config), head=head, training=training), out)


def _kept(out, finished: int) -> str:
    return f"{out} keeps epoch {finished}" if finished else f"no checkpoint was written to {out}"


def _save_epoch(out, epoch: int, built: Built, model_state, config: FinetuneConfig, training: dict) -> None:
    """Save an epoch, or stop when the model went non-finite (BatchNorm buffers can overflow while
    the loss still looks finite); the checkpoint on disk stays the previous epoch's."""
    try:
        _save(out, built, model_state, config, training)
    except ckpt.NonFiniteError as exc:
        raise TrainingDivergedError(
            f"the model became non-finite in epoch {epoch + 1} ({str(exc).split(': ', 1)[-1]}); {_kept(out, epoch)}"
        ) from None


def train_classifier(store: FrameStore, out, built: Built, config: FinetuneConfig, device, test_videos, test_labels, *,
                     resume: bool = False, progress=None) -> FinetuneResult:
    started = time.perf_counter()
    model, recipe = built.model, built.recipe
    videos, labels = labelled_videos(store, config.train_split)
    train_videos, train_labels, val_videos, val_labels = split_validation(videos, labels, config.val_fraction, config.seed)
    dataset = TrainClipDataset(store, train_videos, train_labels, clip_len=recipe.clip_len, stride=recipe.stride,
                               size=recipe.size, modality=recipe.modality, mean=recipe.mean, std=recipe.std,
                               resize=recipe.resize, seed=config.seed, flip=config.flip)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=max(2, config.epochs // 10))
    steps_per_epoch = math.ceil(len(dataset) / config.batch_size)
    total = steps_per_epoch * config.epochs
    start_epoch, best, history = 0, {"loss": math.inf, "epoch": None, "state": None, "top1": None}, []
    if resume and out.exists():
        saved = ckpt.load(out)
        training = saved.training
        if saved.method != "finetune" or saved.hparams != asdict(config) or training.get("complete"):
            raise ckpt.CheckpointFormatError(f"{out} is not an unfinished run of this fine-tuning; cannot resume")
        model.load_state_dict(classifier_state(saved))  # the checkpoint's weights are the last epoch's
        optimizer.load_state_dict(training["optimizer"])
        plateau.load_state_dict(training["plateau"])
        start_epoch, history = training["epoch"], training["history"]
        best = {"loss": training["best_loss"], "epoch": training["best_epoch"], "state": training["best_state"],
                "top1": training["best_top1"]}
    val_items = eval_items(store, val_videos, recipe, 1) if len(val_videos) else None
    for epoch in range(start_epoch, config.epochs):
        model.train()
        loader = DataLoader(dataset, batch_size=config.batch_size, num_workers=config.workers, worker_init_fn=worker_init,
                            sampler=EpochSampler(len(dataset), seed=config.seed, epoch=epoch),
                            pin_memory=device.type == "cuda", persistent_workers=False)
        losses, hits, seen = [], 0, 0
        for batch_index, batch in enumerate(loader):
            step = epoch * steps_per_epoch + batch_index
            if config.schedule != "plateau":
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * lr_factor(step, total, schedule=config.schedule, milestones=(0.5, 0.75))
            torch.manual_seed(config.seed * 1_000_003 + step)
            clips, target = batch["clip"].to(device, non_blocking=True), batch["label"].to(device)
            with autocast(device, config.amp):
                logits = model(clips).float()
            loss = F.cross_entropy(logits, target)
            if not torch.isfinite(loss):
                raise TrainingDivergedError(f"the loss became {loss.item()} at epoch {epoch + 1}; {_kept(out, epoch)}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            hits += int((logits.argmax(1) == target).sum())
            seen += len(target)
            if progress:
                progress(step + 1, total, f"epoch {epoch + 1} loss {np.mean(losses):.3f}")
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "train_top1": hits / max(seen, 1),
                  "lr": optimizer.param_groups[0]["lr"]}
        if val_items is not None:
            val_logits = predict(model, store, val_items, recipe, batch_size=config.batch_size, workers=0, device=device)
            val_loss = float(F.cross_entropy(torch.from_numpy(val_logits), torch.from_numpy(val_labels)))
            if not math.isfinite(val_loss):
                raise TrainingDivergedError(f"the validation loss became {val_loss} at epoch {epoch + 1}; {_kept(out, epoch)}")
            record.update(val_loss=val_loss, val_top1=topk(val_logits, val_labels, 1))
            if config.schedule == "plateau":
                plateau.step(val_loss)
            if val_loss < best["loss"]:
                best = {"loss": val_loss, "epoch": epoch + 1, "state": _state(model), "top1": record["val_top1"]}
        history.append(record)
        _save_epoch(out, epoch, built, _state(model), config, {
            "complete": False, "epoch": epoch + 1, "history": history,
            "optimizer": optimizer.state_dict(), "plateau": plateau.state_dict(), "best_loss": best["loss"],
            "best_epoch": best["epoch"], "best_state": best["state"], "best_top1": best["top1"]})
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    result = test(model, store, test_videos, test_labels, recipe, config, device)
    seconds = time.perf_counter() - started
    _save(out, built, _state(model), config, {
        "complete": True, "epoch": config.epochs, "history": history, "source": built.source,
        "best_epoch": best["epoch"], "val_top1": best["top1"], "classes": list(store.classes),
        "test": {"top1": result.top1, "top5": result.top5, "clip_top1": result.clip_top1, "clip_top5": result.clip_top5,
                 "videos": result.videos}, "seconds": seconds})
    path = confusion_path(out)
    write_confusion(path, result.confusion, store.classes)
    return FinetuneResult(out, result, path, config.epochs, best["epoch"], best["top1"], seconds, history)
