"""An exclusive lock on a command's output, held for the whole run.

Two runs writing one output would interleave checkpoints or corrupt a store, so every command
that writes takes `output_lock(path)` first. The lock is `flock` on `<path>.lock` beside the
output, holding the holder's PID: the kernel drops it when the process dies (even by `kill -9`),
so a stale lock file never blocks a later run. The file is removed when the run ends.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidkit.errors import OutputInUseError, VidkitError


def lock_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".lock")


@contextmanager
def output_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (which need not exist yet) until the block ends.

    Raises:
        OutputInUseError: another live process holds it; the message names its PID.
        VidkitError: the lock file cannot be created (missing or read-only folder).
    """
    target = lock_path(path)
    while True:
        try:
            fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise VidkitError(f"cannot write {path}: the folder {target.parent} does not exist") from None
        except OSError as exc:
            raise VidkitError(f"cannot write {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise OutputInUseError(
                    f"{path} is being written by another vidkit run (pid {holder}); wait for it or choose another output"
                ) from None
            raise
        # The holder before us may have removed the file between our open and our lock: retry on the new one.
        try:
            if os.fstat(fd).st_ino == os.stat(target).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        os.close(fd)
