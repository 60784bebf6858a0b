#!/usr/bin/env python3
"""How well an LA checkpoint's clusters of the training videos agree with their classes.

    examples/cluster_agreement.py out/toy/frames.h5 --checkpoint out/toy/vla/la-idt.pt > la-idt-clusters.json

Video LA (Tokmakov et al. 2020, video_la_idt.md) rests on one premise: k-means of IDT Fisher
vectors puts videos of the same action together more often than k-means of a network's memory
bank does, so its clusters make better close neighbours. Every LA checkpoint keeps the clusterings
it trained with (`cluster_labels`, `(C, N)`, one row per k-means run, bank order = the videos of
its split in store order): the IDT prior for `la-idt`, k-means of [bank | Fisher vector] for
`la-tune`, k-means of the bank alone for plain LA (the last epoch's). This scores each clustering
by its adjusted mutual information with the class labels (scikit-learn's AMI: 0 for clusters
independent of the classes, 1 for the classes themselves), over the videos that have a cluster
(the prior leaves -1 where IDT found no trajectory). AMI, not NMI, because the clusterings score
different numbers of videos: with 16 clusters NMI rises by chance as the videos get fewer (on the
toy data, 0.31-0.35 for a shuffled prior), AMI does not. Class labels are used here only, never
in training. Prints `{"ami": mean over clusterings, "ami_each": [...], "nmi": ..., "videos":
scored, "unclustered": n}`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def agreement(clusters, labels) -> dict:
    """AMI (and NMI) of each clustering `(C, N)` with `labels (N,)`, over the videos with a cluster in every one."""
    import numpy as np
    from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

    clusters, labels = np.asarray(clusters), np.asarray(labels)
    kept = (clusters >= 0).all(axis=0) & (labels >= 0)
    if kept.sum() < 2:
        raise SystemExit(f"error: only {int(kept.sum())} videos have both a cluster and a class label")
    ami = [float(adjusted_mutual_info_score(labels[kept], row[kept])) for row in clusters]
    nmi = [float(normalized_mutual_info_score(labels[kept], row[kept])) for row in clusters]
    return {
        "ami": sum(ami) / len(ami),
        "ami_each": ami,
        "nmi": sum(nmi) / len(nmi),
        "videos": int(kept.sum()),
        "unclustered": int((~(clusters >= 0).all(axis=0)).sum()),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frames", type=Path, help="the frame store the checkpoint was trained on (vidkit.frames/1)")
    parser.add_argument("--checkpoint", type=Path, required=True, help="an LA checkpoint (vidkit.ckpt/1)")
    parser.add_argument("--split", default="train01", help="the split it was trained on (default train01)")
    args = parser.parse_args(argv)

    import numpy as np

    from vidkit import checkpoint as ckpt
    from vidkit.data.selection import select_videos
    from vidkit.io.frame_store import FrameStore

    loaded = ckpt.load(args.checkpoint)
    clusters = loaded.method_state.get("cluster_labels")
    if clusters is None:
        raise SystemExit(f"error: {args.checkpoint} has no cluster_labels (not an LA checkpoint)")
    store = FrameStore(args.frames)
    _, videos = select_videos(store, args.split)
    if clusters.shape[1] != len(videos):
        raise SystemExit(
            f"error: {args.checkpoint} clusters {clusters.shape[1]} videos, split {args.split} has {len(videos)}"
        )
    labels = np.asarray(store.table()["label"])[videos]
    print(json.dumps(agreement(clusters.numpy(), labels)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
