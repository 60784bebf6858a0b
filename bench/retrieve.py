"""Benchmark: nearest-neighbour search for retrieval.

    python bench/retrieve.py [--quick]

1. Exact search. vidkit's flat index (faiss `IndexFlatIP` on unit vectors, what `build-index
   --kind flat` builds) against scikit-learn's brute-force `NearestNeighbors` (Euclidean distance
   on the same unit vectors, which ranks neighbours identically), on a 50,000 x 512 gallery with
   5,000 queries, k = 50. Target: faiss at least 5x faster, with the same neighbours.
2. Approximate search. IVF (`--kind ivf`, 1,024 cells) against flat on a 1,000,000 x 128 gallery
   with 1,000 queries; recall@10 against the exact neighbours and the speed-up, per nprobe. The data
   is a mixture of 2,000 Gaussian clusters: uniform noise has no neighbourhood structure for IVF
   (or any embedding) to exploit.
Times are the best of 3 search runs (building excluded, reported separately).
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np
from ratios import add_ratios_option, record  # bench/ratios.py, beside this script
from sklearn.neighbors import NearestNeighbors

from vidkit.retrieval import IndexConfig, _faiss_index


def best_of(fn, repeats: int = 3):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def unit(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def exact(n: int, queries: int, dim: int, k: int, ratios: str | None) -> None:
    rng = np.random.default_rng(0)
    gallery, query = unit(rng.normal(size=(n, dim))), unit(rng.normal(size=(queries, dim)))
    index = _faiss_index(gallery, IndexConfig(kind="flat", metric="cosine"))
    t_faiss, (_, ours) = best_of(lambda: index.search(query, k))
    knn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="euclidean").fit(gallery)
    t_sk, theirs = best_of(lambda: knn.kneighbors(query, return_distance=False))
    same_lists = np.mean([np.array_equal(a, b) for a, b in zip(ours, theirs)])
    same_sets = np.mean([len(set(a) & set(b)) / k for a, b in zip(ours, theirs)])
    print(f"\n| exact top-{k}, {n:,} x {dim} gallery, {queries:,} queries | seconds | queries/s |")
    print("| --- | --- | --- |")
    print(f"| scikit-learn NearestNeighbors (brute) | {t_sk:.3f} | {queries / t_sk:,.0f} |")
    print(f"| vidkit flat (faiss IndexFlatIP) | {t_faiss:.3f} | {queries / t_faiss:,.0f} |")
    print(
        f"speed-up: {t_sk / t_faiss:.1f}x (target >= 5x); identical ranked lists: {same_lists:.2%}; "
        f"shared neighbours: {same_sets:.4%}"
    )
    record(
        ratios, "retrieve", f"exact top-{k}, {n:,} x {dim}: faiss flat vs scikit-learn brute", t_sk / t_faiss, ">= 5x"
    )


def approximate(n: int, queries: int, dim: int, nlist: int, ratios: str | None, k: int = 10) -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(2000, dim)).astype(np.float32)
    gallery = unit(centres[rng.integers(2000, size=n)] + 0.5 * rng.normal(size=(n, dim)).astype(np.float32))
    query = unit(centres[rng.integers(2000, size=queries)] + 0.5 * rng.normal(size=(queries, dim)).astype(np.float32))
    flat = _faiss_index(gallery, IndexConfig(kind="flat"))
    t_flat, (_, truth) = best_of(lambda: flat.search(query, k))
    start = time.perf_counter()
    ivf = _faiss_index(gallery, IndexConfig(kind="ivf", nlist=nlist))
    t_build = time.perf_counter() - start
    print(f"\n| top-{k}, {n:,} x {dim} gallery, {queries:,} queries | seconds | speed-up | recall@{k} |")
    print("| --- | --- | --- | --- |")
    print(f"| flat (exact) | {t_flat:.3f} | 1.0x | 100% |")
    for nprobe in (1, 4, 16, 64):
        ivf.nprobe = nprobe
        t, (_, found) = best_of(lambda: ivf.search(query, k))
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)])
        print(f"| ivf{nlist}, nprobe {nprobe} | {t:.3f} | {t_flat / t:.1f}x | {recall:.1%} |")
        record(
            ratios,
            "retrieve",
            f"{n:,} x {dim}: ivf{nlist} nprobe {nprobe} (recall@{k} {recall:.1%}) vs flat",
            t_flat / t,
            "",
        )
    print(f"IVF build (train on {min(n, 64 * nlist):,} + add {n:,}): {t_build:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes, for a smoke run.")
    add_ratios_option(parser)
    args = parser.parse_args()
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads")
    if args.quick:
        exact(5_000, 500, 512, 50, args.ratios)
        approximate(50_000, 200, 128, 128, args.ratios)
    else:
        exact(50_000, 5_000, 512, 50, args.ratios)
        approximate(1_000_000, 1_000, 128, 1024, args.ratios)


if __name__ == "__main__":
    main()
