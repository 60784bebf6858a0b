"""Fine-tuning's validation, as the engine's epoch hooks: a held-out part of the train split scored
every epoch, the best model kept, and IIC's plateau schedule.

The validation videos are a seeded random fraction of the train split, scored on one deterministic
centre clip each (IIC used random train crops, iic.md 12.2 #6, which made the choice of epoch noise).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from vidkit.tasks.evaluation import eval_items, predict, topk


def split_validation(videos: np.ndarray, labels: np.ndarray, fraction: float, seed: int):
    """A seeded random `fraction` of the train videos (at least one when fraction > 0) held out."""
    order = np.random.default_rng([seed, 7]).permutation(len(videos))
    n_val = min(max(1, round(fraction * len(videos))), len(videos) - 1) if fraction > 0 else 0
    val, train = order[:n_val], order[n_val:]
    return videos[train], labels[train], videos[val], labels[val]


def model_state(model) -> dict[str, torch.Tensor]:
    """A detached CPU copy of `model`'s state (what the best epoch and the checkpoints keep)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


class Validation:
    """The epoch hooks of fine-tuning: score the validation videos (one centre clip each), keep the
    model with the lowest validation loss, step the plateau schedule, and keep the history."""

    def __init__(self, model, optimizer, store, videos, labels, recipe, config, device):
        self.model, self.optimizer, self.store, self.labels = model, optimizer, store, labels
        self.recipe, self.config, self.device = recipe, config, device
        self.items = eval_items(store, videos, recipe, 1) if len(videos) else None
        self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.1, patience=config.patience, min_lr=config.min_lr
        )
        self.history: list[dict] = []
        self.best = {"loss": math.inf, "epoch": None, "state": None, "top1": None}

    def end_epoch(self, epoch: int, metrics: dict[str, list[float]]) -> dict:
        record = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(metrics["loss"])),
            "train_top1": sum(metrics["hits"]) / max(sum(metrics["seen"]), 1),
            "lr": self.optimizer.param_groups[0]["lr"],
        }
        if self.items is not None:
            logits = predict(
                self.model,
                self.store,
                self.items,
                self.recipe,
                batch_size=self.config.batch_size,
                workers=0,
                device=self.device,
            )
            val_loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(self.labels)))
            record.update(val_loss=val_loss, val_top1=topk(logits, self.labels, 1))
            if self.config.schedule == "plateau" and math.isfinite(val_loss):
                self.plateau.step(val_loss)
            if val_loss < self.best["loss"]:
                self.best = {
                    "loss": val_loss,
                    "epoch": epoch + 1,
                    "state": model_state(self.model),
                    "top1": record["val_top1"],
                }
        self.history.append(record)
        return record

    def state(self) -> dict:
        return {
            "history": self.history,
            "plateau": self.plateau.state_dict(),
            "best_loss": self.best["loss"],
            "best_epoch": self.best["epoch"],
            "best_state": self.best["state"],
            "best_top1": self.best["top1"],
        }

    def load_state(self, training: dict) -> None:
        self.history = training["history"]
        self.plateau.load_state_dict(training["plateau"])
        self.best = {
            "loss": training["best_loss"],
            "epoch": training["best_epoch"],
            "state": training["best_state"],
            "top1": training["best_top1"],
        }
