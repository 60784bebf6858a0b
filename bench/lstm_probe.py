"""Benchmark: the Kinetics LSTM probe on cached per-frame features against the seed's way.

    python bench/lstm_probe.py [--device auto] [--videos 32] [--frames 40] [--size 112] [--epochs 40]

The seed (vince.md 6.3) ran the frozen backbone on the 10 frames of every clip in every epoch.
vidkit embeds every frame once (`embed --per-frame`) and trains the LSTM on the stored vectors
(`vidkit.tasks.lstm_sequences`). Both train through `engine.train.fit` on the same videos with the
same LSTM, so the difference is the backbone's forward passes. Measured on a synth frame store
with a resnet18: one epoch each way, and the one-off embedding pass; the ratio is the seed's time
for `--epochs` epochs over ours (the embedding plus `--epochs` cached epochs). Target: >= 3x.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from ratios import add_ratios_option, record  # bench/ratios.py, beside this script
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from vidkit import embed as embedding
from vidkit.data import sampling, transforms
from vidkit.data.datasets import read_view, sample_rng
from vidkit.engine import train
from vidkit.engine.device import resolve_device
from vidkit.engine.train import StepOutput
from vidkit.extract import frames as extraction
from vidkit.io import synth
from vidkit.io.features import read_features
from vidkit.io.frame_store import FrameStore, StoreConfig
from vidkit.models import create_backbone
from vidkit.tasks import lstm_sequences
from vidkit.tasks.frame_features import FrameSequences

CLIP = 10


class SeedClips(Dataset):
    """The seed's samples: 10 consecutive decoded frames of a video at a random start, centre-cropped."""

    def __init__(self, store: FrameStore, labels: np.ndarray, size: int):
        self.store, self.labels, self.size = store, labels, size

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, item):
        index, epoch = item
        n = self.store.n_frames(index)
        start = sampling.random_start(n, CLIP, sample_rng(0, epoch, index))
        x = transforms.resize_center_crop(read_view(self.store, index, start, CLIP, 1, "rgb"), self.size)
        x = transforms.normalize(x, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # (T, C, S, S)
        return {"frames": x, "label": torch.tensor(int(self.labels[index]))}


class SeedProbe(nn.Module):
    """Frozen backbone on every frame of the batch, then the LSTM probe (the seed's forward)."""

    def __init__(self, backbone: nn.Module, probe: lstm_sequences.LstmProbe):
        super().__init__()
        self.backbone, self.probe = backbone.eval().requires_grad_(False), probe

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, batch) -> StepOutput:
        b, t = batch["frames"].shape[:2]
        with torch.no_grad():
            features = self.backbone(batch["frames"].flatten(0, 1)).view(b, t, -1)  # (B, T, D)
        loss = F.cross_entropy(self.probe(features), batch["label"])
        return StepOutput(loss, {})

    def on_step_end(self, progress: float) -> None:
        pass


def timed_epoch(module: nn.Module, dataset: Dataset, device, batch_size: int) -> float:
    config = train.TrainConfig(
        steps=train.steps_per_epoch(len(dataset), batch_size, drop_last=False),
        batch_size=batch_size,
        lr=0.01,
        workers=0,
        drop_last=False,
        log_every=1000,
    )
    optimizer = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=0.01)
    started = time.perf_counter()
    train.fit(module, dataset, config, device=device, save=lambda *_: None, optimizer=optimizer)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main(args) -> None:
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        synth.make_dataset(
            work / "synth",
            synth.SynthConfig(
                classes=8, train_per_class=args.videos // 8, test_per_class=0, frames=args.frames, size=args.size + 16
            ),
        )
        extraction.extract_frames([work / "synth" / "videos"], work / "frames.h5", config=StoreConfig())
        store = FrameStore(work / "frames.h5")
        labels = np.arange(store.num_videos) % 8  # timing only: any labels do
        started = time.perf_counter()
        embedding.embed(
            work / "frames.h5",
            work / "features.h5",
            backbone="resnet18",
            config=embedding.EmbedConfig(per_frame=True, clip_len=1, size=args.size, workers=0, device=str(device)),
        )
        embed_seconds = time.perf_counter() - started
        sequences = FrameSequences.from_store(read_features(work / "features.h5"))
        videos = np.arange(len(labels))
        cached = lstm_sequences.TrainSequences(
            sequences, videos, labels, np.ones(len(videos), dtype=np.int64), clip_len=CLIP, seed=0
        )
        torch.manual_seed(0)
        probe = lstm_sequences.LstmProbe(sequences.dim, 8)
        cached_epoch = timed_epoch(lstm_sequences.SequenceTask(probe), cached, device, args.batch_size)
        seed_module = SeedProbe(create_backbone("resnet18"), lstm_sequences.LstmProbe(sequences.dim, 8))
        seed_epoch = timed_epoch(seed_module, SeedClips(store, labels, args.size), device, args.batch_size)
    ours = embed_seconds + args.epochs * cached_epoch
    theirs = args.epochs * seed_epoch
    print(
        f"{len(labels)} videos x {args.frames} frames, {device}: seed epoch {seed_epoch:.2f}s, cached epoch "
        f"{cached_epoch:.3f}s, embedding once {embed_seconds:.2f}s; {args.epochs} epochs: {theirs:.1f}s vs {ours:.1f}s"
    )
    record(
        args.ratios,
        "lstm probe",
        f"seed's {args.epochs} epochs (backbone every clip) vs embed once + cached epochs, resnet18 on {device}",
        theirs / ours,
        ">= 3x",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--videos", type=int, default=32)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    add_ratios_option(parser)
    main(parser.parse_args())
