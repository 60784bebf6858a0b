"""faiss k-means runs, the too-few-videos error, and purity."""

import numpy as np
import pytest

from vidkit.errors import TooFewVideosError
from vidkit.idt import clustering


def test_kmeans_labels_are_nearest_centroids_of_each_run():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (4, 8))
    truth = np.repeat(np.arange(4), 25)
    x = (centres[truth] + rng.normal(0, 0.1, (100, 8))).astype(np.float32)
    found = clustering.kmeans(x, 4, num_c=3, gpu=False)
    assert found.labels.shape == (3, 100) and found.centroids.shape == (3, 4, 8)
    assert found.seeds.tolist() == [1234, 1235, 1236]
    assert found.labels.min() >= 0 and found.labels.max() < 4
    for labels, centroids in zip(found.labels, found.centroids):
        distances = ((x[:, None, :] - centroids[None]) ** 2).sum(axis=2)  # (N, k)
        assert np.array_equal(labels, distances.argmin(axis=1))
        # Random initialisation (as the seed's faiss setup) can split one group and merge two others,
        # but a group is never scattered over more than two clusters here.
        assert all(len(np.unique(labels[truth == g])) <= 2 for g in range(4))


def test_runs_differ_by_seed_and_repeat_with_the_same_seed():
    x = np.random.default_rng(1).normal(size=(200, 5)).astype(np.float32)
    a = clustering.kmeans(x, 10, num_c=2, gpu=False)
    b = clustering.kmeans(x, 10, num_c=2, gpu=False)
    assert np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels[0], a.labels[1])


def test_more_clusters_than_videos_is_refused():
    with pytest.raises(TooFewVideosError, match="cannot make 6000 clusters from 10"):
        clustering.kmeans(np.zeros((10, 4), np.float32), 6000)


def test_purity():
    assert clustering.purity(np.array([0, 0, 1, 1]), np.array([2, 2, 3, 3])) == 1.0
    assert clustering.purity(np.array([0, 0, 0, 0]), np.array([0, 1, 2, 3])) == 0.25
