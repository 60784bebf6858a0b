"""Decode videos (or frame folders) into a frame store: the core of `vidkit extract-frames`.

Work is split so that a store survives anything: worker processes decode and encode one input
each and hand back bytes or an error string; only this process writes, in input order, committing
every few seconds. Bad inputs become rows of the store's failures table and the run goes on.
Running the same command again skips every video already stored and retries the failures.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from vidkit import __version__
from vidkit.errors import NoInputError, UnsafeNameError, UsageError, VideoDecodeError, VidkitError
from vidkit.extract import pipeline, shards
from vidkit.io import flow as flow_mod
from vidkit.io import frame_folders, image_folders, r2v2_layout, video
from vidkit.io.annotations import Annotations
from vidkit.io.frame_store import SCHEMA, StoreConfig
from vidkit.io.frame_store_writer import EncodedVideo, FrameStoreWriter
from vidkit.io.h5 import unless_schema
from vidkit.io.image import encode_image
from vidkit.io.outputs import claim_output
from vidkit.io.paths import printable

log = logging.getLogger("vidkit")

LAYOUTS = ("h5", "folders")
# What the inputs are: videos and frame folders, or the image layouts (each brings its own annotations).
SOURCES = ("videos", "imagefolder", "r2v2")
_COMMIT_EVERY_S = 5.0
_COMMIT_EVERY_N = 64
# A header may count a frame or two that a decoder drops (edit lists, B-frame delay); more than
# this missing means the file was cut short.
_TRUNCATION_SLACK = 2
MAX_SHORT_SIDE = 8192


@dataclass(frozen=True)
class InputItem:
    """One thing to extract: a video file, a folder of frame images, or a list of image files.

    `source` is the path as the file system gives it (undecodable bytes as surrogate escapes, so
    it opens); `video_id` is the name as stored, `io.paths.printable` text. `files`, when given,
    are the frames' image files in order (an image of an image folder, an R2V2 video).
    """

    source: str
    video_id: str
    is_folder: bool = False
    files: tuple[str, ...] = ()


@dataclass
class ExtractResult:
    store: Path
    videos: int
    failed: int
    frames: int
    new: int
    skipped: int
    errors: list[tuple[str, str]] = field(default_factory=list)  # failures of this run

    def summary(self) -> dict:
        return {
            "store": str(self.store),
            "videos": self.videos,
            "failed": self.failed,
            "frames": self.frames,
            "new": self.new,
            "skipped": self.skipped,
        }


def discover_inputs(paths: list[str | Path]) -> list[InputItem]:
    """Expand paths into inputs: files as given, folders walked recursively in sorted order.

    A folder holding frame images is one input (a frame folder) and is not descended into;
    elsewhere files with a video extension are inputs and other files are ignored. A file named
    explicitly is an input whatever its extension (and fails later if it is no video).
    """
    items: dict[str, InputItem] = {}
    seen: set[tuple[int, int]] = set()  # (device, inode) of every folder walked
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            items.setdefault(str(path), InputItem(str(path), printable(path.stem)))
            continue
        for item in _walk(path, seen):
            items.setdefault(item.source, item)
    return list(items.values())


def _walk(root: Path, seen: set[tuple[int, int]]) -> Iterator[InputItem]:
    """Inputs under `root`, each real folder once: a symlink loop or a second link to a folder
    already walked adds nothing (it would otherwise recurse for ever, or repeat every video)."""
    try:
        info = root.stat()
        key = (info.st_dev, info.st_ino)
        if key in seen:
            return
        seen.add(key)
        if frame_folders.is_frame_folder(root):
            yield InputItem(str(root), printable(root.name), is_folder=True)
            return
        entries = sorted(root.iterdir())
    except OSError as exc:
        raise NoInputError(f"cannot read the folder {printable(str(root))}: {exc.strerror}") from None
    for entry in entries:
        if entry.is_dir():
            yield from _walk(entry, seen)
        elif entry.suffix.lower() in video.VIDEO_EXTENSIONS:
            yield InputItem(str(entry), printable(entry.stem))


def _discover_layout(source: str, inputs, annotations: Path | None) -> tuple[list[InputItem], Annotations]:
    """The inputs and annotations of an image layout (`SOURCES` other than `videos`)."""
    scanners = {"imagefolder": image_folders.scan_image_folders, "r2v2": r2v2_layout.scan_r2v2}
    if source not in scanners:
        raise UsageError(f"unknown input layout {source!r}; choose one of {', '.join(SOURCES)}")
    scan = scanners[source]([Path(i) for i in inputs], annotations)
    return [InputItem(i.source, i.video_id, files=i.files) for i in scan.inputs], scan.annotations


def encode_input(item: InputItem, config: StoreConfig) -> EncodedVideo:
    """Decode one input and encode its frames (and flow) the way the store keeps them.

    Streams frame by frame, so a long video never sits decoded in memory.

    Raises:
        VideoDecodeError: unreadable, empty or truncated input.
    """
    if not item.files and not os.path.exists(item.source):
        raise VideoDecodeError(f"no such file or folder: {item.source}")
    fps = float("nan")
    declared = 0
    if item.files:
        frames = image_folders.iter_images(item.files, short_side=config.short_side, max_frames=config.max_frames)
    elif item.is_folder:
        frames = frame_folders.iter_folder_frames(
            Path(item.source), short_side=config.short_side, max_frames=config.max_frames, pixel_format="bgr24"
        )
    else:
        info, frames = video.decode_video(
            item.source,
            short_side=config.short_side,
            fps=config.fps,
            max_frames=config.max_frames,
            pixel_format="bgr24",
        )
        fps, declared = (config.fps or info.fps), info.n_frames
    encoded, flow_u, flow_v = [], [], []
    estimator = flow_mod.FlowEstimator(config.flow) if config.flow else None
    previous_grey = None
    for image in frames:
        encoded.append(encode_image(image, config.codec, config.jpeg_quality))
        if estimator is not None:
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            if previous_grey is not None:
                u, v = flow_mod.quantized_flow(estimator, previous_grey, grey, config.flow_bound)
                flow_u.append(encode_image(u, config.codec, config.jpeg_quality))
                flow_v.append(encode_image(v, config.codec, config.jpeg_quality))
            previous_grey = grey
    if not encoded:
        raise VideoDecodeError(f"{item.source} has no decodable frames")
    expected = declared if config.fps is None and config.max_frames is None else 0
    if expected and len(encoded) < expected - _TRUNCATION_SLACK:
        raise VideoDecodeError(
            f"{item.source} is truncated: decoded {len(encoded)} of the {expected} frames its header declares"
        )
    height, width = image.shape[:2]
    return EncodedVideo(
        id=item.video_id,
        source=printable(item.source),
        fps=fps,
        height=height,
        width=width,
        frames=encoded,
        flow_u=flow_u if estimator else None,
        flow_v=flow_v if estimator else None,
    )


def _try_encode(item: InputItem, config: StoreConfig) -> EncodedVideo | str:
    """`encode_input`, with an input's own defects turned into an error string (the failures table)."""
    try:
        return encode_input(item, config)
    except VidkitError as exc:
        return str(exc)
    except (av.FFmpegError, cv2.error, OSError, ValueError, MemoryError) as exc:
        return printable(
            f"{item.source}: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )


def _encoded_in_order(
    items: list[InputItem], config: StoreConfig, workers: int
) -> Iterator[tuple[InputItem, EncodedVideo | str]]:
    """Yield `(item, result)` in input order (the shared per-video pipeline, `extract.pipeline`)."""
    for (item, _), result in pipeline.in_order(_try_encode, ((item, config) for item in items), workers):
        yield item, result


def extract_frames(
    inputs: list[str | Path],
    out: Path,
    *,
    config: StoreConfig = StoreConfig(),
    layout: str = "h5",
    workers: int = 1,
    annotations: Annotations | None = None,
    source: str = "videos",
    source_annotations: Path | None = None,
    append: bool = False,
    strict: bool = False,
    force: bool = False,
    shard: shards.Shard | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExtractResult:
    """Extract every input into the store at `out`, creating it or resuming it.

    Args:
        inputs: video files, folders (walked recursively) and frame folders.
        out: the store (`layout="h5"`) or the root folder (`layout="folders"`).
        config: how frames are made; an existing store must have been made with the same.
        workers: decoding processes (1 decodes in this process).
        annotations: labels and splits to attach (matched by video id, case-insensitively).
        source: `videos` (videos and frame folders), `imagefolder` (roots of class folders,
            `io.image_folders`) or `r2v2` (split folders of R2V2's layout, `io.r2v2_layout`); the
            image layouts make their own annotations, from `source_annotations` when given (a
            folder of `classes.txt` and split lists; an R2V2 id list).
        append: allow adding new videos to a store that a finished run already completed.
        strict: raise after the run if any input failed (the store still keeps the rest).
        force: replace an `out` that is something other than a store of this layout.
        shard: keep only the inputs whose video id falls in this shard (`extract.shards`); the
            shards' stores join with `extract.merge`.
        progress: called as `progress(done, total)` after each input.

    Raises:
        NoInputError: the inputs name no video, or nothing at all could be extracted.
        StoreSchemaError, StoreConfigError: `out` exists but cannot be resumed.
        VidkitError: new inputs for a complete store without `append`; with `strict`, any failure.
    """
    if source != "videos":
        items, annotations = _discover_layout(source, inputs, source_annotations)
    else:
        items = discover_inputs(inputs)
    if not items:
        raise NoInputError(f"no videos found in {', '.join(str(i) for i in inputs) or 'the inputs'}")
    if shard is not None:
        total = len(items)
        items = shards.select(items, shard, key=lambda item: item.video_id)
        log.info("shard %s: %d of the %d inputs", shard, len(items), total)
        if not items:
            raise NoInputError(f"shard {shard} holds none of the {total} inputs; use fewer shards")
    if layout not in LAYOUTS:
        raise VidkitError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout == "folders" and config.codec != "jpeg":
        raise VidkitError("--format folders writes JPEG files; it cannot be combined with --codec raw")
    if config.flow is not None:
        flow_mod.require(config.flow)
        (log.info if config.flow == "tvl1" else log.warning)(flow_mod.which_runs(config.flow))
    if config.short_side is not None and not 8 <= config.short_side <= MAX_SHORT_SIDE:
        raise UsageError(
            f"--size {config.short_side} is outside 8..{MAX_SHORT_SIDE} pixels (FFmpeg's scaler takes no larger frames)"
        )
    existing = unless_schema(SCHEMA, "frame store") if layout == "h5" else frame_folders.unless_frame_folders
    with claim_output(out, inputs=[i.source for i in items], existing=existing, force=force):
        if force and Path(out).exists() and existing(Path(out)) is not None:
            _remove_output(Path(out))
        return _extract(items, Path(out), config, layout, workers, annotations, append, strict, progress, shard)


def _remove_output(out: Path) -> None:
    """`--force` on an output that is something else: it goes, but only a file or a folder of frame
    folders' own making (never a folder of other files, which would be a user's data)."""
    if out.is_dir():
        raise VidkitError(f"{out} is a folder that vidkit did not write; --force replaces files only")
    out.unlink()


def _extract(items, out: Path, config, layout, workers, annotations, append, strict, progress, shard) -> ExtractResult:
    created = not out.exists()
    made_by = f"vidkit {__version__} extract-frames" + (f" --shard {shard}" if shard else "")
    writer = (
        FrameStoreWriter(out, config, created_by=made_by)
        if layout == "h5"
        else frame_folders.FrameFolderWriter(out, config.to_json())
    )
    errors: list[tuple[str, str]] = []
    with writer:
        todo, duplicates = _plan(items, writer.ids)
        fresh = [i for i in todo if printable(i.source) not in writer.failed_sources]
        if writer.complete and fresh and not append:
            raise VidkitError(
                f"{out} is complete and {len(fresh)} of the inputs are not in it; pass --append to add them"
            )
        for item, other in duplicates:
            errors.append((printable(item.source), f"duplicate video id {item.video_id!r} (also {printable(other)})"))
            writer.add_failure(*errors[-1])
        new = _run(writer, todo, config, workers, annotations, errors, progress)
        _finish(writer, annotations, whole=shard is None)
        counts = writer.counts()
    result = ExtractResult(
        store=out, new=new, skipped=len(items) - len(todo) - len(duplicates), errors=errors, **counts
    )
    if result.videos == 0:
        if created:  # leave no empty store behind for make to mistake for a result
            shutil.rmtree(out) if Path(out).is_dir() else Path(out).unlink()
        first = f" (first error: {errors[0][1]})" if errors else ""
        raise NoInputError(f"nothing was extracted: all {len(items)} inputs failed{first}")
    if strict and result.failed:
        raise VidkitError(f"{result.failed} input(s) failed (--strict); the others are in {out}")
    return result


def _plan(items: list[InputItem], stored: dict[str, int]) -> tuple[list[InputItem], list[tuple[InputItem, str]]]:
    """Split inputs into those still to do and those whose id another input already claims."""
    claimed: dict[str, str] = {}
    todo, duplicates = [], []
    for item in items:
        if item.video_id in claimed:
            duplicates.append((item, claimed[item.video_id]))
            continue
        claimed[item.video_id] = item.source
        if item.video_id not in stored:
            todo.append(item)
    return todo, duplicates


def _run(writer, todo, config, workers, annotations, errors, progress) -> int:
    """Extract `todo` into `writer`, committing every few seconds; returns the number of new videos."""
    new, last_commit, since_commit = 0, time.monotonic(), 0
    try:
        for done, (item, result) in enumerate(_encoded_in_order(todo, config, workers), 1):
            if isinstance(result, str):
                errors.append((printable(item.source), result))
                writer.add_failure(item.source, result)
                log.warning("failed: %s", result)
            else:
                label = annotations.label_of(item.video_id) if annotations else -1
                try:
                    writer.add_video(result, label)
                    new += 1
                except UnsafeNameError as exc:  # an id the output layout cannot hold as a name
                    errors.append((printable(item.source), str(exc)))
                    writer.add_failure(item.source, str(exc))
            since_commit += 1
            if since_commit >= _COMMIT_EVERY_N or time.monotonic() - last_commit > _COMMIT_EVERY_S:
                writer.commit()
                last_commit, since_commit = time.monotonic(), 0
            if progress:
                progress(done, len(todo))
    finally:
        writer.commit()  # Ctrl-C or an unexpected error keeps every video finished so far
    return new


def _finish(writer, annotations: Annotations | None, whole: bool = True) -> None:
    """Attach labels, class names and splits (by id) and mark the store complete.

    A shard (`whole=False`) keeps every split name, even one none of its videos is in, so that
    all shards of one run carry the same annotations and merge.
    """
    if annotations is None:
        writer.finish(None, None, {})
        return
    index_of = {annotations.key(video_id): index for video_id, index in writer.ids.items()}
    labels = np.full(len(writer.ids), -1, dtype=np.int64)
    for video_id, index in writer.ids.items():
        labels[index] = annotations.label_of(video_id)
    splits, missing = {}, 0
    for name, ids in annotations.splits.items():
        found = [index_of[annotations.key(i)] for i in ids if annotations.key(i) in index_of]
        missing += len(ids) - len(found)
        splits[name] = np.array(found, dtype=np.int64)
    if missing and whole:  # a shard misses the other shards' videos by design
        log.warning("%d video(s) named in the split lists are not in the store", missing)
    writer.finish(annotations.classes, labels, splits)
