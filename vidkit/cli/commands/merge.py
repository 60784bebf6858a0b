"""`vidkit merge`: join the frame stores of a sharded `extract-frames` into one store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidkit.cli.options import ForceOpt, JsonOpt, expand_stdin
from vidkit.cli.output import progress, report


def merge(
    shards: Annotated[
        list[str],
        typer.Argument(help="Frame stores made by `extract-frames --shard K/N`, or - to read paths from stdin."),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The merged frame store to write (or resume).")],
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Merge shard frame stores into one; rerun the same command to resume a killed merge.

    Example: `vidkit merge shards/frames-*-of-8.h5 -o frames.h5`

    Writes one frame store (`vidkit.frames/1`) holding every video of the shards: frames (and flow)
    copied byte for byte, never decoded or re-encoded, with labels, class names, splits (joined by
    video id) and the shards' failures tables.

    - **Shards**: stores of one extraction run as N jobs with `--shard 1/N` ... `--shard N/N`
      (docs/scaling.md has a Slurm array and a GNU parallel line). A video's shard is fixed by a
      digest of its id, so the shards are disjoint and together hold every input.
    - **Refused** with one `error:` line before any work: shards made with different settings
      (`--size`, `--fps`, `--codec`, `--quality`, `--max-frames`, `--flow`, `--flow-bound`), with
      different annotations (class names or split names), or whose own extraction did not finish.
    - **Duplicates**: when two shards hold the same video id, the first shard named keeps it and the
      other copy becomes a row of the failures table.
    - **Resume**: committed every 256 videos or 5 s; a killed merge leaves a readable store, and the
      same command run again skips every video already merged. Merging more shards into a finished
      store adds their videos.
    - `-o` may not be one of the shards; an existing output that is no frame store is replaced only
      with `--force`.

    JSON: `{"store", "shards", "videos", "failed", "frames", "new", "skipped"}` (`videos`, `failed`
    and `frames` count the merged store; `new` and `skipped` this run). Core: `vidkit.extract.merge.merge`.
    """
    from vidkit.extract import merge as core

    with progress("merging") as update:
        result = core.merge(expand_stdin(shards), output, force=force, progress=update)
    text = (
        f"{output}: {result.videos} videos, {result.frames} frames, {result.failed} failed "
        f"({result.new} new from {result.shards} shards)"
    )
    report(result.summary(), as_json=as_json, text=text)
