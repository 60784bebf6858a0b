"""R2V2-style caching: download each video, keep a few filtered frames of it in a frame store, delete it.

Per video (the seed's `VideoCacherDataset`, reference notes section 4.3, with its defects fixed):

1. download (`vidkit.scrape.download`: retries, backoff, ledger);
2. sample up to `max_frames` frames `sample_every` frames apart from a random start;
3. crop the letterbox (one crop per video, judged over the sampled frames), drop blank or blurry
   frames (Laplacian edge test) and near-duplicates of the last kept frame
   (`vidkit.scrape.frame_filters`);
4. optionally keep only runs within one shot;
5. keep a random run of `frames` contiguous survivors; if there is none, try again from another
   random start, up to `tries` times, then drop the video with the reason;
6. shrink frames to `max_side` (the seed enlarged small frames instead) and append the video to
   the frame store; delete the download whatever happened.

The store gets one video per id. Its source is the URL with the kept frame numbers as a
fragment (`<url>#frames=149,299,449,599`; 0-based decode indices), because the frame store has no
column for source frame numbers; its fps is the source rate divided by `sample_every` (the rate
of the stored frames). Every dropped video and every permanent download failure is a row of the
store's failure table (`dropped: <reason>: ...`, `download: <class>: ...`). Transient download
failures stay out of that table (a rerun retries them) and are in the ledger
(`<store>.ledger.jsonl`) like every attempt.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidkit.errors import VideoDecodeError
from vidkit.scrape import frame_filters as ff
from vidkit.scrape.download import Downloader, DownloadOptions
from vidkit.scrape.ledger import Attempt, Ledger
from vidkit.scrape.pool import map_in_threads
from vidkit.scrape.targets import Target

log = logging.getLogger("vidkit")

_COMMIT_EVERY_N = 16
_COMMIT_EVERY_S = 5.0


@dataclass(frozen=True)
class CacheConfig:
    """How frames are chosen; defaults are the seed's R2V2 settings."""

    sample_every: int = 150
    max_frames: int = 10
    frames: int = 4
    tries: int = 3  # the seed tried 10 random starts; each try decodes again
    one_shot: bool = False
    shot_threshold: float = 0.5  # edge change ratio that starts a new shot
    min_changed: float = ff.MIN_CHANGED
    min_edges: float = ff.MIN_EDGES
    max_side: int | None = 480
    quality: int = 95  # cv2's default JPEG quality, which R2V2 was saved with


@dataclass
class Cached:
    """The frames kept for one video (`uint8 (H, W, 3)` BGR) and their 0-based indices in the source."""

    frames: list[np.ndarray]
    indices: list[int]
    fps: float


class Dropped(Exception):
    """The filters left too little of a video; the message says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def video_rng(seed: int, video_id: str) -> np.random.Generator:
    """A generator per video: the same seed picks the same frames whatever order videos finish in."""
    digest = hashlib.sha1(video_id.encode("utf-8", "surrogateescape")).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def decode_at(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """The frames at `indices` (0-based decode order) as `uint8 (H, W, 3)` BGR; indices past the end are absent.

    Raises:
        VideoDecodeError: the file does not decode.
    """
    from vidkit.io import video

    wanted, last, found = set(indices), max(indices), {}
    try:
        rgb = video.read_frames(path, sorted(wanted))  # one seek, then forward: fast for sparse samples
        return {i: np.ascontiguousarray(frame[..., ::-1]) for i, frame in zip(sorted(wanted), rgb)}
    except VideoDecodeError as exc:
        if "has no frame" not in str(exc):
            raise
    for i, frame in enumerate(video.iter_frames(path, pixel_format="bgr24")):  # the header over-counted
        if i in wanted:
            found[i] = frame
        if i >= last:
            break
    return found


def sample_positions(n_frames: int, config: CacheConfig, rng: np.random.Generator) -> list[int]:
    """`max_frames` indices `sample_every` apart; the start is random when the video is long enough."""
    span = (config.max_frames - 1) * config.sample_every + 1
    start = int(rng.integers(0, n_frames - span + 1)) if n_frames > span else 0
    return [i for i in range(start, n_frames, config.sample_every)][: config.max_frames]


def choose_frames(path: Path, config: CacheConfig, rng: np.random.Generator) -> Cached:
    """Sample, filter and pick `config.frames` contiguous frames of one video.

    Raises:
        Dropped: too short, or no try left enough frames (the message counts each reason).
        VideoDecodeError: the video does not decode.
    """
    from vidkit.io import video

    info = video.probe(path)
    n_frames = info.n_frames or sum(1 for _ in video.iter_frames(path, short_side=16))
    if n_frames < config.frames:
        raise Dropped("too_short", f"{n_frames} frames, fewer than the {config.frames} to keep")
    box, reasons = None, Counter()
    for _ in range(config.tries):
        positions = sample_positions(n_frames, config, rng)
        decoded = decode_at(path, positions)
        positions = [p for p in positions if p in decoded]
        if len(positions) < config.frames:
            reasons["too_short"] += 1
            continue
        if box is None:
            box = ff.letterbox([decoded[p] for p in positions])
        kept: list[int] = []
        for p in positions:
            frame = box.apply(decoded[p])
            if ff.edge_fraction(frame) <= config.min_edges:
                reasons["blank_or_blurry"] += 1
            elif kept and ff.changed_fraction(frame, box.apply(decoded[kept[-1]])) < config.min_changed:
                reasons["near_duplicate"] += 1
            else:
                kept.append(p)
        shots = (
            ff.shot_ids([box.apply(decoded[p]) for p in kept], config.shot_threshold)
            if config.one_shot
            else [0] * len(kept)
        )
        starts = ff.contiguous_runs(shots, config.frames)
        if starts:
            start = starts[int(rng.integers(len(starts)))]
            chosen = kept[start : start + config.frames]
            frames = [ff.cap_size(box.apply(decoded[p]), config.max_side) for p in chosen]
            return Cached(frames, chosen, (info.fps or math.nan) / config.sample_every)
        if len(kept) >= config.frames:
            reasons["shot_change"] += 1
    counts = ", ".join(f"{name} {count}" for name, count in reasons.most_common())
    reason = "no_single_shot" if reasons["shot_change"] else "too_few_frames"
    raise Dropped(reason, f"fewer than {config.frames} contiguous frames survived {config.tries} tries ({counts})")


def fragment_source(url: str, indices: list[int]) -> str:
    """The store's source for a cached video: its URL with the kept frame numbers as a fragment."""
    return f"{url}#frames={','.join(str(i) for i in indices)}"


@dataclass
class CacheResult:
    store: Path
    ledger: Path
    targets: int
    cached: int = 0
    skipped: int = 0
    dropped: int = 0
    failed: int = 0
    pending: int = 0
    frames: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        return {
            "store": str(self.store),
            "ledger": str(self.ledger),
            "targets": self.targets,
            "cached": self.cached,
            "skipped": self.skipped,
            "dropped": self.dropped,
            "failed": self.failed,
            "pending": self.pending,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "reasons": dict(sorted(self.reasons.items())),
        }


def _process(downloader: Downloader, target: Target, config: CacheConfig, seed: int):
    """Worker: download, choose frames, delete the download. Returns (target, Cached | Dropped | Fault)."""
    from vidkit.io.image import encode_image

    fetched = downloader.fetch(target)
    if fetched.path is None:
        return target, fetched.fault, None
    try:
        cached = choose_frames(fetched.path, config, video_rng(seed, target.id))
        encoded = [encode_image(frame, "jpeg", config.quality) for frame in cached.frames]
        return target, cached, encoded
    except Dropped as exc:
        return target, exc, None
    except VideoDecodeError as exc:
        return target, Dropped("undecodable", str(exc)), None
    finally:
        fetched.path.unlink(missing_ok=True)


def cache(
    targets: list[Target],
    store: Path,
    *,
    config: CacheConfig = CacheConfig(),
    options: DownloadOptions = DownloadOptions(),
    workers: int = 4,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    inputs: Sequence[str | Path | None] = (),
    force: bool = False,
) -> CacheResult:
    """Cache `targets` into the frame store `store`; rerun the same command to resume.

    Raises:
        UsageError: `store` (or its ledger) is one of `inputs`, a folder, or (without `force`) a
            file that is no frame store.
        OutputInUseError: another run is writing `store`.
        StoreConfigError: `store` was made with another `--quality` or `--frames`.
    """
    from vidkit.io.frame_store import StoreConfig
    from vidkit.io.frame_store_writer import EncodedVideo, FrameStoreWriter
    from vidkit.scrape import claims

    store = Path(store)
    started = time.monotonic()
    store_config = StoreConfig(codec="jpeg", jpeg_quality=config.quality, max_frames=config.frames)
    downloads = store.with_name(store.name + ".downloads")
    ledger_file = store.with_name(store.name + ".ledger.jsonl")
    inputs = [*inputs, options.cookies]
    with (
        claims.claim_stage(
            store, "scrape cache", inputs, claims.frame_store, force, writes_folder=False, side=[ledger_file]
        ),
        Ledger(ledger_file) as ledger,
        FrameStoreWriter(store, store_config, created_by="vidkit scrape cache") as writer,
    ):
        result = CacheResult(store, ledger.path, len(targets))
        failed = writer.failed_sources
        todo = [t for t in targets if t.id not in writer.ids and t.url not in failed]
        result.skipped = len(targets) - len(todo)
        downloads.mkdir(exist_ok=True)
        downloader = Downloader(downloads, options, ledger, seed=seed)
        last_commit = time.monotonic()
        work = map_in_threads(lambda t: _process(downloader, t, config, seed), todo, workers, "cache")
        for n, (_, (target, outcome, encoded)) in enumerate(work, 1):
            if isinstance(outcome, Cached):
                height, width = outcome.frames[0].shape[:2]
                writer.add_video(
                    EncodedVideo(
                        target.id, fragment_source(target.url, outcome.indices), outcome.fps, height, width, encoded
                    )
                )
                ledger.append(Attempt(target.id, target.url, "cached", bytes=sum(map(len, encoded))))
                result.cached += 1
                result.frames += len(encoded)
            elif isinstance(outcome, Dropped):
                writer.add_failure(target.url, f"dropped: {outcome}")
                ledger.append(Attempt(target.id, target.url, "dropped", outcome.reason, str(outcome), False))
                result.dropped += 1
                result.reasons[outcome.reason] += 1
            elif outcome.transient:
                result.pending += 1
                result.reasons[outcome.error_class] += 1
            else:
                writer.add_failure(target.url, f"download: {outcome.error_class}: {outcome.message}")
                result.failed += 1
                result.reasons[outcome.error_class] += 1
            if n % _COMMIT_EVERY_N == 0 or time.monotonic() - last_commit > _COMMIT_EVERY_S:
                writer.commit()
                last_commit = time.monotonic()
            if progress is not None:
                progress(n, len(todo))
        writer.finish(None, None, _splits(targets, writer.ids))
        _remove_tree_if_empty(downloads)
    result.seconds = time.monotonic() - started
    return result


def _splits(targets: list[Target], stored: dict[str, int]) -> dict[str, np.ndarray]:
    """Named splits from the targets' split column (`scrape search` output), as store indices."""
    splits: dict[str, list[int]] = {}
    for target in targets:
        if target.split and target.id in stored:
            splits.setdefault(target.split, []).append(stored[target.id])
    return {name: np.array(sorted(indices), dtype=np.int64) for name, indices in splits.items()}


def _remove_tree_if_empty(folder: Path) -> None:
    for sub in sorted(folder.rglob("*"), reverse=True):
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
