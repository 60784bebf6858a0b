"""`extract-frames --dataset r2v2`: R2V2's `<split>/<XY>/<id>_<frame:06d>.jpg` tree into a frame store."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from vidkit.cli.app import app
from vidkit.errors import AnnotationError, NoInputError
from vidkit.extract import frames as extraction
from vidkit.io import r2v2_layout
from vidkit.io.frame_store import FrameStore

# Ids begin with `-` and `_` and hold `_`, as YouTube's do; `-abc_def_gh` has frames out of name order.
VIDEOS = {"-abc_def_gh": (1, 149, 299, 1049), "_Zq3xY9k0aa": (5, 155), "Ab0000000_1": (300,)}


def _frame(path, value: int) -> None:
    pixels = np.full((12, 16, 3), value, dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95)


@pytest.fixture
def r2v2(tmp_path):
    """A `val` split in the layout `scrape r2v2` writes, frame value = frame number // 5, plus a stray file."""
    split = tmp_path / "r2v2" / "val"
    for video_id, frames in VIDEOS.items():
        for frame in frames:
            path = r2v2_layout.frame_path(split, video_id, frame)
            path.parent.mkdir(parents=True, exist_ok=True)
            _frame(path, frame // 5)
    (split / "-a" / "readme.txt").write_text("not a frame")
    return split


def test_each_id_becomes_one_video_in_frame_order(r2v2, tmp_path):
    out = tmp_path / "r2v2.h5"
    result = extraction.extract_frames([r2v2], out, source="r2v2")
    assert (result.videos, result.failed, result.frames) == (3, 0, 7)
    store = FrameStore(out)
    stored = {store.video(i).id: i for i in range(store.num_videos)}
    assert set(stored) == set(VIDEOS) and sorted(store.split("val")) == [0, 1, 2]
    for video_id, frames in VIDEOS.items():
        index = stored[video_id]
        pixels = store.read_frames(index, list(range(len(frames))))
        np.testing.assert_allclose(pixels.mean(axis=(1, 2, 3)), [f // 5 for f in frames], atol=2)
        assert store.video(index).label == -1
    assert store.video(stored["-abc_def_gh"]).source.endswith("-a/-abc_def_gh_*.jpg")


def test_an_id_list_selects_videos_and_frames(r2v2, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("_Zq3xY9k0aa,155\n-abc_def_gh,1,149,300")  # no final newline, as R2V2's lists
    result = extraction.extract_frames([r2v2], tmp_path / "listed.h5", source="r2v2", source_annotations=ids)
    assert (result.videos, result.failed, result.frames) == (1, 1, 1)
    ((source, error),) = FrameStore(tmp_path / "listed.h5").failures()
    assert "-abc_def_gh_*" in source and "000300" in error  # the listed frame that is not on disk


def test_names_parse_from_the_end():
    assert r2v2_layout.parse_frame_name("a_b_c_001234.jpg") == ("a_b_c", 1234)
    assert r2v2_layout.parse_frame_name("%2Eid_000007.jpg") == (".id", 7)  # escaped by frame_path
    assert r2v2_layout.parse_frame_name("abc_12.jpg") is None
    assert r2v2_layout.parse_frame_name("abc_000012.png") is None


def test_the_real_val_id_list_parses(shared_data):
    items = r2v2_layout.read_ids(shared_data / "r2v2" / "r2v2_ids_val.txt")
    assert len(items) == 55_631 and all(len(item.frames) == 4 for item in items)
    assert all(len(item.id) == 11 for item in items)
    assert max(f for item in items for f in item.frames) == 95_017
    assert len({r2v2_layout.shard_folder(item.id) for item in items}) <= 4096
    with pytest.raises(AnnotationError, match="line 2"):
        r2v2_layout.parse_ids(["ok,1,2", "bad,x"])


def test_cli_and_empty_split(r2v2, tmp_path, runner):
    out = tmp_path / "cli.h5"
    result = runner.invoke(app, ["extract-frames", str(r2v2), "-o", str(out), "--dataset", "r2v2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["frames"] == 7
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoInputError, match="no R2V2 videos"):
        r2v2_layout.scan_r2v2([tmp_path / "empty"])
