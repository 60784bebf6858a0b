"""The LSTM probe's model, its clip datasets, training and scoring over cached per-frame features
(`tasks.lstm_probe` runs them as VINCE's Kinetics end task, vince.md 6.3).

A training item is `clip_len` features of one video, `step` frames apart, at a random start drawn
from `(seed, epoch, index)` like every vidkit dataset (exact resume); a test video is scored on
evenly spaced clips.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from vidkit.data import sampling
from vidkit.data.datasets import sample_rng
from vidkit.engine import inference
from vidkit.engine import train as engine
from vidkit.engine.train import StepOutput
from vidkit.tasks.evaluation import topk
from vidkit.tasks.frame_features import FrameSequences


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
    restore: dict | None = None,
) -> LstmProbe:
    """Train an `LstmProbe` on `(videos, labels, steps)` through the one engine; returns it in eval mode.

    `save(task, optimizer, position, final)` is called after every epoch and at the end; `restore`
    (a saved run's `{"head", "optimizer", "position"}`) continues that run instead of
    starting one.
    """
    videos, labels, steps = train
    torch.manual_seed(config.seed)
    model = LstmProbe(sequences.dim, num_classes, config.hidden)
    dataset = TrainSequences(sequences, videos, labels, steps, clip_len=config.clip_len, seed=config.seed)
    per_epoch = engine.steps_per_epoch(len(dataset), config.batch_size, drop_last=False)
    # workers=0: the batches are rows of an in-memory array; a resumable checkpoint every epoch
    train_config = replace(
        engine.epochs_config(config, per_epoch, workers=0, drop_last=False), checkpoint_every=per_epoch
    )
    task = SequenceTask(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    position = engine.Position()
    if restore is not None:
        model.load_state_dict(restore["head"])
        optimizer.load_state_dict(restore["optimizer"])
        position = restore["position"]

    if position.step < train_config.steps:
        engine.fit(
            task,
            dataset,
            train_config,
            device=device,
            save=save or (lambda *_: None),
            optimizer=optimizer,
            position=position,
            progress=engine.epoch_progress(progress, per_epoch, config.epochs),
        )
    return model.eval()
