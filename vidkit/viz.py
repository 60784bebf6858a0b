"""t-SNE maps of embeddings, as pictures and as videos: the core of `vidkit tsne` (TCE's visualisation, tce.md 4).

Points come from a feature store, a `.npy` array of per-frame features in chronological order, or
a checkpoint run frame by frame over videos. openTSNE (Policar et al. 2019) maps them to 2-D with
PCA initialisation and a fixed seed, so a map is reproducible; an optional PCA first keeps only
the leading components. Defects of the TCE scripts fixed here (tce.md 7): the model runs in eval
mode, the t-SNE is seeded, perplexity is clamped below the number of points, `.npy` input works.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidkit.errors import VidkitError
from vidkit.io.atomic import atomic_path
from vidkit.io.features import check_finite
from vidkit.io.outputs import claim_output

PICTURE_SUFFIXES = (".png", ".svg", ".pdf")
VIDEO_SUFFIXES = (".mp4",)


@dataclass
class Points:
    """What to map: features with, per row, the video it belongs to, its time and its label."""

    features: np.ndarray  # (N, D)
    video: np.ndarray  # (N,) str
    time: np.ndarray  # (N,) frame index
    label: np.ndarray  # (N,) int, -1 when unknown
    class_names: list[str]
    fps: float = 25.0
    frames: object = None  # callable -> iterator of uint8 (H, W, 3) source frames, for videos


@dataclass
class TsneConfig:
    perplexity: float = 30.0
    iterations: int = 500
    pca: int | None = None  # reduce to this many components first (50 is common); None: no PCA
    seed: int = 0
    n_jobs: int = 1


def fit_tsne(features: np.ndarray, config: TsneConfig = TsneConfig()) -> np.ndarray:
    """`(N, D)` -> `(N, 2)` with openTSNE, PCA-initialised and seeded (deterministic for a seed)."""
    from openTSNE import TSNE

    x = np.asarray(features, dtype=np.float64)
    check_finite(x, "cannot map these features")
    if len(x) < 3:
        raise VidkitError(f"t-SNE needs at least 3 points, got {len(x)}")
    if config.pca and config.pca < x.shape[1]:
        from sklearn.decomposition import PCA

        x = PCA(n_components=min(config.pca, len(x)), random_state=config.seed).fit_transform(x)
    # Perplexity must stay below N / 3 for openTSNE's neighbour search; short clips have few frames.
    perplexity = min(config.perplexity, max((len(x) - 1) / 3, 1.0))
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        n_iter=config.iterations,
        initialization="pca",
        random_state=config.seed,
        n_jobs=config.n_jobs,
        verbose=False,
    )
    return np.asarray(tsne.fit(x), dtype=np.float32)


def _figure(coords: np.ndarray, points: Points, color_by: str, title: str, size=(6.4, 4.8)):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=size, dpi=100)
    if color_by == "time":
        ax.plot(coords[:, 0], coords[:, 1], color="0.75", linewidth=0.5, zorder=1)
        dots = ax.scatter(coords[:, 0], coords[:, 1], c=points.time, cmap="plasma", s=12, zorder=2)
        fig.colorbar(dots, ax=ax, label="frame")
    elif color_by == "video":
        names = list(dict.fromkeys(points.video))
        colours = plt.get_cmap("rainbow")(np.linspace(0, 1, len(names)))
        for name, colour in zip(names, colours):
            mine = points.video == name
            ax.scatter(coords[mine, 0], coords[mine, 1], color=colour, s=10, label=str(name))
        if len(names) <= 20:
            ax.legend(fontsize="small", markerscale=1.5, loc="best")
    else:  # label
        labels = sorted(set(points.label.tolist()))
        colours = plt.get_cmap("tab20" if len(labels) > 10 else "tab10")(np.arange(len(labels)) % 20)
        for label, colour in zip(labels, colours):
            mine = points.label == label
            name = (
                points.class_names[label]
                if 0 <= label < len(points.class_names)
                else ("unlabelled" if label < 0 else str(label))
            )
            ax.scatter(coords[mine, 0], coords[mine, 1], color=colour, s=10, label=name)
        ax.legend(fontsize="small", markerscale=1.5, loc="best", ncol=1 if len(labels) <= 12 else 2)
    ax.set_title(title)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    fig.tight_layout()
    return fig, ax


def draw_picture(out: Path, coords: np.ndarray, points: Points, color_by: str, title: str) -> None:
    fig, _ = _figure(coords, points, color_by, title)
    from matplotlib import pyplot as plt

    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix[1:])
    plt.close(fig)


def draw_video(out: Path, coords: np.ndarray, points: Points, title: str, trail: int = 12) -> int:
    """The source frames beside the map, the current frame's point highlighted with its recent trail.

    The map is rendered once; each output frame copies it and draws the moving marker with OpenCV
    at the pixel positions the axes transform gives, so a long video costs one matplotlib render.
    Returns the number of frames written.
    """
    import av
    import cv2

    if points.frames is None:
        raise VidkitError(
            "an MP4 needs the source frames: map one video from a checkpoint, or a feature store whose frame store is at hand"
        )
    fig, ax = _figure(coords, points, "time", title)
    fig.canvas.draw()
    background = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    pixels = ax.transData.transform(coords)
    pixels[:, 1] = background.shape[0] - pixels[:, 1]  # matplotlib counts y from the bottom
    from matplotlib import pyplot as plt

    plt.close(fig)
    height = background.shape[0]
    written = 0
    with atomic_path(out) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = None
            for i, frame in enumerate(points.frames()):
                if i >= len(coords):
                    break
                scale = height / frame.shape[0]
                source = cv2.resize(
                    frame, (max(2, round(frame.shape[1] * scale)), height), interpolation=cv2.INTER_AREA
                )
                canvas = background.copy()
                track = pixels[max(0, i - trail) : i + 1].round().astype(np.int32)
                cv2.polylines(canvas, [track.reshape(-1, 1, 2)], False, (30, 30, 30), 2, cv2.LINE_AA)
                cv2.circle(canvas, tuple(int(v) for v in track[-1]), 7, (220, 20, 20), -1, cv2.LINE_AA)
                image = np.ascontiguousarray(np.concatenate([source, canvas], axis=1))
                image = image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2]  # yuv420p wants even sizes
                if stream is None:
                    from fractions import Fraction

                    stream = container.add_stream(
                        "libx264" if "libx264" in av.codecs_available else "mpeg4",
                        rate=Fraction(points.fps).limit_denominator(1001),
                    )
                    stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
                written += 1
            if stream is not None:
                container.mux(stream.encode(None))
    return written


def write_coordinates(path: Path, coords: np.ndarray, points: Points) -> None:
    """`.npy` (the `(N, 2)` array) or `.csv` (video, frame, label, x, y)."""
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            import csv

            with open(tmp, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["video", "frame", "label", "x", "y"])
                for row, (x, y) in enumerate(coords):
                    writer.writerow(
                        [points.video[row], int(points.time[row]), int(points.label[row]), f"{x:.6g}", f"{y:.6g}"]
                    )
        else:
            with open(tmp, "wb") as f:
                np.save(f, coords)


def default_color(points: Points) -> str:
    videos = len(set(points.video.tolist()))
    if videos == 1:
        return "time"
    return "label" if (points.label >= 0).all() and len(set(points.label.tolist())) > 1 else "video"


def coordinates_path(out: Path, fmt: str = "npy") -> Path:
    return out.with_name(f"{out.stem}.tsne.{fmt}")


def render(
    points: Points,
    out: Path,
    config: TsneConfig = TsneConfig(),
    *,
    color_by: str | None = None,
    coords_format: str = "npy",
    title: str | None = None,
    inputs: tuple[Path, ...] = (),
    force: bool = False,
) -> dict:
    """Map `points` and write the picture or video `out` plus the coordinates beside it.

    `inputs` are the files the points came from: neither output may be one of them.

    Raises:
        UsageError: an output is an input, or exists with another suffix's content (without `force`).
        VidkitError: an unknown output type, an MP4 of several videos, too few or non-finite points.
    """
    where = coordinates_path(out, coords_format)
    with claim_output(out, inputs=inputs, force=force), claim_output(where, inputs=inputs, force=force):
        return _render(points, out, where, config, color_by, title)


def _render(points: Points, out: Path, where: Path, config: TsneConfig, color_by, title) -> dict:
    suffix = out.suffix.lower()
    if suffix not in PICTURE_SUFFIXES + VIDEO_SUFFIXES:
        raise VidkitError(f"cannot write {out.name}: use one of {', '.join(PICTURE_SUFFIXES + VIDEO_SUFFIXES)}")
    videos = list(dict.fromkeys(points.video.tolist()))
    if suffix in VIDEO_SUFFIXES and len(videos) != 1:
        raise VidkitError(
            f"an MP4 maps one video at a time, and these points come from {len(videos)}; pick one with --video"
        )
    color_by = color_by or default_color(points)
    if color_by == "label" and (points.label < 0).all():
        raise VidkitError("these points carry no labels; colour by time or video")
    coords = fit_tsne(points.features, config)
    title = title or (
        f"t-SNE of {videos[0]}" if len(videos) == 1 else f"t-SNE of {len(points.features)} points, {len(videos)} videos"
    )
    result = {"output": str(out), "points": len(coords)}
    if suffix in VIDEO_SUFFIXES:
        result["frames"] = draw_video(out, coords, points, title)
    else:
        draw_picture(out, coords, points, color_by, title)
    write_coordinates(where, coords, points)
    result.update(coordinates=str(where), color_by="time" if suffix in VIDEO_SUFFIXES else color_by)
    return result
