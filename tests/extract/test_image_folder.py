"""`extract-frames --dataset imagefolder`: class folders of images as one-frame videos."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from vidkit.cli.app import app
from vidkit.errors import AnnotationError, NoInputError
from vidkit.extract import frames as extraction
from vidkit.io.frame_store import FrameStore
from vidkit.io.image_folders import scan_image_folders


def _image(path, value: int, size=(20, 14)) -> np.ndarray:
    """A flat colour image whose red channel is `value` (so it can be told apart after JPEG)."""
    pixels = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1] = value, 255 - value
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


@pytest.fixture
def tree(tmp_path):
    """train/ with classes `dog`, `cat` (a.jpg and a.png: one stem, two images), a corrupt JPEG and
    a hostile name; val/ with one image per class."""
    train, val = tmp_path / "root" / "train", tmp_path / "root" / "val"
    _image(train / "dog" / "d1.jpg", 200)
    _image(train / "cat" / "a.jpg", 40)
    _image(train / "cat" / "a.png", 90)
    (train / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (train / "cat" / "notes.txt").write_text("not an image")
    _image(train / "dog" / "line\nbreak.png", 220)
    _image(val / "dog" / "v1.png", 180)
    _image(val / "cat" / "v2.png", 60)
    return tmp_path / "root"


def test_images_become_one_frame_videos_with_labels_and_splits(tree, tmp_path):
    out = tmp_path / "images.h5"
    result = extraction.extract_frames([tree / "train", tree / "val"], out, source="imagefolder")
    assert (result.videos, result.failed, result.frames) == (6, 1, 6)
    store = FrameStore(out)
    ids = [store.video(i).id for i in range(store.num_videos)]
    # Sorted walk; the two `a` images are two videos; the newline is escaped, never dropped.
    assert ids == [
        "train/cat/a.jpg",
        "train/cat/a.png",
        "train/dog/d1.jpg",
        "train/dog/line\\nbreak.png",
        "val/cat/v2.png",
        "val/dog/v1.png",
    ]
    assert store.classes == ["cat", "dog"]
    assert [store.video(i).label for i in range(6)] == [0, 0, 1, 1, 0, 1]
    assert sorted(store.split("train")) == [0, 1, 2, 3] and sorted(store.split("val")) == [4, 5]
    assert all(store.n_frames(i) == 1 for i in range(6))
    red = [int(store.read_frames(i, [0])[0, ..., 0].mean()) for i in (0, 1, 2)]
    assert abs(red[0] - 40) <= 3 and abs(red[1] - 90) <= 3 and abs(red[2] - 200) <= 3  # RGB, not BGR
    ((source, error),) = store.failures()
    assert source.endswith("broken.jpg") and "not an image" in error
    store.close()

    again = extraction.extract_frames([tree / "train", tree / "val"], out, source="imagefolder")
    assert (again.new, again.skipped, again.videos) == (0, 6, 6)  # resumable: only the failure is retried


def test_roots_that_reuse_file_names_stay_apart(tmp_path):
    for split in ("train", "test"):
        _image(tmp_path / split / "cat" / "000.png", 50)
    result = extraction.extract_frames([tmp_path / "train", tmp_path / "test"], tmp_path / "s.h5", source="imagefolder")
    assert (result.videos, result.failed) == (2, 0)
    store = FrameStore(tmp_path / "s.h5")
    assert list(store.split("train")) == [0] and list(store.split("test")) == [1]


def test_class_list_and_split_lists(tree, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "classes.txt").write_text("/dog\n/cat\n/bird\n")  # SUN397's ClassName.txt spells them `/a/abbey`
    (notes / "Testing_01.txt").write_text("/dog/v1.png\ncat/v2.png\n")
    scan = scan_image_folders([tree / "val"], notes)
    assert scan.annotations.classes == ["dog", "cat", "bird"]
    assert scan.annotations.label_of("val/dog/v1.png") == 0 and scan.annotations.label_of("val/cat/v2.png") == 1
    assert scan.annotations.splits["Testing_01"] == ["val/dog/v1.png", "val/cat/v2.png"]

    (notes / "classes.txt").write_text("dog\n")
    with pytest.raises(AnnotationError, match="not in"):
        scan_image_folders([tree / "val"], notes)
    (notes / "classes.txt").write_text("dog\ncat\n")
    (notes / "Testing_01.txt").write_text("dog/missing.png\n")
    with pytest.raises(AnnotationError, match="in no root"):
        scan_image_folders([tree / "val"], notes)


def test_undecodable_names_and_empty_roots(tmp_path):
    root = tmp_path / "r"
    _image(root / "c" / "ok.png", 10)
    raw = os.path.join(os.fsencode(root / "c"), b"caf\xe9.png")
    with open(raw, "wb") as handle:
        handle.write((root / "c" / "ok.png").read_bytes())
    scan = scan_image_folders([root])
    assert [i.video_id for i in scan.inputs] == ["r/c/caf\\xe9.png", "r/c/ok.png"]
    result = extraction.extract_frames([root], tmp_path / "s.h5", source="imagefolder")
    assert (result.videos, result.failed) == (2, 0)  # the non-UTF-8 file opens
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoInputError, match="no images"):
        scan_image_folders([tmp_path / "empty"])


def test_cli(tree, tmp_path, runner):
    out = tmp_path / "cli.h5"
    args = ["extract-frames", str(tree / "val"), "-o", str(out), "--dataset", "imagefolder", "--size", "8", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["videos"], summary["failed"]) == (2, 0)
    assert FrameStore(out).read_frames(0, [0]).shape == (1, 8, 11, 3)  # short side 8
    bad = runner.invoke(app, ["extract-frames", str(tree), "-o", str(tmp_path / "x.h5"), "--dataset", "ucf101"])
    assert bad.exit_code == 2  # the annotation datasets still need --annotations
