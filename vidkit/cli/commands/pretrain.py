"""`vidkit pretrain`: self-supervised pretraining on a frame store."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import DeviceOpt, ForceOpt, JsonOpt, LoaderWorkersOpt, SeedOpt
from vidkit.cli.output import console, is_rank_zero, progress, report
from vidkit.methods import method_names

# The registry is the only list of method names (torch-free, so `--help` stays instant).
Method = Enum("Method", {name: name for name in method_names()}, type=str)
LEGACY = "Old spellings of -O options (hidden; kept for one release)"


class Schedule(str, Enum):
    step = "step"
    cosine = "cosine"
    constant = "constant"


def _pairs(texts: list[str]) -> dict[str, str]:
    pairs = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"-O takes NAME=VALUE, not {text!r}")
        pairs[name.strip()] = value.strip()
    return pairs


def _hidden(help_: str = ""):
    return typer.Option(hidden=True, help=help_)


def pretrain(
    frames: Annotated[Path, typer.Argument(help="Frame store to train on (from extract-frames).")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Checkpoint to write (also written every --checkpoint-every steps).")
    ],
    method: Annotated[Method, typer.Option(help="Self-supervised objective (docs/methods.md).")] = "tce",
    backbone: Annotated[
        Optional[str], typer.Option(help="Backbone name (default: the method's; docs/methods.md lists them).")
    ] = None,
    epochs: Annotated[
        Optional[float], typer.Option(min=0.001, help="Passes over the training videos (default: the method's).")
    ] = None,
    steps: Annotated[Optional[int], typer.Option(min=1, help="Optimizer steps (overrides --epochs).")] = None,
    batch_size: Annotated[
        Optional[int], typer.Option(min=1, help="Samples per step, per process under torchrun (default: the method's).")
    ] = None,
    lr: Annotated[
        Optional[float], typer.Option(help="Base learning rate, SGD momentum 0.9 (default: the method's).")
    ] = None,
    weight_decay: Annotated[float, typer.Option()] = 1e-4,
    schedule: Annotated[
        Optional[Schedule],
        typer.Option(help="step: the method's milestones; cosine; constant (default: the method's)."),
    ] = None,
    warmup_steps: Annotated[int, typer.Option(min=0, help="Linear warm-up steps.")] = 0,
    grad_clip: Annotated[Optional[float], typer.Option(min=0.0, help="Clip the gradient norm to this.")] = None,
    clip_len: Annotated[Optional[int], typer.Option(min=1, help="Frames per sample (default: the method's).")] = None,
    size: Annotated[Optional[int], typer.Option(min=8, help="Input size in pixels (default: the method's).")] = None,
    split: Annotated[
        Optional[str], typer.Option(help="Split to train on, or 'all' (default: train01 if present).")
    ] = None,
    workers: LoaderWorkersOpt = 2,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run saved in --output.")] = False,
    init: Annotated[
        Optional[Path],
        typer.Option(
            "--init",
            help="Start from an earlier stage's checkpoint: its backbone and method state (memory bank, heads), "
            "a fresh optimizer (IR -> LA -> tune).",
        ),
    ] = None,
    clusters: Annotated[
        Optional[Path],
        typer.Option(help="Clusters store from cluster-idt for --method la (the same as -O clusters=PATH)."),
    ] = None,
    force: ForceOpt = False,
    checkpoint_every: Annotated[int, typer.Option(min=0, help="Also save every N steps (0: at the end only).")] = 0,
    tensorboard: Annotated[Optional[Path], typer.Option(help="Write TensorBoard scalars to this folder.")] = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    option: Annotated[
        Optional[list[str]],
        typer.Option(
            "--option",
            "-O",
            help="A method option as NAME=VALUE (repeatable); docs/methods.md lists each method's, with its paper default.",
        ),
    ] = None,
    negatives: Annotated[Optional[int], _hidden()] = None,
    temperature: Annotated[Optional[float], _hidden()] = None,
    bank_momentum: Annotated[Optional[float], _hidden()] = None,
    loss: Annotated[Optional[str], _hidden()] = None,
    window: Annotated[Optional[int], _hidden()] = None,
    mining: Annotated[Optional[bool], typer.Option("--mining/--no-mining", hidden=True)] = None,
    rotation: Annotated[Optional[bool], typer.Option("--rotation/--no-rotation", hidden=True)] = None,
    view2: Annotated[Optional[str], _hidden()] = None,
    neg: Annotated[Optional[str], _hidden()] = None,
    separate_models: Annotated[Optional[bool], typer.Option("--separate-models", hidden=True)] = None,
    l2_normalize: Annotated[Optional[bool], typer.Option("--l2-normalize", hidden=True)] = None,
    sync_bn: Annotated[
        bool,
        typer.Option("--sync-bn", help="Under torchrun on CUDA: BatchNorm statistics over all processes' batches."),
    ] = False,
    no_amp: Annotated[
        bool, typer.Option("--no-amp", help="Train in fp32 on CUDA too (bf16 autocast is the default there).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Pretrain a backbone on a frame store; --resume continues a run exactly where it stopped.

    Example: `vidkit pretrain --method tce frames.h5 -o tce.pt --backbone resnet18 --size 112 --epochs 10`

    Example: `vidkit pretrain --method iic frames.h5 -o iic.pt --backbone r3d -O view2=res -O intra_negatives=repeat`

    Example: `vidkit pretrain --method la frames.h5 -o la.pt --init ir.pt --clusters clusters.h5`

    Writes a `vidkit.ckpt/1` checkpoint (docs/formats.md) atomically, every `--checkpoint-every`
    steps and at the end. What each method learns, its paper defaults and where vidkit departs from
    the released code: docs/methods.md.

    - **Defaults per method**: each method declares its paper's backbone, size, clip length, epochs,
      batch, lr, schedule and normalisation; every option above overrides them. Its own
      hyper-parameters are set with `-O NAME=VALUE` (say `-O temperature=0.2 -O mining=false`); an
      option left unset keeps that method's default, and a name or value the method does not take
      is a usage error. The table of each method's defaults and options is in docs/methods.md.
    - **Training**: SGD with momentum 0.9. `--schedule step` follows the method's milestones (as
      fractions of the run, so shorter runs keep the shape). bf16 autocast on CUDA (`--no-amp` for
      fp32); contrastive scores and losses are always computed in fp32. `--epochs` counts passes over the
      split's videos (one sample per video per epoch); `--steps` overrides it. The split defaults to
      `train01` when the store has one, otherwise every video.
    - **Resume**: `--resume` continues the run saved in `-o` along the same curve as an uninterrupted
      run: data randomness is a function of (seed, epoch, sample), torch's RNG is re-seeded from the
      step, and the schedule is a function of the step. The checkpoint holds weights, memory bank, NCE
      normaliser, optimizer state and the epoch/batch position. A resumed run must use the same method
      options, and may ask for more `--steps`.
    - **Stages**: `--init CKPT` starts from an earlier run's backbone and the method state both
      methods have (Video LA: IR's memory bank into LA, LA's into the tune stage), with a fresh
      optimizer and schedule; a bank of other videos is refused. `--clusters` is `-O clusters=`.
    - **Divergence**: a NaN or infinite loss, weight or BatchNorm buffer stops the run with one error
      line; a checkpoint is only ever written when every tensor in it is finite, so the one on disk
      (if any: the message says) is the last good one.
    - **Existing output**: `-o` may not be the frame store; an existing checkpoint is continued with
      `--resume` (which refuses changed options other than the run length) or replaced with `--force`,
      and refused otherwise. A second run on the same `-o` stops with an error naming the first's PID.
    - **Scale-out**: `torchrun --nproc_per_node N -m vidkit pretrain ...` runs DDP (gloo on CPU, NCCL
      on GPU). Each process takes its share of every epoch, memory-bank updates are gathered from all
      ranks, BatchNorm running statistics are averaged after each step, and only rank 0 writes.
      `--batch-size` is per process.
    - **Logs**: a progress bar, the loss curve (11 logged points) on stderr, and TensorBoard scalars (loss, lr,
      samples/s) with `--tensorboard DIR`.

    JSON: `{"checkpoint", "steps", "final_loss", "seconds", "loss_curve": [[step, loss], ...]}` (at most 21
    logged points, evenly spaced). Core: `vidkit.pretrain.pretrain`.
    """
    from vidkit import pretrain as core

    legacy = dict(
        negatives=negatives,
        temperature=temperature,
        bank_momentum=bank_momentum,
        loss=loss,
        window=window,
        mining=mining,
        rotation=rotation,
        view2=view2,
        intra_negatives=neg,
        separate_models=separate_models,
        normalize=l2_normalize,
    )
    options = {name: value for name, value in legacy.items() if value is not None}
    if clusters is not None:
        options["clusters"] = str(clusters)
    options.update(_pairs(option or []))
    config = core.PretrainConfig(
        method=Method(method).value,
        backbone=backbone,
        epochs=epochs,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        schedule=schedule.value if schedule else None,
        warmup_steps=warmup_steps,
        grad_clip=grad_clip,
        clip_len=clip_len,
        size=size,
        split=split,
        workers=workers,
        device=device,
        seed=seed,
        checkpoint_every=checkpoint_every,
        amp=not no_amp,
        sync_bn=sync_bn,
        method_options=options,
        init=str(init) if init else None,
    )
    with progress("pretraining") as update:
        result = core.pretrain(
            frames,
            output,
            config,
            resume=resume,
            force=force,
            tensorboard_dir=tensorboard,
            progress=lambda step, total, loss_, rate: update(step, total, f"loss {loss_:.4f}  {rate:.1f} samples/s"),
        )
    if result.losses and is_rank_zero():  # the loss curve at 11 points, first and last logged steps included
        console().print("loss: " + "  ".join(f"{s}:{v:.3f}" for s, v in core.loss_curve(result.losses, 11)))
    text = f"{output}: {result.steps} steps, final loss {result.final_loss:.4f}, {result.seconds:.1f} s"
    report(result.summary(), as_json=as_json, text=text)
