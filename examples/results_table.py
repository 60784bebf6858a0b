#!/usr/bin/env python3
"""One Markdown table from the JSON results of `vidkit retrieve --json` and `vidkit finetune --json`.

    examples/results_table.py [--k 1,5] "TCE (resnet18)=out/toy/tce-retrieval.json,out/toy/tce-finetune.json" ...

Each argument is `ROW NAME=FILE[,FILE...]`; a file holding `topk` adds retrieval columns (those
of `--k`, default all), one holding `test_top1` the fine-tuning column. Standard library only, so
it runs anywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(spec: str, ks: set[str] | None = None) -> tuple[str, dict[str, float]]:
    name, _, files = spec.partition("=")
    if not files:
        raise SystemExit(f"error: {spec!r} is not NAME=FILE[,FILE...]")
    cells: dict[str, float] = {}
    for file in files.split(","):
        result = json.loads(Path(file).read_text())
        for k, accuracy in result.get("topk", {}).items():
            if ks is None or k in ks:
                cells[f"retrieval top-{k}"] = accuracy
        if "test_top1" in result:
            cells["finetune top-1"] = result["test_top1"]
    return name, cells


def table(rows: list[tuple[str, dict[str, float]]]) -> str:
    columns = list(dict.fromkeys(column for _, cells in rows for column in cells))
    lines = ["| | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for name, cells in rows:
        lines.append(
            f"| {name} | " + " | ".join(f"{cells[c] * 100:.1f}%" if c in cells else "" for c in columns) + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    args, ks = sys.argv[1:], None
    if args[:1] == ["--k"]:
        ks, args = set(args[1].split(",")), args[2:]
    if not args:
        raise SystemExit(__doc__)
    print(table([row(spec, ks) for spec in args]))
