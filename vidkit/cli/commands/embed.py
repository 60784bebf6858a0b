"""`vidkit embed`: features of every clip (or frame) of a frame store, from a checkpoint or a bare backbone."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import DeviceOpt, ForceOpt, JsonOpt, LoaderWorkersOpt, SeedOpt
from vidkit.cli.output import progress, report
from vidkit.data import modalities

# The modalities, from their one definition (torch-free), so embed and finetune cannot disagree.
Modality = Enum("Modality", {name: name for name in modalities.MODALITIES}, type=str)


def embed(
    inputs: Annotated[
        list[Path], typer.Argument(help="[CHECKPOINT.pt] FRAMES.h5: without a checkpoint, give --backbone.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Feature store to write.")],
    backbone: Annotated[
        Optional[str], typer.Option(help="Random-init backbone instead of a checkpoint (the baseline).")
    ] = None,
    split: Annotated[str, typer.Option(help="Split to embed, or 'all'.")] = "all",
    clips_per_video: Annotated[int, typer.Option(min=1, help="Evenly spaced clips per video.")] = 10,
    per_frame: Annotated[bool, typer.Option("--per-frame", help="One row per frame (for t-SNE).")] = False,
    modality: Annotated[Optional[Modality], typer.Option(help="Input modality (default: the checkpoint's).")] = None,
    pooling: Annotated[
        str,
        typer.Option(
            help="avg: global average pooling; iic: last conv map max-pooled 2x2 and flattened (IIC retrieval)."
        ),
    ] = "avg",
    clip_len: Annotated[Optional[int], typer.Option(min=1, help="Frames per clip (default: the checkpoint's).")] = None,
    stride: Annotated[Optional[int], typer.Option(min=1, help="Frame stride in a clip.")] = None,
    size: Annotated[Optional[int], typer.Option(min=8, help="Crop size (default: the checkpoint's).")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    workers: LoaderWorkersOpt = 2,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a feature store: one row per clip (or frame) of a frame store.

    Example: `vidkit embed tce.pt frames.h5 -o features.h5 --split test01 --clips-per-video 10`

    Example: `vidkit embed frames.h5 --backbone r3d --size 112 --clip-len 16 -o random.h5` (the random-init baseline)

    Writes a `vidkit.features/1` store. `--backbone NAME` without a checkpoint gives the random-init
    baseline, seeded by `--seed`. Clip length, stride, size, modality and mean/std default to the
    checkpoint's input recipe; explicit options override them.

    - **Clips**: `--clips-per-video` evenly spaced clips (first and last included), resized and
      centre-cropped to `size x size`: to the recipe's `resize` (IIC: 128x171, scaled with `--size`)
      when the checkpoint has one, else short side `--size`. `--per-frame` gives one clip starting at
      every frame instead (for t-SNE). A clip running past the end repeats the last frame.
    - A 2D backbone given T > 1 frames embeds each frame and averages the T vectors.
    - **Modalities**: `rgb`; `res`, residual frames (frame t+1 - frame t, mapped to [0, 1], as IIC
      pretrains and retrieves); `res-raw`, the same in [-1, 1] (as IIC fine-tunes); `diff`, TCE's
      differences (earlier minus later, divided by the recipe's std); `u`/`v`, flow from a store made
      with `--flow`, one component repeated to 3 channels. Difference modalities read T + 1 frames,
      so all T differences are real (IIC's code wrapped frame 0 around instead).
    - **Pooling**: `avg`, the backbone's global average pool; `iic`, IIC's retrieval feature: the last
      convolutional map max-pooled over 2x2 spatial windows (stride 2, time untouched) and flattened,
      512x2x3x3 = 9216 values for a 16x112x112 clip through r3d, r21d or c3d.

    - **Several processes**: `torchrun --nproc_per_node N -m vidkit embed ...` (one node or many, see
      docs/scaling.md) splits the clips over the N ranks and gathers their features; rank 0 writes
      the store, the same rows in the same order as one process (equal up to float rounding), and
      prints the result.

    JSON: `{"store", "rows", "dim"}`. Core: `vidkit.embed.embed`.
    """

    from vidkit import embed as core

    if len(inputs) not in (1, 2) or (len(inputs) == 1) == (backbone is None):
        raise typer.BadParameter("give CHECKPOINT FRAMES, or FRAMES with --backbone NAME")
    checkpoint, frames = (inputs[0], inputs[1]) if len(inputs) == 2 else (None, inputs[0])
    config = core.EmbedConfig(
        split=split,
        clips_per_video=clips_per_video,
        per_frame=per_frame,
        modality=modality.value if modality else None,
        pooling=pooling,
        clip_len=clip_len,
        stride=stride,
        size=size,
        batch_size=batch_size,
        workers=workers,
        device=device,
        seed=seed,
    )
    with progress("embedding") as update:
        result = core.embed(
            frames, output, checkpoint=checkpoint, backbone=backbone, config=config, force=force, progress=update
        )
    report(result.summary(), as_json=as_json, text=f"{output}: {result.rows} rows of {result.dim} features")
