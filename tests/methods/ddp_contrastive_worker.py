"""Run by `torchrun --nproc_per_node 2` in test_queue_momentum.py: a few steps of one contrastive
method under DDP (gloo), each rank on its own batches, then each rank's method state is saved for
the test to compare. `vince` exercises the queue and key encoder, `pirl-seed` the same through
PIRL's seed objective (jigsaw query or key, chosen by a step-seeded coin), `pirl` PIRL's memory
bank and its Z estimate (gathered over the ranks)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from vidkit.engine import dist
from vidkit.methods.pirl import PIRL, PIRLOptions
from vidkit.methods.vince import VINCE, VinceOptions
from vidkit.models import create_backbone

VIDEOS = 8  # dataset size; each rank's batch holds 2 of them, different per rank


def build(name: str) -> torch.nn.Module:
    backbone = create_backbone("tiny2d")
    if name == "vince":
        return VINCE(backbone, num_videos=VIDEOS, options=VinceOptions(queue=32, frames=2))
    objective = "seed" if name == "pirl-seed" else "pirl"
    return PIRL(backbone, num_videos=VIDEOS, options=PIRLOptions(objective=objective, queue=32, negatives=4))


def batch(name: str, data: torch.Generator) -> dict[str, torch.Tensor]:
    index = torch.arange(2) + 2 * dist.rank()  # (2,) this rank's videos
    if name == "vince":  # 2 videos x 2 frames
        return {
            "query": torch.randn(2, 2, 3, 32, 32, generator=data),
            "key": torch.randn(2, 2, 3, 32, 32, generator=data),
            "index": index,
        }
    return {  # 2 images and their 3x3 jigsaw tiles
        "image": torch.randn(2, 3, 32, 32, generator=data),
        "jigsaw": torch.randn(2, 9, 3, 11, 11, generator=data),
        "index": index,
    }


def main(out: Path, name: str) -> None:
    dist.init(torch.device("cpu"))
    torch.manual_seed(0)  # the same initial weights (and memory bank) on both ranks
    method = build(name)
    model = DistributedDataParallel(method, broadcast_buffers=False)
    optimizer = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
    data = torch.Generator().manual_seed(100 + dist.rank())  # each rank its own batches
    losses = []
    for step in range(3):
        torch.manual_seed(step)  # as the engine: in-step randomness is a function of the step
        output = model(batch(name, data))
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        method.on_step_end((step + 1) / 3)
        dist.average_batch_norm_stats_(method)
        losses.append(float(output.loss))
    torch.save({"state": method.state_dict(), "losses": losses}, out / f"rank{dist.rank()}.pt")
    dist.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
