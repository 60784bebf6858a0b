"""`scrape search`: flat extraction of result lists, filters, dedup with queries, a seeded split."""

from __future__ import annotations

import json

import pytest

from vidkit.errors import VidkitError
from vidkit.scrape.search import SearchConfig, assign_splits, one_per_channel, search
from vidkit.scrape.targets import parse_targets


@pytest.fixture
def feed_server(server):
    """The fault server's RSS feeds stand in for search result pages (yt-dlp reads them flat, as a playlist)."""
    server.feeds.update(
        {
            "cats": [("vidA", "/ok/good.mp4", 30), ("vidLong", "/ok/bikes.mp4", 900), ("vidB", "/ok/blank.mp4", 12)],
            "dogs": [("vidA", "/ok/good.mp4", 30), ("vidC", "/ok/letterboxed.mp4", 5)],
        }
    )
    return server


def _rows(path):
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def test_ids_are_deduplicated_with_every_query_that_found_them(feed_server, tmp_path):
    config = SearchConfig(source=feed_server.base + "/feed?q={query}", val=0.5)
    result = search(["cats", "dogs", "cats"], tmp_path / "urls.tsv", config=config)
    rows = {row["id"]: row for row in _rows(tmp_path / "urls.tsv")}
    assert set(rows) == {"vidA", "vidB", "vidC"}  # vidLong is longer than 240 s
    assert json.loads(rows["vidA"]["queries"]) == ["cats", "dogs"]
    assert rows["vidC"]["url"] == feed_server.base + "/ok/letterboxed.mp4"
    assert (result.queries, result.found, result.filtered, result.videos) == (2, 5, 1, 3)
    assert sorted(row["split"] for row in rows.values()) == ["train", "val", "val"]  # round(0.5 * 3) = 2
    # The TSV feeds `download` and `cache` directly.
    assert {t.id: t.split for t in parse_targets((tmp_path / "urls.tsv").read_text().splitlines())} == {
        k: v["split"] for k, v in rows.items()
    }


def test_per_query_and_any_duration(feed_server, tmp_path):
    config = SearchConfig(source=feed_server.base + "/feed?q={query}", per_query=2, max_duration=None)
    search(["cats"], tmp_path / "urls.tsv", config=config)
    assert [row["id"] for row in _rows(tmp_path / "urls.tsv")] == ["vidA", "vidLong"]


def test_a_failing_query_is_skipped_and_all_failing_is_an_error(feed_server, tmp_path):
    config = SearchConfig(source=feed_server.base + "/nothing/{query}", retries=0)
    with pytest.raises(VidkitError, match="every query failed"):
        search(["cats"], tmp_path / "urls.tsv", config=config)
    assert not (tmp_path / "urls.tsv").exists()


def test_one_video_per_channel():
    entries = [
        {"id": "a", "channel_id": "c1"},
        {"id": "b", "channel_id": "c1"},
        {"id": "c", "channel_id": "c2"},
        {"id": "d"},
        {"id": "e"},
    ]
    assert [e["id"] for e in one_per_channel(entries)] == ["a", "c", "d", "e"]


def test_split_is_seeded_and_independent_of_order():
    ids = [f"id{i}" for i in range(100)]
    split = assign_splits(ids, 0.2, seed=3)
    assert sum(s == "val" for s in split.values()) == 20
    assert assign_splits(list(reversed(ids)), 0.2, seed=3) == split
    assert assign_splits(ids, 0.2, seed=4) != split
    assert sum(s == "val" for s in assign_splits(ids, 7, seed=0).values()) == 7


def test_a_source_without_a_query_slot_is_a_usage_error(tmp_path):
    from vidkit.errors import UsageError

    with pytest.raises(UsageError, match="query"):
        search(["cats"], tmp_path / "urls.tsv", config=SearchConfig(source="ytsearch5:cats"))
