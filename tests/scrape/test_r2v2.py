"""`scrape r2v2`: the real id list parses and shards; the listed frames are recreated exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vidkit.errors import AnnotationError
from vidkit.extract import shards as sharding
from vidkit.io.frame_store import FrameStore
from vidkit.scrape.download import DownloadOptions
from vidkit.scrape.r2v2 import frame_path, parse_ids, recreate, shard_folder

FAST = DownloadOptions(backoff=0.01, retries=1)
LISTING = ["bikes,0,100,200,249", "carphone_pristine,1,50,500,600", "gone,1,2,3,4"]


def test_the_real_val_list_parses_and_shards(shared_data):
    items = parse_ids((shared_data / "r2v2" / "r2v2_ids_val.txt").read_text().splitlines())
    assert len(items) == 55631 and all(len(item.frames) == 4 for item in items)
    assert items[0].id == "--0YwlG-GIM" and items[0].frames == (1, 149, 299, 449)
    assert all(len(item.id) == 11 for item in items)
    assert max(max(item.frames) for item in items) == 95017
    folders = {shard_folder(item.id) for item in items}
    assert len(folders) <= 64 * 64 and "--" in folders
    shards = [sharding.select(items, sharding.parse(f"{k}/8"), key=lambda item: item.id) for k in range(1, 9)]
    assert sum(len(s) for s in shards) == len(items)
    assert set().union(*({i.id for i in s} for s in shards)) == {i.id for i in items}


@pytest.mark.parametrize("line", ["abc", "abc,", "abc,1,x", ",1,2"])
def test_malformed_lines_are_errors_with_their_line_number(line):
    with pytest.raises(AnnotationError, match="line 2"):
        parse_ids(["ok,1,2", line])


def test_folders_hold_exactly_the_listed_frames(server, real_clips, tmp_path):
    from vidkit.io import video

    out = tmp_path / "r2v2"
    result = recreate(
        parse_ids(LISTING), out, layout="folders", url_template=server.base + "/ok/{id}.mp4", options=FAST
    )
    assert (result.available, result.missing_frames, result.unavailable) == (1, 1, 1)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert names == ["bi/bikes_000000.jpg", "bi/bikes_000100.jpg", "bi/bikes_000200.jpg", "bi/bikes_000249.jpg"]
    import simplejpeg

    stored = np.stack([simplejpeg.decode_jpeg(frame_path(out, "bikes", f).read_bytes()) for f in (0, 100, 200, 249)])
    source = video.read_frames(real_clips["bikes"], [0, 100, 200, 249]).astype(int)
    assert np.abs(stored - source).mean() < 4
    assert np.abs(stored[1:] - source[:-1]).mean() > 10  # and not some other frames
    report = json.loads((out / "availability.json").read_text())
    assert (
        report["listed"] == 3 and report["available"] == 1 and report["errors"] == {"missing_frames": 1, "not_found": 1}
    )
    assert not (out / ".downloads").exists()
    # A rerun neither downloads the done video nor retries the permanent failures.
    hits = len(server.requests)
    again = recreate(parse_ids(LISTING), out, layout="folders", url_template=server.base + "/ok/{id}.mp4", options=FAST)
    assert len(server.requests) == hits and again.available == 1 and again.skipped == 3


def test_a_frame_store_keeps_the_frame_numbers(server, tmp_path):
    store_path = tmp_path / "r2v2.h5"
    result = recreate(
        parse_ids(LISTING[:1]), store_path, url_template=server.base + "/ok/{id}.mp4", options=FAST, max_side=320
    )
    assert result.new == 1
    with FrameStore(store_path) as store:
        record = store.video(0)
        assert record.id == "bikes" and record.source.endswith("/ok/bikes.mp4#frames=0,100,200,249")
        assert record.n_frames == 4 and max(record.height, record.width) == 320
    assert json.loads((tmp_path / "r2v2.h5.availability.json").read_text())["available"] == 1


@pytest.mark.parametrize("video_id", ["../../etc", "..", "a/b", "$(touch x)", "x\ny", ".hidden", "'\""])
def test_hostile_ids_stay_inside_the_layout(tmp_path, video_id):
    path = frame_path(tmp_path, video_id, 7)
    assert path.parent.parent == tmp_path and path.name.endswith("_000007.jpg")
    assert not path.name.startswith(".") and not path.parent.name.startswith(".")
