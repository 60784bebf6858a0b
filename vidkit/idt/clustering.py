"""k-means of video features with faiss: `num_c` independent clusterings, as the IDT prior uses.

Tokmakov et al., ECCV-W 2020 (`cluster_fv.py`): 3 runs of k-means with the same k = 6000 and
seeds 1234, 1235, 1236 on the 2000-d sketched Fisher vectors; 20 iterations, no subsampling
(max 10^7 points per centroid), random initialisation, exact L2; each video's label is its
nearest centroid. faiss does the work (on the GPU when this faiss build has one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from vidkit.errors import TooFewVideosError

log = logging.getLogger("vidkit")

BASE_SEED = 1234


@dataclass
class KMeansResult:
    labels: np.ndarray  # (num_c, N) int64
    centroids: np.ndarray  # (num_c, k, d) float32
    seeds: np.ndarray  # (num_c,) int64
    objective: list[float]  # final sum of squared distances per run


def kmeans(
    features: np.ndarray, k: int, num_c: int = 3, seed: int = BASE_SEED, niter: int = 20, gpu: bool | None = None
) -> KMeansResult:
    """Cluster `float32 (N, d)` features `num_c` times into `k` clusters (run c uses seed `seed + c`).

    Args:
        gpu: None takes the GPU when faiss has one.

    Raises:
        TooFewVideosError: fewer rows than clusters.
    """
    import faiss

    x = np.ascontiguousarray(features, dtype=np.float32)
    n, d = x.shape
    if n < k:
        raise TooFewVideosError(
            f"cannot make {k} clusters from {n} video(s): pass --k {max(n, 1)} or less, or add videos"
        )
    use_gpu = faiss.get_num_gpus() > 0 if gpu is None else gpu
    labels = np.empty((num_c, n), np.int64)
    centroids = np.empty((num_c, k, d), np.float32)
    objective = []
    for c in range(num_c):
        clustering = faiss.Clustering(d, k)
        clustering.niter = niter
        clustering.seed = seed + c
        clustering.max_points_per_centroid = 10_000_000
        clustering.min_points_per_centroid = 1  # small sets: no warning spam, same result
        index = _index(faiss, d, use_gpu)
        clustering.train(x, index)
        centroids[c] = faiss.vector_float_to_array(clustering.centroids).reshape(k, d)
        stats = clustering.iteration_stats
        objective.append(float(stats.at(stats.size() - 1).obj) if stats.size() else float("nan"))
        index.reset()
        index.add(centroids[c])
        _, nearest = index.search(x, 1)
        labels[c] = nearest[:, 0]
        log.info("k-means %d/%d (seed %d): objective %.4g", c + 1, num_c, seed + c, objective[-1])
    return KMeansResult(labels, centroids, np.arange(seed, seed + num_c, dtype=np.int64), objective)


def _index(faiss, d: int, gpu: bool):
    if gpu:
        resources = faiss.StandardGpuResources()
        config = faiss.GpuIndexFlatConfig()
        config.useFloat16 = False
        return faiss.GpuIndexFlatL2(resources, d, config)
    return faiss.IndexFlatL2(d)


def purity(labels: np.ndarray, classes: np.ndarray) -> float:
    """Fraction of items whose cluster's majority class is their class (`labels`, `classes`: `(N,)`)."""
    total = 0
    for cluster in np.unique(labels):
        members = classes[labels == cluster]
        total += np.bincount(members).max()
    return total / len(labels)
