"""`vidkit extract-frames`: decode videos or frame folders into one frame store."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import ForceOpt, JsonOpt, WorkersOpt, expand_stdin
from vidkit.cli.output import console, progress, report


class Dataset(str, Enum):
    ucf101 = "ucf101"
    hmdb51 = "hmdb51"
    kinetics = "kinetics"
    csv = "csv"
    imagefolder = "imagefolder"
    r2v2 = "r2v2"


class Codec(str, Enum):
    jpeg = "jpeg"
    raw = "raw"


class Layout(str, Enum):
    h5 = "h5"
    folders = "folders"


def extract_frames(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Videos, folders (walked recursively), frame folders, or - to read paths from stdin."),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The frame store to write (a folder with --format folders).")
    ],
    annotations: Annotated[
        Optional[Path], typer.Option(help="Split lists or CSV giving labels and splits.", exists=True)
    ] = None,
    dataset: Annotated[
        Optional[Dataset],
        typer.Option(help="Layout of --annotations; imagefolder and r2v2 also say what the inputs are."),
    ] = None,
    size: Annotated[
        Optional[int], typer.Option(min=8, max=8192, help="Resize so the short side has this many pixels.")
    ] = None,
    fps: Annotated[Optional[float], typer.Option(min=0.01, help="Resample to this frame rate.")] = None,
    max_frames: Annotated[Optional[int], typer.Option(min=1, help="Keep at most this many frames per video.")] = None,
    codec: Annotated[Codec, typer.Option(help="Store frames as JPEG bytes or raw uint8.")] = Codec.jpeg,
    quality: Annotated[int, typer.Option(min=1, max=100, help="JPEG quality.")] = 90,
    flow: Annotated[
        bool, typer.Option("--flow", help="Also store optical flow (TV-L1 if OpenCV has it, else Farneback).")
    ] = False,
    flow_bound: Annotated[
        float, typer.Option(min=0.1, help="Flow is clipped to +-this many pixels before quantising.")
    ] = 20.0,
    workers: WorkersOpt = 1,
    append: Annotated[
        bool, typer.Option("--append", help="Add new videos to a store a finished run completed.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any input fails (the store keeps the rest).")
    ] = False,
    layout: Annotated[
        Layout, typer.Option("--format", help="h5: one frame store; folders: <video>/image_00001.jpg + n_frames.")
    ] = Layout.h5,
    shard: Annotated[
        Optional[str],
        typer.Option(
            "--shard", help="K/N: only the inputs whose video id falls in shard K of N (join the shards with merge)."
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Decode videos into a frame store; rerun the same command to resume a killed run.

    Example: `vidkit extract-frames data/synth/videos -o frames.h5 --annotations data/synth/splits --dataset ucf101 --size 64`

    Writes one frame store (`vidkit.frames/1`, see docs/formats.md).

    - **Inputs**: video files (any name, when given explicitly), folders (walked recursively in sorted
      order; files with a video extension are taken), frame folders, and `-` for paths on stdin. A
      frame folder holds `frame000001.jpg` (two-stream), `image_00001.jpg` (3D-ResNets),
      `img_00001.jpg` or `frame0.jpg` images, read in numeric order. A video's id is its file or folder
      name without extension; a second input with the same id fails as a duplicate.
    - **Decoding**: PyAV with decoder threads on. `--size` resizes inside libswscale (area filter) so
      the short side has that many pixels. `--fps` resamples by presentation time: each output slot
      takes the frame on screen at that time, as a player would. `--max-frames` caps the frames kept.
    - **Flow** (`--flow`): dense optical flow between consecutive stored frames, TV-L1 when OpenCV has
      `cv2.optflow` (install `opencv-contrib-python-headless`), else Farneback, quantised to uint8
      within `--flow-bound` pixels.
    - **Annotations**: `ucf101` (a folder with `classInd.txt` and `trainlist0N.txt`/`testlist0N.txt`,
      CRLF or LF); `hmdb51` (the same list layout, or the official `<class>_test_split<N>.txt` files);
      `kinetics` (CSV `label,youtube_id,time_start,time_end,split`, a file or a folder of them; ids
      `<youtube_id>_<start:06d>_<end:06d>`, or the bare YouTube id); `csv` (`path,label,split`).
      Videos are matched by id, case-insensitively, which resolves UCF101's
      `HandstandPushups`/`HandStandPushups`. Splits are named `train01`, `test01`, ... for UCF101 and
      HMDB51, and by the CSV's `split` column otherwise. A warning counts listed videos that are not
      in the store.
    - **Images** (`--dataset imagefolder`, `--annotations` optional): each input is a root of class
      folders (ImageNet, SUN397) and each image one video of one frame. Its id is the root's name
      and its path under it (`train/n01440764/n01440764_10026.JPEG`), its class the folder path,
      labels the classes in sorted order or, with `--annotations DIR`, the line numbers of
      `DIR/classes.txt`; each root is a split named after it (`train`, `val`), and every other
      `DIR/<name>.txt` (image paths under a root, one per line) adds a split `<name>`. A corrupt
      image goes into the failures table.
    - **R2V2** (`--dataset r2v2`, `--annotations` optional): each input is a split folder of
      `<XY>/<id>_<frame:06d>.jpg` (what `vidkit scrape r2v2 --format folders` writes) and a split
      named after it; each id becomes one video of its frames in frame order. With `--annotations
      IDS.txt` (R2V2's `id,f1,f2,f3,f4` list) only the listed videos and frames are taken.
    - **Bad input**: a corrupt, truncated, empty or non-video file goes into the store's failures
      table with its error (`vidkit info --failures` lists them) and the run goes on. "Truncated"
      means a file that opens but decodes more than 2 frames fewer than its header declares. Exit 0
      when anything was extracted; `--strict` exits 1 on any failure, keeping the store. When nothing
      at all was extracted, the command exits 1 and leaves no empty store behind.
    - **Resume**: committed every 64 videos or 5 s; a killed run leaves a readable store. The same
      command run again skips every stored video and retries the failures. Adding *new* videos to a
      finished store needs `--append`. Options that change the frames (`--size`, `--fps`, `--codec`,
      `--flow`, ...) must match the store's, or the command stops with an error.
    - **Workers**: `--workers N` decodes in N processes; one process writes the store in input order,
      so the result is identical to `--workers 1`.
    - **Shards** (`--shard K/N`): only the inputs whose video id hashes to shard K of N (a BLAKE2b
      digest of the id: stable across machines and runs, whatever the order of the inputs), so N
      jobs given the same inputs split them into disjoint parts that together cover them. Each job
      writes its own store; `vidkit merge` joins them (docs/scaling.md). Split lists are attached to
      each shard for its own videos, without the warning about listed videos it does not hold.
    - **`--format folders`** writes `<out>/<id>/image_00001.jpg` + `n_frames` instead (the 3D-ResNets
      layout, for the original scripts), resumable per video.

    JSON: `{"store", "videos", "failed", "frames", "new", "skipped"}` (`videos`, `failed` and `frames`
    count the whole store; `new` and `skipped` this run). Core: `vidkit.extract.frames.extract_frames`.
    """
    from vidkit.extract import frames as extraction
    from vidkit.extract import shards
    from vidkit.io import annotations as ann
    from vidkit.io import flow as flow_mod
    from vidkit.io.frame_store import StoreConfig

    layouts = (Dataset.imagefolder, Dataset.r2v2)
    if (annotations is None) != (dataset is None) and dataset not in layouts:
        raise typer.BadParameter("--annotations and --dataset go together")
    chosen = shards.parse(shard)
    labels = ann.load_annotations(annotations, dataset.value) if annotations and dataset not in layouts else None
    config = StoreConfig(
        codec=codec.value,
        jpeg_quality=quality,
        short_side=size,
        fps=fps,
        max_frames=max_frames,
        flow=flow_mod.best_algorithm() if flow else None,
        flow_bound=flow_bound,
    )
    with progress("extracting") as update:
        result = extraction.extract_frames(
            expand_stdin(inputs),
            output,
            config=config,
            layout=layout.value,
            workers=workers,
            annotations=labels,
            source=dataset.value if dataset in layouts else "videos",
            source_annotations=annotations if dataset in layouts else None,
            append=append,
            strict=strict,
            force=force,
            shard=chosen,
            progress=update,
        )
    if result.errors:
        console().print(
            f"{len(result.errors)} input(s) failed; see `vidkit info {output}` for the list", style="yellow"
        )
    text = f"{output}: {result.videos} videos, {result.frames} frames, {result.failed} failed ({result.new} new)"
    report(result.summary(), as_json=as_json, text=text)
