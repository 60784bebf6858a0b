"""VINCE's Kinetics end task (vince.md 6.3): a one-layer LSTM over a frozen backbone's per-frame features.

The seed encodes each of 10 consecutive frames at 10 fps (one second) with the frozen backbone,
feeds the `(B, 10, C)` sequence to an LSTM of 512 units (batch first) and classifies its last
hidden state with one linear layer; Adam (lr 0.01, no weight decay), x0.1 at epochs 10/20/30 of
40, batches of 64 clips, clip top-1 at a random start.

Here the frozen features are computed once (`frame_features`), which makes an epoch a pass over
small vectors instead of images. NOTE (docs/probes.md): so the seed's per-clip random crop (RRC
0.5-1) is not applied; the frames are centre crops. Testing scores `test_clips` evenly spaced
clips per video: their mean top-1 is the seed's clip top-1 (its one random clip per video, in
expectation), and the mean of their logits gives a video-level accuracy as well.

[0] VINCE, Gordon et al., 2020, arXiv:2003.07990, section 4.3 and the seed's EndTaskKinetics400Solver.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from vidkit import checkpoint as ckpt
from vidkit.checkpoint.backbone import load_backbone
from vidkit.data import sampling
from vidkit.data.datasets import sample_rng
from vidkit.engine import inference
from vidkit.engine import train as engine
from vidkit.engine.device import resolve_device
from vidkit.engine.train import StepOutput
from vidkit.errors import UsageError, VidkitError
from vidkit.io.frame_store import FrameStore
from vidkit.io.outputs import claim_output
from vidkit.tasks.evaluation import labelled_videos, topk
from vidkit.tasks.frame_features import FrameSequences, cached_frame_features

log = logging.getLogger("vidkit")


@dataclass
class LstmProbeConfig:
    """The seed's settings (vince.md 6.3)."""

    train_split: str = "train01"
    test_split: str = "test01"
    clip_len: int = 10  # frames per clip
    fps: float = 10.0  # the clip's frame rate; the frame step is round(video fps / fps)
    stride: int | None = None  # an explicit frame step instead
    hidden: int = 512
    epochs: int = 40
    batch_size: int = 64
    lr: float = 0.01
    weight_decay: float = 0.0
    milestones: tuple[float, ...] = (0.25, 0.5, 0.75)  # epochs 10, 20, 30 of 40
    test_clips: int = 10
    size: int | None = None  # None: the checkpoint's
    workers: int = 2
    device: str = "auto"
    seed: int = 0
    amp: bool = True


class LstmProbe(nn.Module):
    """A one-layer LSTM over per-frame features; its last hidden state through one linear layer."""

    def __init__(self, dim: int, num_classes: int, hidden: int = 512):
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, classes)
        _, (hidden, _) = self.lstm(sequences.float())  # hidden: (1, B, H)
        return self.fc(hidden[-1])


class SequenceTask(nn.Module):
    """Cross-entropy on `{"features", "label"}` batches, in the engine's protocol."""

    def __init__(self, model: LstmProbe):
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> StepOutput:
        logits = self.model(batch["features"]).float()  # (B, classes)
        loss = F.cross_entropy(logits, batch["label"])
        hits = (logits.argmax(1) == batch["label"]).sum()
        return StepOutput(loss, {"hits": hits.detach(), "seen": torch.tensor(len(logits))})

    def on_step_end(self, progress: float) -> None:
        pass


class TrainSequences(Dataset):
    """Item `(index, epoch)`: `clip_len` frames of `videos[index]`, `steps[index]` apart, at a random start."""

    def __init__(self, sequences: FrameSequences, videos, labels, steps, *, clip_len: int, seed: int):
        self.sequences, self.videos, self.labels, self.steps = sequences, videos, labels, steps
        self.clip_len, self.seed = clip_len, seed

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, item: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, epoch = item
        video, step = int(self.videos[index]), int(self.steps[index])
        span = (self.clip_len - 1) * step + 1
        start = sampling.random_start(self.sequences.length(video), span, sample_rng(self.seed, epoch, index))
        features = self.sequences.sequence(video, start, self.clip_len, step)  # (T, D)
        return {"features": torch.from_numpy(features), "label": torch.tensor(int(self.labels[index]))}


class EvalSequences(Dataset):
    """Fixed `(video, start, step)` clips, for testing."""

    def __init__(self, sequences: FrameSequences, items: np.ndarray, clip_len: int):
        self.sequences, self.items, self.clip_len = sequences, items, clip_len

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor:
        video, start, step = (int(v) for v in self.items[i])
        return torch.from_numpy(self.sequences.sequence(video, start, self.clip_len, step))


def frame_steps(fps: np.ndarray, target: float, stride: int | None) -> np.ndarray:
    """Frame step per video that gives `target` fps (at least 1), or `stride` everywhere."""
    if stride is not None:
        return np.full(len(fps), stride, dtype=np.int64)
    return np.maximum(np.round(np.asarray(fps, dtype=np.float64) / target), 1).astype(np.int64)


def test_items(sequences: FrameSequences, videos, steps, clip_len: int, clips: int) -> np.ndarray:
    """`(videos * clips, 3)` rows of `(video, start, step)`: evenly spaced clips of each video."""
    rows = []
    for video, step in zip(videos, steps):
        span = (clip_len - 1) * int(step) + 1
        for start in sampling.evenly_spaced_starts(sequences.length(int(video)), span, clips):
            rows.append((int(video), int(start), int(step)))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


@dataclass
class SequenceScores:
    clip_top1: float
    clip_top5: float
    top1: float  # video level: logits averaged over the clips
    top5: float
    videos: int


def score(model: LstmProbe, sequences, videos, labels, steps, config: LstmProbeConfig, device) -> SequenceScores:
    """Clip- and video-level accuracy over `config.test_clips` evenly spaced clips per video."""
    items = test_items(sequences, videos, steps, config.clip_len, config.test_clips)
    model.eval()
    logits = inference.run(
        model,
        inference.loader(EvalSequences(sequences, items, config.clip_len), batch_size=256, workers=0, device=device),
        device=device,
        width=model.fc.out_features,
    )  # (videos * clips, classes)
    per_video = logits.reshape(len(videos), config.test_clips, -1).mean(axis=1)
    clip_labels = np.repeat(labels, config.test_clips)
    return SequenceScores(
        topk(logits, clip_labels, 1),
        topk(logits, clip_labels, 5),
        topk(per_video, labels, 1),
        topk(per_video, labels, 5),
        len(videos),
    )


def train_probe(
    sequences: FrameSequences,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    num_classes: int,
    config: LstmProbeConfig,
    device: torch.device,
    save=None,
    progress=None,
) -> LstmProbe:
    """Train an `LstmProbe` on `(videos, labels, steps)` through the one engine; returns it in eval mode."""
    videos, labels, steps = train
    torch.manual_seed(config.seed)
    model = LstmProbe(sequences.dim, num_classes, config.hidden)
    dataset = TrainSequences(sequences, videos, labels, steps, clip_len=config.clip_len, seed=config.seed)
    per_epoch = engine.steps_per_epoch(len(dataset), config.batch_size, drop_last=False)
    # workers=0: the batches are rows of an in-memory array
    train_config = engine.epochs_config(config, per_epoch, workers=0, drop_last=False)
    task = SequenceTask(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def report(step: int, total: int, loss: float, rate: float) -> None:
        if progress:
            progress(step, total, f"epoch {min(step // per_epoch + 1, config.epochs)} loss {loss:.3f}")

    engine.fit(
        task,
        dataset,
        train_config,
        device=device,
        save=save or (lambda *_: None),
        optimizer=optimizer,
        progress=report,
    )
    return model.eval()


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
    progress=None,
) -> LstmProbeResult:
    """Train the LSTM probe on the train split's per-frame features, test it; write the checkpoint `out`.

    The per-frame features go to `features` (default `OUT.features.h5`) and are reused by a later
    run with the same frame store, backbone and size.

    Raises:
        UsageError: `out` is an input or exists (without `force`), or a non-finite `lr`.
        VidkitError: bad options, store, splits or checkpoint; TrainingDivergedError on a NaN loss.
    """
    if not math.isfinite(config.lr):
        raise UsageError(f"--lr {config.lr} is not a finite number")
    if config.clip_len < 1 or config.epochs < 1 or config.test_clips < 1 or config.fps <= 0:
        raise VidkitError("--clip-len, --epochs and --test-clips must be at least 1, the clip fps positive")
    features = features or out.with_name(out.stem + ".features.h5")
    with claim_output(out, inputs=[frames, checkpoint, features], existing=ckpt.describe, force=force):
        return _lstm_probe(frames, out, checkpoint, backbone, config, features, progress)


def _lstm_probe(frames, out, checkpoint, backbone, config: LstmProbeConfig, features: Path, progress):
    started = time.perf_counter()
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
    device = resolve_device(config.device)

    def write(model: LstmProbe, training: dict) -> None:
        ckpt.save(
            ckpt.Checkpoint(
                backbone_name=loaded.name,
                backbone_kwargs=loaded.kwargs,
                backbone=loaded.model.state_dict(),
                input=ckpt.InputRecipe(
                    clip_len=1, stride=1, size=size, modality="rgb", mean=loaded.recipe.mean, std=loaded.recipe.std
                ),
                method="lstm-probe",
                hparams={**asdict(config), "milestones": list(config.milestones)},
                head={k: v.detach().cpu() for k, v in model.state_dict().items()},
                training=training,
            ),
            out,
        )

    model = train_probe(
        sequences,
        (train_videos, train_labels, train_steps),
        num_classes,
        config,
        device,
        save=lambda module, *_: write(module.model, {"complete": False, "source": loaded.source}),
        progress=progress,
    )
    scores = score(model, sequences, test_videos, test_labels, test_steps, config, device)
    seconds = time.perf_counter() - started
    write(
        model,
        {
            "complete": True,
            "source": loaded.source,
            "features": str(features),
            "classes": list(store.classes),
            "test": asdict(scores),
            "seconds": seconds,
        },
    )
    return LstmProbeResult(out, features, scores, config.epochs, seconds)


def run(request) -> tuple[dict, str]:
    """`finetune --probe kinetics-lstm` (`tasks.probes.ProbeRequest`): the options given on the
    command line override the seed's settings (`LstmProbeConfig`'s defaults).

    Raises:
        UsageError: an option of the image probes, or `--test-only` / `--resume` (it trains in one go).
    """
    config = request.config
    if config.head != "linear" or request.sun397_splits is not None:
        raise UsageError("--head and --sun397-splits go with the image probes")
    if request.test_only or request.resume:
        raise UsageError("--probe kinetics-lstm trains in one go (its features are cached): no --test-only or --resume")
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
        progress=request.progress,
    )
    s = result.scores
    return (
        result.summary(),
        f"{s.videos} test videos: clip top-1 {s.clip_top1 * 100:.2f}%  video top-1 {s.top1 * 100:.2f}%",
    )
