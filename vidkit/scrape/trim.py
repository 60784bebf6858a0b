"""Cut one time segment out of a video into its own H.264 file, with PyAV (no ffmpeg binary needed).

Kinetics annotates 10-second segments of longer YouTube videos. yt-dlp can download ranges only
through an ffmpeg executable, which vidkit does not require, so the recipe downloads the video and
cuts the segment here: decode from the keyframe before the start, keep the frames whose
presentation time falls in `[start, end)`, and re-encode them (frame-accurate, unlike a stream
copy, which can only cut at keyframes). Audio is dropped; the frame store keeps none.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from vidkit.errors import VideoDecodeError
from vidkit.io.atomic import atomic_path


def trim(source: str | Path, target: str | Path, start: float, end: float, *, crf: int = 18) -> int:
    """Write the frames of `source` shown in `[start, end)` seconds to `target` (mp4, H.264); returns their count.

    The file appears under its name only when whole (`atomic_path`).

    Raises:
        VideoDecodeError: the source does not decode, or has no frame in the segment.
    """
    import av

    if end <= start:
        raise VideoDecodeError(f"empty segment {start:g}-{end:g} s")
    written = 0
    try:
        with av.open(str(source)) as reader:
            if not reader.streams.video:
                raise VideoDecodeError(f"{source} has no video stream")
            stream = reader.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            time_base = float(stream.time_base)
            if start > 0:
                reader.seek(
                    int(start / time_base) + (stream.start_time or 0), stream=stream, backward=True, any_frame=False
                )
            with atomic_path(target) as tmp, av.open(str(tmp), mode="w", format="mp4") as writer:
                out = None
                for frame in reader.decode(stream):
                    t = (frame.pts - (stream.start_time or 0)) * time_base if frame.pts is not None else frame.time
                    if t is None or t < start - 1e-6:
                        continue
                    if t >= end - 1e-6:
                        break
                    if out is None:
                        out = writer.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
                        # yuv420p needs even sizes: drop a last odd row/column rather than scale.
                        out.width, out.height = frame.width - frame.width % 2, frame.height - frame.height % 2
                        out.pix_fmt = "yuv420p"
                        out.options = {"crf": str(crf), "preset": "veryfast"}
                    image = frame.to_ndarray(format="rgb24")[: out.height, : out.width]
                    for packet in out.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                        writer.mux(packet)
                    written += 1
                if out is None:
                    raise VideoDecodeError(f"{source} has no frame between {start:g} and {end:g} s")
                for packet in out.encode():
                    writer.mux(packet)
    except av.FFmpegError as exc:
        raise VideoDecodeError(f"cutting {start:g}-{end:g} s of {source} failed: {exc}") from exc
    return written
