"""`vidkit tsne`: t-SNE pictures and videos of embeddings (openTSNE)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import DeviceOpt, JsonOpt, SeedOpt
from vidkit.cli.output import report


class ColorBy(str, Enum):
    time = "time"
    video = "video"
    label = "label"


class CoordsFormat(str, Enum):
    npy = "npy"
    csv = "csv"


def tsne(
    inputs: Annotated[list[Path], typer.Argument(help="FEATS.h5, or EMB.npy (frames x dims, in time order), or with --checkpoint: VIDEO... (files or frame folders).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Picture (.png, .svg, .pdf) or video (.mp4).")],
    checkpoint: Annotated[Optional[Path], typer.Option(help="Embed the given videos frame by frame with this checkpoint.")] = None,
    video: Annotated[Optional[list[str]], typer.Option("--video", help="Only this video id of a feature store (repeatable).")] = None,
    split: Annotated[Optional[str], typer.Option(help="Only this split of a feature store's frame store.")] = None,
    source: Annotated[Optional[Path], typer.Option(help="The video an .npy came from (needed for an .mp4).")] = None,
    color_by: Annotated[Optional[ColorBy], typer.Option(help="Colour by time, video or class label (default: time for one video, else label or video).")] = None,
    perplexity: Annotated[float, typer.Option(min=1.0)] = 30.0,
    iterations: Annotated[int, typer.Option(min=50, help="Optimisation iterations.")] = 500,
    pca: Annotated[Optional[int], typer.Option(min=2, help="Reduce to this many PCA components first (e.g. 50).")] = None,
    coords: Annotated[CoordsFormat, typer.Option(help="Format of the coordinates written beside the output.")] = CoordsFormat.npy,
    title: Annotated[Optional[str], typer.Option(help="Plot title.")] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs", min=1, help="Threads for openTSNE.")] = 1,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Draw a t-SNE map of embeddings: a picture, or a video of the source beside its moving point.

    Example: vidkit tsne --checkpoint tce.pt bikes.mp4 -o bikes_tsne.mp4

    Core: vidkit.viz.render
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
    result = viz.render(points, output, config, color_by=color_by.value if color_by else None,
                        coords_format=coords.value, title=title)
    report(result, as_json=as_json, text=f"{output}: {result['points']} points; coordinates in {result['coordinates']}")
