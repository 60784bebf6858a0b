"""`vidkit info`: what a frame store holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidkit.cli.options import JsonOpt
from vidkit.cli.output import report


def info(
    store: Annotated[Path, typer.Argument(help="A frame store (.h5).")],
    failures: Annotated[bool, typer.Option("--failures", help="List every failed input with its error.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Summarise a store: videos, frames, classes, splits, failures and the options that made it.

    Example: `vidkit info frames.h5 --failures`

    Says whether the store is complete, its videos, frames, bytes, classes, splits with their sizes,
    the number of failed inputs, and the config that made it. `--failures` lists each failed input
    with its error.

    JSON: `{"store", "schema", "complete", "videos", "frames", "failed", "classes", "splits", "bytes",
    "config", "created_by"[, "failures"]}`. Core: `vidkit.io.frame_store.FrameStore.summary`.
    """
    from vidkit.io.frame_store import FrameStore

    with FrameStore(store) as frames:
        summary = frames.summary()
        if failures:
            summary["failures"] = [{"source": s, "error": e} for s, e in frames.failures()]
    lines = [f"{k}: {v}" for k, v in summary.items() if k not in ("failures", "config", "splits")]
    lines.append("splits: " + (", ".join(f"{k} ({v})" for k, v in summary["splits"].items()) or "none"))
    lines.append("config: " + ", ".join(f"{k}={v}" for k, v in summary["config"].items()))
    lines += [f"failed: {f['source']}: {f['error']}" for f in summary.get("failures", [])]
    report(summary, as_json=as_json, text="\n".join(lines))
