#!/usr/bin/env python3
"""VINCE's end-task table (its README's columns) from the `--json` results of the end tasks.

    examples/endtask_table.py out/toy/endtasks random-resnet18 tce vince > out/toy/endtasks/table.md

Each row is a checkpoint stem; its cells come from `DIR/<stem>-<task>.json` for the tasks
imagenet (`imagenet_top1`), sun397 (`sun397_top1`), kinetics (`kinetics_top1`, the clip top-1
the seed reports) and otb (`otb_precision`, `otb_success`), as `vidkit finetune --probe ...
--json` and `vidkit track --json` write them. A task not run leaves its cell blank. Numbers are
fractions with three decimals, as the seed's table. Standard library only, so it runs anywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# (column, task file, key), in the seed's order: ImageNet, SUN, Kinetics-400, OTB-2015 P and S.
COLUMNS = (
    ("ImageNet", "imagenet", "imagenet_top1"),
    ("SUN", "sun397", "sun397_top1"),
    ("Kinetics", "kinetics", "kinetics_top1"),
    ("OTB precision", "otb", "otb_precision"),
    ("OTB success", "otb", "otb_success"),
)


def cells(directory: Path, stem: str) -> list[str]:
    row = []
    for _, task, key in COLUMNS:
        path = directory / f"{stem}-{task}.json"
        if not path.is_file():
            row.append("")
            continue
        try:
            value = json.loads(path.read_text())[key]
        except (json.JSONDecodeError, KeyError) as exc:
            raise SystemExit(f"error: {path} is no {task} result ({exc})") from None
        row.append(f"{value:.3f}")
    return row


def table(directory: Path, stems: list[str]) -> str:
    lines = ["| | " + " | ".join(c for c, _, _ in COLUMNS) + " |", "| --- |" + " ---: |" * len(COLUMNS)]
    lines += [f"| {stem} | " + " | ".join(cells(directory, stem)) + " |" for stem in stems]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    print(table(Path(sys.argv[1]), sys.argv[2:]))
