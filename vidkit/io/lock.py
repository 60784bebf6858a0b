"""An exclusive lock on a command's output, held for the whole run.

Two runs writing one output would interleave checkpoints or corrupt a store, so every command
that writes takes `output_lock(path)` first. The lock is `flock` on `<path>.lock` beside the
output, holding the holder's PID: the kernel drops it when the process dies (even by `kill -9`),
so a stale lock file never blocks a later run. The file is removed when the run ends.

The lock file sits in a folder the user (or a dataset someone unpacked) controls, so it is
treated as untrusted: it is created exclusively (`O_EXCL`), never opened through a symbolic
link (`O_NOFOLLOW`), and an existing one is written to (its PID replaced) only when it is what
a vidkit run leaves behind: a plain file with one link holding a PID or nothing. Anything else
(a link planted to `../notes.txt`, a hard link, a folder, a file with other text) is refused
with one line and left as it is, so taking a lock never empties a file vidkit did not create.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidkit.errors import OutputInUseError, VidkitError
from vidkit.io.paths import printable

_MAX_PID_BYTES = 32  # "4194304\n" with room to spare: a larger file is no vidkit lock
_OPEN_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def lock_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".lock")


def _not_a_lock(path: str | Path, target: Path, what: str) -> VidkitError:
    return VidkitError(
        f"cannot lock {printable(str(path))}: {printable(str(target))} is {what}, not a vidkit lock file; "
        "remove it (vidkit never writes through it), or choose another output"
    )


def _describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file (fifo, socket or device)"


def _open(path: str | Path, target: Path) -> tuple[int, bool] | None:
    """(descriptor, created) of the lock file, or None when it vanished between two calls (retry).

    Raises:
        VidkitError: the folder is missing or unwritable, or `target` is not a plain file.
    """
    try:
        return os.open(target, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, 0o644), True
    except FileExistsError:
        pass  # a live run's lock, a stale one, or something planted: looked at below
    except FileNotFoundError:
        raise VidkitError(f"cannot write {path}: the folder {target.parent} does not exist") from None
    except OSError as exc:
        raise VidkitError(f"cannot write {path}: {exc.strerror}") from None
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(mode):
        raise _not_a_lock(path, target, _describe(mode))
    try:
        return os.open(target, _OPEN_FLAGS), False
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a link since the lstat
            raise _not_a_lock(path, target, "a symbolic link") from None
        raise VidkitError(f"cannot lock {path}: {target}: {exc.strerror}") from None


def _check_existing(path: str | Path, target: Path, fd: int) -> None:
    """Refuse an existing lock file that a vidkit run did not leave: its PID is about to be replaced.

    Raises:
        VidkitError: not a plain file, other hard links to it, or text other than a PID.
    """
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise _not_a_lock(path, target, _describe(info.st_mode))
    if info.st_nlink != 1:
        raise _not_a_lock(path, target, f"a file with {info.st_nlink} hard links")
    text = os.pread(fd, _MAX_PID_BYTES + 1, 0)
    if len(text) > _MAX_PID_BYTES or not (text.strip() == b"" or text.strip().isdigit()):
        raise _not_a_lock(path, target, "a file of other content")


def _same_file(fd: int, target: Path) -> bool:
    """Whether `target` still names the file `fd` is open on (the holder before us may have removed it)."""
    try:
        here, there = os.fstat(fd), os.lstat(target)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _acquire(path: str | Path, target: Path) -> int:
    """A descriptor on `target`, flocked by us, that `target` still names; its PID not yet written."""
    while True:
        opened = _open(path, target)
        if opened is None:
            continue
        fd, created = opened
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise VidkitError(f"cannot lock {path}: {exc.strerror}") from None
                holder = os.pread(fd, _MAX_PID_BYTES, 0).decode(errors="replace").strip() or "unknown"
                raise OutputInUseError(
                    f"{path} is being written by another vidkit run (pid {printable(holder)}); "
                    "wait for it or choose another output"
                ) from None
            if _same_file(fd, target):
                if not created:
                    _check_existing(path, target, fd)  # a stale lock: ours to reuse only if vidkit left it
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the file we locked is no longer the lock file: start over on the new one


@contextmanager
def output_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (which need not exist yet) until the block ends.

    Raises:
        OutputInUseError: another live process holds it; the message names its PID.
        VidkitError: the lock file cannot be created (missing or read-only folder), or `<path>.lock`
            exists and is not a vidkit lock file (a symbolic link, a folder, a hard link, other text).
    """
    target = lock_path(path)
    fd = _acquire(path, target)
    try:
        os.ftruncate(fd, 0)  # a file we created, or a stale vidkit lock (checked): never anyone else's
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        try:
            if _same_file(fd, target):  # only the file we hold, never what replaced it meanwhile
                os.unlink(target)
        except OSError:
            pass  # a folder made read-only meanwhile: a stale lock file blocks nobody
        finally:
            os.close(fd)
