"""Tracking sequences: `synth --tracking` writes the OTB and GOT-10k layouts; their readers refuse bad annotations."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from vidkit.errors import AnnotationError
from vidkit.io import tracking
from vidkit.io.synth_tracking import TrackingSynthConfig, make_tracking


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("track")
    make_tracking(out, TrackingSynthConfig(train=2, test=2, frames=6, size=96, seed=3))
    return out


def test_both_layouts_hold_the_same_held_out_sequences(made):
    otb = tracking.read_otb(made / "otb")
    val = tracking.read_got10k(made / "got10k" / "val")
    train = tracking.read_got10k(made / "got10k" / "train")
    assert [len(s) for s in otb + val + train] == [6] * 6
    assert [s.name for s in train] == ["synth_train_000", "synth_train_001"]
    assert (made / "otb" / "Synth_000" / "img" / "0006.jpg").is_file()
    assert (made / "got10k" / "val" / "synth_val_000" / "00000006.jpg").is_file()
    for o, v in zip(otb, val):
        np.testing.assert_array_equal(o.boxes, v.boxes + [1, 1, 0, 0])  # OTB is 1-based
    boxes = np.concatenate([s.boxes for s in val + train])
    assert boxes[:, 2:].min() >= 20 and (boxes[:, :2] >= 0).all() and (boxes[:, :2] + boxes[:, 2:] <= 96).all()


def test_the_object_moves_and_changes_size(made):
    boxes = tracking.read_otb(made / "otb")[0].boxes
    assert np.abs(np.diff(boxes[:, :2], axis=0)).sum(1).min() > 0
    assert len({tuple(b) for b in boxes[:, 2:]}) > 1


def test_the_same_seed_gives_the_same_files(made, tmp_path):
    make_tracking(tmp_path, TrackingSynthConfig(train=2, test=2, frames=6, size=96, seed=3))
    for name in ("otb/Synth_001/img/0004.jpg", "otb/Synth_001/groundtruth_rect.txt", "got10k/train/list.txt"):
        assert (tmp_path / name).read_bytes() == (made / name).read_bytes()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3\n", "expected 4 numbers"),
        ("1,2,3,4,5\n", "expected 4 numbers"),
        ("1,2,a,4\n", "not a number"),
        ("\n", "holds no boxes"),
    ],
)
def test_malformed_boxes_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "groundtruth_rect.txt"
    path.write_text(text)
    with pytest.raises(AnnotationError, match=message) as info:
        tracking.read_boxes(path)
    assert "\n" not in str(info.value)


def test_otb_separators_commas_tabs_and_spaces(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("1,2,3,4\n5\t6\t7\t8\n9 10 11 12\n")
    np.testing.assert_array_equal(tracking.read_boxes(path), np.arange(1, 13).reshape(3, 4))


def _copy(made, tmp_path, layout):
    src = made / "otb" / "Synth_000" if layout == "otb" else made / "got10k" / "train"
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_missing_or_mismatched_otb_parts(made, tmp_path):
    seq = _copy(made, tmp_path, "otb")
    (seq / "img" / "0006.jpg").unlink()
    with pytest.raises(AnnotationError, match="5 frames but 6 boxes"):
        tracking.read_otb_sequence(seq)
    shutil.rmtree(seq / "img")
    with pytest.raises(AnnotationError, match="missing frame folder"):
        tracking.read_otb_sequence(seq)
    (seq / "groundtruth_rect.txt").unlink()
    with pytest.raises(AnnotationError, match="missing box annotations"):
        tracking.read_otb_sequence(seq)


def test_missing_or_mismatched_got10k_parts(made, tmp_path):
    split = _copy(made, tmp_path, "got10k")
    (split / "synth_train_001" / "cover.label").write_text("8\n8\n")
    with pytest.raises(AnnotationError, match="2 labels for 6 frames"):
        tracking.read_got10k(split)
    (split / "list.txt").unlink()
    with pytest.raises(AnnotationError, match="list.txt"):
        tracking.read_got10k(split)


def test_an_empty_otb_folder(tmp_path):
    with pytest.raises(AnnotationError, match="holds no OTB sequence"):
        tracking.read_otb(tmp_path)
    with pytest.raises(AnnotationError, match="does not exist"):
        tracking.read_otb(tmp_path / "nope")


def test_synth_tracking_from_the_cli(runner, tmp_path):
    import json

    from vidkit.cli.app import app

    result = runner.invoke(
        app,
        [
            "synth",
            str(tmp_path),
            "--tracking",
            "--train-per-class",
            "1",
            "--test-per-class",
            "1",
            "--frames",
            "3",
            "--size",
            "96",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "otb": str(tmp_path / "otb"),
        "got10k": str(tmp_path / "got10k"),
        "train": 1,
        "test": 1,
        "frames": 3,
    }
    small = runner.invoke(app, ["synth", str(tmp_path / "s"), "--tracking", "--size", "64"])
    assert small.exit_code == 2 and "too small" in small.output


def test_otb_special_cases_several_targets_and_frame_ranges(made, tmp_path):
    root = tmp_path / "otb"
    jogging = root / "Jogging"
    shutil.copytree(made / "otb" / "Synth_000" / "img", jogging / "img")
    for target in ("1", "2"):
        shutil.copy(made / "otb" / "Synth_000" / "groundtruth_rect.txt", jogging / f"groundtruth_rect.{target}.txt")
    football = root / "Football1"  # img/ holds more frames than OTB-2015 annotates (1-74)
    (football / "img").mkdir(parents=True)
    for i in range(80):
        (football / "img" / f"{i + 1:04d}.jpg").write_bytes(b"")
    (football / "groundtruth_rect.txt").write_text("1,1,30,30\n" * 74)
    seqs = {s.name: s for s in tracking.read_otb(root)}
    assert sorted(seqs) == ["Football1", "Jogging.1", "Jogging.2"]
    assert len(seqs["Football1"]) == 74 and seqs["Football1"].frames[-1].name == "0074.jpg"
