"""Reading id and URL lists; URLs from ids; shards."""

from __future__ import annotations

import pytest

from vidkit.errors import UsageError
from vidkit.scrape.targets import Target, id_from_url, parse_targets, url_for


def test_ids_urls_and_comments():
    lines = [
        "# a comment",
        "dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=abc-_123456&t=4",
        "https://youtu.be/XYZ",
        "http://127.0.0.1:8000/ok/clip%20one.mp4",
        "",
        "dQw4w9WgXcQ",
    ]
    targets = parse_targets(lines)
    assert [t.id for t in targets] == ["dQw4w9WgXcQ", "abc-_123456", "XYZ", "clip one"]
    assert targets[0].url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_template_quotes_hostile_ids():
    url = url_for("../$(rm -rf ~)'\"\n", "http://mirror/{id}.mp4")
    assert url.startswith("http://mirror/") and "/../" not in url and "\n" not in url and " " not in url
    with pytest.raises(UsageError):
        url_for("a", "http://mirror/no-placeholder")


def test_search_tsv_is_read_by_its_header():
    lines = ["id\tsplit\turl\tqueries", 'a1\ttrain\thttp://x/a1.mp4\t["q"]', 'b2\tval\thttp://x/b2.mp4\t["q"]']
    assert parse_targets(lines) == [Target("a1", "http://x/a1.mp4", "train"), Target("b2", "http://x/b2.mp4", "val")]


def test_file_stem_is_the_id_of_other_urls():
    assert id_from_url("file:///data/mirror/-abc_DEF12.mp4") == "-abc_DEF12"
    with pytest.raises(UsageError):
        id_from_url("http://host/")
