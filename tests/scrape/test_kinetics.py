"""`scrape kinetics`: official CSV rows cut to their segments, laid out for `extract-frames --dataset kinetics`."""

from __future__ import annotations

import pytest

from vidkit.errors import AnnotationError
from vidkit.scrape.download import DownloadOptions
from vidkit.scrape.kinetics import UNLABELLED, clip_path, download_kinetics, parse_csv

FAST = DownloadOptions(backoff=0.01, retries=1)
CSV = """label,youtube_id,time_start,time_end,split
riding bike,bikes,2,5,train
riding bike,bikes,5,8,train
talking on phone,carphone_pristine,1,3,val
abseiling,gone,0,10,train
"weird/label, \""",bigbuckbunny,100,110,val
"""


def test_parse_official_columns_and_defaults():
    clips = parse_csv(CSV, "k.csv", "unused")
    assert clips[0].name == "bikes_000002_000005" and clips[0].label == "riding bike" and clips[0].split == "train"
    assert clips[4].label == 'weird/label, "'
    test_set = parse_csv("youtube_id,time_start,time_end\nabc,10.0,20.0\n", "test.csv", "test")
    assert test_set[0].label == UNLABELLED and test_set[0].split == "test" and test_set[0].start == 10
    with pytest.raises(AnnotationError, match="missing column"):
        parse_csv("id,start\nx,1\n", "bad.csv", "x")
    with pytest.raises(AnnotationError, match="line 2"):
        parse_csv("youtube_id,time_start,time_end\nabc,ten,20\n", "bad.csv", "x")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        # 0.3 s is cut down to 0 whole seconds: the row's segment is fine, the whole-second naming is not
        ("abc,0,0.3", "the segment 0-0.3 s lies within the second 0-1; clips are cut and named in whole seconds"),
        ("abc,5,3", "time_end 3 is not after time_start 5"),
        ("abc,4,4", "time_end 4 is not after time_start 4"),
        (",0,10", "the youtube_id is empty"),
        ("abc,-2,10", "time_start -2 is negative"),
        ("abc,0,inf", "must be finite"),
        ("abc,0,ten", "time_end 'ten' must be numbers"),
    ],
)
def test_a_bad_row_is_told_what_is_wrong_with_it(row, message):
    with pytest.raises(AnnotationError) as raised:
        parse_csv(f"youtube_id,time_start,time_end\nok,0,10\n{row}\n", "k.csv", "x")
    assert str(raised.value).startswith("k.csv line 3: ") and message in str(raised.value)
    assert "needs a youtube_id and" not in str(raised.value)


def test_clips_are_cut_laid_out_and_reported_per_class(server, tmp_path):
    from vidkit.io import video

    out = tmp_path / "k400"
    clips = parse_csv(CSV, "k.csv", "x")
    result = download_kinetics(clips, out, url_template=server.base + "/ok/{id}.mp4", options=FAST)
    assert (result.clips, result.videos, result.available, result.unavailable) == (5, 4, 3, 2)
    assert result.errors == {"not_found": 1, "cut_failed": 1}
    assert server.hits("/ok/bikes.mp4") == 2  # one video, one download (probe + body), two clips cut from it
    first = clip_path(out, clips[0])
    assert first == out / "videos" / "train" / "riding bike" / "bikes_000002_000005.mp4"
    info = video.probe(first)
    assert (info.width, info.height) == (640, 272) and abs(info.n_frames - 3 * 25) <= 1
    assert abs(video.probe(clip_path(out, clips[2])).n_frames - 2 * 30) <= 1
    # The weird label stays one folder inside the output.
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
    table = (out / "availability.tsv").read_text().splitlines()
    assert table[0] == "class\tlisted\tavailable\tunavailable\tpending"
    assert "riding bike\t2\t2\t0\t0" in table and "abseiling\t1\t0\t1\t0" in table
    assert not (out / "downloads").exists()
    # A rerun cuts nothing again and does not retry the 404.
    hits = len(server.requests)
    again = download_kinetics(clips, out, url_template=server.base + "/ok/{id}.mp4", options=FAST)
    assert len(server.requests) == hits and (again.available, again.new) == (3, 0)


def test_the_layout_is_what_extract_frames_kinetics_reads(server, tmp_path):
    from vidkit.extract import frames as extraction
    from vidkit.io.annotations import load_annotations
    from vidkit.io.frame_store import FrameStore, StoreConfig

    out = tmp_path / "k400"
    download_kinetics(parse_csv(CSV, "k.csv", "x")[:3], out, url_template=server.base + "/ok/{id}.mp4", options=FAST)
    annotations = load_annotations(out / "annotations", "kinetics")
    extraction.extract_frames(
        [out / "videos"], tmp_path / "k.h5", config=StoreConfig(short_side=32, max_frames=8), annotations=annotations
    )
    with FrameStore(tmp_path / "k.h5") as store:
        records = {store.video(i).id: store.video(i) for i in range(store.summary()["videos"])}
        assert set(records) == {"bikes_000002_000005", "bikes_000005_000008", "carphone_pristine_000001_000003"}
        labels = {vid: r.label for vid, r in records.items()}
        assert (
            labels["bikes_000002_000005"] == labels["bikes_000005_000008"] != labels["carphone_pristine_000001_000003"]
        )
        assert min(labels.values()) >= 0
        assert {store.video(int(i)).id for i in store.split("val")} == {"carphone_pristine_000001_000003"}


def test_hostile_ids_labels_and_splits_stay_inside(tmp_path):
    from vidkit.scrape.kinetics import Clip

    clip = Clip("../../x\n$(y)", 1, 2, "../label/..", "..")
    path = clip_path(tmp_path, clip)
    assert path.parent.parent.parent == tmp_path / "videos"
    assert all(not part.startswith(".") for part in path.relative_to(tmp_path).parts)
