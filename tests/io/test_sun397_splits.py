"""SUN397's official split files: every character kept, classes in ClassName.txt order, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from vidkit.errors import AnnotationError
from vidkit.io import sun397


def _write(folder, train, test, classes=None):
    folder.mkdir(exist_ok=True)
    (folder / "Training_01.txt").write_text(train)
    (folder / "Testing_01.txt").write_text(test)
    if classes is not None:
        (folder / "ClassName.txt").write_text(classes)
    return folder


def test_lines_keep_their_last_character_with_or_without_a_final_newline(tmp_path):
    path = tmp_path / "Training_01.txt"
    path.write_text("/a/abbey/sun_aaalbzqrimafwbiv.jpg\r\n\n/a/apartment_building/outdoor/sun_abc.jpg")
    images = sun397.read_split_file(path)
    assert [i.relative for i in images] == [
        "a/abbey/sun_aaalbzqrimafwbiv.jpg",
        "a/apartment_building/outdoor/sun_abc.jpg",  # VINCE's reader returned ...sun_abc.jp here
    ]
    assert images[1].class_path == "a/apartment_building/outdoor" and images[1].name == "sun_abc.jpg"


@pytest.mark.parametrize(
    "line",
    ["a/abbey/sun_x.jpg", "/abbey/sun_x.jpg", "/a/abbey/sun_x", "/a//sun_x.jpg", "/a/abbey/sun x.jpg /b/c/d.jpg"],
)
def test_malformed_lines_name_file_and_line(tmp_path, line):
    path = tmp_path / "Testing_01.txt"
    path.write_text(f"/a/abbey/sun_ok.jpg\n{line}\n")
    with pytest.raises(AnnotationError, match=r"Testing_01.txt:2: expected a line like"):
        sun397.read_split_file(path)


def test_missing_or_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(AnnotationError, match="does not exist"):
        sun397.read_split_file(tmp_path / "Training_01.txt")
    (tmp_path / "Training_01.txt").write_text("\n\n")
    with pytest.raises(AnnotationError, match="lists no image"):
        sun397.read_split_file(tmp_path / "Training_01.txt")
    (tmp_path / "ClassName.txt").write_text("abbey\n")
    with pytest.raises(AnnotationError, match="ClassName.txt:1"):
        sun397.read_class_names(tmp_path / "ClassName.txt")


def test_load_splits_matches_store_videos_by_path_and_labels_by_class_file(tmp_path):
    folder = _write(
        tmp_path / "splits",
        "/b/bedroom/sun_b1.jpg\n/a/abbey/sun_a1.jpg\n",
        "/a/abbey/sun_a2.jpg\n/b/bedroom/sun_gone.jpg",
        "/b/bedroom\n/a/abbey\n",
    )
    ids = ["x0", "a/abbey/sun_a2", "x2", "x3"]
    sources = ["/d/SUN397/a/abbey/sun_a1.jpg", "elsewhere.png", "/d/SUN397/b/bedroom/sun_b1.jpg", "/d/sun_a1.jpg"]
    splits = sun397.load_splits(folder, ids, sources)
    assert splits.classes == ["b/bedroom", "a/abbey"]
    np.testing.assert_array_equal(splits.train_videos, [2, 0])
    np.testing.assert_array_equal(splits.train_labels, [0, 1])
    np.testing.assert_array_equal(splits.test_videos, [1])  # matched by id; sun_gone is left out
    np.testing.assert_array_equal(splits.test_labels, [1])


def test_load_splits_without_class_file_sorts_classes_and_refuses_an_unmatched_split(tmp_path):
    folder = _write(tmp_path / "s", "/b/bedroom/sun_b1.jpg\n/a/abbey/sun_a1.jpg\n", "/c/canyon/sun_c.jpg\n")
    with pytest.raises(AnnotationError, match="none of the 1 images of .*Testing_01.txt"):
        sun397.load_splits(folder, ["a"], ["/r/a/abbey/sun_a1.jpg"])
    splits = sun397.load_splits(folder, ["a", "c"], ["/r/a/abbey/sun_a1.jpg", "/r/c/canyon/sun_c.jpg"])
    assert splits.classes == ["a/abbey", "b/bedroom", "c/canyon"]
    np.testing.assert_array_equal(splits.test_labels, [2])
    folder = _write(tmp_path / "t", "/z/zoo/sun_z.jpg\n", "/c/canyon/sun_c.jpg\n", "/c/canyon\n")
    with pytest.raises(AnnotationError, match="names classes missing"):
        sun397.load_splits(folder, ["c"], ["/c/canyon/sun_c.jpg"])
