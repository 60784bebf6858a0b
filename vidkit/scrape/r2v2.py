"""Recreate R2V2 from its id lists: exactly the listed frames of each video, into a frame store or JPEG folders.

R2V2's Drive shards are gone (VINCE issue #19) and the seed's `recreate_r2v2_dataset.py` hangs
before val, keeps failed downloads and names its folders unlike the loader (reference notes,
section 4.4). Here each line `id,f1,f2,f3,f4` is one download (`vidkit.scrape.download`), the
listed frames are read by 0-based decode index (what the seed's OpenCV `CAP_PROP_POS_FRAMES`
seek returned), letterbox bars are cropped as the seed's `remove_border` did, and the download is
deleted whatever happened. Output:

- a frame store (`--format h5`): one video per id, its source `<url>#frames=f1,f2,f3,f4`;
- or the seed's layout (`--format folders`): `<out>/<XY>/<id>_<frame:06d>.jpg`, where `<XY>` is
  the id's first two characters (4096 folders for YouTube's 64-letter alphabet).

The seed stored frames at download resolution (its resize helper was inverted), so `--max-side`
is off by default here, to reproduce the released frames; set it to cap them. At the end an
availability report (`availability.json`) counts what could be recreated and why the rest could not.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidkit.errors import VideoDecodeError
from vidkit.io.r2v2_layout import R2V2Item, frame_path, parse_ids, shard_folder  # noqa: F401 - shared with extract
from vidkit.scrape import frame_filters as ff
from vidkit.scrape.download import Downloader, DownloadOptions
from vidkit.scrape.ledger import Attempt, Ledger
from vidkit.scrape.pool import map_in_threads
from vidkit.scrape.targets import YOUTUBE_TEMPLATE, Target, url_for

log = logging.getLogger("vidkit")

LAYOUTS = ("h5", "folders")


@dataclass
class R2V2Result:
    output: Path
    listed: int
    available: int = 0  # recreated now or before
    new: int = 0
    skipped: int = 0
    missing_frames: int = 0  # the video is there but lacks a listed frame (re-encoded or cut since 2020)
    unavailable: int = 0  # download failed for good
    pending: int = 0  # download failed transiently: rerun
    seconds: float = 0.0
    errors: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        return {
            "output": str(self.output),
            "listed": self.listed,
            "available": self.available,
            "new": self.new,
            "skipped": self.skipped,
            "missing_frames": self.missing_frames,
            "unavailable": self.unavailable,
            "pending": self.pending,
            "fraction_available": round(self.available / self.listed, 4) if self.listed else 0.0,
            "seconds": round(self.seconds, 3),
            "errors": dict(sorted(self.errors.items())),
        }


def _read_listed(path: Path, item: R2V2Item, max_side: int | None, quality: int) -> list[bytes]:
    """JPEG bytes of the listed frames, letterbox cropped (one crop for the video) and capped."""
    from vidkit.io import video
    from vidkit.io.image import encode_image

    rgb = video.read_frames(path, list(item.frames))  # (T, H, W, 3)
    bgr = [frame[..., ::-1] for frame in rgb]
    box = ff.letterbox(bgr)
    return [encode_image(ff.cap_size(box.apply(frame), max_side), "jpeg", quality) for frame in bgr]


def _work(downloader: Downloader, target: Target, item: R2V2Item, max_side, quality):
    fetched = downloader.fetch(target)
    if fetched.path is None:
        return fetched.fault, None
    try:
        from vidkit.io import video

        info = video.probe(fetched.path)
        return info, _read_listed(fetched.path, item, max_side, quality)
    except VideoDecodeError as exc:
        return exc, None
    finally:
        fetched.path.unlink(missing_ok=True)


def recreate(
    items: list[R2V2Item],
    output: Path,
    *,
    layout: str = "h5",
    url_template: str = YOUTUBE_TEMPLATE,
    options: DownloadOptions = DownloadOptions(),
    max_side: int | None = None,
    quality: int = 95,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    inputs: Sequence[str | Path | None] = (),
    force: bool = False,
) -> R2V2Result:
    """Recreate the listed frames of every item under `output`; rerun to resume.

    Raises:
        UsageError: `output` (or its ledger or report) is one of `inputs`; or, without `force`,
            an existing output of another kind (`scrape.claims`).
        OutputInUseError: another run writes `output`.
        StoreConfigError: the store was made with another `--quality`.
    """
    from vidkit.io.atomic import atomic_path
    from vidkit.io.frame_store import StoreConfig
    from vidkit.io.frame_store_writer import EncodedVideo, FrameStoreWriter
    from vidkit.scrape import claims

    output = Path(output)
    started = time.monotonic()
    result = R2V2Result(output, len(items))
    folders = layout == "folders"
    side = output / "ledger.jsonl" if folders else output.with_name(output.name + ".ledger.jsonl")
    report = output / "availability.json" if folders else output.with_name(output.name + ".availability.json")
    existing = claims.folder("scrape r2v2", [report.name]) if folders else claims.frame_store
    claim = claims.claim_stage(
        output, "scrape r2v2", [*inputs, options.cookies], existing, force, writes_folder=folders, side=[side, report]
    )
    with claim, Ledger(side) as ledger:
        writer = (
            None
            if folders
            else FrameStoreWriter(
                output, StoreConfig(codec="jpeg", jpeg_quality=quality), created_by="vidkit scrape r2v2"
            )
        )
        try:
            todo = []
            for item in items:
                done = (
                    all(frame_path(output, item.id, f).exists() for f in item.frames)
                    if folders
                    else item.id in writer.ids
                )
                settled = ledger.settled(item.id)
                if done:
                    result.available += 1
                    result.skipped += 1
                elif settled is not None and settled["status"] in ("failed", "missing"):
                    result.skipped += 1
                    _count_failure(result, settled["status"], settled.get("error_class"), transient=False)
                else:
                    todo.append(item)
            downloads = output / ".downloads" if folders else output.with_name(output.name + ".downloads")
            downloads.mkdir(parents=True, exist_ok=True)
            downloader = Downloader(downloads, options, ledger)
            targets = {item.id: Target(item.id, url_for(item.id, url_template)) for item in todo}
            work = map_in_threads(
                lambda it: _work(downloader, targets[it.id], it, max_side, quality), todo, workers, "r2v2"
            )
            for n, (item, (info, images)) in enumerate(work, 1):
                target = targets[item.id]
                if images is None and isinstance(info, VideoDecodeError):
                    ledger.append(Attempt(item.id, target.url, "missing", "missing_frames", str(info), False))
                    _count_failure(result, "missing", "missing_frames", transient=False)
                    if writer is not None:
                        writer.add_failure(target.url, f"missing_frames: {info}")
                elif images is None:
                    _count_failure(result, "failed", info.error_class, transient=info.transient)
                    if writer is not None and not info.transient:
                        writer.add_failure(target.url, f"download: {info.error_class}: {info.message}")
                else:
                    if folders:
                        for frame, data in zip(item.frames, images):
                            path = frame_path(output, item.id, frame)
                            path.parent.mkdir(exist_ok=True)
                            with atomic_path(path) as tmp:
                                tmp.write_bytes(data)
                    else:
                        height, width = _jpeg_size(images[0])
                        gaps = [b - a for a, b in zip(item.frames, item.frames[1:])] or [1]
                        writer.add_video(
                            EncodedVideo(
                                item.id,
                                f"{target.url}#frames={','.join(map(str, item.frames))}",
                                info.fps / max(1, sorted(gaps)[len(gaps) // 2]),
                                height,
                                width,
                                images,
                            )
                        )
                        if n % 16 == 0:
                            writer.commit()
                    ledger.append(Attempt(item.id, target.url, "cached", bytes=sum(map(len, images))))
                    result.available += 1
                    result.new += 1
                if progress is not None:
                    progress(n, len(todo))
            if writer is not None:
                writer.finish(None, None, {})
            for folder in (downloads / ".partial", downloads):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        finally:
            if writer is not None:
                writer.__exit__(None, None, None)
        result.seconds = time.monotonic() - started
        with atomic_path(report) as tmp:
            tmp.write_text(json.dumps(result.summary(), indent=2) + "\n")
    return result


def _count_failure(result: R2V2Result, status: str, error_class: str | None, *, transient: bool) -> None:
    result.errors[error_class or "error"] += 1
    if status == "missing":
        result.missing_frames += 1
    elif transient:
        result.pending += 1
    else:
        result.unavailable += 1


def _jpeg_size(data: bytes) -> tuple[int, int]:
    import simplejpeg

    width, height, _, _ = simplejpeg.decode_jpeg_header(data)
    return height, width
