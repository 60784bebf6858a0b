"""`vidkit pretrain`: self-supervised pretraining on a frame store."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import DeviceOpt, ForceOpt, JsonOpt, LoaderWorkersOpt, SeedOpt
from vidkit.cli.output import console, progress, report

TCE = "TCE options"
IIC = "IIC / CMC options"
CONTRAST = "Contrast options (TCE, IIC, CMC)"


class Method(str, Enum):
    tce = "tce"
    iic = "iic"
    cmc = "cmc"


class View2(str, Enum):
    res = "res"
    u = "u"
    v = "v"
    rgb = "rgb"


class IntraNegative(str, Enum):
    repeat = "repeat"
    shuffle = "shuffle"
    shuffle_full = "shuffle-full"


class Schedule(str, Enum):
    step = "step"
    cosine = "cosine"
    constant = "constant"


class NceLoss(str, Enum):
    nce = "nce"
    infonce = "infonce"


def pretrain(
    frames: Annotated[Path, typer.Argument(help="Frame store to train on (from extract-frames).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Checkpoint to write (also written every --checkpoint-every steps).")],
    method: Annotated[Method, typer.Option(help="Self-supervised objective.")] = Method.tce,
    backbone: Annotated[Optional[str], typer.Option(help="Backbone name (docs/methods.md lists them; default TCE resnet18, IIC/CMC r3d).")] = None,
    epochs: Annotated[Optional[float], typer.Option(min=0.001, help="Passes over the training videos (default TCE 50, IIC 240).")] = None,
    steps: Annotated[Optional[int], typer.Option(min=1, help="Optimizer steps (overrides --epochs).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(min=1, help="Samples per step, per process under torchrun (default TCE 100, IIC 16).")] = None,
    lr: Annotated[Optional[float], typer.Option(min=0.0, help="Base learning rate, SGD momentum 0.9 (default TCE 0.03, IIC 0.01).")] = None,
    weight_decay: Annotated[float, typer.Option(min=0.0)] = 1e-4,
    schedule: Annotated[Schedule, typer.Option(help="step: the method's milestones (TCE x0.1 at 1/2; IIC x0.2 at 45, 90, 125, 160 of 240 epochs); cosine; constant.")] = Schedule.step,
    warmup_steps: Annotated[int, typer.Option(min=0, help="Linear warm-up steps.")] = 0,
    grad_clip: Annotated[Optional[float], typer.Option(min=0.0, help="Clip the gradient norm to this.")] = None,
    clip_len: Annotated[Optional[int], typer.Option(min=1, help="Frames per sample (default TCE 1, IIC 16).")] = None,
    size: Annotated[Optional[int], typer.Option(min=8, help="Input size in pixels (default TCE 224; IIC 112, cropped from frames resized to 128x171 scaled alike).")] = None,
    split: Annotated[Optional[str], typer.Option(help="Split to train on, or 'all' (default: train01 if present).")] = None,
    workers: LoaderWorkersOpt = 2,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run saved in --output.")] = False,
    force: ForceOpt = False,
    checkpoint_every: Annotated[int, typer.Option(min=0, help="Also save every N steps (0: at the end only).")] = 0,
    tensorboard: Annotated[Optional[Path], typer.Option(help="Write TensorBoard scalars to this folder.")] = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    negatives: Annotated[Optional[int], typer.Option(min=1, help="Negatives per anchor (default TCE 8192, IIC 1024).", rich_help_panel=CONTRAST)] = None,
    temperature: Annotated[float, typer.Option(min=1e-4, rich_help_panel=CONTRAST)] = 0.07,
    bank_momentum: Annotated[float, typer.Option(min=0.0, max=1.0, help="Memory-bank momentum.", rich_help_panel=CONTRAST)] = 0.5,
    loss: Annotated[Optional[NceLoss], typer.Option(help="Binary NCE or InfoNCE (softmax); default TCE nce, IIC infonce.", rich_help_panel=CONTRAST)] = None,
    window: Annotated[int, typer.Option(min=1, help="Positive at most this many frames from the anchor.", rich_help_panel=TCE)] = 1,
    mining: Annotated[bool, typer.Option("--mining/--no-mining", help="Hard-negative mining.", rich_help_panel=TCE)] = True,
    rotation: Annotated[bool, typer.Option("--rotation/--no-rotation", help="Rotation-prediction loss.", rich_help_panel=TCE)] = True,
    view2: Annotated[View2, typer.Option(help="Second view: residual clip, flow u or v (needs extract-frames --flow), or rgb.", rich_help_panel=IIC)] = View2.res,
    neg: Annotated[IntraNegative, typer.Option(help="IIC intra-negative: repeat one frame, swap two of four chunks, or shuffle all frames.", rich_help_panel=IIC)] = IntraNegative.repeat,
    separate_models: Annotated[bool, typer.Option("--separate-models", help="One backbone per view (the checkpoint exports view 1's).", rich_help_panel=IIC)] = False,
    l2_normalize: Annotated[bool, typer.Option("--l2-normalize", help="Score unit-length embeddings, as CMC (IIC scores raw ones; see docs/methods.md).", rich_help_panel=IIC)] = False,
    as_json: JsonOpt = False,
) -> None:
    """Pretrain a backbone on a frame store; --resume continues a run exactly where it stopped.

    Example: `vidkit pretrain --method tce frames.h5 -o tce.pt --backbone resnet18 --size 112 --epochs 10`

    Example: `vidkit pretrain --method iic frames.h5 -o iic.pt --backbone r3d --view2 res --neg repeat`

    Writes a `vidkit.ckpt/1` checkpoint (docs/formats.md) atomically, every `--checkpoint-every`
    steps and at the end. What each method learns, its paper defaults and where vidkit departs from
    the released code: docs/methods.md.

    - **Defaults per method** (the papers'; every option overrides them): TCE resnet18, 50 epochs,
      batch 100, lr 0.03, 224 px frames; IIC/CMC r3d, 240 epochs, batch 16, lr 0.01, 16-frame clips
      cropped to 112 px from frames resized to 128x171.
    - **Training**: SGD with momentum 0.9. `--schedule step` follows the method's milestones: x0.1
      halfway for TCE, x0.2 at epochs 45, 90, 125 and 160 of 240 for IIC (as fractions of the run,
      so shorter runs keep the shape). bf16 autocast on CUDA. `--epochs` counts passes over the
      split's videos (one sample per video per epoch); `--steps` overrides it. The split defaults to
      `train01` when the store has one, otherwise every video.
    - **Resume**: `--resume` continues the run saved in `-o` along the same curve as an uninterrupted
      run: data randomness is a function of (seed, epoch, sample), torch's RNG is re-seeded from the
      step, and the schedule is a function of the step. The checkpoint holds weights, memory bank, NCE
      normaliser, optimizer state and the epoch/batch position. A resumed run must use the same method
      options, and may ask for more `--steps`.
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
    - **Logs**: a progress bar, the last losses on stderr, and TensorBoard scalars (loss, lr,
      samples/s) with `--tensorboard DIR`.

    JSON: `{"checkpoint", "steps", "final_loss", "seconds"}`. Core: `vidkit.pretraining.pretrain`.
    """
    from vidkit import pretraining

    options = dict(temperature=temperature, bank_momentum=bank_momentum)
    if negatives is not None:
        options["negatives"] = negatives
    if loss is not None:
        options["loss"] = loss.value
    if method is Method.tce:
        options.update(window=window, mining=mining, rotation=rotation)
    else:
        options.update(view2=view2.value, separate_models=separate_models, normalize=l2_normalize)
        if method is Method.iic:
            options["intra_negatives"] = neg.value
    config = pretraining.PretrainConfig(
        method=method.value, backbone=backbone, epochs=epochs, steps=steps, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, schedule=schedule.value, warmup_steps=warmup_steps, grad_clip=grad_clip,
        clip_len=clip_len, size=size, split=split, workers=workers, device=device, seed=seed,
        checkpoint_every=checkpoint_every, method_options=options,
    )
    with progress("pretraining") as update:
        result = pretraining.pretrain(frames, output, config, resume=resume, force=force, tensorboard_dir=tensorboard,
                                      progress=lambda step, total, loss_, rate: update(step, total, f"loss {loss_:.4f}  {rate:.1f} samples/s"))
    if result.losses:
        console().print("loss: " + "  ".join(f"{s}:{v:.3f}" for s, v in result.losses[-5:]))
    text = f"{output}: {result.steps} steps, final loss {result.final_loss:.4f}, {result.seconds:.1f} s"
    report(result.summary(), as_json=as_json, text=text)
