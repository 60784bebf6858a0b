"""R2V2's id lists and on-disk layout (vince.md 4.1-4.2), shared by `scrape r2v2` (which writes the
layout) and `extract-frames --dataset r2v2` (which reads it into a frame store).

- Id list: one video per line, `id,f1,f2,f3,f4`: no header, no final newline, ids may begin with
  `-` or `_`; the numbers are raw-video frame indices.
- Layout: `<split>/<XY>/<id>_<frame:06d>.jpg`, where `<XY>` is the id's first two characters (4096
  folders for YouTube's 64-letter alphabet). As the seed's loader does, the frame number is read
  from the end of the name (ids hold `_` too). Each part goes through `io.paths.safe_component`,
  so an id never leaves its folder; reading undoes the escaping.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vidkit.errors import AnnotationError, NoInputError
from vidkit.io.annotations import Annotations
from vidkit.io.image_folders import ImageInput, Scan
from vidkit.io.paths import child, component_name, printable

log = logging.getLogger("vidkit")

_FRAME = re.compile(r"^(?P<id>.+)_(?P<frame>\d{6,})$")
_SUFFIX = ".jpg"


@dataclass(frozen=True)
class R2V2Item:
    """One line of an R2V2 id list."""

    id: str
    frames: tuple[int, ...]


def parse_ids(lines: list[str], source: str = "id list") -> list[R2V2Item]:
    """`id,f1,f2,...` lines (no header; ids may start with `-` or `_`) -> items, in file order.

    Raises:
        AnnotationError: a line without frames, a frame that is not a non-negative integer, or a repeated id.
    """
    items, seen = [], set()
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        video_id, *frames = line.split(",")
        if not video_id or not frames or not all(f.strip().isdigit() for f in frames):
            raise AnnotationError(
                f"{source} line {n}: expected 'id,frame,frame,...' with frame numbers, got {line[:80]!r}"
            )
        if video_id in seen:
            raise AnnotationError(f"{source} line {n}: id {video_id!r} is listed twice")
        seen.add(video_id)
        items.append(R2V2Item(video_id, tuple(int(f) for f in frames)))
    return items


def read_ids(path: Path) -> list[R2V2Item]:
    """`parse_ids` of a file.

    Raises:
        AnnotationError: the file cannot be read or is malformed.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"cannot read the id list {path}: {exc}") from None
    return parse_ids(text.splitlines(), str(path))


def shard_folder(video_id: str) -> str:
    """The `<XY>` folder of a video in the seed's layout: the first two characters of its id."""
    return video_id[:2]


def frame_path(out: Path, video_id: str, frame: int) -> Path:
    """`<out>/<XY>/<id>_<frame:06d>.jpg`, every part through `vidkit.io.paths.child`."""
    return child(child(out, shard_folder(video_id)), f"{video_id}_{frame:06d}", _SUFFIX)


def parse_frame_name(name: str) -> tuple[str, int] | None:
    """`(video id, frame)` of a file name `frame_path` writes, or None for any other file."""
    if not name.lower().endswith(_SUFFIX):
        return None
    match = _FRAME.match(component_name(name[: -len(_SUFFIX)]))
    return (match["id"], int(match["frame"])) if match else None


def _frames_of(split: Path) -> dict[str, dict[int, str]]:
    """id -> {frame: path} of every frame file in the `<XY>` folders of one split folder."""
    videos: dict[str, dict[int, str]] = defaultdict(dict)
    try:
        shards = sorted(entry.path for entry in os.scandir(split) if entry.is_dir())
        for shard in shards:
            for entry in sorted(os.scandir(shard), key=lambda e: e.name):
                parsed = parse_frame_name(entry.name)
                if parsed is not None and entry.is_file():
                    videos[parsed[0]].setdefault(parsed[1], entry.path)
    except OSError as exc:
        raise NoInputError(f"cannot read the R2V2 folder {printable(str(split))}: {exc.strerror}") from None
    return videos


def scan_r2v2(splits: list[str | Path], id_list: Path | None = None) -> Scan:
    """The videos of R2V2 split folders (`<split>/<XY>/<id>_<frame:06d>.jpg`), one input per id.

    A video's frames are its cached files in frame order; its source is `<split>/<XY>/<id>_*.jpg`.
    Each folder is a split named after it (`r2v2/val` -> `val`). With `id_list`, only the listed
    videos are taken, each with exactly its listed frames (a listed frame that is not on disk
    makes the video fail at extraction, with the missing file named).

    Raises:
        NoInputError: a split is no folder, or no video was found.
        AnnotationError: the id list is malformed.
    """
    wanted = {item.id: item.frames for item in read_ids(id_list)} if id_list is not None else None
    inputs: list[ImageInput] = []
    split_ids: dict[str, list[str]] = {}
    taken: set[str] = set()
    for raw in splits:
        split = Path(raw)
        if not split.is_dir():
            raise NoInputError(f"--dataset r2v2 reads split folders of <XY>/<id>_<frame>.jpg; {raw} is none")
        ids = split_ids.setdefault(printable(split.resolve().name), [])
        for video_id, frames in sorted(_frames_of(split).items()):
            if wanted is not None and video_id not in wanted:
                continue
            numbers = wanted[video_id] if wanted is not None else sorted(frames)
            # A listed frame not on disk keeps the path it should have had: decoding it names the file.
            files = tuple(frames.get(f) or str(frame_path(split, video_id, f)) for f in numbers)
            pattern = str(Path(files[0]).parent / f"{video_id}_*{_SUFFIX}")
            if video_id not in taken:  # a second split holding the id fails as a duplicate
                ids.append(printable(video_id))
            taken.add(video_id)
            inputs.append(ImageInput(printable(video_id), printable(pattern), files))
    if wanted is not None and len(taken) < len(wanted):
        log.warning(
            "%d of the %d listed video(s) are in none of the split folders", len(wanted) - len(taken), len(wanted)
        )
    if not inputs:
        listed = " listed in the id list" if wanted is not None else ""
        raise NoInputError(f"no R2V2 videos{listed} under {', '.join(map(str, splits))}")
    return Scan(inputs, Annotations(classes=[], splits=split_ids, exact_ids=True))
