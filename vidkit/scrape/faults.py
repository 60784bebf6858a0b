"""What a failed download means: a short error class, and whether trying again later can help.

The seed re-raised YouTube's "Too Many Requests" and so killed its worker, and swallowed every
other error without saying which it was. Here each failure is classified once, from the exception
chain yt-dlp hands back (`DownloadError.exc_info`, `ExtractorError.cause`, `__cause__`), so that
the downloader knows whether to back off and retry, and the ledger says what happened.

| class          | transient | typical cause |
|----------------|-----------|---------------|
| rate_limited   | yes       | HTTP 429 (the whole pool backs off, honouring Retry-After) |
| bot_check      | yes       | YouTube's "Sign in to confirm you're not a bot" (needs cookies, or slower requests) |
| server_error   | yes       | HTTP 5xx |
| timeout        | yes       | the per-video timeout, or a socket that stopped sending |
| incomplete     | yes       | the connection was cut before the declared length arrived |
| connection     | yes       | refused, reset, DNS failure |
| not_found      | no        | HTTP 404 / 410; a `file://` mirror file that is missing (or a folder) |
| forbidden      | no        | HTTP 401 / 403; a `file://` mirror file that cannot be read |
| unavailable    | no        | private, removed, blocked, members-only or age-gated videos |
| no_format      | no        | no format matches `--format` |
| corrupt        | no        | the file arrived whole but is not a readable video |
| unsupported    | no        | yt-dlp cannot handle the URL |
| error          | no        | anything else (the message is kept) |
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

TRANSIENT_CLASSES = frozenset({"rate_limited", "bot_check", "server_error", "timeout", "incomplete", "connection"})

# Phrases of yt-dlp's (YouTube's) messages for videos that will not come back.
_UNAVAILABLE = (
    "video unavailable",
    "private video",
    "has been removed",
    "been terminated",
    "copyright",
    "not available",
    "members-only",
    "confirm your age",
    "is unavailable",
    "does not exist",
    "blocked it",
)


class DownloadTimeout(Exception):
    """Raised from a progress hook when a video's download ran past its time budget."""


class CorruptVideo(Exception):
    """A download that finished but does not open as a video."""


@dataclass(frozen=True)
class Fault:
    """A classified failure."""

    error_class: str
    message: str
    retry_after: float | None = None  # seconds a server asked us to wait (Retry-After)

    @property
    def transient(self) -> bool:
        return self.error_class in TRANSIENT_CLASSES


def _chain(exc: BaseException):
    """The exception and everything it wraps, outermost first (each only once)."""
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            todo.append(exc_info[1])
        todo.extend([getattr(current, "cause", None), current.__cause__, current.__context__])


def _retry_after(error) -> float | None:
    headers = getattr(getattr(error, "response", None), "headers", None) or getattr(error, "headers", None)
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date; the exponential backoff covers it


def _message(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).replace("\r", "\n").splitlines()]
    lines = [line.removeprefix("ERROR: ").strip() for line in lines if line.removeprefix("ERROR:").strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


def _local_file_error(exc: BaseException) -> str | None:
    """The class of a `file://` URL's failure: what the file system said, which waiting will not change.

    yt-dlp reports a missing mirror file as a TransportError caused by FileNotFoundError; taken for
    a connection error it was retried for minutes and left pending for ever, where the same file
    missing over HTTP (a 404) is `not_found` at once.
    """
    for error in _chain(exc):
        if isinstance(error, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
            return "not_found"
        if isinstance(error, PermissionError):
            return "forbidden"
    return None


def classify(exc: BaseException) -> Fault:
    """Classify an exception raised while downloading (yt-dlp's own, or ours from hooks and checks)."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import ContentTooShortError, UnsupportedError

    message = _message(exc)
    lowered = " ".join(_message(e) for e in _chain(exc)).lower()
    for error in _chain(exc):
        if isinstance(error, DownloadTimeout):
            return Fault("timeout", message)
        if isinstance(error, CorruptVideo):
            return Fault("corrupt", message)
        status = getattr(error, "status", None) if isinstance(error, HTTPError) else None
        if status is not None:
            if status == 429:
                return Fault("rate_limited", message, _retry_after(error))
            if status in (404, 410):
                return Fault("not_found", message)
            if status in (401, 403):
                return Fault("forbidden", message)
            if 500 <= status < 600:
                return Fault("server_error", message, _retry_after(error))
            return Fault("error", message)
        if isinstance(error, ContentTooShortError):
            return Fault("incomplete", message)
        if isinstance(error, (socket.timeout, TimeoutError)):
            return Fault("timeout", message)
        if isinstance(error, UnsupportedError):
            return Fault("unsupported", message)
    if "bytes, expected" in lowered:  # HttpFD's ContentTooShortError, as text once yt-dlp wrapped it
        return Fault("incomplete", message)
    if "too many requests" in lowered:
        return Fault("rate_limited", message)
    if "not a bot" in lowered or ("sign in to confirm" in lowered and "your age" not in lowered):
        return Fault("bot_check", message)
    if "timed out" in lowered:
        return Fault("timeout", message)
    if "requested format is not available" in lowered or "no video formats" in lowered:
        return Fault("no_format", message)
    if any(phrase in lowered for phrase in _UNAVAILABLE):
        return Fault("unavailable", message)
    if "unsupported url" in lowered:
        return Fault("unsupported", message)
    for error in _chain(exc):
        if isinstance(error, (TransportError, ConnectionError)):
            local = _local_file_error(exc)
            if local is not None:
                return Fault(local, message)
            return Fault("incomplete" if "incomplete" in lowered else "connection", message)
    if "incomplete" in lowered or "connection" in lowered:
        return Fault("connection", message)
    return Fault("error", message)
