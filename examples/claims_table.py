#!/usr/bin/env python3
"""The demo's claims table: each paper's claim as a measured row, method against its baseline, over seeds.

    examples/claims_table.py --runs out/demo/seed0 out/demo/seed1 -- examples/claims/iic.json ...

A claim file is a JSON list of claims; each compares two results that every run folder holds:

    {"row": "IIC (tiny, rgb+res)", "baseline": "random init (tiny)",
     "claim": "joint retrieval top-1 above random init",
     "a": "iic-retrieval.json", "b": "random3d-retrieval.json", "key": "topk.1", "better": "higher",
     "scale": 100, "unit": "%", "note": "optional: why it cannot hold at toy scale"}

`a` and `b` are paths relative to a run folder, `key` a dot path into their JSON. The claim is shown
when `a` beats `b` on every seed (a single seed's noise can exceed a mean gap, so the mean alone
is not enough); "mixed" when it does on the mean but not every seed. With `--check` the script
exits 1 when a claim that has no `note` is not shown, for a CI step that gates on the claims
(tests/test_claims.py reads `--json`'s records instead).
Standard library only, so it runs anywhere.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

FIELDS = ("row", "baseline", "claim", "a", "b", "key")


def load_claims(path: Path) -> list[dict]:
    claims = json.loads(path.read_text())
    for claim in claims:
        missing = [f for f in FIELDS if f not in claim]
        if missing:
            raise SystemExit(f"error: a claim in {path} lacks {', '.join(missing)}")
        if claim.get("better", "higher") not in ("higher", "lower"):
            raise SystemExit(f"error: {path}: better must be higher or lower, not {claim['better']!r}")
    return claims


def value(run: Path, file: str, key: str) -> float:
    data = json.loads((run / file).read_text())
    for part in key.split("."):
        data = data[part]
    return float(data)


def measure(claim: dict, runs: list[Path]) -> dict:
    """Per-seed values of both sides, their means and spreads, and the verdict."""
    a = [value(run, claim["a"], claim["key"]) for run in runs]
    b = [value(run, claim["b"], claim["key"]) for run in runs]
    sign = 1.0 if claim.get("better", "higher") == "higher" else -1.0
    gaps = [sign * (x - y) for x, y in zip(a, b)]
    if all(g > 0 for g in gaps):
        shown = "yes"
    elif statistics.mean(gaps) > 0:
        shown = "mixed"
    else:
        shown = "no"
    return {"a": a, "b": b, "gaps": gaps, "shown": shown}


def cell(values: list[float], scale: float, unit: str) -> str:
    mean = statistics.mean(values) * scale
    if len(values) == 1:
        return f"{mean:.2f}{unit}" if not unit else f"{mean:.1f}{unit}"
    spread = statistics.stdev(values) * scale
    digits = 1 if unit else 2
    return f"{mean:.{digits}f} ± {spread:.{digits}f}{unit}"


def table(claims: list[dict], runs: list[Path]) -> tuple[str, list[tuple[dict, dict]]]:
    lines = [
        f"| method | against | claim | method | against | shown ({len(runs)} seed{'s' * (len(runs) > 1)}) |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    results = []
    for claim in claims:
        result = measure(claim, runs)
        results.append((claim, result))
        scale, unit = claim.get("scale", 1), claim.get("unit", "")
        shown = result["shown"] + (" (see note)" if claim.get("note") and result["shown"] != "yes" else "")
        lines.append(
            f"| {claim['row']} | {claim['baseline']} | {claim['claim']} | {cell(result['a'], scale, unit)}"
            f" | {cell(result['b'], scale, unit)} | {shown} |"
        )
    notes = [f"- {c['row']}: {c['note']}" for c, r in results if c.get("note") and r["shown"] != "yes"]
    return "\n".join(lines + ([""] + notes if notes else [])), results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", type=Path, required=True, help="one run folder per seed")
    parser.add_argument("--check", action="store_true", help="exit 1 when a claim without a note is not shown")
    parser.add_argument("--json", type=Path, help="also write every per-seed value here")
    parser.add_argument("claims", nargs="+", type=Path, help="claim files (JSON lists)")
    args = parser.parse_args(argv)
    claims = [claim for path in args.claims for claim in load_claims(path)]
    text, results = table(claims, args.runs)
    print(text)
    if args.json:
        records = [{**claim, **result, "runs": [str(r) for r in args.runs]} for claim, result in results]
        args.json.write_text(json.dumps(records, indent=1) + "\n")
    failed = [c["row"] + ": " + c["claim"] for c, r in results if r["shown"] != "yes" and not c.get("note")]
    if args.check and failed:
        print("claims not shown: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
