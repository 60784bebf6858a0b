"""Self-supervised pretraining on a frame store: the core of `vidkit pretrain`.

Builds the dataset a method asks for, the backbone and the method, then runs the engine and writes
`vidkit.ckpt/1` checkpoints (periodically and at the end, atomically, to the same path).
`resume=True` continues a run from its checkpoint, with the same result as an uninterrupted run.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from vidkit import checkpoint as ckpt
from vidkit.data.selection import select_videos
from vidkit.engine import dist, schedule, train
from vidkit.engine.device import resolve_device
from vidkit.errors import UsageError, VidkitError
from vidkit.io.frame_store import FrameStore
from vidkit.io.outputs import claim_output
from vidkit.methods import method_class
from vidkit.methods.options import parse_options

log = logging.getLogger("vidkit")


@dataclass
class PretrainConfig:
    """Everything `vidkit pretrain` takes. `steps` wins over `epochs` when both are given."""

    method: str = "tce"
    backbone: str | None = None  # None (here and below): the method's default (its `defaults`)
    epochs: float | None = None
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str | None = None  # None: the method's (step at its milestones, or cosine)
    warmup_steps: int = 0
    grad_clip: float | None = None
    clip_len: int | None = None
    size: int | None = None
    split: str | None = None  # None: train01 when the store has it, else every video
    workers: int = 2
    device: str = "auto"
    seed: int = 0
    checkpoint_every: int = 0
    log_every: int = 10
    amp: bool = True
    sync_bn: bool = False  # SyncBatchNorm across DDP ranks (CUDA only; no effect in one process)
    method_options: dict = field(default_factory=dict)  # NAME -> value (text or typed) of the method's Options
    init: str | None = None  # an earlier stage's checkpoint: its weights and method state, a fresh optimizer

    def resolved(self) -> PretrainConfig:
        """This config with every unset option filled in from the method's defaults.

        Raises:
            UnknownNameError: no such method.
            UsageError: an option the method does not have, or of the wrong type.
        """
        cls = method_class(self.method)
        d = cls.defaults
        parse_options(cls.Options, self.method_options, self.method)  # a wrong name or type fails here, early
        return replace(
            self,
            backbone=self.backbone or d.backbone,
            batch_size=self.batch_size or d.batch_size,
            lr=d.lr if self.lr is None else self.lr,
            epochs=self.epochs or d.epochs,
            schedule=self.schedule or d.schedule,
            size=self.size or d.size,
            clip_len=self.clip_len or d.clip_len,
        )

    def options(self):
        """The method's options dataclass, with what was given set and the rest the paper's."""
        return parse_options(method_class(self.method).Options, self.method_options, self.method)

    def recipe(self) -> ckpt.InputRecipe:
        d = method_class(self.method).defaults
        resize = (round(d.resize[0] * self.size), round(d.resize[1] * self.size)) if d.resize else None
        # The exported backbone is the view-1 (RGB) network; IIC's shared one also takes `--modality res|u|v`.
        return ckpt.InputRecipe(clip_len=self.clip_len, size=self.size, mean=d.mean, std=d.std, resize=resize)


def loss_curve(losses: list[tuple[int, float]], points: int) -> list[tuple[int, float]]:
    """At most `points` of the logged `(step, loss)` pairs, evenly spaced, the first and last included:
    a run's loss curve short enough to print (a million-step run logs 100,000 pairs)."""
    if len(losses) <= points:
        return list(losses)
    picks = sorted({round(i * (len(losses) - 1) / (points - 1)) for i in range(points)})
    return [losses[i] for i in picks]


@dataclass
class PretrainResult:
    checkpoint: Path
    steps: int
    final_loss: float
    seconds: float
    losses: list[tuple[int, float]]  # every log_every steps of this process's run (since a resume)

    def summary(self) -> dict:
        return {
            "checkpoint": str(self.checkpoint),
            "steps": self.steps,
            "final_loss": self.final_loss,
            "seconds": round(self.seconds, 3),
            "loss_curve": [[step, round(loss, 4)] for step, loss in loss_curve(self.losses, 21)],
        }


def pretrain(
    frames: Path,
    out: Path,
    config: PretrainConfig,
    *,
    resume: bool = False,
    force: bool = False,
    tensorboard_dir: Path | None = None,
    progress: train.ProgressFn | None = None,
) -> PretrainResult:
    """Pretrain `config.method` on the frame store `frames`, writing the checkpoint `out`.

    An existing `out` is continued with `resume`, replaced with `force`, and refused otherwise.

    Raises:
        UsageError: `out` is the frame store, or exists (without `resume` or `force`), or a non-finite `--lr`.
        VidkitError: bad store, split, options, or a checkpoint that does not match on `--resume`.
        TrainingDivergedError: NaN or infinite loss or weights (the last finite checkpoint is kept).
    """
    config = config.resolved()
    schedule.check_rates(lr=config.lr, weight_decay=config.weight_decay)

    def verdict(path: Path) -> str | None:
        return None if resume else ckpt.describe(path) + " (--resume continues it)"

    inputs = [frames, tensorboard_dir, Path(config.init) if config.init else None]
    with claim_output(out, inputs=inputs, existing=verdict, force=force):
        if resume and not out.exists():
            log.warning("%s does not exist yet: nothing to resume, starting a new run", out)
        return _pretrain(
            frames, out, config, resume=resume and out.exists(), tensorboard_dir=tensorboard_dir, progress=progress
        )


def _pretrain(
    frames: Path,
    out: Path,
    config: PretrainConfig,
    *,
    resume: bool,
    tensorboard_dir: Path | None,
    progress: train.ProgressFn | None,
) -> PretrainResult:
    from vidkit.methods import create_method
    from vidkit.models import create_backbone

    store = FrameStore(frames)
    split, videos = select_videos(store, config.split)
    recipe = config.recipe()
    defaults, options = method_class(config.method).defaults, config.options()
    steps = config.steps or math.ceil(config.epochs * train.steps_per_epoch(len(videos), config.batch_size))
    if steps <= 0:
        raise VidkitError(f"{len(videos)} videos make no full batch of {config.batch_size}; lower --batch-size")
    train_config = train.TrainConfig(
        steps=steps,
        batch_size=config.batch_size,
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        schedule=config.schedule,
        warmup_steps=config.warmup_steps,
        milestones=defaults.milestones,
        gamma=defaults.gamma,
        grad_clip=config.grad_clip,
        checkpoint_every=config.checkpoint_every,
        log_every=config.log_every,
        workers=config.workers,
        seed=config.seed,
        amp=config.amp,
    )
    device = resolve_device(config.device)
    dist.init(device)
    torch.manual_seed(config.seed)  # identical initial weights on every DDP rank
    backbone = create_backbone(config.backbone)
    method = create_method(config.method, backbone, num_videos=len(videos), options=options)
    if config.sync_bn and dist.is_distributed():
        if device.type != "cuda":
            raise UsageError("--sync-bn needs CUDA devices (PyTorch's SyncBatchNorm does not run on CPU)")
        method = torch.nn.SyncBatchNorm.convert_sync_batchnorm(method)  # in place below the root
    optimizer = train.make_optimizer(method, train_config)
    position = train.Position()
    method.bind(store, videos, recipe, config.seed)
    hooks = method.epoch_hooks()  # monitoring only (IR/LA's kNN accuracy)
    if resume:
        position = _restore(out, method, optimizer, config, train_config, hooks)
    elif config.init:
        _initialise(Path(config.init), method, config)
    if position.step >= steps:
        raise VidkitError(f"{out} has already run {position.step} of {steps} steps; ask for more --steps or --epochs")
    run_config = {
        "pretrain": asdict(config),
        "train": train.config_dict(train_config),
        "frames": str(frames),
        "split": split,
    }

    def save(method_, optimizer_, position_, final: bool) -> None:
        ckpt.save(
            ckpt.Checkpoint(
                backbone_name=config.backbone,
                backbone_kwargs={},
                backbone=method_.backbone.state_dict(),
                input=recipe,
                method=config.method,
                hparams=method_.hparams(),
                method_state=method_.method_state(),
                training={
                    "optimizer": optimizer_.state_dict(),
                    "step": position_.step,
                    "epoch": position_.epoch,
                    "batch": position_.batch,
                    "complete": final,
                    "config": run_config,
                    "monitor": list(getattr(hooks, "history", [])),
                },
            ),
            out,
        )

    dataset = method.build_dataset(store, videos, recipe, options, config.seed)
    try:
        result = train.fit(
            method,
            dataset,
            train_config,
            device=device,
            hooks=hooks,
            save=save,
            optimizer=optimizer,
            position=position,
            tensorboard_dir=tensorboard_dir,
            progress=progress,
        )
    finally:
        dist.shutdown()
    return PretrainResult(out, result.steps, result.final_loss, result.seconds, result.losses)


# Options a resumed run may change: its length, how often it saves and logs, and where it runs.
# `init` too: a resumed run restores everything from its own checkpoint.
_RESUMABLE_CHANGES = frozenset({"epochs", "steps", "checkpoint_every", "log_every", "workers", "device", "init"})


def _changed_options(saved: dict, now: dict) -> list[str]:
    return sorted(k for k in now if k not in _RESUMABLE_CHANGES and k in saved and saved[k] != now[k])


def _restore(
    path: Path, method, optimizer, config: PretrainConfig, train_config: train.TrainConfig, hooks=None
) -> train.Position:
    """Load a run's checkpoint into `method` and `optimizer`; check that it is the same run."""
    saved = ckpt.load(path)
    run = saved.training.get("config", {})
    changed = _changed_options(run.get("pretrain", {}), asdict(config))
    changed += [k for k in _changed_options(run.get("train", {}), train.config_dict(train_config)) if k not in changed]
    changed = [k for k in changed if k != "method_options"]  # the method's own options are compared below
    if changed:
        was = ", ".join(
            f"--{k.replace('_', '-')} {run.get('pretrain', {}).get(k, run.get('train', {}).get(k))}" for k in changed
        )
        raise UsageError(
            f"{path} was trained with {was}; --resume needs the same options (only the run length may change)"
        )
    if (saved.method, saved.backbone_name) != (config.method, config.backbone):
        raise VidkitError(
            f"{path} is a {saved.method}/{saved.backbone_name} run; --resume needs the same --method and --backbone"
        )
    if saved.hparams != method.hparams():
        changed = sorted(k for k in method.hparams() if saved.hparams.get(k) != method.hparams()[k])
        raise UsageError(f"{path} was trained with other {config.method} options ({', '.join(changed)}); cannot resume")
    ckpt.load_strict(
        method,
        {**{f"backbone.{k}": v for k, v in saved.backbone.items()}, **saved.method_state},
        what=f"{config.method} method",
    )
    optimizer.load_state_dict(saved.training["optimizer"])
    if hooks is not None and hasattr(hooks, "history"):
        hooks.history = list(saved.training.get("monitor", []))
    return train.Position(saved.training["step"], saved.training["epoch"], saved.training["batch"])


def _initialise(path: Path, method, config: PretrainConfig) -> None:
    """Start from an earlier stage (`--init`): its backbone and the method state this method shares
    (a memory bank, heads), with a fresh optimizer at step 0, as Video LA chains IR -> LA -> tune.

    Raises:
        VidkitError: another backbone, or method state of other shapes (e.g. a bank of other videos).
    """
    saved = ckpt.load(path)
    if saved.backbone_name != config.backbone:
        raise VidkitError(f"--init {path} holds a {saved.backbone_name} backbone; this run trains {config.backbone}")
    ckpt.load_strict(method.backbone, saved.backbone, what=f"--init {path}'s backbone")
    taken = method.init_from(saved.method_state, saved.hparams)
    log.info("--init %s: backbone and %s from its %s run", path, ", ".join(taken) or "no method state", saved.method)
