"""Benchmark: `--method mocov2` in vidkit's engine against a bare PyTorch MoCo v2 loop.

    python bench/moco.py [--device auto] [--steps 8] [--batch-size 32] [--size 64] [--backbone resnet18]

Both run MoCo v2 (backbone + MLP head, momentum key encoder, a queue of K keys, InfoNCE at T 0.2)
for N steps on the same batches held in memory, from the same initial weights: vidkit through
`engine.train.fit` and `methods.moco.MoCoV2` (multi-positive loss, the queue's buffers, metrics,
the per-step reseeding, autocast), the baseline as the few lines of MoCo's pseudo-code (Algorithm
1 of arXiv:1911.05722) written directly. Target: vidkit's step costs under 10% more. On a GPU the
images per second and the fraction of time the GPU was busy (`torch.cuda.utilization`, when
pynvml is installed) are printed too; the paper-scale setting is `--backbone resnet18 --size 224
--batch-size 256` (bf16 autocast on CUDA, as `vidkit pretrain`).
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from in_memory import InMemory  # bench/in_memory.py, beside this script
from ratios import add_ratios_option, record  # bench/ratios.py, beside this script
from torch.nn import functional as F

from vidkit.engine import train
from vidkit.engine.device import autocast, resolve_device
from vidkit.methods.moco import MoCoV2, MoCoV2Options
from vidkit.models import create_backbone


def bare_moco(method: MoCoV2, batches: list[dict], device: torch.device, config: train.TrainConfig) -> float:
    """MoCo v2 as its pseudo-code: the query net and an EMA copy, a plain queue tensor."""
    backbone, head = method.backbone.to(device).train(), method.head.to(device).train()
    key_net = copy.deepcopy(torch.nn.Sequential(backbone, head)).requires_grad_(False)
    queue = F.normalize(torch.randn(method.options.queue, method.options.dim, device=device), dim=1)  # (K, E)
    pointer, t, m = 0, method.options.temperature, method.options.key_momentum
    params = [p for p in (*backbone.parameters(), *head.parameters())]
    optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    start = time.perf_counter()
    for batch in batches:
        x_q, x_k = batch["query"].to(device).flatten(0, 1), batch["key"].to(device).flatten(0, 1)  # (B, 3, S, S)
        with autocast(device):
            q = F.normalize(head(backbone(x_q)).float(), dim=1)  # (B, E)
            with torch.no_grad():
                k = F.normalize(key_net(x_k).float(), dim=1)  # (B, E)
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / t  # (B, 1 + K)
        loss = F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            keys = list(key_net.parameters())
            torch._foreach_mul_(keys, m)
            torch._foreach_add_(keys, params, alpha=1 - m)
            slots = (pointer + torch.arange(len(k), device=device)) % len(queue)
            queue[slots] = k
            pointer = (pointer + len(k)) % len(queue)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def gpu_busy() -> str:
    try:
        return f"{torch.cuda.utilization()} %"
    except Exception as exc:  # pynvml missing, or no NVML
        return f"n/a ({type(exc).__name__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--queue", type=int, default=4096)
    add_ratios_option(parser)
    args = parser.parse_args()
    device = resolve_device(args.device)

    g = torch.Generator().manual_seed(0)
    count = args.batch_size * args.steps
    shape = (1, 3, args.size, args.size)
    samples = [
        {"query": torch.randn(shape, generator=g), "key": torch.randn(shape, generator=g), "index": torch.tensor(i)}
        for i in range(count)
    ]
    config = train.TrainConfig(
        steps=args.steps, batch_size=args.batch_size, workers=0, schedule="constant", log_every=10**9
    )
    from vidkit.data.datasets import EpochSampler

    order = [i for i, _ in EpochSampler(count, seed=0, epoch=0)]  # the batches fit() draws, in its order
    batches = [
        torch.utils.data.default_collate([samples[i] for i in order[s * args.batch_size : (s + 1) * args.batch_size]])
        for s in range(args.steps)
    ]
    torch.manual_seed(0)
    method = MoCoV2(create_backbone(args.backbone), num_videos=count, options=MoCoV2Options(queue=args.queue))
    # Fill the queue first, so both loops contrast against K rows from the first step.
    method.queue.push(F.normalize(torch.randn(args.queue, method.options.dim), dim=1))
    results = {}
    for name in ("bare", "vidkit", "bare", "vidkit"):  # interleaved, best of two each
        copy_ = copy.deepcopy(method)
        if name == "bare":
            seconds = bare_moco(copy_, batches, device, config)
        else:
            seconds = train.fit(copy_, InMemory(samples), config, device=device, save=lambda *a: None).seconds
        results[name] = min(results.get(name, float("inf")), seconds)
    ratio = results["vidkit"] / results["bare"]
    print(f"\n## MoCo v2 step: {args.backbone}, {args.steps} steps of {args.batch_size} at {args.size} px on {device}")
    print(f"bare PyTorch loop   {results['bare']:8.2f} s  {count / results['bare']:8.1f} images/s")
    print(f"vidkit mocov2       {results['vidkit']:8.2f} s  {count / results['vidkit']:8.1f} images/s")
    print(f"time ratio          {ratio:8.3f}x  (target <= 1.1x)")
    if device.type == "cuda":
        print(f"GPU busy            {gpu_busy()}")
    record(
        args.ratios, "moco", f"vidkit mocov2 vs bare MoCo v2 loop time, {args.backbone} on {device}", ratio, "<= 1.1x"
    )


if __name__ == "__main__":
    main()
