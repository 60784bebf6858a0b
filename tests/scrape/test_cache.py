"""`scrape cache`: frames filtered and written straight into a frame store, every drop recorded."""

from __future__ import annotations

import numpy as np
import pytest

from vidkit.io.frame_store import FrameStore
from vidkit.scrape.cache import CacheConfig, cache
from vidkit.scrape.download import DownloadOptions
from vidkit.scrape.ledger import read_ledger
from vidkit.scrape.targets import Target

FAST = DownloadOptions(backoff=0.01, retries=1)
# The made clips have 30 frames: sample every frame, keep 4 contiguous survivors.
DENSE = CacheConfig(sample_every=1, max_frames=30, frames=4, tries=2)


def _stored(store_path):
    with FrameStore(store_path) as store:
        table = {store.video(i).id: store.video(i) for i in range(store.summary()["videos"])}
        frames = {vid: store.read_frames(record.index, list(range(record.n_frames))) for vid, record in table.items()}
        return table, frames, dict(store.failures()), store.summary()


def _frame_numbers(source: str) -> list[int]:
    return [int(n) for n in source.split("#frames=")[1].split(",")]


def test_filters_crop_drop_and_record_reasons(server, made_clip_paths, tmp_path):
    names = ["good", "blank", "duplicated", "blank_then_good", "letterboxed"]
    targets = [Target(n, server.url("ok", n), "train" if i % 2 else "val") for i, n in enumerate(names)]
    targets.append(Target("missing", server.url("404", "good")))
    store_path = tmp_path / "frames.h5"
    result = cache(targets, store_path, config=DENSE, options=FAST, workers=2)
    table, frames, failures, summary = _stored(store_path)

    assert sorted(table) == ["blank_then_good", "good", "letterboxed"]
    assert (result.cached, result.dropped, result.failed) == (3, 2, 1)
    assert summary["complete"] and summary["frames"] == 12
    # Each drop's reason is in the failure table, keyed by URL.
    assert failures[server.url("ok", "blank")].startswith("dropped: too_few_frames")
    assert "blank_or_blurry" in failures[server.url("ok", "blank")]
    assert "near_duplicate" in failures[server.url("ok", "duplicated")]
    assert failures[server.url("404", "good")].startswith("download: not_found")
    # Frame numbers kept, contiguous survivors, never from the blank start.
    for vid, record in table.items():
        numbers = _frame_numbers(record.source)
        assert numbers == list(range(numbers[0], numbers[0] + 4))
    assert _frame_numbers(table["blank_then_good"].source)[0] >= 10
    # The letterbox bars (16 rows above and below) are cropped away.
    assert (table["letterboxed"].height, table["letterboxed"].width) == (64, 64)
    assert frames["letterboxed"].shape == (4, 64, 64, 3) and frames["letterboxed"][:, :2].mean() > 40
    # Splits from the list's split column; downloads deleted.
    with FrameStore(store_path) as store:
        assert {store.video(int(i)).id for i in store.split("val")} == {"good", "letterboxed"}
    assert not (tmp_path / "frames.h5.downloads").exists()
    statuses = {r["id"]: r["status"] for r in read_ledger(tmp_path / "frames.h5.ledger.jsonl")}
    assert statuses == {
        "good": "cached",
        "blank": "dropped",
        "duplicated": "dropped",
        "blank_then_good": "cached",
        "letterboxed": "cached",
        "missing": "failed",
    }


def test_stored_frames_are_the_source_frames_they_name(server, made_clip_paths, tmp_path):
    from vidkit.io import video

    cache([Target("good", server.url("ok", "good"))], tmp_path / "f.h5", config=DENSE, options=FAST)
    table, frames, _, _ = _stored(tmp_path / "f.h5")
    numbers = _frame_numbers(table["good"].source)
    named = video.read_frames(made_clip_paths["good"], numbers).astype(int)
    others = video.read_frames(made_clip_paths["good"], [(n + 1) % 30 for n in numbers]).astype(int)
    # JPEG (4:2:0) of colour noise is far from exact, but far closer to the named frames than to their neighbours.
    assert np.abs(frames["good"] - named).mean() < 20 < 50 < np.abs(frames["good"] - others).mean()


def test_max_side_shrinks_large_frames(server, tmp_path):
    config = CacheConfig(sample_every=20, max_frames=6, frames=2, max_side=100)
    cache([Target("bikes", server.url("ok", "bikes"))], tmp_path / "f.h5", config=config, options=FAST)
    table, _, _, _ = _stored(tmp_path / "f.h5")
    assert max(table["bikes"].height, table["bikes"].width) == 100


def test_a_rerun_skips_cached_and_dropped_videos_and_retries_transient_failures(server, tmp_path):
    targets = [
        Target("good", server.url("ok", "good")),
        Target("blank", server.url("ok", "blank")),
        Target("flaky", server.url("500-1", "good")),
    ]
    no_retry = DownloadOptions(backoff=0.01, retries=0)
    first = cache(targets, tmp_path / "f.h5", config=DENSE, options=no_retry)
    assert (first.cached, first.dropped, first.pending) == (1, 1, 1)
    hits = server.hits("/ok/")
    second = cache(targets, tmp_path / "f.h5", config=DENSE, options=no_retry)
    assert (second.skipped, second.cached) == (2, 1) and server.hits("/ok/") == hits
    table, _, failures, _ = _stored(tmp_path / "f.h5")
    assert sorted(table) == ["flaky", "good"] and list(failures) == [server.url("ok", "blank")]


def test_one_shot_keeps_runs_within_one_shot(tmp_path):
    """A video whose sampled frames alternate between two scenes every 2 samples has no 4-frame shot."""
    import cv2

    from tests.scrape.conftest import textured
    from vidkit.io.synth import write_video
    from vidkit.scrape.cache import Dropped, choose_frames

    rng = np.random.default_rng(0)
    ring = np.zeros((64, 64, 3), np.uint8)
    cv2.circle(ring, (32, 32), 20, (255, 255, 255), 3)
    frames = []
    for k in range(12):
        base = textured(rng, 1)[0] if (k // 2) % 2 == 0 else np.roll(ring, k, axis=1)
        frames.append(base)
    path = tmp_path / "cuts.mp4"
    write_video(path, np.stack(frames), fps=25)
    config = CacheConfig(
        sample_every=1, max_frames=12, frames=4, tries=1, one_shot=True, min_changed=0.0, min_edges=0.0
    )
    with pytest.raises(Dropped, match="no_single_shot"):
        choose_frames(path, config, np.random.default_rng(0))
    plain = choose_frames(
        path,
        CacheConfig(sample_every=1, max_frames=12, frames=4, tries=1, min_changed=0.0, min_edges=0.0),
        np.random.default_rng(0),
    )
    assert len(plain.frames) == 4
