"""VINCE's Kinetics end task (vince.md 6.3): a one-layer LSTM over a frozen backbone's per-frame features.

The seed encodes each of 10 consecutive frames at 10 fps (one second) with the frozen backbone,
feeds the `(B, 10, C)` sequence to an LSTM of 512 units (batch first) and classifies its last
hidden state with one linear layer; Adam (lr 0.01, no weight decay), x0.1 at epochs 10/20/30 of
40, batches of 64 clips, clip top-1 at a random start.

Here the frozen features are computed once (`frame_features`), which makes an epoch a pass over
small vectors instead of images. NOTE (docs/probes.md): so the seed's per-clip random crop (RRC
0.5-1) is not applied; the frames are centre crops. Testing scores `test_clips` evenly spaced
clips per video: their mean top-1 is the seed's clip top-1 (its one random clip per video, in
expectation), and the mean of their logits gives a video-level accuracy as well. The model, its
clip datasets, training and scoring are `tasks.lstm_sequences`; this module runs them as a probe:
the feature cache, the checkpoint (rewritten every epoch, so `resume` continues a killed run), and
`test_probe`, which scores a finished probe again.

[0] VINCE, Gordon et al., 2020, arXiv:2003.07990, section 4.3 and the seed's EndTaskKinetics400Solver.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vidkit import checkpoint as ckpt
from vidkit.checkpoint.backbone import LoadedBackbone, load_backbone
from vidkit.engine import train as engine
from vidkit.engine.device import resolve_device
from vidkit.errors import CheckpointFormatError, UsageError, VidkitError
from vidkit.io.frame_store import FrameStore
from vidkit.io.outputs import claim_output
from vidkit.tasks.evaluation import labelled_videos
from vidkit.tasks.frame_features import FrameSequences, cached_frame_features
from vidkit.tasks.lstm_sequences import LstmProbe, LstmProbeConfig, SequenceScores, frame_steps, score, train_probe
from vidkit.tasks.resumable import unfinished_run

log = logging.getLogger("vidkit")
METHOD = "lstm-probe"


@dataclass
class LstmProbeResult:
    checkpoint: Path
    features: Path
    scores: SequenceScores
    epochs: int
    seconds: float

    def summary(self) -> dict:
        s = self.scores
        return {
            "checkpoint": str(self.checkpoint),
            "kinetics_top1": s.clip_top1,
            "kinetics_video_top1": s.top1,
            "test_top1": s.top1,
            "test_top5": s.top5,
            "clip_top1": s.clip_top1,
            "clip_top5": s.clip_top5,
            "test_videos": s.videos,
            "epochs": self.epochs,
            "features": str(self.features),
            "seconds": round(self.seconds, 3),
        }


def lstm_probe(
    frames: Path,
    out: Path,
    *,
    checkpoint: Path | None = None,
    backbone: str | None = None,
    config: LstmProbeConfig = LstmProbeConfig(),
    features: Path | None = None,
    force: bool = False,
    resume: bool = False,
    progress=None,
) -> LstmProbeResult:
    """Train the LSTM probe on the train split's per-frame features, test it; write the checkpoint `out`.

    The per-frame features go to `features` (default `OUT.features.h5`) and are reused by a later
    run with the same frame store, backbone and size. `out` is rewritten after every epoch;
    `resume` continues the unfinished run of the same options that it holds.

    Raises:
        UsageError: `out` is an input or exists (without `force` or `resume`), a non-finite `lr`, or
            `resume` finds another run's or a finished probe there.
        VidkitError: bad options, store, splits or checkpoint; TrainingDivergedError on a NaN loss.
    """
    if not math.isfinite(config.lr):
        raise UsageError(f"--lr {config.lr} is not a finite number")
    if config.clip_len < 1 or config.epochs < 1 or config.test_clips < 1 or config.fps <= 0:
        raise VidkitError("--clip-len, --epochs and --test-clips must be at least 1, the clip fps positive")
    features = features or out.with_name(out.stem + ".features.h5")
    existing = (lambda p: None) if resume else ckpt.describe
    with claim_output(out, inputs=[frames, checkpoint, features], existing=existing, force=force):
        restore = None
        if resume and out.exists() and not force:
            restore = ckpt.load(out)
        elif resume:
            log.warning("%s does not exist yet: nothing to resume, starting a new run", out)
        return _lstm_probe(frames, out, checkpoint, backbone, config, features, progress, restore)


@dataclass
class _Prepared:
    """What training and testing share: the store's splits, the cached features, the backbone."""

    store: FrameStore
    train: tuple[np.ndarray, np.ndarray, np.ndarray]  # videos, labels, frame steps
    test: tuple[np.ndarray, np.ndarray, np.ndarray]
    sequences: FrameSequences
    loaded: LoadedBackbone
    size: int
    num_classes: int


def _prepare(frames, checkpoint, backbone, config: LstmProbeConfig, features: Path) -> _Prepared:
    store = FrameStore(frames)
    train_videos, train_labels = labelled_videos(store, config.train_split)
    test_videos, test_labels = labelled_videos(store, config.test_split)
    loaded = load_backbone(checkpoint, backbone, seed=config.seed)  # fails early on a bad checkpoint
    if loaded.model.dims != 2:
        raise UsageError("the LSTM probe encodes single frames: give a 2D backbone (resnet18, resnet50, ...)")
    size = config.size or loaded.recipe.size
    cached = cached_frame_features(
        frames,
        features,
        checkpoint=checkpoint,
        backbone=None if checkpoint is not None else backbone,
        size=size,
        batch_size=256,
        workers=config.workers,
        device=config.device,
        seed=config.seed,
    )
    sequences = FrameSequences.from_store(cached)
    sequences.check(np.concatenate([train_videos, test_videos]))
    fps = store.table()["fps"]
    train_steps = frame_steps(fps[train_videos], config.fps, config.stride)
    test_steps = frame_steps(fps[test_videos], config.fps, config.stride)
    num_classes = max(len(store.classes), int(max(train_labels.max(), test_labels.max())) + 1)
    return _Prepared(
        store,
        (train_videos, train_labels, train_steps),
        (test_videos, test_labels, test_steps),
        sequences,
        loaded,
        size,
        num_classes,
    )


def _resumable(saved: ckpt.Checkpoint, out: Path, hparams: dict, source: dict) -> dict:
    """The state `train_probe` continues from (`tasks.resumable.unfinished_run` checks `saved` and raises)."""
    where = unfinished_run(
        saved,
        out,
        method=METHOD,
        what="kinetics-lstm probe",
        hparams=hparams,
        source=source,
        saved_source=saved.training.get("source"),
    )
    return {"head": saved.head, "optimizer": saved.training["optimizer"], "position": where}


def _lstm_probe(frames, out, checkpoint, backbone, config: LstmProbeConfig, features: Path, progress, restore=None):
    started = time.perf_counter()
    prepared = _prepare(frames, checkpoint, backbone, config, features)
    loaded, size = prepared.loaded, prepared.size
    device = resolve_device(config.device)
    hparams = {**asdict(config), "milestones": list(config.milestones)}

    def write(model: LstmProbe, training: dict) -> None:
        ckpt.save(
            ckpt.Checkpoint(
                backbone_name=loaded.name,
                backbone_kwargs=loaded.kwargs,
                backbone=loaded.model.state_dict(),
                input=ckpt.InputRecipe(
                    clip_len=1, stride=1, size=size, modality="rgb", mean=loaded.recipe.mean, std=loaded.recipe.std
                ),
                method=METHOD,
                hparams=hparams,
                head={k: v.detach().cpu() for k, v in model.state_dict().items()},
                training={"source": loaded.source, "features": str(features), **training},
            ),
            out,
        )

    def save(task, optimizer, position: engine.Position, final: bool) -> None:
        where = {"step": position.step, "epoch": position.epoch, "batch": position.batch}
        write(task.model, {"complete": False, "optimizer": optimizer.state_dict(), **where})

    model = train_probe(
        prepared.sequences,
        prepared.train,
        prepared.num_classes,
        config,
        device,
        save=save,
        progress=progress,
        restore=None if restore is None else _resumable(restore, out, hparams, loaded.source),
    )
    scores = score(model, prepared.sequences, *prepared.test, config, device)
    seconds = time.perf_counter() - started
    write(
        model,
        {"complete": True, "classes": list(prepared.store.classes), "test": asdict(scores), "seconds": seconds},
    )
    return LstmProbeResult(out, features, scores, config.epochs, seconds)


def test_probe(frames: Path, probe: Path, features: Path | None = None) -> LstmProbeResult:
    """Score a finished probe written by `lstm_probe` on `frames`' test split again (nothing is written).

    The per-frame features come from `features`, else the cache the probe was trained with (made
    again when it no longer fits).

    Raises:
        CheckpointFormatError, VidkitError: `probe` is not a finished LSTM probe, or its head does not
            fit the features.
    """
    started = time.perf_counter()
    saved = ckpt.load(probe)
    if saved.method != METHOD or not saved.training.get("complete"):
        raise CheckpointFormatError(
            f"{probe} is not a finished kinetics-lstm probe; train one with --probe kinetics-lstm"
        )
    config = LstmProbeConfig(**{**saved.hparams, "milestones": tuple(saved.hparams["milestones"])})
    features = features or Path(saved.training.get("features") or probe.with_name(probe.stem + ".features.h5"))
    # The cache is keyed by what made the features: the trained-on checkpoint (or random-init name)
    # finds it again; a checkpoint moved since falls back to the probe's own copy of the backbone.
    source = saved.training.get("source") or {}
    trained_on = Path(source["checkpoint"]) if source.get("checkpoint") else None
    if trained_on is not None and trained_on.is_file():
        prepared = _prepare(frames, trained_on, None, config, features)
    elif trained_on is None and source.get("backbone"):
        prepared = _prepare(frames, None, source["backbone"], config, features)
    else:
        prepared = _prepare(frames, probe, None, config, features)
    model = LstmProbe(prepared.sequences.dim, len(saved.head["fc.bias"]), config.hidden)
    ckpt.load_strict(model, saved.head, what="LSTM probe")
    scores = score(model, prepared.sequences, *prepared.test, config, resolve_device(config.device))
    return LstmProbeResult(probe, features, scores, config.epochs, time.perf_counter() - started)


def run(request) -> tuple[dict, str]:
    """`finetune --probe kinetics-lstm` (`tasks.probes.ProbeRequest`): the options given on the
    command line override the seed's settings (`LstmProbeConfig`'s defaults).

    `--test-only` scores the probe given as the checkpoint again; `--resume` continues a killed run.

    Raises:
        UsageError: an option of the image probes.
    """
    config = request.config
    if config.head != "linear" or request.sun397_splits is not None:
        raise UsageError("--head and --sun397-splits go with the image probes")
    if request.test_only:
        if request.checkpoint is None:
            raise UsageError("--test-only needs the probe checkpoint as CHECKPOINT")
        return _report(test_probe(request.frames, request.checkpoint, request.features))
    fields = ("train_split", "test_split", "clip_len", "stride", "epochs", "batch_size", "lr", "weight_decay")
    lstm_config = LstmProbeConfig(
        **{f: getattr(config, f) for f in (*fields, "test_clips", "size") if f in request.given},
        workers=config.workers,
        device=config.device,
        seed=config.seed,
        amp=config.amp,
    )
    result = lstm_probe(
        request.frames,
        request.output,
        checkpoint=request.checkpoint,
        backbone=request.backbone,
        config=lstm_config,
        features=request.features,
        force=request.force,
        resume=request.resume,
        progress=request.progress,
    )
    return _report(result)


def _report(result: LstmProbeResult) -> tuple[dict, str]:
    s = result.scores
    return (
        result.summary(),
        f"{s.videos} test videos: clip top-1 {s.clip_top1 * 100:.2f}%  video top-1 {s.top1 * 100:.2f}%",
    )
