"""The training loop every method shares: SGD steps, schedules, bf16 autocast, DDP, checkpoints, resume.

Exact resume by construction rather than by saving every RNG:
- data randomness is a function of `(seed, epoch, index)` (see `data.datasets`);
- the torch RNG is re-seeded from `(seed, step)` before every step (negative sampling, dropout);
- the learning rate is a function of the step (`engine.schedule`).
So a checkpoint needs only weights, buffers, optimizer state and the position `(step, epoch, batch)`,
and a resumed run follows the curve of an uninterrupted one (a test checks it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from vidkit.engine import dist
from vidkit.engine.device import autocast
from vidkit.engine.schedule import lr_factor
from vidkit.errors import NonFiniteError, TrainingDivergedError, VidkitError
from vidkit.methods.base import SSLMethod


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. SGD with momentum, as all four reference methods use."""

    steps: int
    batch_size: int
    lr: float = 0.03
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    milestones: tuple[float, ...] = (0.5,)
    gamma: float = 0.1
    warmup_steps: int = 0
    grad_clip: float | None = None
    checkpoint_every: int = 0  # steps; 0 = at the end only
    log_every: int = 10
    workers: int = 2
    seed: int = 0
    amp: bool = True


@dataclass
class Position:
    """Where a run is: optimizer steps done, and (derived from it, for the record) epoch and batch."""

    step: int = 0
    epoch: int = 0
    batch: int = 0


@dataclass
class TrainResult:
    steps: int
    final_loss: float
    seconds: float
    losses: list[tuple[int, float]]  # (step, loss) every log_every steps


SaveFn = Callable[[SSLMethod, torch.optim.Optimizer, Position, bool], None]
ProgressFn = Callable[[int, int, float, float], None]  # step, total, loss, samples/s


def make_optimizer(method: SSLMethod, config: TrainConfig) -> torch.optim.SGD:
    return torch.optim.SGD(method.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def _loader(dataset: Dataset, config: TrainConfig, start_step: int, device: torch.device) -> DataLoader:
    """One loader for the whole run, starting at `start_step` (the sampler never ends; `fit` stops)."""
    from vidkit.data.datasets import RunSampler, worker_init

    sampler = RunSampler(len(dataset), seed=config.seed, batch_size=config.batch_size, start_step=start_step,
                         rank=dist.rank(), world=dist.world_size())
    return DataLoader(
        dataset, batch_size=config.batch_size, sampler=sampler, drop_last=True, num_workers=config.workers,
        pin_memory=device.type == "cuda", worker_init_fn=worker_init, prefetch_factor=4 if config.workers else None,
    )


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    """Full batches one rank gets from an epoch (DDP splits the samples between ranks)."""
    return num_samples // dist.world_size() // batch_size


def fit(
    method: SSLMethod,
    dataset: Dataset,
    config: TrainConfig,
    *,
    device: torch.device,
    save: SaveFn,
    optimizer: torch.optim.Optimizer | None = None,
    position: Position | None = None,
    tensorboard_dir=None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train `method` on `dataset` for `config.steps` optimizer steps (continuing from `position`).

    `save(method, optimizer, position, final)` is called on rank 0 every `checkpoint_every` steps
    and at the end; it is never called after a non-finite loss, and refuses non-finite weights and
    buffers (`checkpoint.save`), so the checkpoint on disk is always the last finite one.

    Raises:
        TrainingDivergedError: the loss, the weights or the buffers became NaN or infinite.
        VidkitError: the dataset holds less than one batch per rank.
    """
    per_epoch = steps_per_epoch(len(dataset), config.batch_size)
    if per_epoch == 0:
        raise VidkitError(
            f"{len(dataset)} samples make no full batch of {config.batch_size} per process; lower --batch-size"
        )
    method.to(device)
    optimizer = optimizer or make_optimizer(method, config)
    position = position or Position()
    model = DistributedDataParallel(method, broadcast_buffers=False) if dist.is_distributed() else method
    writer = _tensorboard(tensorboard_dir)
    losses: list[tuple[int, float]] = []
    loss_value, started, samples = math.nan, time.perf_counter(), 0
    method.train()
    saved_at = position.step or None  # the step of the checkpoint on disk (a resumed run's, at first)
    try:
        for batch in _loader(dataset, config, position.step, device):
            if position.step >= config.steps:
                break
            loss_value = _step(model, method, optimizer, _to_device(batch, device), config, position.step, device)
            if not math.isfinite(loss_value):
                raise TrainingDivergedError(f"the loss became {loss_value} at step {position.step + 1}; {_kept(saved_at)}")
            position.step += 1
            position.epoch, position.batch = divmod(position.step, per_epoch)
            samples += config.batch_size * dist.world_size()
            rate = samples / (time.perf_counter() - started)
            if position.step % config.log_every == 0 or position.step == config.steps:
                losses.append((position.step, loss_value))
                if writer:
                    writer.add_scalar("train/loss", loss_value, position.step)
                    writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], position.step)
                    writer.add_scalar("train/samples_per_s", rate, position.step)
            if progress:
                progress(position.step, config.steps, loss_value, rate)
            periodic = config.checkpoint_every and position.step % config.checkpoint_every == 0 and position.step < config.steps
            if (periodic or position.step == config.steps) and dist.is_main():
                saved_at = _save_finite(save, method, optimizer, position, position.step == config.steps, saved_at)
    finally:
        if writer:
            writer.close()
    return TrainResult(position.step, loss_value, time.perf_counter() - started, losses)


def _kept(saved_at: int | None) -> str:
    return f"the checkpoint of step {saved_at} is kept" if saved_at else "no checkpoint was written"


def _save_finite(save: SaveFn, method, optimizer, position: Position, final: bool, saved_at: int | None) -> int:
    """Save, or stop the run when the model itself went non-finite (a loss can stay finite for a
    step after the weights or BatchNorm buffers overflow); returns the step now on disk."""
    try:
        save(method, optimizer, position, final)
    except NonFiniteError as exc:
        raise TrainingDivergedError(
            f"the model became non-finite by step {position.step} ({str(exc).split(': ', 1)[-1]}); {_kept(saved_at)}"
        ) from None
    return position.step


def _step(model, method: SSLMethod, optimizer, batch, config: TrainConfig, step: int, device) -> float:
    """One optimizer step; returns the loss (a non-finite loss returns before any update)."""
    for group in optimizer.param_groups:
        group["lr"] = config.lr * lr_factor(
            step, config.steps, schedule=config.schedule, warmup=config.warmup_steps, milestones=config.milestones,
            gamma=config.gamma
        )
    torch.manual_seed(config.seed * 1_000_003 + step)  # in-step randomness is a function of the step
    with autocast(device, config.amp):
        output = model(batch)
    loss = output.loss.float()
    value = loss.item()
    if not math.isfinite(value):
        return value
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip:
        torch.nn.utils.clip_grad_norm_(method.parameters(), config.grad_clip)
    optimizer.step()
    method.on_step_end((step + 1) / config.steps)
    dist.average_batch_norm_stats_(method)
    return value


def _tensorboard(directory):
    if directory is None or not dist.is_main():
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(directory))


def config_dict(config: TrainConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
