"""`vidkit retrieve`: top-k retrieval accuracy of query videos against a gallery index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import JsonOpt
from vidkit.cli.output import report


def _ks(text: str) -> list[int]:
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        ks = []
    if not ks or min(ks) < 1:
        raise typer.BadParameter(f"--k takes comma-separated positive integers, not {text!r}")
    return ks


def retrieve(
    index: Annotated[Path, typer.Argument(help="Index from build-index.")],
    queries: Annotated[
        list[Path], typer.Argument(help="Query feature store(s), as many and in the same order as the index joins.")
    ],
    k: Annotated[str, typer.Option("--k", help="Comma-separated k values of top-k accuracy.")] = "1,5,10,20,50",
    out: Annotated[
        Optional[Path],
        typer.Option("--out", help="Write neighbour lists: .csv (query_id,rank,gallery_id,score) or .h5."),
    ] = None,
    exclude_self: Annotated[
        bool,
        typer.Option(
            "--exclude-self", help="Skip gallery rows of the query's own video (a store queried against itself)."
        ),
    ] = False,
    clip_level: Annotated[
        bool, typer.Option("--clip-level", help="Query with every clip row instead of one mean row per video.")
    ] = False,
    per_class: Annotated[bool, typer.Option("--per-class", help="Also report accuracy per class label.")] = False,
    nprobe: Annotated[Optional[int], typer.Option(min=1, help="IVF cells to search (default: the index's).")] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Score queries embedded by another net than the gallery's, and replace an --out of another kind.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Score top-k retrieval: a query counts at k when one of its k nearest gallery videos shares its class.

    Example: `vidkit retrieve gallery.index rgb_test.h5 res_test.h5 --k 1,5,10,20,50 --out neighbours.csv`

    Every query video (the test split's features, normalised and joined as the index was) is searched
    in the gallery. Queries without a label are searched and listed but not scored (`scored` in the
    JSON). Query stores must match the index's parts in number, order and width, and come from the
    same net: backbone, checkpoint, modality and pooling (another net's queries are refused unless
    `--force`). Querying the gallery's own videos without `--exclude-self` gets a warning.

    - `--exclude-self` drops gallery rows of the query's own video (a store queried against itself).
    - `--clip-level` queries with every clip row instead of one mean row per video.
    - `--out` writes the neighbour lists: CSV `query_id,rank,gallery_id,score` (rank from 1; score is
      the cosine similarity, or the squared distance for `l2`), or HDF5 arrays for `.h5`.
    - `--per-class` adds the accuracies per class label.
    - Only k up to the gallery's size are scored (top-50 of 6 videos would count every query); the
      others are named in `skipped_k` and a warning.

    JSON: `{"queries", "gallery", "scored", "topk": {"1": acc, ...}[, "skipped_k", "per_class", "neighbours"]}`.
    Core: `vidkit.retrieval.retrieve`.
    """
    from vidkit import retrieval

    result = retrieval.retrieve(
        index,
        queries,
        _ks(k),
        exclude_self=exclude_self,
        clip=clip_level,
        per_class=per_class,
        nprobe=nprobe,
        out=out,
        force=force,
    )
    summary = result.summary()
    if out is not None:
        summary["neighbours"] = str(out)
    lines = [f"{result.scored} queries against {result.gallery} gallery items"]
    lines += [f"top-{key:<3} {value * 100:6.2f}%" for key, value in result.topk.items()]
    if result.per_class:
        lines += [
            f"class {c}: " + "  ".join(f"top-{key} {v * 100:.1f}%" for key, v in accs.items())
            for c, accs in result.per_class.items()
        ]
    report(summary, as_json=as_json, text="\n".join(lines))
