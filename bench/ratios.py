"""One summary table of every benchmark's ratios.

Each benchmark given `--ratios FILE` appends one JSON line per ratio it measured (`record`);
`python bench/ratios.py FILE` prints them as one Markdown table, which `make bench` writes to
`out/bench/summary.md`. A ratio is always ours against a baseline timed in the same run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_ratios_option(parser) -> None:
    """The `--ratios FILE` option every benchmark takes."""
    parser.add_argument("--ratios", help="Append each ratio to this JSON-lines file (bench/ratios.py).")


def record(path: str | None, benchmark: str, measure: str, ratio: float, target: str) -> None:
    """Append one ratio (`target` like ">= 5x" or "<= 1.5x"; it is met or not by `ratio`)."""
    if path is None:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as file:
        file.write(json.dumps({"benchmark": benchmark, "measure": measure, "ratio": ratio, "target": target}) + "\n")


def met(ratio: float, target: str) -> str:
    if not target:
        return ""
    op, value = target.split()[0], float(target.split()[1].rstrip("x%"))
    return "yes" if (ratio >= value if op == ">=" else ratio <= value) else "no"


def table(path: str) -> str:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    lines = ["| benchmark | measure | ratio | target | met |", "| --- | --- | ---: | --- | --- |"]
    for row in rows:
        lines.append(
            f"| {row['benchmark']} | {row['measure']} | {row['ratio']:.2f}x | {row['target']} | "
            f"{met(row['ratio'], row['target'])} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(sys.argv[1]))
