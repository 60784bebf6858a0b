"""`vidkit linear-probe`: logistic regression on frozen features from `embed`, trained on one store, tested on another."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from vidkit.cli.options import JsonOpt
from vidkit.cli.output import report


class Level(str, Enum):
    video = "video"
    clip = "clip"


def linear_probe(
    train: Annotated[Path, typer.Argument(help="Feature store of the train split (from embed).")],
    test: Annotated[Path, typer.Argument(help="Feature store of the test split, embedded by the same net.")],
    level: Annotated[
        Level,
        typer.Option(help="video: one mean row per video; clip: every clip row, probabilities averaged per video."),
    ] = Level.video,
    c: Annotated[float, typer.Option("--c", help="Inverse L2 regularisation strength (scikit-learn's C).")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Score a linear probe: logistic regression fitted on the train store's features, tested on the test store's videos.

    Example: `vidkit embed mocov2.pt frames.h5 --split train01 -o train.h5 && vidkit embed mocov2.pt frames.h5
    --split test01 -o test.h5 && vidkit linear-probe train.h5 test.h5`

    The backbone stays frozen: `embed` ran it once, and the probe is a multinomial logistic
    regression (scikit-learn, L-BFGS) on those features, as CLIP's linear-probe evaluation. Rows are
    scaled to unit length and each feature is standardised with the train rows' statistics, so one
    `--c` suits a random-init net and a pretrained one. `--level video` (default) trains and tests
    on each video's mean feature (the retrieval protocol's); `--level clip` trains on every clip and
    averages a test video's clip probabilities. Rows without a label are left out. Both stores must
    come from the same backbone, checkpoint, input and pooling (a one-line error otherwise). It writes
    nothing: the result is printed.

    JSON: `{"train", "test", "classes", "level", "c", "top1", "topk": {"1", "5"}, "train_top1", "per_class"}`.
    Core: `vidkit.feature_probe.linear_probe`.
    """
    from vidkit.feature_probe import linear_probe as probe

    result = probe(train, test, level=level.value, c=c)
    lines = [f"{result.test} test videos, {result.classes} classes, trained on {result.train} {level.value} rows"]
    lines += [f"top-{k:<3} {v * 100:6.2f}%" for k, v in result.topk.items()]
    lines.append(f"train top-1 {result.train_top1 * 100:.2f}%")
    report(result.summary(), as_json=as_json, text="\n".join(lines))
