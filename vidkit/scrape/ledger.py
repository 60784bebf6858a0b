"""The scrape ledger: one JSON line per download attempt, appended so that a kill loses nothing committed.

The seed kept its failures in two text files it wrote from the worker processes, lost lines on a
crash and never recorded *why* a video failed. Here every attempt (a success, a retry, a final
failure) is one line `{"id", "url", "status", "error_class", "error", "transient", "attempt",
"bytes", "seconds", "time"}` (plus `file` on a success):

- `status` is `done`, `retry` (a transient failure that this run retries after a backoff) or
  `failed` (this run gave up on the video); the stages that post-process a download add their own
  final statuses (`cached` and `dropped` for the cache filters, `missing` for frames a recipe asks
  for that a video does not have).
- `transient` says whether a later run should try the video again (rate limits, timeouts, cut
  connections) or not (404, private or removed videos, corrupt files).

Crash safety: each line is written with one `write` on an `O_APPEND` descriptor and `fsync`ed, so
a line is either whole or (after a kill mid-write) a truncated tail. Opening the ledger cuts such
a tail off before appending, and reading skips it, so a killed run never corrupts the next one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from vidkit.errors import VidkitError
from vidkit.io.paths import printable

log = logging.getLogger("vidkit")

FINAL_STATUSES = ("done", "cached", "failed", "dropped", "missing")


@dataclass(frozen=True)
class Attempt:
    """One ledger line."""

    id: str
    url: str
    status: str
    error_class: str | None = None
    error: str | None = None
    transient: bool | None = None
    attempt: int = 1
    bytes: int = 0
    seconds: float = 0.0
    file: str | None = None  # the file a success left, relative to the output folder

    def to_json(self) -> str:
        record = {
            "id": printable(self.id),
            "url": printable(self.url),
            "status": self.status,
            "error_class": self.error_class,
            "error": printable(self.error) if self.error else None,
            "transient": self.transient,
            "attempt": self.attempt,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "time": round(time.time(), 3),
        }
        if self.file is not None:
            record["file"] = printable(self.file)
        return json.dumps(record, ensure_ascii=True)

    @property
    def settled(self) -> bool:
        """Whether a rerun should leave this video alone (done, or failed for a reason that will not pass)."""
        return self.status in ("done", "cached", "dropped", "missing") or (
            self.status == "failed" and self.transient is False
        )


def read_ledger(path: str | Path) -> list[dict]:
    """Every whole line of a ledger, in order; a truncated last line (a killed write) is skipped.

    Raises:
        VidkitError: a line other than the last one is not JSON (the file is not a ledger).
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    records = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if n == len(lines):  # the last line without its newline: a write the kill cut short
                log.warning("%s: ignoring a truncated last line (a killed run)", path)
                continue
            raise VidkitError(f"{path} line {n} is not a JSON object: it is not a scrape ledger") from None
    return records


def latest_by_id(records: list[dict]) -> dict[str, dict]:
    """The last line for each id: what a rerun goes by."""
    return {record["id"]: record for record in records}


class Ledger:
    """An open ledger that threads append to; use as a context manager.

    The caller holds the output's lock (`vidkit.io.lock.output_lock`), so one process writes at a
    time; within it a mutex keeps lines whole.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.previous = read_ledger(self.path)
        self.latest = latest_by_id(self.previous)
        self._cut_partial_tail()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._mutex = threading.Lock()

    def _cut_partial_tail(self) -> None:
        """Drop bytes after the last newline, so the next line does not glue onto a killed write."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            os.truncate(self.path, keep)

    def append(self, attempt: Attempt) -> None:
        line = (attempt.to_json() + "\n").encode("ascii")
        with self._mutex:
            os.write(self._fd, line)
            os.fsync(self._fd)
            self.latest[json.loads(line)["id"]] = json.loads(line)

    def settled(self, video_id: str) -> dict | None:
        """The last line of `video_id` when a rerun should skip it, else None."""
        record = self.latest.get(printable(video_id))
        if record is None:
            return None
        return record if Attempt(**{k: record.get(k) for k in ("id", "url", "status", "transient")}).settled else None

    def files_written(self) -> set[str]:
        """The file names that `done` lines say a download left in the output folder (as stored: printable)."""
        return {r["file"] for r in self.previous if r.get("status") == "done" and r.get("file")}

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
