"""Where command output goes: the result on stdout (text or one JSON object), everything else on stderr."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer

from vidkit.io.paths import printable

# Set by the app's callback: -1 quiet (errors only), 0 normal, 1+ verbose.
verbosity = 0
_console = None


def console():
    """The rich console on stderr (made on first use: importing rich costs time `--help` should not pay)."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True)
    return _console


def setup_logging(level: int) -> None:
    """Route the core's `logging` records to stderr through rich, at the chosen verbosity."""
    global verbosity
    verbosity = level
    from rich.logging import RichHandler

    handler = RichHandler(console=console(), show_time=False, show_path=False, markup=False)
    logger = logging.getLogger("vidkit")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.ERROR if level < 0 else logging.INFO if level == 0 else logging.DEBUG)
    logger.propagate = False


def report(result: dict, *, as_json: bool, text: str | None = None) -> None:
    """Print a command's result: one JSON object with `--json`, else `text` (or `key: value` lines).

    Under `torchrun` only rank 0 prints: every rank returns a result (each its own last loss, say),
    but a pipeline reading stdout expects exactly one object."""
    if not is_rank_zero():
        return
    if as_json:
        typer.echo(json.dumps(result, sort_keys=False))  # ASCII: odd bytes in paths come out as \udcXX escapes
    else:
        text = text if text is not None else "\n".join(f"{k}: {v}" for k, v in result.items())
        typer.echo("\n".join(printable(line) for line in text.split("\n")))


def is_rank_zero() -> bool:
    """True outside `torchrun`, and on its rank 0 (torch-free: torchrun sets RANK in the environment)."""
    return os.environ.get("RANK", "0") == "0"


def error(message: str) -> None:
    """The one line a failed run leaves on stderr (a path's newline or odd bytes come out escaped)."""
    typer.echo(f"error: {printable(message)}", err=True)


@contextmanager
def progress(description: str) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr; yields `update(done, total, status="")`, where `status` is shown
    beside the bar (a training loss and throughput, say). Silent with `--quiet`."""
    if verbosity < 0:
        yield lambda done, total, status="": None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    )
    # Off when stderr is no terminal (pipes, CI logs): a bar there is only noise.
    with Progress(*columns, console=console(), transient=True, disable=not console().is_terminal) as bar:
        task = bar.add_task(description, total=None, status="")

        def update(done: int, total: int, status: str = "") -> None:
            bar.update(task, completed=done, total=total, status=status)

        yield update
