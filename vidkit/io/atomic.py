"""Atomic file writes: write under a temporary name beside the target, rename it into place when whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield `<path>.<pid>.tmp` to write to; on success it replaces `path`, on failure it is removed.

    A reader (or `make`) therefore sees the old file or the whole new one, never half of one. The
    process id in the name keeps two processes (a second run despite the lock, DDP ranks) from ever
    writing into the same temporary file.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
