"""Statistics that compare two sets of trajectories (ours against the 2013 release's output).

The release's README warns that codecs and RANSAC change its rows from run to run, so two
implementations are compared by distributions, not row by row: trajectories per scale, the mean
and spread of every descriptor block, and quantiles of trajectory length and end frame.
"""

from __future__ import annotations

import numpy as np

from vidkit.io.trajectories import BLOCKS

QUANTILES = (10, 25, 50, 75, 90)


def scale_counts(rows: np.ndarray, factors: list[float]) -> list[int]:
    """Trajectories per scale factor (column 6), in the order of `factors`."""
    return [int(np.isclose(rows[:, 6], f, atol=1e-3).sum()) for f in factors]


def statistics(rows: np.ndarray) -> dict:
    """Counts, block means/stds and length/end-frame quantiles of `(N, 436)` rows."""
    factors = sorted({round(float(f), 4) for f in rows[:, 6]})
    return {
        "total": len(rows),
        "scales": dict(zip(factors, scale_counts(rows, factors))),
        "blocks": {name: (float(rows[:, a:b].mean()), float(rows[:, a:b].std())) for name, a, b in BLOCKS},
        "abs_trajectory": float(np.abs(rows[:, 10:40]).mean()),
        # Mean squared norm of each temporal cell: 1 for one frame, lower when frames disagree.
        "cell_norms": {
            name: [
                float((rows[:, a + i * (b - a) // 3 : a + (i + 1) * (b - a) // 3] ** 2).sum(1).mean()) for i in range(3)
            ]
            for name, a, b in BLOCKS[1:]
        },
        "length": np.percentile(rows[:, 5], QUANTILES).tolist(),
        "end_frame": np.percentile(rows[:, 0], QUANTILES).tolist(),
    }


def _rel(ours: float, ref: float) -> str:
    return f"{100 * (ours - ref) / ref:+.1f}%" if ref else "n/a"


def comparison_table(ours: np.ndarray, reference: np.ndarray) -> str:
    """A Markdown table: the release, ours, and the relative difference, for every statistic."""
    a, r = statistics(ours), statistics(reference)
    lines = ["| statistic | release | vidkit | difference |", "| --- | ---: | ---: | ---: |"]
    lines.append(f"| trajectories | {r['total']} | {a['total']} | {_rel(a['total'], r['total'])} |")
    for factor, count in r["scales"].items():
        mine = a["scales"].get(factor, 0)
        lines.append(f"| scale {factor:g} | {count} | {mine} | {_rel(mine, count)} |")
    for name, (mean, std) in r["blocks"].items():
        m2, s2 = a["blocks"][name]
        lines.append(f"| {name} mean | {mean:.4f} | {m2:.4f} | {_rel(m2, mean)} |")
        lines.append(f"| {name} std | {std:.4f} | {s2:.4f} | {_rel(s2, std)} |")
    lines.append(
        f"| Trajectory mean abs | {r['abs_trajectory']:.4f} | {a['abs_trajectory']:.4f} | "
        f"{_rel(a['abs_trajectory'], r['abs_trajectory'])} |"
    )
    for name, norms in r["cell_norms"].items():
        for i, (x, y) in enumerate(zip(norms, a["cell_norms"][name])):
            lines.append(f"| {name} temporal cell {i + 1} mean squared norm | {x:.3f} | {y:.3f} | {_rel(y, x)} |")
    for key, label in (("length", "length"), ("end_frame", "end frame")):
        for q, x, y in zip(QUANTILES, r[key], a[key]):
            lines.append(f"| {label} p{q} | {x:.2f} | {y:.2f} | {_rel(y, x)} |")
    return "\n".join(lines)
