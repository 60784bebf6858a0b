"""Download videos with yt-dlp's Python API: threads, retries with backoff, a ledger, and resume.

The seed ran youtube-dl under a SIGALRM timeout in a hundred processes; a 429 killed the worker
that saw it and failures went into text files that a crash could lose. Here:

- Each video is fetched by a fresh `yt_dlp.YoutubeDL` (never a shell) into a private partial
  folder, checked (non-empty, opens as a video) and moved to `<out>/<sanitised id>.<ext>`, so a
  file under its final name is always whole. Names come from ids through
  `vidkit.io.paths.child`, never from titles.
- A failure is classified (`vidkit.scrape.faults`). Transient ones are retried up to `retries`
  times with exponential backoff; a 429 (or a server's Retry-After) pauses the *whole pool* for
  the backoff, since the server is limiting this client, not one video. Nothing kills a worker.
- yt-dlp's own retries are off so that every attempt is ours and goes into the ledger; its
  `continuedl` stays on, so a retry after a cut connection resumes the partial file (HTTP Range).
- The per-video timeout is enforced from yt-dlp's progress hook (and a stalled socket by
  `socket_timeout`), which works in threads where SIGALRM does not.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidkit.errors import UsageError, VideoDecodeError
from vidkit.io.paths import child
from vidkit.scrape import claims
from vidkit.scrape.claims import LEDGER
from vidkit.scrape.faults import CorruptVideo, DownloadTimeout, Fault, classify
from vidkit.scrape.ledger import Attempt, Ledger
from vidkit.scrape.pool import map_in_threads
from vidkit.scrape.targets import Target

log = logging.getLogger("vidkit")

# The seed's `best[height<=480][ext=mp4]`, widened for today's YouTube, where most formats up to
# 480p are video-only DASH streams: frames need no audio, and taking a video-only stream needs no
# ffmpeg to merge. H.264 first (every PyAV build decodes it), `?` keeps formats of unknown height
# (direct links to files).
DEFAULT_FORMAT = (
    "bv*[height<=?480][ext=mp4][vcodec^=avc1]/bv*[height<=?480][ext=mp4]/b[height<=?480][ext=mp4]/b[height<=?480]"
)
PARTIAL_DIR = ".partial"


@dataclass(frozen=True)
class DownloadOptions:
    """How each video is fetched."""

    format: str = DEFAULT_FORMAT
    cookies: Path | None = None  # Netscape cookies.txt
    rate_limit: int | None = None  # bytes per second, per download (yt-dlp's `ratelimit`)
    retries: int = 5  # further attempts after a transient failure
    backoff: float = 5.0  # seconds before the first retry; doubled each time, +-25% jitter
    max_backoff: float = 300.0
    timeout: float = 600.0  # seconds for one video, all of its download
    socket_timeout: float = 30.0
    js_runtimes: tuple[
        str, ...
    ] = ()  # yt-dlp's JavaScript runtimes for YouTube (deno, node, bun, quickjs); () = its default


@dataclass
class Fetched:
    """The outcome of fetching one target: a file, or the fault that ended the last attempt."""

    target: Target
    path: Path | None = None
    fault: Fault | None = None
    attempts: int = 0
    bytes: int = 0


class RateGate:
    """A pause shared by every worker: after a 429 nobody sends a request until it has passed."""

    def __init__(self):
        self._until = 0.0
        self._mutex = threading.Lock()

    def pause(self, seconds: float) -> None:
        with self._mutex:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self) -> None:
        while (left := self._until - time.monotonic()) > 0:
            time.sleep(min(left, 1.0))


class _YdlLogger:
    """yt-dlp's messages into vidkit's log: errors are classified and ledgered by us, so only debug."""

    def __init__(self):
        self._warned: set[str] = set()

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    info = debug
    error = debug

    def warning(self, message: str) -> None:
        if message.startswith("[generic] Falling back"):  # every direct link says so
            return self.debug(message)
        if message not in self._warned:  # e.g. a missing JavaScript runtime: worth seeing once
            self._warned.add(message)
            log.warning("yt-dlp: %s", message.removeprefix("WARNING: "))


YDL_LOGGER = _YdlLogger()


def _read_cookies(path: Path) -> str:
    """The text of a Netscape cookies.txt.

    Raises:
        UsageError: it cannot be read, or is not a Netscape cookie file.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the cookies file {path}: {exc}") from None
    rows = [
        line for line in text.splitlines() if line.strip() and not line.startswith("#") or line.startswith("#HttpOnly_")
    ]
    if rows and not all(len(line.split("\t")) == 7 for line in rows):
        raise UsageError(f"{path} is not a Netscape cookies.txt (7 tab-separated fields a line); export it again")
    return text


class Downloader:
    """Fetches targets into `out_dir`, appending every attempt to `ledger`; safe to call from threads."""

    def __init__(self, out_dir: Path, options: DownloadOptions, ledger: Ledger, *, seed: int = 0):
        self.out_dir = Path(out_dir)
        self.options = options
        self.ledger = ledger
        self.gate = RateGate()
        # yt-dlp writes its cookie jar back to `cookiefile` when each YoutubeDL closes: threads
        # would truncate and rewrite the user's file at once (and a kill could leave it empty). Each
        # attempt gets a private in-memory copy instead; the user's file is only read, once.
        self._cookies = _read_cookies(options.cookies) if options.cookies is not None else None
        self._rng = random.Random(seed)
        self._rng_mutex = threading.Lock()

    def _params(self, url: str, outtmpl: str, deadline: float) -> dict:
        def check_deadline(status: dict) -> None:
            if time.monotonic() > deadline:
                raise DownloadTimeout(f"no complete download within {self.options.timeout:g} s")

        params = {
            "format": self.options.format,
            "outtmpl": outtmpl,
            "noplaylist": True,
            "quiet": True,
            "noprogress": True,
            "logger": YDL_LOGGER,
            "retries": 0,
            "fragment_retries": 0,
            "extractor_retries": 0,
            "file_access_retries": 0,
            "continuedl": True,
            "socket_timeout": min(self.options.socket_timeout, self.options.timeout),
            "progress_hooks": [check_deadline],
            # file:// only when the user named a file URL (a local mirror); yt-dlp keeps it off
            # otherwise so that a web page cannot make it read local files.
            "enable_file_urls": url.startswith("file:"),
        }
        if self._cookies is not None:
            params["cookiefile"] = io.StringIO(self._cookies)
        if self.options.rate_limit:
            params["ratelimit"] = self.options.rate_limit
        if self.options.js_runtimes:
            params["js_runtimes"] = {name: {} for name in self.options.js_runtimes}
        return params

    def _partial_dir(self, target: Target) -> Path:
        # A hash, not the id: yt-dlp treats `%` in its output template as a field, and the id may hold anything.
        return self.out_dir / PARTIAL_DIR / hashlib.sha1(target.id.encode("utf-8", "surrogateescape")).hexdigest()[:20]

    def _attempt(self, target: Target) -> Path:
        """One try: download, check, move into place. Raises whatever went wrong."""
        import yt_dlp

        from vidkit.io import video

        partial = self._partial_dir(target)
        partial.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.options.timeout
        outtmpl = str(partial).replace("%", "%%") + os.sep + "video.%(ext)s"  # `%` in the folder is literal
        with yt_dlp.YoutubeDL(self._params(target.url, outtmpl, deadline)) as ydl:
            info = ydl.extract_info(target.url, download=True)
        downloads = (info or {}).get("requested_downloads") or []
        path = Path(downloads[0]["filepath"]) if downloads and downloads[0].get("filepath") else None
        if path is None or not path.exists():
            raise CorruptVideo("yt-dlp reported success but wrote no file")
        if path.stat().st_size == 0:
            path.unlink()
            raise CorruptVideo("the download is empty (0 bytes)")
        try:
            video.probe(path)
        except VideoDecodeError as exc:
            path.unlink()
            raise CorruptVideo(f"the download is not a readable video: {exc}") from None
        final = child(self.out_dir, target.id, path.suffix or ".mp4")
        os.replace(path, final)
        shutil.rmtree(partial, ignore_errors=True)
        return final

    def _delay(self, attempt: int, fault: Fault) -> float:
        with self._rng_mutex:
            jitter = 1.0 + self._rng.uniform(-0.25, 0.25)
        delay = min(self.options.max_backoff, self.options.backoff * 2 ** (attempt - 1)) * jitter
        if fault.retry_after is not None:
            delay = max(delay, min(fault.retry_after, self.options.max_backoff))
        return delay

    def fetch(self, target: Target) -> Fetched:
        """Download one target, retrying transient failures; every attempt is one ledger line."""
        outcome = Fetched(target)
        for attempt in range(1, self.options.retries + 2):
            self.gate.wait()
            started = time.monotonic()
            outcome.attempts = attempt
            try:
                path = self._attempt(target)
            except Exception as exc:  # noqa: BLE001 - every failure is classified and ledgered, none kills the worker
                fault = classify(exc)
                again = fault.transient and attempt <= self.options.retries
                self.ledger.append(
                    Attempt(
                        target.id,
                        target.url,
                        "retry" if again else "failed",
                        fault.error_class,
                        fault.message,
                        fault.transient,
                        attempt,
                        0,
                        time.monotonic() - started,
                    )
                )
                outcome.fault = fault
                if not again:
                    if not fault.transient:
                        shutil.rmtree(self._partial_dir(target), ignore_errors=True)
                    return outcome
                delay = self._delay(attempt, fault)
                log.info("%s: %s, retrying in %.1f s", target.id, fault.error_class, delay)
                if fault.error_class == "rate_limited":
                    self.gate.pause(delay)
                else:
                    time.sleep(delay)
                continue
            outcome.path, outcome.fault = path, None
            outcome.bytes = path.stat().st_size
            self.ledger.append(
                Attempt(
                    target.id,
                    target.url,
                    "done",
                    attempt=attempt,
                    bytes=outcome.bytes,
                    seconds=time.monotonic() - started,
                    file=path.name,
                )
            )
            return outcome
        return outcome


@dataclass
class DownloadResult:
    """What `download` did."""

    output: Path
    ledger: Path
    targets: int
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    pending: int = 0  # failed transiently: the next run retries them
    bytes: int = 0
    seconds: float = 0.0
    errors: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        return {
            "output": str(self.output),
            "ledger": str(self.ledger),
            "targets": self.targets,
            "downloaded": self.downloaded,
            "skipped": self.skipped,
            "failed": self.failed,
            "pending": self.pending,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "errors": dict(sorted(self.errors.items())),
        }


def ledger_path(out_dir: Path) -> Path:
    return Path(out_dir) / LEDGER


def is_settled(ledger: Ledger, target: Target, out_dir: Path) -> bool:
    """Whether a rerun leaves `target` alone: its file is there, or it failed for good."""
    record = ledger.settled(target.id)
    if record is None:
        return False
    if record["status"] != "done":
        return True
    return bool(record.get("file")) and child(out_dir, target.id, Path(record["file"]).suffix).exists()


def download(
    targets: list[Target],
    out_dir: Path,
    *,
    options: DownloadOptions = DownloadOptions(),
    workers: int = 4,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    inputs: Sequence[str | Path | None] = (),
    force: bool = False,
) -> DownloadResult:
    """Download `targets` into `out_dir` with `workers` threads; rerun to resume.

    A rerun skips what is downloaded (its file still there) or failed for good (404, removed,
    corrupt) and retries what failed transiently. Claims the output first (`scrape.claims`) and
    holds its lock for the whole run. A file in `out_dir` that a download would replace and that
    vidkit did not write (no ledger line names it) is refused unless `force`.

    Raises:
        UsageError: `out_dir` (or its ledger) is one of `inputs`.
        OutputExistsError: `out_dir` is a file, or holds a file vidkit did not write under a
            listed id, and not `force`.
        OutputInUseError: another run is writing `out_dir`.
    """
    out_dir = Path(out_dir)
    started = time.monotonic()
    existing, side = claims.folder("scrape download"), [ledger_path(out_dir)]
    inputs = [*inputs, options.cookies]
    with claims.claim_stage(out_dir, "scrape download", inputs, existing, force, writes_folder=True, side=side):
        new_ledger = not ledger_path(out_dir).exists()
        with Ledger(ledger_path(out_dir)) as ledger:
            result = DownloadResult(out_dir, ledger.path, len(targets))
            todo = [t for t in targets if not is_settled(ledger, t, out_dir)]
            result.skipped = len(targets) - len(todo)
            own = (LEDGER, PARTIAL_DIR)
            if not force and (foreign := claims.foreign_files(out_dir, todo, ledger.files_written(), own)):
                if new_ledger and not ledger.previous:
                    ledger.path.unlink(missing_ok=True)  # refused before any work: leave the folder as it was
                raise claims.foreign_error(out_dir, foreign, "scrape download")
            downloader = Downloader(out_dir, options, ledger, seed=seed)
            for n, (_, fetched) in enumerate(map_in_threads(downloader.fetch, todo, workers, "download"), 1):
                _count(result, fetched)
                if progress is not None:
                    progress(n, len(todo))
            _remove_empty(out_dir / PARTIAL_DIR)
    result.seconds = time.monotonic() - started
    return result


def _count(result: DownloadResult, fetched: Fetched) -> None:
    if fetched.path is not None:
        result.downloaded += 1
        result.bytes += fetched.bytes
        return
    result.errors[fetched.fault.error_class] += 1
    if fetched.fault.transient:
        result.pending += 1
    else:
        result.failed += 1


def _remove_empty(folder: Path) -> None:
    """Remove the partial folder once nothing in it is worth resuming."""
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
