"""The one training loop: SGD steps, schedules, bf16 autocast, DDP, epoch hooks, checkpoints, resume.

Pretraining, fine-tuning and the end tasks all run here. What is trained is any module that keeps
one small protocol (`Trainable`): `forward(batch) -> (loss, metrics)` with the batch its dataset
yields, and `on_step_end(progress)` after each optimizer step (optionally `on_epoch_start(epoch)`
before an epoch's first step, and `no_weight_decay()`). What varies between them is given
as hooks (`EpochHooks`): validation and keep-best at the end of an epoch, and a plateau schedule
that cuts the rate when the validation loss stalls.

Exact resume by construction rather than by saving every RNG:
- data randomness is a function of `(seed, epoch, index)` (see `data.datasets`);
- the torch RNG is re-seeded from `(seed, step)` before every step (negative sampling, dropout);
- the learning rate is a function of the step (`engine.schedule`), or the plateau hook's state.
So a checkpoint needs only weights, buffers, optimizer and hook state and the step, and a resumed
run follows the curve of an uninterrupted one (tests check both pretraining and fine-tuning).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import NamedTuple, Protocol

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from vidkit.engine import dist
from vidkit.engine.device import autocast
from vidkit.engine.schedule import lr_factor
from vidkit.errors import NonFiniteError, TrainingDivergedError, VidkitError


class StepOutput(NamedTuple):
    loss: torch.Tensor  # scalar, what the engine backpropagates
    metrics: dict[str, torch.Tensor]  # scalars to log (detached)


class Trainable(Protocol):
    """What the engine trains: an `nn.Module` whose `forward(batch)` returns `(loss, metrics)`."""

    def __call__(self, batch: dict[str, torch.Tensor]) -> StepOutput: ...

    def on_step_end(self, progress: float) -> None: ...


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. SGD with momentum, as all four reference methods use."""

    steps: int
    batch_size: int
    lr: float = 0.03
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # or "plateau": the rate changes only when `EpochHooks.plateau` says so
    milestones: tuple[float, ...] = (0.5,)
    gamma: float = 0.1
    warmup_steps: int = 0
    grad_clip: float | None = None
    checkpoint_every: int = 0  # steps; 0 = at the end only
    log_every: int = 10
    workers: int = 2
    seed: int = 0
    amp: bool = True
    drop_last: bool = True  # pretraining: whole batches; supervised epochs keep their last, partial batch


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


class EpochHooks(Protocol):
    """What a supervised run adds at the end of each epoch: validation, keep-best, a plateau schedule.

    `end_epoch(epoch, metrics)` gets the 0-based epoch and its per-step metric values, does what
    the run needs (score a validation set, keep the best weights, step a plateau scheduler, which
    changes the optimizer's rate itself: use `schedule="plateau"` so that the engine leaves the
    rate alone) and returns the epoch's record. A non-finite number in the record stops the run.
    The hooks' own state goes into checkpoints through the `save` function.
    """

    def end_epoch(self, epoch: int, metrics: dict[str, list[float]]) -> dict: ...


SaveFn = Callable[[nn.Module, torch.optim.Optimizer, Position, bool], None]
ProgressFn = Callable[[int, int, float, float], None]  # step, total, loss, samples/s


def epoch_progress(progress: Callable[[int, int, str], None] | None, per_epoch: int, epochs: int) -> ProgressFn:
    """`fit`'s progress callback for a run counted in epochs (fine-tuning and the end tasks): it hands
    `progress(step, total, "epoch E loss L")` on, or does nothing without one."""

    def report(step: int, total: int, loss: float, rate: float) -> None:
        if progress:
            progress(step, total, f"epoch {min(step // per_epoch + 1, epochs)} loss {loss:.3f}")

    return report


def make_optimizer(module: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD over the parameters that train (a frozen backbone's are left out); those named by the
    module's optional `no_weight_decay()` (timm's convention) go in a second group without decay."""
    exempt = module.no_weight_decay() if hasattr(module, "no_weight_decay") else set()
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    groups = [{"params": [p for n, p in named if n not in exempt]}]
    if any(n in exempt for n, _ in named):
        groups.append({"params": [p for n, p in named if n in exempt], "weight_decay": 0.0})
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def steps_per_epoch(num_samples: int, batch_size: int, drop_last: bool = True) -> int:
    """Batches one rank gets from an epoch (DDP splits the samples between ranks)."""
    share = num_samples // dist.world_size()
    return share // batch_size if drop_last else -(-share // batch_size)


def epochs_config(config, per_epoch: int, *, workers: int, drop_last: bool = True) -> TrainConfig:
    """The settings of an end task trained in whole epochs (the LSTM probe, SiamFC's adapters).

    `config` is the task's own: anything with `epochs`, `batch_size`, `lr`, `weight_decay`,
    `milestones` (fractions of the run), `seed` and `amp`. The run is `config.epochs` epochs of
    `per_epoch` steps with the rate cut at the milestones and one log line an epoch; both tasks
    follow VINCE's recipe (vince.md 6.3), so they get it from here rather than each writing it out.
    """
    return TrainConfig(
        steps=per_epoch * config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        schedule="step",
        milestones=config.milestones,
        log_every=per_epoch,
        workers=workers,
        seed=config.seed,
        amp=config.amp,
        drop_last=drop_last,
    )


def _loader(dataset: Dataset, config: TrainConfig, start_step: int, device: torch.device) -> DataLoader:
    """One loader for the whole run, starting at `start_step` (the sampler never ends; `fit` stops)."""
    from vidkit.data.datasets import RunBatchSampler, worker_init

    sampler = RunBatchSampler(
        len(dataset),
        seed=config.seed,
        batch_size=config.batch_size,
        start_step=start_step,
        rank=dist.rank(),
        world=dist.world_size(),
        drop_last=config.drop_last,
    )
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=config.workers,
        pin_memory=device.type == "cuda",
        worker_init_fn=worker_init,
        prefetch_factor=4 if config.workers else None,
    )


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def fit(
    module: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    *,
    device: torch.device,
    save: SaveFn,
    optimizer: torch.optim.Optimizer | None = None,
    position: Position | None = None,
    hooks: EpochHooks | None = None,
    tensorboard_dir=None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train `module` on `dataset` for `config.steps` optimizer steps (continuing from `position`).

    At the end of every epoch `hooks` validate, keep the best model and may cut the rate (then the
    module is back in train mode). `save(module, optimizer, position, final)` is called on rank 0 every
    `checkpoint_every` steps (after the epoch hooks when both fall on one step) and at the end; it
    is never called after a non-finite loss, and refuses non-finite weights and buffers
    (`checkpoint.save`), so the checkpoint on disk is always the last finite one.

    Raises:
        TrainingDivergedError: the loss, the weights or the buffers became NaN or infinite.
        VidkitError: the dataset holds less than one batch per rank.
    """
    per_epoch = steps_per_epoch(len(dataset), config.batch_size, config.drop_last)
    if per_epoch == 0:
        raise VidkitError(
            f"{len(dataset)} samples make no full batch of {config.batch_size} per process; lower --batch-size"
        )
    module.to(device)
    optimizer = optimizer or make_optimizer(module, config)
    position = position or Position()
    model = DistributedDataParallel(module, broadcast_buffers=False) if dist.is_distributed() else module
    writer = _tensorboard(tensorboard_dir)
    losses: list[tuple[int, float]] = []
    epoch_metrics: dict[str, list[float]] = defaultdict(list)
    loss_value, started, samples = math.nan, time.perf_counter(), 0
    module.train()
    saved_at = position.step or None  # the step of the checkpoint on disk (a resumed run's, at first)
    try:
        for batch in _loader(dataset, config, position.step, device):
            if position.step >= config.steps:
                break
            if position.step % per_epoch == 0 and hasattr(module, "on_epoch_start"):
                module.on_epoch_start(position.step // per_epoch)  # e.g. LA's k-means refresh
            loss_value, metrics = _step(
                model, module, optimizer, _to_device(batch, device), config, position.step, device
            )
            if not math.isfinite(loss_value):
                raise TrainingDivergedError(
                    f"the loss became {loss_value} at step {position.step + 1}; {_kept(saved_at)}"
                )
            position.step += 1
            position.epoch, position.batch = divmod(position.step, per_epoch)
            samples += len(next(iter(batch.values()))) * dist.world_size()
            rate = samples / (time.perf_counter() - started)
            if hooks is not None:  # only epoch hooks read them; float() of a CUDA scalar waits for the GPU
                epoch_metrics["loss"].append(loss_value)
                for name, value in metrics.items():
                    epoch_metrics[name].append(float(value))
            if position.step % config.log_every == 0 or position.step == config.steps:
                losses.append((position.step, loss_value))
                if writer:
                    writer.add_scalar("train/loss", loss_value, position.step)
                    writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], position.step)
                    writer.add_scalar("train/samples_per_s", rate, position.step)
            if hooks is not None and position.batch == 0:
                _end_epoch(hooks, module, position.epoch, epoch_metrics, writer)
                epoch_metrics = defaultdict(list)
            if progress:
                progress(position.step, config.steps, loss_value, rate)
            periodic = (
                config.checkpoint_every
                and position.step % config.checkpoint_every == 0
                and position.step < config.steps
            )
            if (periodic or position.step == config.steps) and dist.is_main():
                saved_at = _save_finite(save, module, optimizer, position, position.step == config.steps, saved_at)
    finally:
        if writer:
            writer.close()
    return TrainResult(position.step, loss_value, time.perf_counter() - started, losses)


def _end_epoch(hooks: EpochHooks, module: nn.Module, epochs_done: int, metrics, writer) -> None:
    """The hooks after an epoch; a non-finite validation number stops the run; the module trains again."""
    record = hooks.end_epoch(epochs_done - 1, dict(metrics))
    for name, value in record.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise TrainingDivergedError(f"the {name.replace('_', ' ')} became {value} in epoch {epochs_done}")
        if writer and isinstance(value, (int, float)):
            writer.add_scalar(f"epoch/{name}", value, epochs_done)
    module.train()


def _kept(saved_at: int | None) -> str:
    return f"the checkpoint of step {saved_at} is kept" if saved_at else "no checkpoint was written"


def _save_finite(save: SaveFn, module, optimizer, position: Position, final: bool, saved_at: int | None) -> int:
    """Save, or stop the run when the model itself went non-finite (a loss can stay finite for a
    step after the weights or BatchNorm buffers overflow); returns the step now on disk."""
    try:
        save(module, optimizer, position, final)
    except NonFiniteError as exc:
        raise TrainingDivergedError(
            f"the model became non-finite by step {position.step} ({str(exc).split(': ', 1)[-1]}); {_kept(saved_at)}"
        ) from None
    return position.step


def _step(model, module, optimizer, batch, config: TrainConfig, step: int, device) -> tuple[float, dict]:
    """One optimizer step; returns the loss and metrics (a non-finite loss returns before any update)."""
    if config.schedule != "plateau":
        for group in optimizer.param_groups:
            group["lr"] = config.lr * lr_factor(
                step,
                config.steps,
                schedule=config.schedule,
                warmup=config.warmup_steps,
                milestones=config.milestones,
                gamma=config.gamma,
            )
    torch.manual_seed(config.seed * 1_000_003 + step)  # in-step randomness is a function of the step
    with autocast(device, config.amp):
        output = model(batch)
    loss = output.loss.float()
    value = loss.item()
    if not math.isfinite(value):
        return value, {}
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip:
        torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
    optimizer.step()
    module.on_step_end((step + 1) / config.steps)
    dist.average_batch_norm_stats_(module)
    return value, output.metrics


def _tensorboard(directory):
    if directory is None or not dist.is_main():
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(directory))


def config_dict(config: TrainConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
