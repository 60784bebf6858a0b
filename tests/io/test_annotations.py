"""Annotation parsers, on the real UCF101/HMDB51 lists and on generated ones."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidkit.errors import AnnotationError
from vidkit.io import annotations as ann


def test_ucf101_real_lists(shared_data):
    a = ann.load_annotations(shared_data / "ucf101" / "splits", "ucf101")
    assert len(a.classes) == 101 and a.classes[0] == "ApplyEyeMakeup" and a.classes[100] == "YoYo"
    assert len(a.splits["train01"]) == 9537 and len(a.splits["test01"]) == 3783
    assert len(set(a.splits["train01"]) | set(a.splits["test01"])) == 13320
    assert len(a.labels) == 13320
    # Both spellings of the one class that UCF101 spells two ways give the same label.
    assert a.label_of("v_HandStandPushups_g01_c01") == a.label_of("v_HandstandPushups_g01_c01") == 36
    assert a.classes[36] == "HandstandPushups"
    assert a.label_of("v_YoYo_g25_c05") == 100 and a.label_of("v_Nope_g01_c01") == -1


def test_ucf101_frame_counts_cover_the_lists(shared_data):
    a = ann.load_annotations(shared_data / "ucf101" / "splits", "ucf101")
    counts = dict(
        line.split("\t") for line in (shared_data / "ucf101" / "frame_counts_split01.tsv").read_text().splitlines()
    )
    keys = {ann.video_key(k) for k in counts}
    assert all(ann.video_key(v) in keys for split in ("train01", "test01") for v in a.splits[split])


def test_hmdb51_real_lists(shared_data):
    a = ann.load_annotations(shared_data / "hmdb51" / "splits", "hmdb51")
    assert len(a.classes) == 51
    for n in (1, 2, 3):
        assert len(a.splits[f"train0{n}"]) == 3570 and len(a.splits[f"test0{n}"]) == 1530


def test_hmdb51_official_layout(tmp_path):
    (tmp_path / "wave_test_split1.txt").write_text("a_wave_0.avi 1 \nb_wave_1.avi 2 \nc_wave_2.avi 0 \n")
    (tmp_path / "clap_test_split1.txt").write_text("d_clap_0.avi 2 \n")
    a = ann.load_hmdb51(tmp_path)
    assert a.classes == ["clap", "wave"]
    assert a.splits == {"train01": ["a_wave_0"], "test01": ["d_clap_0", "b_wave_1"]}  # files in sorted order
    assert a.label_of("c_wave_2") == 1  # unused videos still have a label


def test_kinetics_csv(tmp_path):
    csv = tmp_path / "k.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "abseiling,--07WQ2iBlw,1,11,train\n"
        "air drumming,-0fRCgyLN9c,0,10,val\n"
        ",zzz0,5,15,test\n"
    )
    a = ann.load_annotations(csv, "kinetics")
    assert a.classes == ["abseiling", "air drumming"]
    assert a.splits["train"] == ["--07WQ2iBlw_000001_000011"]
    assert a.label_of("--07WQ2iBlw_000001_000011") == 0
    assert a.label_of("-0fRCgyLN9c") == 1  # a file named after the bare YouTube id
    assert a.label_of("zzz0_000005_000015") == -1


def test_generic_csv(tmp_path):
    csv = tmp_path / "list.csv"
    csv.write_text("path,label,split\nvideos/a.mp4,cat,train\nb.avi,dog,test\nvideos/a.mp4,cat,val\n")
    a = ann.load_annotations(csv, "csv")
    assert a.classes == ["cat", "dog"] and a.label_of("a") == 0 and a.label_of("B") == 1
    assert a.splits == {"train": ["a"], "test": ["b"], "val": ["a"]}
    (tmp_path / "num.csv").write_text("path,label,split\nx.mp4,3,train\n")
    assert ann.load_csv(tmp_path / "num.csv").classes == ["0", "1", "2", "3"]


@pytest.mark.parametrize(
    "files,match",
    [
        ({"classInd.txt": "1 A\n3 B\n"}, "without gaps"),
        ({"classInd.txt": "1 A\n", "trainlist01.txt": "A/v_x.avi 2\n"}, "not in 1..1"),
        ({"classInd.txt": "1 A\n2 B\n", "trainlist01.txt": "A/v_x.avi 2\n"}, "contradicts"),
        ({"classInd.txt": "1 A\n", "testlist01.txt": "Q/v_x.avi\n"}, "neither given"),
        ({"trainlist01.txt": "A/v_x.avi 1\n"}, "no classInd"),
        ({"classInd.txt": "1 A\n"}, "no trainlist"),
    ],
)
def test_malformed_lists(tmp_path, files, match):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(AnnotationError, match=match):
        ann.load_split_lists(tmp_path)


def test_unknown_dataset_and_missing_path(tmp_path):
    with pytest.raises(AnnotationError, match="unknown dataset"):
        ann.load_annotations(tmp_path, "ssv2")
    with pytest.raises(AnnotationError, match="not found"):
        ann.load_annotations(tmp_path / "nope", "ucf101")


_names = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(
    classes=st.lists(_names, min_size=1, max_size=8, unique_by=str.lower),
    videos=st.lists(st.tuples(_names, st.integers(0, 7)), min_size=1, max_size=30, unique_by=lambda v: v[0].lower()),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    with_numbers=st.booleans(),
)
def test_split_lists_roundtrip(tmp_path_factory, classes, videos, crlf, final_newline, with_numbers):
    """Whatever names, line endings and label styles, the parser gives back what was written."""
    folder = tmp_path_factory.mktemp("lists")
    end = "\r\n" if crlf else "\n"

    def write(name, lines):
        (folder / name).write_bytes((end.join(lines) + (end if final_newline else "")).encode())

    videos = [(f"v_{name}", label % len(classes)) for name, label in videos]
    write("classInd.txt", [f"{i + 1} {c}" for i, c in enumerate(classes)])
    write("trainlist01.txt", [f"{classes[c]}/{v}.avi" + (f" {c + 1}" if with_numbers else "") for v, c in videos])
    a = ann.load_split_lists(folder)
    assert a.classes == classes
    assert a.splits["train01"] == [v for v, _ in videos]
    assert all(a.label_of(v) == c for v, c in videos)
