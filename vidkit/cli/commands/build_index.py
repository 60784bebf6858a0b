"""`vidkit build-index`: a faiss gallery from one feature store, or several joined per video."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import ForceOpt, JsonOpt, SeedOpt, expand_stdin
from vidkit.cli.output import report


class Normalize(str, Enum):
    each = "each"
    center = "center"
    joint = "joint"
    none = "none"


class Metric(str, Enum):
    cosine = "cosine"
    l2 = "l2"


class Kind(str, Enum):
    flat = "flat"
    ivf = "ivf"


def build_index(
    features: Annotated[
        list[str],
        typer.Argument(help="Feature store(s) from embed; several are joined per video (IIC's merged retrieval)."),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Index file to write.")],
    normalize: Annotated[
        Normalize,
        typer.Option(
            help="L2-normalise each store's part before joining, centre each part on its gallery mean first, "
            "normalise the joined vector, or nothing."
        ),
    ] = Normalize.each,
    metric: Annotated[
        Metric, typer.Option(help="cosine (inner product of unit vectors) or l2 (squared Euclidean distance).")
    ] = Metric.cosine,
    kind: Annotated[
        Kind, typer.Option(help="flat: exact search; ivf: approximate, for galleries of millions.")
    ] = Kind.flat,
    clip_level: Annotated[
        bool, typer.Option("--clip-level", help="Index every clip row instead of one mean row per video.")
    ] = False,
    nlist: Annotated[Optional[int], typer.Option(min=1, help="IVF cells (default about 4 sqrt(N)).")] = None,
    nprobe: Annotated[
        int, typer.Option(min=1, help="IVF cells searched per query (retrieve --nprobe overrides).")
    ] = 16,
    train_size: Annotated[Optional[int], typer.Option(min=1, help="IVF training sample (default 64 per cell).")] = None,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Build a nearest-neighbour index (the retrieval gallery) from one or several feature stores.

    Example: `vidkit build-index rgb_train.h5 res_train.h5 -o gallery.index`

    Stores the gallery (usually the train split's features) as a faiss index in one
    `vidkit.index/1` file (docs/formats.md). A video's row is the mean of its clip rows (IIC's
    protocol) unless `--clip-level`. Several stores are joined side by side per video, which is IIC's
    "merged" retrieval (RGB + residual, say); they must list the same videos in the same order, which
    is checked.

    - `--normalize each` (default) scales each store's part to unit length before joining, so neither
      modality outweighs the other. The IIC code joined raw halves (`none`), letting the part with the
      larger norm dominate. `center` subtracts each part's gallery mean (stored in the index and
      subtracted from the queries too) before scaling it: small nets' pooled features share one
      common direction, which otherwise makes a part add nearly the same score to every pair.
      `joint` scales only the joined vector.
    - `--metric cosine` compares unit vectors by inner product; `l2` ranks by squared distance.
    - `--kind flat` is exact. `--kind ivf` is approximate, for galleries of millions: `--nlist` cells
      trained by k-means on a sample of `--train-size` rows, `--nprobe` cells searched per query.

    JSON: `{"index", "items", "dim", "kind"}`. Core: `vidkit.retrieval.build_index`.
    """
    from vidkit import retrieval

    config = retrieval.IndexConfig(
        normalize=normalize.value,
        metric=metric.value,
        kind=kind.value,
        clip_level=clip_level,
        nlist=nlist,
        nprobe=nprobe,
        train_size=train_size,
        seed=seed,
    )
    result = retrieval.build_index([Path(p) for p in expand_stdin(features)], output, config, force=force)
    report(
        result, as_json=as_json, text=f"{output}: {result['items']} items of {result['dim']} dims ({result['kind']})"
    )
