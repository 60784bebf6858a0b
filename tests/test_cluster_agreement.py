"""examples/cluster_agreement.py: how LA's clusterings of the train videos agree with their classes."""

from __future__ import annotations

import sys

import numpy as np

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "examples"))
import cluster_agreement  # noqa: E402


def test_the_classes_themselves_score_one_and_unclustered_videos_are_left_out():
    labels = np.repeat(np.arange(4), 6)  # (24,)
    clusters = np.stack([labels + 10, np.roll(labels, 1)])  # a relabelling, and one slightly off
    clusters[:, :3] = -1  # no trajectory: unclustered in the prior
    result = cluster_agreement.agreement(clusters, labels)
    assert result["videos"] == 21 and result["unclustered"] == 3
    assert result["ami_each"][0] == 1.0 and 0.0 < result["ami_each"][1] < 1.0
    assert result["ami"] == (result["ami_each"][0] + result["ami_each"][1]) / 2


def test_clusters_independent_of_the_classes_score_near_zero_whatever_the_count():
    """AMI corrects for chance, so scoring fewer videos does not raise it (NMI does)."""
    rng = np.random.default_rng(0)
    few, many = rng.integers(0, 16, (3, 40)), rng.integers(0, 16, (3, 400))
    labels_few, labels_many = rng.integers(0, 8, 40), rng.integers(0, 8, 400)
    small, large = cluster_agreement.agreement(few, labels_few), cluster_agreement.agreement(many, labels_many)
    assert abs(small["ami"]) < 0.1 and abs(large["ami"]) < 0.05
    assert small["nmi"] > large["nmi"] + 0.1  # why the claim reads AMI
