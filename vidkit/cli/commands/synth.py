"""`vidkit synth`: a labelled toy action dataset whose classes differ by motion (and optionally shape)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidkit.cli.options import JsonOpt, SeedOpt
from vidkit.cli.output import report
from vidkit.errors import UsageError

_DEFAULTS = dict(classes=8, train_per_class=8, test_per_class=4, frames=32, size=64)  # = synth.SynthConfig()


def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write videos/ and splits/ into.", file_okay=False)],
    classes: Annotated[int, typer.Option(min=1, help="Number of motion classes (at most 12).")] = _DEFAULTS["classes"],
    train_per_class: Annotated[int, typer.Option(min=0, help="Training videos per class.")] = _DEFAULTS[
        "train_per_class"
    ],
    test_per_class: Annotated[int, typer.Option(min=0, help="Test videos per class.")] = _DEFAULTS["test_per_class"],
    frames: Annotated[int, typer.Option(min=2, help="Frames per video.")] = _DEFAULTS["frames"],
    size: Annotated[int, typer.Option(min=16, help="Frame width and height in pixels (even).")] = _DEFAULTS["size"],
    class_shapes: Annotated[
        bool,
        typer.Option(
            "--class-shapes",
            help="Each class draws its own shape (of 12), so single frames tell the classes apart; "
            "colour, background, size, position and orientation stay random.",
        ),
    ] = False,
    tracking: Annotated[
        bool,
        typer.Option(
            "--tracking",
            help="Write box-annotated tracking sequences instead (OTB and GOT-10k layouts): --train-per-class "
            "and --test-per-class count sequences, --size (96 or more) is the frame side.",
        ),
    ] = False,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Make a labelled toy action dataset in UCF101's layout, in seconds.

    Example: `vidkit synth data/synth --classes 8 --train-per-class 8`

    Writes `OUT_DIR/videos/<Class>/v_<Class>_gNN_cNN.mp4` and
    `OUT_DIR/splits/{classInd,trainlist01,testlist01}.txt`. Each video shows one random shape on a
    random muted background, moving in one of up to 12 ways: translation in eight directions,
    clockwise or counter-clockwise rotation, growing or shrinking. Start states are drawn so that no
    single frame tells the classes apart; only motion does. Test videos are groups `g01..gK` (as
    UCF101 split 1 puts groups 1-7 in the test set). The videos are H.264 at 25 fps. The same seed
    gives byte-identical files, and existing files are kept, so a killed run finishes where it stopped.

    With `--class-shapes` class c always draws shape c (arrow, notched rectangle, triangle, L, T, ...;
    none looks the same after a rotation short of a full turn) and nothing else changes: colour,
    background, size, position and orientation stay random, and the class still moves as before. A
    single frame then carries its class through the shape alone, which gives image methods (VINCE,
    MoCo, PIRL) something to learn that a random-init network does not already see; without the
    flag they have nothing (mk/vince.mk's `*-shapes-*` rules use it).

    JSON: `{"videos", "splits", "classes", "train", "test"}`. Core: `vidkit.io.synth.make_dataset`.

    Example: `vidkit synth data/track --tracking --train-per-class 16 --test-per-class 4 --frames 48 --size 128`

    With `--tracking`, writes tracking sequences: a textured object moving and changing size over a
    textured background with distractors, one box per frame. Training sequences go to
    `OUT_DIR/got10k/train/<seq>/{00000001.jpg,...,groundtruth.txt}` (+ `list.txt`); the held-out ones to
    `OUT_DIR/got10k/val/` and, the same sequences, to `OUT_DIR/otb/<seq>/{img/0001.jpg,...,groundtruth_rect.txt}`
    (1-based boxes, as OTB). JSON: `{"otb", "got10k", "train", "test", "frames"}`. Core:
    `vidkit.io.synth_tracking.make_tracking`.
    """
    if tracking:
        from vidkit.io import synth_tracking

        if class_shapes:
            raise UsageError("--class-shapes is for action videos; tracking sequences have no classes")

        made = synth_tracking.make_tracking(
            out_dir,
            synth_tracking.TrackingSynthConfig(
                train=train_per_class, test=test_per_class, frames=frames, size=size, seed=seed
            ),
        )
        text = f"{made.train} train + {made.test} held-out tracking sequences in {made.got10k} and {made.otb}"
        report(made.summary(), as_json=as_json, text=text)
        return
    from vidkit.io import synth as core

    config = core.SynthConfig(
        classes=classes,
        train_per_class=train_per_class,
        test_per_class=test_per_class,
        frames=frames,
        size=size,
        seed=seed,
        class_shapes=class_shapes,
    )
    result = core.make_dataset(out_dir, config)
    text = f"{result.train} train + {result.test} test videos of {len(result.classes)} classes in {out_dir}"
    report(result.summary(), as_json=as_json, text=text)
