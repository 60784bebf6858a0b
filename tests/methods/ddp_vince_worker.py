"""Run by `torchrun --nproc_per_node 2` in test_queue_momentum.py: a few VINCE steps under DDP (gloo),
each rank on its own batches, then each rank's method state is saved for the test to compare."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from vidkit.engine import dist
from vidkit.methods.vince import VINCE, VinceOptions
from vidkit.models import create_backbone


def main(out: Path) -> None:
    dist.init(torch.device("cpu"))
    torch.manual_seed(0)  # the same initial weights on both ranks
    method = VINCE(create_backbone("tiny2d"), num_videos=8, options=VinceOptions(queue=32, frames=2))
    model = DistributedDataParallel(method, broadcast_buffers=False)
    optimizer = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
    data = torch.Generator().manual_seed(100 + dist.rank())  # each rank its own batches
    losses = []
    for step in range(3):
        torch.manual_seed(step)  # as the engine: in-step randomness is a function of the step
        batch = {
            "query": torch.randn(2, 2, 3, 32, 32, generator=data),
            "key": torch.randn(2, 2, 3, 32, 32, generator=data),
            "index": torch.arange(2),
        }
        output = model(batch)
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        method.on_step_end((step + 1) / 3)
        dist.average_batch_norm_stats_(method)
        losses.append(float(output.loss))
    torch.save({"state": method.state_dict(), "losses": losses}, out / f"rank{dist.rank()}.pt")
    dist.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
