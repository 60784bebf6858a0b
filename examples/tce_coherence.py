#!/usr/bin/env python3
"""TCE's claim measured directly: how temporally coherent a backbone's frame embeddings are on held-out videos.

    examples/tce_coherence.py out/toy/frames.h5 --checkpoint out/toy/tce.pt --split test01 > tce-coherence.json
    examples/tce_coherence.py out/toy/frames.h5 --backbone resnet18 --size 64 --split test01 > random2d-coherence.json

TCE (Knights et al., ICPR 2020, tce.md 1) claims that its embedding puts a video's adjacent frames
close together and frames of other videos apart. For every video of the split and each of a few
evenly spaced frame pairs `(t, t + 1)`, frame t is the anchor, frame t + 1 its positive and the
other videos' frame t + 1 its negatives; the score is the InfoNCE (T = 0.1) of unit-length backbone
features, averaged over the pairs. Lower is more coherent; a net that cannot tell the videos apart
scores `ln(videos)`. No augmentation, centre crops, eval mode: the same number for the same inputs.
Prints `{"coherence": ..., "chance": ..., "pairs": ..., "videos": ...}`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def coherence(model, store, videos, size: int, mean, std, positions: int = 4, temperature: float = 0.1) -> float:
    """Mean InfoNCE of frame t against frame t + 1 of the same video, with other videos' t + 1 as negatives."""
    import numpy as np
    import torch
    from torch.nn import functional as F

    from vidkit.data import transforms
    from vidkit.methods.losses import info_nce

    model.eval()
    counts = store.table()["n_frames"][videos]
    losses = []
    for fraction in np.linspace(0.2, 0.8, positions):
        # The same relative position in every video (its own length decides the frame).
        pairs = []
        for video, count in zip(videos, counts):
            t = int(fraction * (int(count) - 2))
            pairs.append(transforms.to_float(store.read_frames(int(video), [t, t + 1])))
        x = transforms.normalize(transforms.resize_square(torch.cat(pairs), size), mean, std)  # (2V, 3, S, S)
        with torch.no_grad():
            features = F.normalize(model(x).float(), dim=1)  # (2V, D)
        anchors, positives = features[0::2], features[1::2]
        scores = anchors @ positives.T  # (V, V)
        negatives = scores[~torch.eye(len(scores), dtype=torch.bool)].view(len(scores), -1)
        losses.append(float(info_nce(scores.diag(), negatives, temperature)))
    return sum(losses) / len(losses)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frames", type=Path, help="frame store (vidkit.frames/1)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a pretrained vidkit.ckpt/1")
    source.add_argument("--backbone", help="a registered 2D backbone at random init (the baseline)")
    parser.add_argument("--split", default="test01", help="videos to measure (default test01: held out)")
    parser.add_argument("--size", type=int, help="input size (default: the checkpoint's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of a random-init backbone")
    parser.add_argument("--positions", type=int, default=4, help="frame pairs per video")
    args = parser.parse_args(argv)

    import torch

    from vidkit.checkpoint.backbone import load_backbone
    from vidkit.data.selection import select_videos
    from vidkit.io.frame_store import FrameStore

    torch.manual_seed(args.seed)
    loaded = load_backbone(args.checkpoint, args.backbone, seed=args.seed)
    if getattr(loaded.model, "dims", 2) != 2:
        raise SystemExit(f"error: {loaded.name} is not a 2D backbone; coherence compares single frames")
    store = FrameStore(args.frames)
    _, videos = select_videos(store, args.split)
    if len(videos) < 2:
        raise SystemExit(f"error: split {args.split} has {len(videos)} videos; coherence needs at least 2")
    size = args.size or loaded.recipe.size
    value = coherence(loaded.model, store, videos, size, loaded.recipe.mean, loaded.recipe.std, args.positions)
    print(
        json.dumps(
            {"coherence": value, "chance": math.log(len(videos)), "pairs": args.positions, "videos": len(videos)}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
