"""Video decoding with PyAV: probing, streaming decode (resize + fps resampling) and frame-accurate reads.

Frames are `uint8 (H, W, 3)` arrays; a clip is `uint8 (T, H, W, 3)`. Resizing happens inside
libswscale (`VideoFrame.reformat`), which is several times faster than resizing decoded arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from vidkit.errors import VideoDecodeError

# Extensions picked up when a folder is walked; a file named explicitly is tried whatever its name.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp", ".ogv"}
)


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video's first video stream."""

    path: str
    width: int
    height: int
    fps: float
    n_frames: int  # as the container declares it; 0 when it does not say
    codec: str


def output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """Return `(width, height)` scaled so that the shorter side is `short_side`, aspect kept.

    `None` keeps the size. The long side is rounded to the nearest pixel (at least 1).
    """
    if short_side is None:
        return width, height
    if width <= height:
        return short_side, max(1, round(height * short_side / width))
    return max(1, round(width * short_side / height)), short_side


def resample_targets(t_begin: float, t_end: float, fps: float) -> range:
    """Indices k of the output frames at times k/fps that fall in `[t_begin, t_end)`.

    A source frame shown from `t_begin` until `t_end` fills every output slot in that interval,
    which is what a player (and ffmpeg's `fps` filter, up to rounding) does. The small epsilon keeps
    an exact 30 -> 15 fps halving from losing frames to float error.
    """
    eps = 1e-6
    return range(math.ceil(t_begin * fps - eps), math.ceil(t_end * fps - eps))


def _open(path: str | Path):
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoDecodeError(f"cannot open {path}: {_reason(exc)}") from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"{path} has no video stream")
    return container


def _reason(exc: BaseException) -> str:
    """A short reason: FFmpeg's own words without the errno and path PyAV wraps them in."""
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _stream_fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _info(container, path) -> VideoInfo:
    stream = container.streams.video[0]
    ctx = stream.codec_context
    return VideoInfo(
        path=str(path),
        width=int(ctx.width),
        height=int(ctx.height),
        fps=_stream_fps(stream),
        n_frames=int(stream.frames or 0),
        codec=ctx.name,
    )


def probe(path: str | Path) -> VideoInfo:
    """Read a video's header: size, frame rate, declared frame count and codec.

    Raises:
        VideoDecodeError: the file cannot be opened or has no video stream.
    """
    with _open(path) as container:
        return _info(container, path)


def decode_video(
    path: str | Path,
    *,
    short_side: int | None = None,
    fps: float | None = None,
    max_frames: int | None = None,
    pixel_format: str = "rgb24",
) -> tuple[VideoInfo, Iterator[np.ndarray]]:
    """Open a video once: its header now, and an iterator over its `uint8 (H, W, 3)` frames.

    Args:
        path: the video file.
        short_side: resize so the shorter side has this many pixels (aspect kept).
        fps: resample to this frame rate (frames repeated or dropped by presentation time).
        max_frames: stop after this many output frames.
        pixel_format: `rgb24` or `bgr24`.

    Raises:
        VideoDecodeError: the file cannot be opened, or (while iterating) decoding fails part-way.
    """
    container = _open(path)
    info = _info(container, path)
    return info, _frames(container, info, short_side, fps, max_frames, pixel_format)


def iter_frames(path: str | Path, **options) -> Iterator[np.ndarray]:
    """The frames of a video from the start (`decode_video`'s options)."""
    return decode_video(path, **options)[1]


def _frames(container, info: VideoInfo, short_side, fps, max_frames, pixel_format) -> Iterator[np.ndarray]:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame + slice threads: a sequential pass wants every core
    width, height = output_size(info.width, info.height, short_side)
    # One reformatter for the whole video: `frame.to_ndarray(width=...)` builds a new swscale
    # context per frame, which cost more than decoding at 720p -> 128 px.
    reformatter = VideoReformatter()
    source_fps = info.fps or 25.0
    time_base = float(stream.time_base) if stream.time_base else 1.0 / source_fps
    budget = max_frames if max_frames is not None else float("inf")
    t0 = None
    held: tuple[float, np.ndarray] | None = None  # frame waiting for its successor (fps mode)
    try:
        for frame in container.decode(stream):
            image = reformatter.reformat(frame, width, height, pixel_format, interpolation="AREA").to_ndarray()
            if fps is None:
                yield image
                budget -= 1
                if budget <= 0:
                    return
                continue
            t = frame.pts * time_base if frame.pts is not None else float(frame.time or 0.0)
            t0 = t if t0 is None else t0
            if held is not None:
                for _ in resample_targets(held[0] - t0, t - t0, fps):
                    yield held[1]
                    budget -= 1
                    if budget <= 0:
                        return
            held = (t, image)
        if held is not None:  # the last frame lasts one source frame period
            for _ in resample_targets(held[0] - t0, held[0] - t0 + 1.0 / source_fps, fps):
                yield held[1]
                budget -= 1
                if budget <= 0:
                    return
    except av.FFmpegError as exc:
        raise VideoDecodeError(f"decoding {info.path} failed: {_reason(exc)}") from exc
    finally:
        container.close()


def read_frames(path: str | Path, indices: list[int] | np.ndarray) -> np.ndarray:
    """Read the frames at the given 0-based decode indices, seeking instead of decoding from the start.

    Seeks once, backward, to the keyframe at or before the first wanted frame, then decodes
    forward and keeps frames by presentation time. A frame's index is its time times the stream's
    average rate, which is exact for constant-frame-rate video (nearly every dataset video).

    Returns:
        `uint8 (T, H, W, 3)` in the order of `indices` (repeats allowed).

    Raises:
        VideoDecodeError: unreadable file, or an index past the end of the video.
    """
    wanted = np.asarray(indices, dtype=np.int64)
    if wanted.size == 0:
        raise VideoDecodeError("read_frames needs at least one frame index")
    if wanted.min() < 0:
        raise VideoDecodeError(f"negative frame index {int(wanted.min())}")
    first, last = int(wanted.min()), int(wanted.max())
    found: dict[int, np.ndarray] = {}
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = _stream_fps(stream)
        time_base = float(stream.time_base)
        start_pts = stream.start_time if stream.start_time is not None else 0
        try:
            if first > 0 and fps > 0:
                # Aim half a frame early so rounding never lands us past the wanted frame.
                target = start_pts + int((first - 0.5) / fps / time_base)
                container.seek(max(target, start_pts), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is None:
                    raise VideoDecodeError(f"{path} has frames without timestamps; cannot seek")
                index = round((frame.pts - start_pts) * time_base * fps)
                if index > last:
                    break
                if index >= first:
                    found[index] = frame.to_ndarray(format="rgb24")
        except av.FFmpegError as exc:
            raise VideoDecodeError(f"decoding {path} failed: {_reason(exc)}") from exc
    missing = sorted(set(wanted.tolist()) - found.keys())
    if missing:
        raise VideoDecodeError(f"{path} has no frame {missing[0]} (read {len(found)} of the wanted frames)")
    return np.stack([found[i] for i in wanted.tolist()])
