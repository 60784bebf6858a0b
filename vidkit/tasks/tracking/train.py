"""Training SiamFC's adapters on a frozen backbone over GOT-10k-layout sequences: `vidkit track train`.

The seed's optimisation (vince.md 6.3): Adam, weight decay 0, lr 0.01 cut x0.1 at epochs 10, 20
and 30 of 40 (milestones at 1/4, 1/2, 3/4 of the run), batch 256, 25 pairs per sequence per epoch.
It runs on the one engine (`engine.train.fit`) as every vidkit training does: the pair dataset
draws its randomness from `(seed, epoch, index)`, and the engine sets each step's rate.
The tracker checkpoint is a `vidkit.ckpt/1` file: the backbone's weights under its own (torchvision)
keys, the adapters as its `head`, method `siamfc`, and SiamFC's constants in `hparams`, so that
`vidkit track eval` rebuilds the same tracker. It is written every epoch with the optimiser's state
and the step, so `resume=True` continues a killed run to the result of an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from vidkit import checkpoint as ckpt
from vidkit.checkpoint.backbone import LoadedBackbone, load_backbone
from vidkit.engine import train as engine
from vidkit.engine.device import resolve_device
from vidkit.errors import AnnotationError, CheckpointFormatError, UsageError
from vidkit.io.outputs import claim_output
from vidkit.io.tracking import Sequence, read_got10k
from vidkit.tasks.resumable import unfinished_run
from vidkit.tasks.tracking.backbone import SpatialBackbone
from vidkit.tasks.tracking.pairs import PairDataset
from vidkit.tasks.tracking.siamfc import SiamFC, SiamFCConfig, SiamFCTask

METHOD = "siamfc"
log = logging.getLogger("vidkit")


@dataclass
class TrackTrainConfig:
    epochs: int = 40
    batch_size: int = 256
    lr: float = 0.01
    weight_decay: float = 0.0
    milestones: tuple[float, ...] = (0.25, 0.5, 0.75)  # epochs 10, 20, 30 of 40
    workers: int = 2
    device: str = "auto"
    seed: int = 0
    amp: bool = True


@dataclass
class TrackTrainResult:
    checkpoint: Path
    steps: int
    final_loss: float
    sequences: int
    pairs: int
    seconds: float

    def summary(self) -> dict:
        return {
            "checkpoint": str(self.checkpoint),
            "steps": self.steps,
            "final_loss": self.final_loss,
            "sequences": self.sequences,
            "pairs": self.pairs,
            "seconds": self.seconds,
        }


def _adapters(model: SiamFC) -> nn.Module:
    return nn.ModuleDict({"adapt_z": model.adapt_z, "adapt_x": model.adapt_x})


def build(checkpoint: Path | None, backbone: str | None, config: SiamFCConfig, seed: int = 0):
    """A SiamFC model around a frozen (dilated) backbone from a checkpoint or a name; adapters seeded."""
    loaded = load_backbone(checkpoint, backbone, seed=seed)
    model = SiamFC(SpatialBackbone(loaded.model), config)
    return model, loaded


def load_tracker(path: Path) -> tuple[SiamFC, LoadedBackbone]:
    """A tracker written by `track train`.

    Raises:
        CheckpointFormatError: the file is not a SiamFC tracker (a pretraining checkpoint, say).
    """
    loaded = load_backbone(Path(path))
    saved = loaded.checkpoint
    if saved.method != METHOD or "siamfc" not in saved.hparams:
        raise CheckpointFormatError(
            f"{path} is a {saved.method or 'backbone'} checkpoint, not a tracker; train one with `vidkit track train`"
        )
    model = SiamFC(SpatialBackbone(loaded.model), SiamFCConfig.from_dict(saved.hparams["siamfc"]))
    ckpt.load_strict(_adapters(model), saved.head, what="SiamFC adapters")
    return model, loaded


def training_sequences(folder: Path) -> list[Sequence]:
    """A GOT-10k split folder (with `list.txt`), or a GOT-10k root whose `train/` is one."""
    folder = Path(folder)
    if not (folder / "list.txt").exists() and (folder / "train" / "list.txt").exists():
        folder = folder / "train"
    return read_got10k(folder)


def train(
    got10k: Path,
    out: Path,
    *,
    checkpoint: Path | None = None,
    backbone: str | None = None,
    siamfc: SiamFCConfig = SiamFCConfig(),
    config: TrackTrainConfig = TrackTrainConfig(),
    force: bool = False,
    resume: bool = False,
    progress=None,
) -> TrackTrainResult:
    """Train the adapters of a SiamFC tracker on `got10k`'s sequences; write the tracker to `out`
    (`resume`: continue the unfinished run of the same options that `out` holds).

    Raises:
        UsageError: bad options, `out` is an input or exists (without `force` or `resume`), or
            `resume` finds another run's or a finished tracker there.
        AnnotationError: the sequences are missing or malformed.
        VidkitError: no usable pair, a bad checkpoint; TrainingDivergedError on a NaN loss.
    """
    if not math.isfinite(config.lr) or config.lr <= 0:
        raise UsageError(f"--lr {config.lr} must be a positive number")
    if siamfc.instance_sz <= siamfc.exemplar_sz:
        raise UsageError("--instance-size must be larger than --exemplar-size")
    started = time.perf_counter()

    def existing(path: Path) -> str | None:  # what `out` holds, in the words of the refusal
        return None if resume else ckpt.describe(path, unit="epoch") + " (--resume continues an unfinished run)"

    with claim_output(out, inputs=[checkpoint, got10k], existing=existing, force=force) as out:
        sequences = training_sequences(got10k)
        device = resolve_device(config.device)
        model, loaded = build(checkpoint, backbone, siamfc, config.seed)
        model.to(device)
        search_sz = siamfc.instance_sz - model.total_stride  # 247 = 255 - 8 (vince.md 6.3)
        response_sz = model.response_size(search_sz)
        if response_sz < 1:
            raise UsageError(f"a {search_sz} px search crop is smaller than the {siamfc.exemplar_sz} px exemplar's map")
        recipe = loaded.recipe
        dataset = PairDataset(
            sequences,
            siamfc,
            search_sz=search_sz,
            response_sz=response_sz,
            total_stride=model.total_stride,
            mean=recipe.mean,
            std=recipe.std,
            seed=config.seed,
        )
        if len(dataset) < config.batch_size:
            raise AnnotationError(
                f"{len(sequences)} sequences give {len(dataset)} pairs per epoch, less than one batch of "
                f"{config.batch_size}; lower --batch-size"
            )
        per_epoch = engine.steps_per_epoch(len(dataset), config.batch_size)
        # A resumable checkpoint every epoch: a killed run loses at most one.
        train_config = replace(
            engine.epochs_config(config, per_epoch, workers=config.workers), checkpoint_every=per_epoch
        )
        task = SiamFCTask(model)
        params = [p for p in task.parameters() if p.requires_grad]  # the adapters only
        optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        hparams = {"siamfc": siamfc.to_dict(), "train": _plain(asdict(config))}
        position = engine.Position()
        if resume and out.exists() and not force:
            position = _restore(out, model, optimizer, hparams, loaded.source)
        elif resume and not out.exists():
            log.warning("%s does not exist yet: nothing to resume, starting a new run", out)

        def save(module, optimizer_, position: engine.Position, final: bool) -> None:
            ckpt.save(
                ckpt.Checkpoint(
                    backbone_name=loaded.name,
                    backbone_kwargs=loaded.kwargs,
                    backbone=model.backbone.net.state_dict(),
                    input=recipe,
                    method=METHOD,
                    hparams=hparams,
                    head=model.head_state(),
                    training={
                        "complete": final,
                        "step": position.step,
                        "epoch": position.epoch,
                        "batch": position.batch,
                        "optimizer": optimizer_.state_dict(),
                        **loaded.source,
                    },
                ),
                out,
            )

        result = engine.fit(
            task,
            dataset,
            train_config,
            device=device,
            save=save,
            optimizer=optimizer,
            position=position,
            progress=engine.epoch_progress(progress, per_epoch, config.epochs),
        )
    return TrackTrainResult(
        out, result.steps, result.final_loss, len(sequences), len(dataset), time.perf_counter() - started
    )


def _restore(out: Path, model: SiamFC, optimizer, hparams: dict, source: dict) -> engine.Position:
    """Load the unfinished run in `out` into `model`'s adapters and `optimizer`; where it stopped
    (`tasks.resumable.unfinished_run` checks it and raises)."""
    saved = ckpt.load(out)
    saved_source = {key: saved.training.get(key) for key in source}  # a tracker records them at the top level
    position = unfinished_run(
        saved, out, method=METHOD, what="tracker", hparams=hparams, source=source, saved_source=saved_source
    )
    ckpt.load_strict(_adapters(model), saved.head, what="SiamFC adapters")
    optimizer.load_state_dict(saved.training["optimizer"])
    return position


def _plain(values: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
