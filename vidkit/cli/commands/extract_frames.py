"""`vidkit extract-frames`: decode videos or frame folders into one frame store."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import JsonOpt, WorkersOpt, expand_stdin
from vidkit.cli.output import console, progress, report


class Dataset(str, Enum):
    ucf101 = "ucf101"
    hmdb51 = "hmdb51"
    kinetics = "kinetics"
    csv = "csv"


class Codec(str, Enum):
    jpeg = "jpeg"
    raw = "raw"


class Layout(str, Enum):
    h5 = "h5"
    folders = "folders"


def extract_frames(
    inputs: Annotated[list[str], typer.Argument(help="Videos, folders (walked recursively), frame folders, or - to read paths from stdin.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The frame store to write (a folder with --format folders).")],
    annotations: Annotated[Optional[Path], typer.Option(help="Split lists or CSV giving labels and splits.", exists=True)] = None,
    dataset: Annotated[Optional[Dataset], typer.Option(help="Layout of --annotations.")] = None,
    size: Annotated[Optional[int], typer.Option(min=8, help="Resize so the short side has this many pixels.")] = None,
    fps: Annotated[Optional[float], typer.Option(min=0.01, help="Resample to this frame rate.")] = None,
    max_frames: Annotated[Optional[int], typer.Option(min=1, help="Keep at most this many frames per video.")] = None,
    codec: Annotated[Codec, typer.Option(help="Store frames as JPEG bytes or raw uint8.")] = Codec.jpeg,
    quality: Annotated[int, typer.Option(min=1, max=100, help="JPEG quality.")] = 90,
    flow: Annotated[bool, typer.Option("--flow", help="Also store optical flow (TV-L1 if OpenCV has it, else Farneback).")] = False,
    flow_bound: Annotated[float, typer.Option(min=0.1, help="Flow is clipped to +-this many pixels before quantising.")] = 20.0,
    workers: WorkersOpt = 1,
    append: Annotated[bool, typer.Option("--append", help="Add new videos to a store a finished run completed.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 if any input fails (the store keeps the rest).")] = False,
    layout: Annotated[Layout, typer.Option("--format", help="h5: one frame store; folders: <video>/image_00001.jpg + n_frames.")] = Layout.h5,
    as_json: JsonOpt = False,
) -> None:
    """Decode videos into a frame store; rerun the same command to resume a killed run.

    Example: vidkit extract-frames data/synth/videos -o frames.h5 --annotations data/synth/splits --dataset ucf101 --size 64

    Core: vidkit.extraction.extract_frames
    """
    from vidkit import extraction
    from vidkit.io import annotations as ann
    from vidkit.io import flow as flow_mod
    from vidkit.io.store import StoreConfig

    if (annotations is None) != (dataset is None):
        raise typer.BadParameter("--annotations and --dataset go together")
    labels = ann.load_annotations(annotations, dataset.value) if annotations else None
    config = StoreConfig(
        codec=codec.value, jpeg_quality=quality, short_side=size, fps=fps, max_frames=max_frames,
        flow=flow_mod.best_algorithm() if flow else None, flow_bound=flow_bound,
    )
    with progress("extracting") as update:
        result = extraction.extract_frames(
            expand_stdin(inputs), output, config=config, layout=layout.value, workers=workers,
            annotations=labels, append=append, strict=strict, progress=update,
        )
    if result.errors:
        console().print(f"{len(result.errors)} input(s) failed; see `vidkit info {output}` for the list", style="yellow")
    text = f"{output}: {result.videos} videos, {result.frames} frames, {result.failed} failed ({result.new} new)"
    report(result.summary(), as_json=as_json, text=text)
