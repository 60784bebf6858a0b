"""`vidkit cluster-idt`: improved dense trajectories -> Fisher vectors -> k-means clusters of videos."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import JsonOpt, SeedOpt, WorkersOpt, expand_stdin
from vidkit.cli.output import progress, report


class Variant(str, Enum):
    seed = "seed"
    standard = "standard"


class Detector(str, Enum):
    sift = "sift"
    orb = "orb"
    none = "none"


class Stage(str, Enum):
    trajectories = "trajectories"
    model = "model"
    encode = "encode"
    cluster = "cluster"


def _shard(value: str) -> tuple[int, int]:
    try:
        index, count = (int(x) for x in value.split("/"))
    except ValueError:
        raise typer.BadParameter(f"--shard takes K/N, e.g. 3/16; got {value!r}") from None
    if not 1 <= index <= count:
        raise typer.BadParameter(f"--shard {value}: K must be in 1..N")
    return index, count


def cluster_idt(
    inputs: Annotated[
        list[str], typer.Argument(help="One frame store (.h5), or video files, or - to read paths from stdin.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The clusters store to write (vidkit.clusters/1).")],
    k: Annotated[int, typer.Option(min=1, help="Clusters per k-means run.")] = 6000,
    num_c: Annotated[int, typer.Option("--num-c", min=1, help="Independent k-means runs (seeds 1234, 1235, ...).")] = 3,
    fit_videos: Annotated[int, typer.Option(min=1, help="Videos sampled (seeded) to fit PCA and GMM.")] = 3500,
    gmm_k: Annotated[int, typer.Option(min=1, help="Gaussians of the Fisher-vector GMM.")] = 256,
    variant: Annotated[
        Variant, typer.Option(help="seed: one joint PCA, raw gradients; standard: Wang & Schmid 2013, per type.")
    ] = Variant.seed,
    sketch_dim: Annotated[int, typer.Option(min=0, help="Count-sketch dimensions of each feature (0: none).")] = 2000,
    detector: Annotated[
        Detector, typer.Option(help="Keypoints for camera motion (the release's SURF is not in OpenCV's wheels).")
    ] = Detector.sift,
    boxes: Annotated[
        Optional[Path],
        typer.Option(help="Folder of human boxes <id>.bb (the release's -H format).", exists=True, file_okay=False),
    ] = None,
    trajectories: Annotated[
        Optional[Path],
        typer.Option(
            help="Folder of precomputed trajectories <id>.gz (DenseTrackStab output).", exists=True, file_okay=False
        ),
    ] = None,
    trajectories_h5: Annotated[
        Optional[Path], typer.Option(help="Also write every video's trajectories to this compact HDF5.")
    ] = None,
    stop_after: Annotated[Stage, typer.Option(help="Stop after this stage (rerun later to go on).")] = Stage.cluster,
    shard: Annotated[
        Optional[str],
        typer.Option(
            help="K/N: compute trajectories only for the videos whose id falls in shard K of N (cluster jobs)."
        ),
    ] = None,
    workers: WorkersOpt = 1,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Cluster videos by their motion: improved dense trajectories, Fisher vectors, faiss k-means.

    Example: `vidkit cluster-idt frames.h5 -o clusters.h5 --k 8 --num-c 3 --fit-videos 64 --gmm-k 16 --workers 2`

    The IDT prior of Video LA (Tokmakov et al. 2020) without the C++ build: see docs/idt.md.

    - **Stages**, each resumable (outputs in `OUTPUT.work/`): trajectories per video (the 2013
      release's 436-column rows), the PCA/GMM/sketch model on a seeded sample of `--fit-videos`
      videos, one Fisher vector per video, then `--num-c` k-means runs. Rerun the same command
      after a kill to go on; videos whose input changed since (another store with the same ids,
      other boxes) are computed again, with a line on stderr. A video that fails, or gives no
      trajectory, is recorded and skipped.
    - **Output**: labels `(num_c, N)` aligned to the frame store's video ids (stored and checked by
      id), centroids, features and the encoder; failed videos get label -1.
    - **Cluster**: run `--shard K/N --stop-after trajectories` as N jobs on a shared folder, then
      the command once more without `--shard`.

    JSON: `{"clusters", "videos", "clustered", "failed", "k", "num_c", "dim", "trajectories", "stage", "seconds"}`.
    Core: `vidkit.idt.pipeline.cluster_idt`.
    """
    from vidkit.idt import pipeline
    from vidkit.idt.fisher import FisherConfig
    from vidkit.idt.trajectories import IdtConfig

    config = pipeline.ClusterConfig(
        k=k,
        num_c=num_c,
        fit_videos=fit_videos,
        seed=seed,
        idt=IdtConfig(detector=detector.value),
        fisher=FisherConfig(variant=variant.value, gmm_k=gmm_k, sketch_dim=sketch_dim),
    )
    with progress("cluster-idt") as update:
        result = pipeline.cluster_idt(
            expand_stdin(inputs),
            output,
            config,
            workers=workers,
            boxes=boxes,
            precomputed=trajectories,
            stop_after=stop_after.value,
            shard=_shard(shard) if shard else (1, 1),
            trajectories_h5=trajectories_h5,
            progress=update,
        )
    text = (
        f"{result.clusters}: {result.clustered} of {result.videos} videos in {num_c} x {k} clusters, "
        f"{result.failed} failed"
        if result.clusters
        else f"stopped after {result.stage}: {result.videos} videos, {result.failed} failed"
    )
    report(result.summary(), as_json=as_json, text=text)
