"""Options shared by several commands, declared once as `Annotated` aliases."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same output.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")]
LoaderWorkersOpt = Annotated[
    int, typer.Option("--workers", min=0, help="DataLoader worker processes (0 loads in this process).")
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace an existing output that is something else (another schema, another run's checkpoint)."
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N (auto takes CUDA when present).")]


def expand_stdin(paths: list[str]) -> list[str]:
    """Replace a `-` among `paths` by the newline-separated paths read from stdin (blank lines skipped)."""
    if "-" not in paths:
        return paths
    from_stdin = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    expanded = []
    for path in paths:
        expanded.extend(from_stdin if path == "-" else [path])
    return expanded
