"""`vidkit tsne`: t-SNE pictures and videos of embeddings (openTSNE)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import DeviceOpt, ForceOpt, JsonOpt, SeedOpt
from vidkit.cli.output import report


class ColorBy(str, Enum):
    time = "time"
    video = "video"
    label = "label"


class CoordsFormat(str, Enum):
    npy = "npy"
    csv = "csv"


def tsne(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="FEATS.h5, or EMB.npy (frames x dims, in time order), or with --checkpoint: VIDEO... (files or frame folders)."
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Picture (.png, .svg, .pdf) or video (.mp4).")],
    checkpoint: Annotated[
        Optional[Path], typer.Option(help="Embed the given videos frame by frame with this checkpoint.")
    ] = None,
    video: Annotated[
        Optional[list[str]], typer.Option("--video", help="Only this video id of a feature store (repeatable).")
    ] = None,
    split: Annotated[Optional[str], typer.Option(help="Only this split of a feature store's frame store.")] = None,
    source: Annotated[Optional[Path], typer.Option(help="The video an .npy came from (needed for an .mp4).")] = None,
    color_by: Annotated[
        Optional[ColorBy],
        typer.Option(help="Colour by time, video or class label (default: time for one video, else label or video)."),
    ] = None,
    perplexity: Annotated[float, typer.Option(min=1.0)] = 30.0,
    iterations: Annotated[int, typer.Option(min=50, help="Optimisation iterations.")] = 500,
    pca: Annotated[
        Optional[int], typer.Option(min=2, help="Reduce to this many PCA components first (e.g. 50).")
    ] = None,
    coords: Annotated[
        CoordsFormat, typer.Option(help="Format of the coordinates written beside the output.")
    ] = CoordsFormat.npy,
    title: Annotated[Optional[str], typer.Option(help="Plot title.")] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs", min=1, help="Threads for openTSNE.")] = 1,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Draw a t-SNE map of embeddings: a picture, or a video of the clip beside its moving point.

    Example: `vidkit tsne --checkpoint tce.pt bikes.mp4 -o bikes_tsne.mp4`

    Example: `vidkit tsne features.h5 -o classes.png --color-by label`

    A t-SNE map (openTSNE, PCA initialisation, seeded: the same seed gives the same map) of:
    - a feature store (all rows, or `--video` ids, or a `--split` of the frame store it was embedded
      from); a per-frame store (`embed --per-frame`) gives one point per frame;
    - an `.npy` array `(frames, dims)` of one video's features in time order (`--source VIDEO` gives
      its frames for an MP4);
    - `--checkpoint CKPT VIDEO...`: every frame of each video file or frame folder embedded with the
      checkpoint's recipe, in eval mode. A TCE checkpoint maps its 128-d normalised embedding (what
      TCE plots), others their pooled features.

    One video is coloured by time (with a colour bar) and consecutive frames are joined by a thin
    line; several videos are coloured by video; a labelled store by class, with a legend of class
    names. `-o out.mp4` writes the source video beside the map at the source frame rate, the current
    frame's point highlighted with its recent trail (one video at a time). The 2-D coordinates go
    beside the output as `OUT.tsne.npy` (or `.csv` with video, frame, label, x, y). Perplexity is
    clamped below a third of the number of points, so short clips work. `--pca 50` reduces
    dimensions first.

    JSON: `{"output", "points", "coordinates", "color_by"[, "frames"]}`. Core: `vidkit.viz.render`.
    """
    from vidkit import viz, viz_inputs

    if checkpoint is not None:
        points = viz_inputs.from_checkpoint(checkpoint, inputs, device=device)
    elif len(inputs) != 1:
        raise typer.BadParameter("give one FEATS.h5 or EMB.npy (or --checkpoint CKPT with videos)")
    elif inputs[0].suffix == ".npy":
        points = viz_inputs.from_array(inputs[0], source)
    else:
        points = viz_inputs.from_feature_store(inputs[0], video, split)
    config = viz.TsneConfig(perplexity=perplexity, iterations=iterations, pca=pca, seed=seed, n_jobs=n_jobs)
    result = viz.render(
        points,
        output,
        config,
        color_by=color_by.value if color_by else None,
        coords_format=coords.value,
        title=title,
        inputs=(*inputs, *(p for p in (checkpoint, source) if p is not None)),
        force=force,
    )
    report(result, as_json=as_json, text=f"{output}: {result['points']} points; coordinates in {result['coordinates']}")
