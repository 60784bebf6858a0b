"""Download Kinetics from the official CSVs: each clip cut to its segment and laid out for `extract-frames`.

The official CSVs have columns `youtube_id,time_start,time_end` plus `label` (absent in the test
set) and `split`. Each YouTube video is downloaded once (`vidkit.scrape.download`), every listed
segment of it is cut into its own file (`vidkit.scrape.trim`), and the download is deleted. Output
under `OUT`:

    videos/<split>/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4   (label `unlabelled` when absent)
    annotations/kinetics.csv   label,youtube_id,time_start,time_end,split (every listed clip)
    availability.tsv           per class: listed, available, unavailable, pending
    ledger.jsonl               every download attempt and every cut that failed

so that `vidkit extract-frames OUT/videos -o k400.h5 --annotations OUT/annotations --dataset kinetics`
builds a labelled frame store with the CSV's splits (the clip names are the ids `--dataset kinetics`
matches). A rerun skips clips already cut and videos that failed for good.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidkit.errors import AnnotationError, VideoDecodeError
from vidkit.io.paths import child, printable
from vidkit.scrape.download import Downloader, DownloadOptions
from vidkit.scrape.ledger import Attempt, Ledger
from vidkit.scrape.pool import map_in_threads
from vidkit.scrape.targets import YOUTUBE_TEMPLATE, Target, url_for

log = logging.getLogger("vidkit")

UNLABELLED = "unlabelled"
REPORTS = ("availability.tsv", "annotations/kinetics.csv")  # replaced by every run


@dataclass(frozen=True)
class Clip:
    """One row of a Kinetics CSV."""

    youtube_id: str
    start: int
    end: int
    label: str
    split: str

    @property
    def name(self) -> str:
        """The clip's id, as the common downloaders and `extract-frames --dataset kinetics` spell it."""
        return f"{self.youtube_id}_{self.start:06d}_{self.end:06d}"


def parse_csv(text: str, source: str, default_split: str) -> list[Clip]:
    """Rows of an official Kinetics CSV (`youtube_id,time_start,time_end[,label][,split]`, any order).

    Raises:
        AnnotationError: a missing column, or a time that is not a number.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("youtube_id", "time_start", "time_end") if c not in (reader.fieldnames or [])]
    if missing:
        raise AnnotationError(f"{source}: missing column(s) {', '.join(missing)} (header: {reader.fieldnames})")
    clips = []
    for n, row in enumerate(reader, 2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        youtube_id = (row["youtube_id"] or "").strip()
        if not youtube_id:
            raise AnnotationError(f"{source} line {n}: the youtube_id is empty")
        start, end = _segment(row["time_start"], row["time_end"], f"{source} line {n}")
        clips.append(
            Clip(
                youtube_id,
                start,
                end,
                (row.get("label") or "").strip() or UNLABELLED,
                (row.get("split") or "").strip() or default_split,
            )
        )
    return clips


def _segment(time_start: str | None, time_end: str | None, where: str) -> tuple[int, int]:
    """(start, end) in whole seconds, as clip names (`<id>_<start:06d>_<end:06d>`) hold them.

    The official CSVs give whole seconds; other times are cut down to whole seconds, so a row
    whose segment does not span a whole second boundary (`0, 0.3`) would be an empty clip.

    Raises:
        AnnotationError: a time that is not a finite number, a negative one, time_end not after
            time_start, or a segment that becomes empty in whole seconds (each said as such).
    """
    try:
        start_s, end_s = float(time_start), float(time_end)
    except (TypeError, ValueError):
        raise AnnotationError(
            f"{where}: time_start {time_start!r} and time_end {time_end!r} must be numbers (seconds)"
        ) from None
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        raise AnnotationError(f"{where}: time_start {start_s:g} and time_end {end_s:g} must be finite")
    if start_s < 0:
        raise AnnotationError(f"{where}: time_start {start_s:g} is negative")
    if end_s <= start_s:
        raise AnnotationError(f"{where}: time_end {end_s:g} is not after time_start {start_s:g}")
    start, end = int(start_s), int(end_s)
    if end <= start:
        raise AnnotationError(
            f"{where}: the segment {start_s:g}-{end_s:g} s lies within the second {start}-{start + 1}; "
            "clips are cut and named in whole seconds, so give time_start and time_end as whole seconds "
            f"(e.g. {start}, {start + 1})"
        )
    return start, end


def clip_path(out: Path, clip: Clip) -> Path:
    """`<out>/videos/<split>/<label>/<clip name>.mp4`, every part through `vidkit.io.paths.child`."""
    return child(child(child(out / "videos", clip.split), clip.label), clip.name, ".mp4")


@dataclass
class KineticsResult:
    output: Path
    clips: int
    videos: int
    available: int = 0
    new: int = 0
    unavailable: int = 0
    pending: int = 0
    seconds: float = 0.0
    per_class: dict = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        return {
            "output": str(self.output),
            "clips": self.clips,
            "videos": self.videos,
            "available": self.available,
            "new": self.new,
            "unavailable": self.unavailable,
            "pending": self.pending,
            "fraction_available": round(self.available / self.clips, 4) if self.clips else 0.0,
            "seconds": round(self.seconds, 3),
            "errors": dict(sorted(self.errors.items())),
            "classes": len(self.per_class),
        }


def _cut_all(downloader: Downloader, target: Target, clips: list[Clip], out: Path):
    """Worker: download one video and cut each of its clips; returns ("failed", fault) or ("cut", {clip: error|None})."""
    from vidkit.scrape.trim import trim

    fetched = downloader.fetch(target)
    if fetched.path is None:
        return "failed", fetched.fault
    errors = {}
    try:
        for clip in clips:
            path = clip_path(out, clip)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                trim(fetched.path, path, clip.start, clip.end)
                errors[clip] = None
            except VideoDecodeError as exc:
                errors[clip] = str(exc)
        return "cut", errors
    finally:
        fetched.path.unlink(missing_ok=True)


def download_kinetics(
    clips: list[Clip],
    output: Path,
    *,
    url_template: str = YOUTUBE_TEMPLATE,
    options: DownloadOptions = DownloadOptions(),
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    inputs: Sequence[str | Path | None] = (),
    force: bool = False,
) -> KineticsResult:
    """Download and cut every clip under `output`; rerun to resume.

    Raises:
        UsageError: `output` or a file it writes (ledger, reports, annotations) is one of `inputs`
            (the CSVs); or, without `force`, a file, or a folder of reports vidkit did not write.
        OutputInUseError: another run writes `output`.
    """
    from vidkit.io.atomic import atomic_path
    from vidkit.scrape import claims

    output = Path(output)
    started = time.monotonic()
    existing = claims.folder("scrape kinetics", REPORTS)
    side = [output / name for name in (claims.LEDGER, *REPORTS)]
    claim = claims.claim_stage(
        output, "scrape kinetics", [*inputs, options.cookies], existing, force, writes_folder=True, side=side
    )
    by_video: dict[str, list[Clip]] = defaultdict(list)
    for clip in dict.fromkeys(clips):
        by_video[clip.youtube_id].append(clip)
    result = KineticsResult(output, sum(len(v) for v in by_video.values()), len(by_video))
    state: dict[Clip, str] = {}  # available | unavailable | pending
    with claim, Ledger(output / "ledger.jsonl") as ledger:
        todo = []
        for youtube_id, its_clips in by_video.items():
            settled = ledger.settled(youtube_id)
            for clip in its_clips:
                if clip_path(output, clip).exists():
                    state[clip] = "available"
                elif (cut := ledger.settled(clip.name)) is not None and cut["status"] == "missing":
                    state[clip] = "unavailable"  # the segment is not in the video: cutting again will not help
                    result.errors["cut_failed"] += 1
            if all(clip in state for clip in its_clips):
                continue
            if settled is not None and settled["status"] == "failed":
                for clip in its_clips:
                    state.setdefault(clip, "unavailable")
                result.errors[settled.get("error_class") or "error"] += 1
                continue
            todo.append(youtube_id)
        result.available = sum(s == "available" for s in state.values())
        downloader = Downloader(output / "downloads", options, ledger)
        (output / "downloads").mkdir(exist_ok=True)
        targets = {v: Target(v, url_for(v, url_template)) for v in todo}
        missing = {v: [c for c in by_video[v] if c not in state] for v in todo}
        work = map_in_threads(lambda v: _cut_all(downloader, targets[v], missing[v], output), todo, workers, "kinetics")
        for n, (youtube_id, (kind, detail)) in enumerate(work, 1):
            if kind == "failed":
                result.errors[detail.error_class] += 1
                for clip in missing[youtube_id]:
                    state[clip] = "pending" if detail.transient else "unavailable"
            else:
                for clip, error in detail.items():
                    if error is None:
                        state[clip], result.new = "available", result.new + 1
                    else:
                        state[clip] = "unavailable"
                        result.errors["cut_failed"] += 1
                        ledger.append(
                            Attempt(clip.name, targets[youtube_id].url, "missing", "cut_failed", error, False)
                        )
            if progress is not None:
                progress(n, len(todo))
        for folder in (output / "downloads" / ".partial", output / "downloads"):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        result.available = sum(s == "available" for s in state.values())
        result.unavailable = sum(s == "unavailable" for s in state.values())
        result.pending = sum(s == "pending" for s in state.values())
        result.per_class = _per_class(state)
        _write_annotations(output, list(state), atomic_path)
        _write_availability(output, result.per_class, atomic_path)
    result.seconds = time.monotonic() - started
    return result


def _per_class(state: dict[Clip, str]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter] = defaultdict(Counter)
    for clip, status in state.items():
        table[clip.label]["listed"] += 1
        table[clip.label][status] += 1
    return {
        label: {k: counts[k] for k in ("listed", "available", "unavailable", "pending")}
        for label, counts in sorted(table.items())
    }


def _write_annotations(output: Path, clips: list[Clip], atomic_path) -> None:
    folder = output / "annotations"
    folder.mkdir(exist_ok=True)
    with atomic_path(folder / "kinetics.csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for clip in clips:
            label = "" if clip.label == UNLABELLED else clip.label
            writer.writerow([printable(label), printable(clip.youtube_id), clip.start, clip.end, printable(clip.split)])


def _write_availability(output: Path, per_class: dict, atomic_path) -> None:
    with atomic_path(output / "availability.tsv") as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write("class\tlisted\tavailable\tunavailable\tpending\n")
        for label, counts in per_class.items():
            handle.write(
                "\t".join(
                    [printable(label).replace("\t", " ")]
                    + [str(counts[k]) for k in ("listed", "available", "unavailable", "pending")]
                )
                + "\n"
            )
