"""DDP helpers that answer for a single process when no process group exists (lightly's `utils/dist.py`).

Launch with `torchrun --nproc_per_node N -m vidkit pretrain ...`: the environment says the rank and
world size; gloo is used on CPU and NCCL on GPU.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as torch_dist


def is_distributed() -> bool:
    return torch_dist.is_available() and torch_dist.is_initialized()


def rank() -> int:
    return torch_dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return torch_dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    return rank() == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init(device: torch.device) -> None:
    """Join the process group torchrun set up (a no-op outside torchrun or when already joined)."""
    if launched_by_torchrun() and not is_distributed():
        torch_dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def shutdown() -> None:
    """Leave the process group once every rank is done: a rank that tore gloo down while another
    was still finishing its last collective aborted ("terminate called without an active exception")."""
    if is_distributed():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def all_gather_cat(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate `tensor` from every rank along dim 0 (equal shapes on all ranks); identity when alone."""
    if not is_distributed():
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(world_size())]
    torch_dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


def broadcast_(tensor: torch.Tensor) -> torch.Tensor:
    """Overwrite `tensor` with rank 0's value, in place."""
    if is_distributed():
        torch_dist.broadcast(tensor, src=0)
    return tensor


def barrier() -> None:
    if is_distributed():
        torch_dist.barrier()


def average_batch_norm_stats_(module: torch.nn.Module) -> None:
    """Average BatchNorm running statistics over ranks, in place.

    Each rank normalises its own batch, so without this the ranks' running statistics drift apart
    (DDP's own buffer broadcast would also overwrite state that must not be, such as memory banks).
    """
    if not is_distributed():
        return
    for layer in module.modules():
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm) and layer.track_running_stats:
            for stat in (layer.running_mean, layer.running_var):
                torch_dist.all_reduce(stat)
                stat.div_(world_size())


def shuffle_across_ranks(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffle-BN's first half (MoCo, arXiv:1911.05722 section 3.3): this rank's share of a random
    permutation of all ranks' batches, and the permutation that undoes it (`unshuffle_across_ranks`).

    Rank 0 draws the permutation and broadcasts it; equal batch sizes on every rank.
    """
    gathered = all_gather_cat(batch)  # (world * B, ...)
    order = broadcast_(torch.randperm(len(gathered), device=batch.device))  # (world * B,)
    local = len(batch)
    return gathered[order[rank() * local : (rank() + 1) * local]], torch.argsort(order)


def unshuffle_across_ranks(output: torch.Tensor, restore: torch.Tensor) -> torch.Tensor:
    """Shuffle-BN's second half: this rank's rows of `output` back in its own batch's order."""
    gathered = all_gather_cat(output)  # (world * B, ...) in shuffled order
    local = len(output)
    return gathered[restore[rank() * local : (rank() + 1) * local]]
