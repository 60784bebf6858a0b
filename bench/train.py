"""Benchmark: the training engine's overhead, and whether the data loader keeps up with the model.

    python bench/train.py [--device auto] [--steps 8] [--batch-size 32] [--size 112]

1. Engine overhead. `engine.train.fit` running TCE (resnet18) for N steps on batches held in
   memory, against a bare PyTorch loop doing the same forward, backward, optimizer step and
   memory-bank update on the same tensors. Target: the engine costs under 10% more.
2. Loader vs model. Samples/s that the DataLoader delivers from a real frame store (TCE samples:
   two decoded, augmented frames plus a rotated view each; batch 32, 112 px, 2 workers), against
   samples/s that one training step consumes. The loader must be faster (ratio > 1); each is
   measured alone, so on a CPU machine they do not compete for cores.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import torch
from in_memory import InMemory  # bench/in_memory.py, beside this script
from ratios import add_ratios_option, record  # bench/ratios.py, beside this script
from torch.utils.data import DataLoader

from vidkit import checkpoint as ckpt
from vidkit.data.datasets import EpochSampler, FramePairDataset, worker_init
from vidkit.engine import train
from vidkit.engine.device import autocast, resolve_device
from vidkit.extract import frames as extraction
from vidkit.io import synth
from vidkit.io.frame_store import FrameStore, StoreConfig
from vidkit.methods.tce import TCE, TCEOptions
from vidkit.models import create_backbone


def make_store(work: Path) -> FrameStore:
    synth.make_dataset(
        work / "synth", synth.SynthConfig(classes=8, train_per_class=16, test_per_class=0, frames=48, size=160)
    )
    extraction.extract_frames([work / "synth" / "videos"], work / "frames.h5", config=StoreConfig(short_side=128))
    return FrameStore(work / "frames.h5")


def bare_loop(method: TCE, batches: list[dict], device: torch.device, config: train.TrainConfig) -> float:
    optimizer = train.make_optimizer(method, config)
    method.to(device).train()
    start = time.perf_counter()
    for step, batch in enumerate(batches):
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast(device):
            loss = method(batch).loss.float()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        method.on_step_end((step + 1) / len(batches))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bench_engine(store: FrameStore, args, device: torch.device) -> float:
    size = args.batch_size * args.steps
    dataset = FramePairDataset(
        store,
        torch.arange(store.num_videos).numpy(),
        size=args.size,
        window=1,
        seed=0,
        mean=ckpt.IMAGENET_MEAN,
        std=ckpt.IMAGENET_STD,
    )
    samples = [dataset[(i % len(dataset), 0)] for i in range(size)]
    memory = InMemory(samples)
    config = train.TrainConfig(
        steps=args.steps, batch_size=args.batch_size, workers=0, schedule="constant", log_every=10**9
    )
    # The batches fit() will draw, in its order, for the bare loop.
    order = [i for i, _ in EpochSampler(size, seed=0, epoch=0)]
    batches = [
        torch.utils.data.default_collate([samples[i] for i in order[s * args.batch_size : (s + 1) * args.batch_size]])
        for s in range(args.steps)
    ]
    torch.manual_seed(0)
    method = TCE(create_backbone("resnet18"), num_videos=size, options=TCEOptions(mining=True))
    results = {}
    for name in ("bare", "engine", "bare", "engine"):  # interleaved, best of two each
        copy_ = copy.deepcopy(method)
        if name == "bare":
            seconds = bare_loop(copy_, batches, device, config)
        else:
            seconds = train.fit(copy_, memory, config, device=device, save=lambda *a: None).seconds
        results[name] = min(results.get(name, float("inf")), seconds)
    overhead = results["engine"] / results["bare"] - 1
    clips = args.steps * args.batch_size
    print(f"\n## Engine overhead: TCE resnet18, {args.steps} steps of {args.batch_size} at {args.size} px on {device}")
    print(f"bare PyTorch loop   {results['bare']:8.2f} s  {clips / results['bare']:8.1f} samples/s")
    print(f"vidkit engine       {results['engine']:8.2f} s  {clips / results['engine']:8.1f} samples/s")
    print(f"overhead            {overhead * 100:+7.1f} %   (target < 10 %)")
    record(
        args.ratios, "pretrain", f"engine vs bare PyTorch loop time, TCE resnet18 on {device}", 1 + overhead, "<= 1.1x"
    )
    return clips / results["engine"]


def bench_loader(store: FrameStore, args, model_rate: float) -> None:
    dataset = FramePairDataset(
        store,
        torch.arange(store.num_videos).numpy(),
        size=args.size,
        window=1,
        seed=0,
        mean=ckpt.IMAGENET_MEAN,
        std=ckpt.IMAGENET_STD,
    )
    sampler = EpochSampler(len(dataset), seed=0, epoch=0)
    loader = DataLoader(
        dataset,
        batch_size=args.batch_size,
        sampler=sampler,
        num_workers=2,
        drop_last=True,
        worker_init_fn=worker_init,
        prefetch_factor=4,
        persistent_workers=True,
    )
    iterator = iter(loader)
    next(iterator)  # workers started and warm
    start, count = time.perf_counter(), 0
    for batch in iterator:
        count += len(batch["index"])
    rate = count / (time.perf_counter() - start)
    print(f"\n## Loader vs model: batch {args.batch_size}, {args.size} px, 2 workers, TCE samples from a JPEG store")
    print(f"loader delivers     {rate:8.1f} samples/s")
    print(f"model consumes      {model_rate:8.1f} samples/s")
    print(f"ratio               {rate / model_rate:8.2f}x  (target > 1: the loader is not the bottleneck)")
    record(args.ratios, "pretrain", "loader samples/s vs model samples/s", rate / model_rate, ">= 1x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=112)
    add_ratios_option(parser)
    args = parser.parse_args()
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Path(tmp))
        model_rate = bench_engine(store, args, device)
        bench_loader(store, args, model_rate)


if __name__ == "__main__":
    main()
