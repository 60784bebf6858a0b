"""Distributed embedding: `torchrun -m vidkit embed` on 2 CPU ranks (gloo) writes the store one process writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import torchrun
from vidkit import embed as core
from vidkit.extract import frames as extraction
from vidkit.io.annotations import load_split_lists
from vidkit.io.features import read_features


@pytest.fixture(scope="module")
def frames(synth_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("frames") / "f.h5"
    extraction.extract_frames([synth_dir / "videos"], path, annotations=load_split_lists(synth_dir / "splits"))
    return path


def test_shares_are_contiguous_and_cover_the_rows():
    for total, world in ((27, 2), (5, 4), (3, 8)):
        shares = [core._share(total, rank, world) for rank in range(world)]
        assert np.array_equal(np.concatenate(shares), np.arange(total))
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


@pytest.mark.slow
def test_two_rank_gloo_embedding_equals_one_process(frames, tmp_path):
    # 9 videos x 3 clips = 27 rows: the ranks get 14 and 13, so the gather pads and trims.
    options = ["--backbone", "tiny", "--clip-len", "4", "--size", "32", "--clips-per-video", "3"]
    options += ["--batch-size", "4", "--workers", "0", "--device", "cpu", "--json"]
    out = tmp_path / "ddp.h5"
    proc = torchrun("-m", "vidkit", "embed", str(frames), "-o", str(out), *options)
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(printed) == 1 and json.loads(printed[0])["rows"] == 27  # one result, from rank 0
    assert not (tmp_path / "ddp.h5.lock").exists()

    single = tmp_path / "single.h5"
    config = core.EmbedConfig(clip_len=4, size=32, clips_per_video=3, batch_size=4, workers=0, device="cpu")
    core.embed(frames, single, backbone="tiny", config=config)
    a, b = read_features(out), read_features(single)
    assert a.config == b.config
    for column in ("video_index", "video_id", "clip_start", "clip_end", "label"):
        assert np.array_equal(getattr(a, column), getattr(b, column)), column
    np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_refused_output_stops_every_rank(frames, tmp_path):
    """Rank 0 alone claims the output; when it refuses, the other ranks stop too instead of waiting for it."""
    taken = tmp_path / "notes.txt"
    taken.write_text("not a feature store")
    proc = torchrun("-m", "vidkit", "embed", str(frames), "-o", str(taken), "--backbone", "tiny", "--device", "cpu")
    assert proc.returncode != 0
    assert "exists and is" in proc.stderr and "rank 0 could not claim" in proc.stderr
    assert taken.read_text() == "not a feature store"
