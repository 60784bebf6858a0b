"""Claiming a command's output before any work: not an input, of the right kind, and locked.

Every command that writes a file goes through `claim_output` once, at the start of its core, so the
three ways a careless command line loses data are refused in one place:
- the output is one of the inputs (`embed P.pt F.h5 -o F.h5` would replace the frames by features);
- the output exists and is something else (another schema, another run's checkpoint): refused
  unless `force`, because replacing it would throw away work the command cannot redo;
- another run is writing the same output (the lock, `io.lock`).
The folder that will hold the output is created, as every command does. Under `torchrun` only
rank 0 (which alone writes) does all this; the other ranks check only that the output is no input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vidkit.errors import OutputExistsError, VidkitError
from vidkit.io.lock import output_lock
from vidkit.io.paths import refuse_output_among_inputs

# Given an existing output, None when the command may replace (or resume, or append to) it, else
# a phrase saying what it is ("a frame store", "a finished pretraining checkpoint").
Verdict = Callable[[Path], "str | None"]


def any_file(path: Path) -> str | None:
    return None


@contextmanager
def claim_output(
    path: str | Path,
    *,
    inputs: Sequence[str | Path | None] = (),
    existing: Verdict = any_file,
    force: bool = False,
    option: str = "-o",
) -> Iterator[Path]:
    """Check `path` against the inputs and what it already holds, create its folder, lock it.

    Raises:
        UsageError: `path` is one of `inputs`.
        OutputExistsError: `path` exists and `existing(path)` objects, and not `force`.
        OutputInUseError: another run holds the lock.
        VidkitError: the folder cannot be created.
    """
    path = Path(path)
    refuse_output_among_inputs(path, [p for p in inputs if p is not None], option)
    if int(os.environ.get("RANK", "0")) != 0:
        yield path  # a torchrun rank other than 0 never writes: rank 0 checks, creates and locks
        return
    if path.exists() and not force:
        what = existing(path)
        if what is not None:
            raise OutputExistsError(
                f"{option} {path} exists and is {what}; choose another output, or pass --force to replace it"
            )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VidkitError(f"cannot create the folder {path.parent}: {exc.strerror}") from None
    with output_lock(path):
        yield path
