"""`vidkit track`: SiamFC tracking on a frozen backbone, VINCE's tracking end task (train, eval)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import DeviceOpt, ForceOpt, JsonOpt, LoaderWorkersOpt, SeedOpt
from vidkit.cli.output import progress, report

track = typer.Typer(
    name="track",
    help="SiamFC tracking on a frozen backbone: train the adapters on GOT-10k, score on OTB (VINCE's end task).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@track.command("train")
def train(
    inputs: Annotated[
        list[Path], typer.Argument(help="[CHECKPOINT.pt] GOT10K_DIR: without a checkpoint, give --backbone.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Tracker checkpoint to write.")],
    backbone: Annotated[
        Optional[str], typer.Option(help="Random-init backbone instead of a checkpoint (the baseline).")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs of 25 pairs per sequence (seed: 40).")] = 40,
    batch_size: Annotated[int, typer.Option(min=1, help="Pairs per step (seed: 256).")] = 256,
    lr: Annotated[
        float, typer.Option(help="Adam learning rate, x0.1 at 1/4, 1/2 and 3/4 of the run (seed: 0.01).")
    ] = 0.01,
    exemplar_size: Annotated[int, typer.Option(min=16, help="Exemplar crop side in px (seed: 120).")] = 120,
    instance_size: Annotated[
        int,
        typer.Option(
            min=32, help="Search crop side at test time in px; training uses it minus the stride (seed: 255)."
        ),
    ] = 255,
    pairs_per_sequence: Annotated[int, typer.Option(min=1, help="Pairs drawn per sequence per epoch (seed: 25).")] = 25,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the unfinished run in -o (same options) where it stopped.")
    ] = False,
    force: ForceOpt = False,
    no_amp: Annotated[bool, typer.Option("--no-amp", help="Train in fp32 on CUDA too.")] = False,
    workers: LoaderWorkersOpt = 2,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Train SiamFC's adapters on a frozen backbone over GOT-10k-layout sequences.

    Example: `vidkit track train vince.pt data/got10k -o vince-siamfc.pt`

    Example: `vidkit track train --backbone resnet18 data/track/got10k -o random-siamfc.pt --epochs 4 --batch-size 8 --exemplar-size 64 --instance-size 128`

    The backbone (a 2D ResNet from a checkpoint, or random weights with `--backbone`) is frozen in
    eval mode with layers 3 and 4 dilated instead of strided (output stride 8); its spatial maps of
    the exemplar and of the search crop pass two 1x1 adapters (-> 256 channels) whose
    cross-correlation (x0.001) is trained with a focal loss (gamma 2) against a binary label map.
    Pairs, crops, labels and the optimiser are the seed's (docs/tasks.md): two valid frames less
    than 100 apart, context crops with +-5% stretch, Laplace centre shifts and independent flips;
    Adam, weight decay 0. `GOT10K_DIR` is a split folder with `list.txt` (or a root holding `train/`).
    Smaller `--exemplar-size` / `--instance-size` make toy runs fast on a CPU; they travel with the tracker.
    Every epoch rewrites `-o` with the optimiser's state: `--resume` continues a killed run (same
    options and backbone) to the result of an uninterrupted one; an existing `-o` is refused otherwise
    unless `--force`.

    JSON: `{"checkpoint", "steps", "final_loss", "sequences", "pairs", "seconds"}`. Core: `vidkit.tasks.tracking.train.train`.
    """
    from vidkit.tasks.tracking import siamfc as model
    from vidkit.tasks.tracking import train as core

    if len(inputs) not in (1, 2) or (len(inputs) == 1) == (backbone is None):
        raise typer.BadParameter("give CHECKPOINT GOT10K_DIR, or GOT10K_DIR with --backbone NAME")
    checkpoint, got10k = (inputs[0], inputs[1]) if len(inputs) == 2 else (None, inputs[0])
    siamfc = model.SiamFCConfig(
        exemplar_sz=exemplar_size, instance_sz=instance_size, pairs_per_sequence=pairs_per_sequence
    )
    config = core.TrackTrainConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, workers=workers, device=device, seed=seed, amp=not no_amp
    )
    with progress("training SiamFC") as update:
        result = core.train(
            got10k,
            output,
            checkpoint=checkpoint,
            backbone=backbone,
            siamfc=siamfc,
            config=config,
            force=force,
            resume=resume,
            progress=update,
        )
    text = (
        f"{result.steps} steps on {result.sequences} sequences, final loss {result.final_loss:.4f}: {result.checkpoint}"
    )
    report(result.summary(), as_json=as_json, text=text)


@track.command("eval")
def evaluate(
    inputs: Annotated[list[Path], typer.Argument(help="[TRACKER.pt] OTB_DIR: without a tracker, give --static.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the result files.")],
    static: Annotated[
        bool, typer.Option("--static", help="Score the centre-prior baseline: the first frame's box, kept.")
    ] = False,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Track every sequence of an OTB-layout folder and score it as OTB-2015.

    Example: `vidkit track eval vince-siamfc.pt data/otb100 -o results/vince --json`

    Runs the seed's SiamFC tracker (3 scales of 1.0375, scale penalty 0.9745, Hann window 0.176,
    response upsampled x16, size update 0.59) from each sequence's first box, and writes the OTB
    toolkit's files: `OUT/<seq>.txt` (x,y,w,h per frame) and `OUT/times/<seq>_time.txt`, then
    `OUT/performance.json`. Precision is the fraction of frames whose centre error is at most 20 px,
    success the mean over 21 IoU thresholds 0..1 of the fraction of frames above it (the area under
    the success curve), both averaged over sequences as the got10k toolkit does; fps excludes frame
    reading. `OTB_DIR` holds `<seq>/img/0001.jpg ...` and `<seq>/groundtruth_rect.txt`.

    JSON: `{"otb_precision", "otb_success", "fps", "sequences", "frames", "tracker", "results", "seconds"}`.
    Core: `vidkit.tasks.tracking.evaluate.evaluate`.
    """
    from vidkit.tasks.tracking import evaluate as core

    if len(inputs) not in (1, 2) or (len(inputs) == 1) != static:
        raise typer.BadParameter("give TRACKER.pt OTB_DIR, or OTB_DIR with --static")
    tracker, otb = (inputs[0], inputs[1]) if len(inputs) == 2 else (None, inputs[0])
    with progress("tracking") as update:
        result = core.evaluate(otb, output, tracker_path=tracker, static=static, device=device, progress=update)
    s = result.score
    text = (
        f"{len(result.per_sequence)} sequences, {result.frames} frames: precision {s.precision:.3f}  "
        f"success {s.success:.3f}  {s.fps:.1f} fps  (results in {result.results})"
    )
    report(result.summary(), as_json=as_json, text=text)
