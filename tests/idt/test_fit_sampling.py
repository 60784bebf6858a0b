"""The Fisher-vector fitting sample is drawn file by file (issue 28, item 17): the same rows as
reading every fitting video first, with one video in memory at a time."""

from __future__ import annotations

import weakref
from pathlib import Path

import numpy as np
import pytest

from vidkit.idt import fisher, pipeline
from vidkit.io import trajectories as tio
from vidkit.io.paths import child

LENGTHS = {"v0": 30, "v1": 7, "v2": 25, "v3": 40, "v4": 12, "v5": 33, "v6": 0}  # v1, v6: fewer than 10 rows


class _Sampled(Exception):
    """Raised in place of the fit, carrying the sample it was given."""

    def __init__(self, sample: np.ndarray):
        super().__init__("sampled")
        self.sample = sample


@pytest.fixture
def work(tmp_path) -> Path:
    """A work folder with trajectory files of various lengths, one holding a NaN (skipped by the seed)."""
    rng = np.random.default_rng(3)
    (tmp_path / "trajectories").mkdir()
    for vid, n in LENGTHS.items():
        rows = rng.random((n, 436)).astype(np.float32)
        if vid == "v2":
            rows[4, 100] = np.nan
        tio.write_text(child(tmp_path / "trajectories", vid, ".txt.gz"), rows)
    return tmp_path


def _config() -> pipeline.ClusterConfig:
    return pipeline.ClusterConfig(k=2, fit_videos=6, seed=5, fisher=fisher.FisherConfig(rows_per_video=10, gmm_k=2))


def _sample_of_fit_model(work: Path, monkeypatch) -> np.ndarray:
    def fit(sample, *args, **kwargs):
        raise _Sampled(sample)

    monkeypatch.setattr(fisher, "fit_encoder", fit)
    with pytest.raises(_Sampled) as caught:
        pipeline.fit_model(list(LENGTHS), work, _config())
    return caught.value.sample


def test_the_sample_is_the_one_drawn_from_every_video_read_first(work, monkeypatch):
    sample = _sample_of_fit_model(work, monkeypatch)
    config, ids = _config(), list(LENGTHS)
    # The reference: the seed's way, every fitting video in memory, then the draws.
    rng = np.random.default_rng(config.seed)
    chosen = sorted(rng.choice(len(ids), config.fit_videos, replace=False).tolist())
    videos = [tio.read_text(child(work / "trajectories", ids[i], ".txt.gz")) for i in chosen]
    expected = fisher.sample_rows(videos, config.fisher, rng)
    assert sample.shape == expected.shape and np.array_equal(sample, expected)
    assert 0 < len(sample) < sum(LENGTHS.values())


def test_fitting_holds_one_video_at_a_time(work, monkeypatch):
    """Every array the reader returns must be gone before the next file is read."""
    live: set[int] = set()
    most = []
    read_text = tio.read_text

    def reader(path):
        most.append(len(live))
        rows = read_text(path)
        live.add(id(rows))
        weakref.finalize(rows, live.discard, id(rows))
        return rows

    monkeypatch.setattr(tio, "read_text", reader)
    sample = _sample_of_fit_model(work, monkeypatch)
    assert len(most) == 6 and max(most) == 0, most  # the previous video was dropped before each read
    assert len(sample) > 0
