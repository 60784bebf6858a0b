"""Benchmark: openTSNE (what `vidkit tsne` runs) against scikit-learn's TSNE.

    python bench/tsne.py [--quick]

10,000 x 128 points (a mixture of 20 Gaussian clusters, like the embeddings of 20 videos), both
libraries with the same settings: 2-D, perplexity 30, 500 iterations, PCA initialisation,
Barnes-Hut gradients, all cores. Prints both times, the ratio, and how well each keeps the
clusters apart (k-NN accuracy of the cluster labels in the 2-D map), so speed is not bought with quality.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from openTSNE import TSNE as OpenTSNE
from ratios import add_ratios_option, record  # bench/ratios.py, beside this script
from sklearn.manifold import TSNE as SkTSNE
from sklearn.neighbors import KNeighborsClassifier


def knn_accuracy(coords: np.ndarray, labels: np.ndarray) -> float:
    half = len(coords) // 2
    return float(KNeighborsClassifier(10).fit(coords[:half], labels[:half]).score(coords[half:], labels[half:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 points, for a smoke run.")
    add_ratios_option(parser)
    args = parser.parse_args()
    n = 2_000 if args.quick else 10_000
    rng = np.random.default_rng(0)
    labels = rng.integers(20, size=n)
    x = rng.normal(size=(20, 128))[labels] * 2 + rng.normal(size=(n, 128))
    jobs = os.cpu_count() or 1

    start = time.perf_counter()
    ours = np.asarray(
        OpenTSNE(
            n_components=2,
            perplexity=30,
            n_iter=500,
            initialization="pca",
            random_state=0,
            n_jobs=jobs,
            negative_gradient_method="bh",
        ).fit(x)
    )
    t_open = time.perf_counter() - start
    start = time.perf_counter()
    theirs = SkTSNE(
        n_components=2,
        perplexity=30,
        max_iter=500,
        init="pca",
        learning_rate="auto",
        random_state=0,
        n_jobs=jobs,
        method="barnes_hut",
    ).fit_transform(x)
    t_sk = time.perf_counter() - start
    start = time.perf_counter()
    fft = np.asarray(
        OpenTSNE(
            n_components=2,
            perplexity=30,
            n_iter=500,
            initialization="pca",
            random_state=0,
            n_jobs=jobs,
            negative_gradient_method="fft",
        ).fit(x)
    )
    t_fft = time.perf_counter() - start

    print(f"\n| t-SNE of {n:,} x 128, {jobs} threads | seconds | speed-up | 10-NN cluster accuracy in 2-D |")
    print("| --- | --- | --- | --- |")
    print(f"| scikit-learn TSNE (Barnes-Hut) | {t_sk:.1f} | 1.0x | {knn_accuracy(theirs, labels):.3f} |")
    print(f"| openTSNE (Barnes-Hut) | {t_open:.1f} | {t_sk / t_open:.1f}x | {knn_accuracy(ours, labels):.3f} |")
    print(
        f"| openTSNE (FFT interpolation; openTSNE's 'auto' picks it for large N) | {t_fft:.1f} | {t_sk / t_fft:.1f}x | {knn_accuracy(fft, labels):.3f} |"
    )
    record(args.ratios, "tsne", f"{n:,} x 128: openTSNE Barnes-Hut vs scikit-learn", t_sk / t_open, "")
    record(args.ratios, "tsne", f"{n:,} x 128: openTSNE FFT vs scikit-learn", t_sk / t_fft, "")


if __name__ == "__main__":
    main()
