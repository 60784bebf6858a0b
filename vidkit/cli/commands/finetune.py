"""`vidkit finetune`: action recognition by fine-tuning, or a linear probe, with the papers' test protocols."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import DeviceOpt, ForceOpt, JsonOpt, LoaderWorkersOpt, SeedOpt
from vidkit.cli.output import progress, report
from vidkit.data import modalities
from vidkit.tasks.probes import probe_names

# Every modality (one definition, `data.modalities`: `res` means the same here as in embed), plus
# TCE's stack of differences, an arrangement that only fine-tuning has.
Modality = Enum("Modality", {name: name for name in [*modalities.MODALITIES, modalities.DIFF_STACK]}, type=str)


class Task(str, Enum):
    clips = "clips"
    frames = "frames"


# The end-task probes, from their registry (torch-free), so a new probe needs no edit here.
Probe = Enum("Probe", {name: name for name in probe_names()}, type=str)


class Head(str, Enum):
    linear = "linear"
    mlp = "mlp"
    norm_linear = "norm-linear"


class Schedule(str, Enum):
    cosine = "cosine"
    step = "step"
    plateau = "plateau"


def finetune(
    ctx: typer.Context,
    inputs: Annotated[
        list[Path], typer.Argument(help="[CHECKPOINT.pt] FRAMES.h5: without a checkpoint, give --backbone.")
    ],
    output: Annotated[
        Optional[Path],
        typer.Option("-o", "--output", help="Fine-tuned checkpoint to write (the confusion matrix goes beside it)."),
    ] = None,
    backbone: Annotated[
        Optional[str], typer.Option(help="Random-init backbone instead of a checkpoint (the baseline).")
    ] = None,
    modality: Annotated[
        Modality,
        typer.Option(
            help="rgb, res, res-raw (IIC's fine-tuning input), diff, u, v as in embed; diff-stack: frame differences as channels of a 2D net (TCE)."
        ),
    ] = Modality.rgb,
    input_: Annotated[
        Optional[Modality], typer.Option("--input", hidden=True, help="Old spelling of --modality.")
    ] = None,
    task: Annotated[
        Task, typer.Option(help="clips, or frames: one frame per sample (image end tasks on one-frame videos).")
    ] = Task.clips,
    linear: Annotated[bool, typer.Option("--linear", help="Linear probe: the backbone frozen in eval mode.")] = False,
    probe: Annotated[
        Optional[Probe],
        typer.Option(help="VINCE's end tasks on a frozen backbone, with the seed's settings as defaults (see below)."),
    ] = None,
    head: Annotated[
        Head,
        typer.Option(
            help="linear; mlp: VINCE's second probe head (Linear, ReLU, Linear); norm-linear: BatchNorm without "
            "affine, then linear (MAE's probe: the frozen features standardised on the train set)."
        ),
    ] = Head.linear,
    sun397_splits: Annotated[
        Optional[Path],
        typer.Option(help="--probe sun397: folder of SUN397's Training_NN.txt / Testing_NN.txt (and ClassName.txt)."),
    ] = None,
    fold: Annotated[int, typer.Option(min=1, max=10, help="--sun397-splits: which of the ten folds.")] = 1,
    features: Annotated[
        Optional[Path],
        typer.Option(
            help="--probe kinetics-lstm: per-frame feature cache (default OUT.features.h5), reused when it fits."
        ),
    ] = None,
    freeze_until: Annotated[
        int, typer.Option(min=0, max=5, help="Freeze the stem and ResNet stages below this one (LA's ft_begin_index).")
    ] = 0,
    train_split: Annotated[
        str, typer.Option(help="Split to train on (a validation part is carved from it).")
    ] = "train01",
    test_split: Annotated[str, typer.Option(help="Split to test on.")] = "test01",
    epochs: Annotated[int, typer.Option(min=1)] = 30,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    lr: Annotated[float, typer.Option(help="SGD learning rate (momentum 0.9).")] = 0.01,
    weight_decay: Annotated[float, typer.Option()] = 5e-4,
    schedule: Annotated[
        Schedule,
        typer.Option(help="cosine; step: x0.1 at 1/2 and 3/4; plateau: x0.1 when the validation loss stalls (IIC)."),
    ] = Schedule.cosine,
    patience: Annotated[
        int, typer.Option(min=1, help="plateau: epochs without a better validation loss before x0.1 (IIC: 50).")
    ] = 50,
    min_lr: Annotated[float, typer.Option(help="plateau: the lowest learning rate (IIC: 1e-5).")] = 1e-5,
    dropout: Annotated[float, typer.Option(min=0.0, max=0.99, help="Dropout before the linear layer.")] = 0.0,
    flip: Annotated[
        bool,
        typer.Option(
            "--flip/--no-flip", help="Random horizontal flips in training (wrong for direction-sensitive classes)."
        ),
    ] = False,
    val_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Part of the train split held out to pick the best epoch.")
    ] = 0.1,
    clip_len: Annotated[
        Optional[int],
        typer.Option(
            min=1, help="Frames per clip (differences for diff-stack; default: the checkpoint's, diff-stack 5)."
        ),
    ] = None,
    stride: Annotated[Optional[int], typer.Option(min=1, help="Frame stride in a clip.")] = None,
    size: Annotated[Optional[int], typer.Option(min=8, help="Crop size (default: the checkpoint's).")] = None,
    test_clips: Annotated[
        int, typer.Option(min=1, help="Evenly spaced centre clips per test video; logits averaged.")
    ] = 10,
    test_only: Annotated[bool, typer.Option("--test-only", help="Only test a checkpoint written by finetune.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the unfinished run saved in --output.")] = False,
    force: ForceOpt = False,
    no_amp: Annotated[
        bool, typer.Option("--no-amp", help="Train in fp32 on CUDA too (bf16 autocast is the default there).")
    ] = False,
    workers: LoaderWorkersOpt = 2,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune a backbone for classification on a labelled split and test it on another.

    Example: `vidkit finetune iic.pt frames.h5 -o iic_ft.pt --modality res-raw --epochs 30`

    Example: `vidkit finetune frames.h5 --backbone r3d -o random_ft.pt --modality res-raw` (the random-init baseline)

    Trains a classifier (backbone, dropout, one linear layer) on the train split and tests it on the
    test split. Clip length, size and mean/std default to the checkpoint's recipe.

    - **Modalities** (`--modality`; `--input` is its old spelling): each means what it means for `embed`:
      `rgb` clips; `res-raw`, residual clips in [-1, 1] (IIC's fine-tuning); `res`, the same residuals
      mapped to [0, 1] (IIC's pretraining and retrieval input); `diff`; `u`/`v` (a store with flow); `diff-stack`,
      TCE's stack of differences: `--clip-len N` differences (default 5, from 6 consecutive frames)
      stacked as the channels of a 2D backbone, whose first convolution is widened by repeating the
      pretrained RGB filters (channel i gets RGB filter i mod 3, unscaled, as TCE).
    - **Freezing**: `--linear` freezes the backbone in eval mode (weights and BN statistics untouched)
      under a linear layer, VINCE's end-task probe. `--freeze-until K` freezes the stem and ResNet
      stages below K (LA's `ft_begin_index`; frozen BN layers still update their statistics, as there).
    - **`--task frames`**: one frame per sample (clip length 1), for image end tasks; a store of
      one-frame videos makes it an image classification probe.
    - **Training**: SGD (momentum 0.9); one clip per video per epoch at a random start, resized (to the
      recipe's `resize`, else short side 8/7 of `--size`) and randomly cropped. No flips by default:
      IIC did not flip, and a flip turns "moves left" into "moves right". `--schedule plateau` cuts
      the rate x0.1 when the validation loss has not improved for `--patience` epochs, down to
      `--min-lr` (IIC's 50 and 1e-5), `step` at 1/2 and 3/4 of the run.
    - **Validation**: `--val-fraction` of the train videos (seeded) is held out and scored each epoch
      on one centre clip per video; the epoch with the lowest validation loss is kept (the last one
      with `--val-fraction 0`).
    - **Test**: `--test-clips` evenly spaced centre clips per video with their logits averaged (IIC).
      Video- and clip-level top-1/top-5 are hits / total. The confusion matrix goes beside the
      checkpoint as `FT.confusion.csv` (rows true classes, columns predicted, both named).
    - **Resume**: every epoch writes a resumable checkpoint; `--resume` continues a killed run to the
      same result. `--test-only` tests a checkpoint written by finetune (and writes its confusion
      matrix). An existing `-o` is refused unless `--resume` (an unfinished run with the same
      options) or `--force` (start over); a NaN loss, validation loss or non-finite weight stops the
      run, keeping the last finite epoch.

    - **VINCE's end tasks** (`--probe`, docs/probes.md): `imagenet` and `sun397` are linear probes on
      one-frame videos (pooled layer-4 features of the frozen backbone, one linear layer, `--head mlp`
      for the seed's MLP head) with the seed's optimiser and schedule as defaults (imagenet: SGD lr 30,
      x0.1 at 60/80 of 100 epochs; sun397: Adam lr 0.01, x0.1 at 500/1000/1500 of 2000 epochs; batch
      256, 224 px, no validation part); options given explicitly override them. `--sun397-splits DIR`
      reads SUN397's official lists instead of the store's splits. `kinetics-lstm` embeds every frame
      once into `--features` and trains a 512-unit LSTM on `--clip-len 10` frames at 10 fps (`--stride`
      sets the frame step) with Adam lr 0.01, x0.1 at 10/20/30 of 40 epochs, batch 64; it reports clip
      top-1 (the seed's) and video top-1 over `--test-clips` clips; `--resume` and `--test-only` (with
      the probe as CHECKPOINT) work as for fine-tuning.

    JSON: `{"checkpoint", "test_top1", "test_top5", "test_videos", "clip_top1", "clip_top5",
    "val_top1", "best_epoch", "epochs", "confusion", "seconds"}`; `--probe imagenet|sun397` adds
    `<probe>_top1`, `<probe>_top5`; `--probe kinetics-lstm` gives `kinetics_top1` (clip),
    `kinetics_video_top1` and `features`. Core: `vidkit.tasks.finetune.finetune`,
    `vidkit.tasks.probes.run_probe` (the probe registry).
    """
    from vidkit.tasks import finetune as core

    if len(inputs) not in (1, 2) or (len(inputs) == 1) == (backbone is None):
        raise typer.BadParameter("give CHECKPOINT FRAMES, or FRAMES with --backbone NAME")
    checkpoint, frames = (inputs[0], inputs[1]) if len(inputs) == 2 else (None, inputs[0])
    config = core.FinetuneConfig(
        input=(input_ or modality).value,
        task=task.value,
        linear=linear,
        freeze_until=freeze_until,
        train_split=train_split,
        test_split=test_split,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        schedule=schedule.value,
        patience=patience,
        min_lr=min_lr,
        dropout=dropout,
        flip=flip,
        val_fraction=val_fraction,
        clip_len=clip_len,
        stride=stride,
        size=size,
        test_clips=test_clips,
        workers=workers,
        device=device,
        seed=seed,
        amp=not no_amp,
        head=head.value,
    )
    if probe is not None:
        if output is None and not (test_only and checkpoint is not None):
            raise typer.BadParameter("give -o PROBE.pt for the probe's checkpoint")
        from vidkit.tasks import probes

        given = {name for name in ctx.params if ctx.get_parameter_source(name).name not in ("DEFAULT", "DEFAULT_MAP")}
        with progress(f"{probe.value} probe") as update:
            request = probes.ProbeRequest(
                name=probe.value,
                frames=frames,
                output=output,
                checkpoint=checkpoint,
                backbone=backbone,
                config=config,
                given=given,
                test_only=test_only,
                resume=resume,
                force=force,
                sun397_splits=sun397_splits,
                fold=fold,
                features=features,
                progress=update,
            )
            summary, text = probes.run_probe(request)
        report(summary, as_json=as_json, text=text)
        return
    if sun397_splits is not None or features is not None:
        raise typer.BadParameter("--sun397-splits and --features go with --probe")
    with progress("fine-tuning") as update:
        result = core.finetune(
            frames,
            output,
            checkpoint=checkpoint,
            backbone=backbone,
            config=config,
            test_only=test_only,
            resume=resume,
            force=force,
            progress=update,
        )
    t = result.test
    text = (
        f"{t.videos} test videos: top-1 {t.top1 * 100:.2f}%  top-5 {t.top5 * 100:.2f}%  "
        f"(clips: top-1 {t.clip_top1 * 100:.2f}%)  confusion matrix: {result.confusion_path}"
    )
    report(result.summary(), as_json=as_json, text=text)
