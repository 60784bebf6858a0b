"""`extract_frames` end to end: real clips, bad inputs, frame folders, flow, workers, kill and rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.conftest import REAL_CLIPS, REPO
from vidkit.errors import NoInputError, StoreConfigError, VidkitError
from vidkit.extract import frames as extraction
from vidkit.io import video
from vidkit.io.annotations import load_split_lists
from vidkit.io.frame_store import FrameStore, StoreConfig


@pytest.fixture
def bad_inputs(tmp_path, real_clips) -> dict[str, Path]:
    """A text file named .mp4, an empty file, and a real clip cut in half, with its index at the
    end (unopenable) and at the front (opens, then runs out of frames)."""
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    faststart = tmp_path / "faststart.mp4"
    with (
        av.open(str(real_clips["bikes"])) as source,
        av.open(str(faststart), "w", options={"movflags": "faststart"}) as copy,
    ):
        stream = copy.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                copy.mux(packet)
    cuts = {}
    for name, whole in (("cut_index_last", real_clips["bikes"]), ("cut_index_first", faststart)):
        data = whole.read_bytes()
        cuts[name] = tmp_path / f"{name}.mp4"
        cuts[name].write_bytes(data[: len(data) // 2])
    faststart.unlink()
    return {"text": text, "empty": empty, **cuts}


def test_real_clips_plus_a_text_file(tmp_path, real_clips, bad_inputs):
    """The issue's acceptance run: 3 videos, 1 failure, 502 frames."""
    inputs = [*real_clips.values(), bad_inputs["text"]]
    result = extraction.extract_frames(inputs, tmp_path / "f.h5")
    assert (result.videos, result.failed, result.frames) == (3, 1, 502)
    frames = FrameStore(tmp_path / "f.h5")
    assert [frames.n_frames(i) for i in range(3)] == list(REAL_CLIPS.values())
    assert frames.failures()[0][0] == str(bad_inputs["text"]) and "cannot open" in frames.failures()[0][1]
    # Decoded pixels equal PyAV's own decode within JPEG tolerance.
    for i, path in enumerate(real_clips.values()):
        reference = video.read_frames(path, [0, 57, 119])
        stored = frames.read_frames(i, [0, 57, 119])
        assert np.abs(stored.astype(int) - reference).mean() < 2.5


def test_every_kind_of_bad_input_is_recorded(tmp_path, real_clips, bad_inputs):
    inputs = [real_clips["carphone_pristine"], *bad_inputs.values(), tmp_path / "missing.mp4"]
    result = extraction.extract_frames(inputs, tmp_path / "f.h5", config=StoreConfig(short_side=32))
    assert (result.videos, result.failed) == (1, 5)
    with FrameStore(tmp_path / "f.h5") as frames:
        errors = dict(frames.failures())
    assert "cannot open" in errors[str(bad_inputs["text"])] and "cannot open" in errors[str(bad_inputs["empty"])]
    assert "cannot open" in errors[str(bad_inputs["cut_index_last"])]
    assert "is truncated: decoded" in errors[str(bad_inputs["cut_index_first"])]
    assert "no such file" in errors[str(tmp_path / "missing.mp4")]
    with pytest.raises(VidkitError, match="--strict"):
        extraction.extract_frames(inputs, tmp_path / "g.h5", config=StoreConfig(short_side=32), strict=True)
    assert FrameStore(tmp_path / "g.h5").num_videos == 1  # strict still keeps what worked


def test_nothing_extracted(tmp_path, bad_inputs):
    with pytest.raises(NoInputError, match="nothing was extracted"):
        extraction.extract_frames([bad_inputs["text"]], tmp_path / "f.h5")
    assert not (tmp_path / "f.h5").exists()
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(NoInputError, match="no videos found"):
        extraction.extract_frames([tmp_path / "empty_dir"], tmp_path / "f.h5")


def test_synth_with_annotations(tmp_path, synth_dir):
    annotations = load_split_lists(synth_dir / "splits")
    result = extraction.extract_frames([synth_dir / "videos"], tmp_path / "f.h5", annotations=annotations)
    assert (result.videos, result.frames, result.failed) == (9, 108, 0)
    frames = FrameStore(tmp_path / "f.h5")
    assert frames.classes == ["MoveLeft", "MoveRight", "MoveUp"]
    table = frames.table()
    for split in ("train01", "test01"):
        ids = [table["id"][i] for i in frames.split(split)]
        assert sorted(ids) == sorted(annotations.splits[split])
    assert all(annotations.label_of(i) == label for i, label in zip(table["id"], table["label"]))
    frames.close()  # HDF5 refuses to reopen a file for writing that this process holds open
    again = extraction.extract_frames([synth_dir / "videos"], tmp_path / "f.h5", annotations=annotations)
    assert (again.new, again.skipped, again.videos) == (0, 9, 9)


def test_options_size_fps_max_frames_raw(tmp_path, real_clips):
    config = StoreConfig(codec="raw", short_side=48, fps=10.0, max_frames=40)
    extraction.extract_frames([real_clips["bigbuckbunny"], real_clips["bikes"]], tmp_path / "f.h5", config=config)
    frames = FrameStore(tmp_path / "f.h5")
    assert [frames.video(i).n_frames for i in range(2)] == [40, 40]
    assert (frames.video(0).height, frames.video(0).width, frames.video(0).fps) == (48, 85, 10.0)
    expected = np.stack(list(video.iter_frames(real_clips["bikes"], short_side=48, fps=10.0, max_frames=40)))
    np.testing.assert_array_equal(frames.read_clip(1, 0, 40), expected)


def test_workers_give_the_same_store(tmp_path, synth_dir):
    one = extraction.extract_frames([synth_dir / "videos"], tmp_path / "one.h5", workers=1)
    two = extraction.extract_frames([synth_dir / "videos"], tmp_path / "two.h5", workers=2)
    assert one.summary()["frames"] == two.summary()["frames"]
    a, b = FrameStore(tmp_path / "one.h5"), FrameStore(tmp_path / "two.h5")
    assert list(a.table()["id"]) == list(b.table()["id"])
    for i in range(a.num_videos):
        np.testing.assert_array_equal(a.read_clip(i, 0, 12), b.read_clip(i, 0, 12))


def _write_frame_folder(folder: Path, name: str, count: int) -> np.ndarray:
    """Frames of distinct flat colours, numbered past 9 so that string order would be wrong."""
    folder.mkdir(parents=True)
    colours = np.stack([np.full((16, 20, 3), (17 * i, 255 - 17 * i, 100), np.uint8) for i in range(count)])
    for i, image in enumerate(colours, 1):
        cv2.imwrite(str(folder / name.format(i)), image[..., ::-1])
    (folder / "n_frames").write_text(f"{count}\n")
    return colours


def test_frame_folder_inputs(tmp_path):
    two_stream = _write_frame_folder(tmp_path / "in" / "v_a", "frame{:06d}.jpg", 12)
    resnets = _write_frame_folder(tmp_path / "in" / "sub" / "v_b", "image_{:05d}.jpg", 11)
    tce = _write_frame_folder(tmp_path / "in" / "v_c", "frame{}.jpg", 10)
    result = extraction.extract_frames([tmp_path / "in"], tmp_path / "f.h5")
    assert (result.videos, result.frames) == (3, 33)
    frames = FrameStore(tmp_path / "f.h5")
    by_id = {frames.video(i).id: i for i in range(3)}
    for name, colours in (("v_a", two_stream), ("v_b", resnets), ("v_c", tce)):
        stored = frames.read_clip(by_id[name], 0, len(colours))
        assert np.abs(stored.astype(int) - colours).max() <= 3  # numeric order, JPEG tolerance
    assert np.isnan(frames.video(0).fps)


def test_folders_output_layout(tmp_path, synth_dir):
    out = tmp_path / "frames"
    result = extraction.extract_frames([synth_dir / "videos"], out, layout="folders")
    assert result.videos == 9
    folder = out / "v_MoveUp_g02_c01"
    assert (folder / "n_frames").read_text().strip() == "12"
    assert sorted(p.name for p in folder.glob("*.jpg"))[:2] == ["image_00001.jpg", "image_00002.jpg"]
    # The folders read back as inputs, in the same order.
    back = extraction.extract_frames([out], tmp_path / "back.h5")
    assert back.videos == 9 and back.frames == 108
    assert extraction.extract_frames([synth_dir / "videos"], out, layout="folders").new == 0


def test_flow_on_a_known_translation(tmp_path):
    """A textured frame shifted 2 px right per frame: the stored u flow is about +2 px, v about 0."""
    from vidkit.io import flow

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (64, 96), dtype=np.uint8), (0, 0), 2)
    folder = tmp_path / "in" / "shift"
    folder.mkdir(parents=True)
    for t in range(5):
        cv2.imwrite(str(folder / f"frame{t + 1:06d}.png"), np.roll(texture, 2 * t, axis=1))
    config = StoreConfig(codec="raw", flow=flow.best_algorithm())
    extraction.extract_frames([folder], tmp_path / "f.h5", config=config)
    frames = FrameStore(tmp_path / "f.h5")
    u = flow.dequantize(frames.read_clip(0, 0, 4, stream="u"))[:, 16:-16, 16:-16]
    v = flow.dequantize(frames.read_clip(0, 0, 4, stream="v"))[:, 16:-16, 16:-16]
    assert abs(np.median(u) - 2.0) < 0.3 and abs(np.median(v)) < 0.3


def test_resume_rules(tmp_path, synth_dir, real_clips):
    out = tmp_path / "f.h5"
    extraction.extract_frames([synth_dir / "videos"], out, config=StoreConfig(short_side=16))
    with pytest.raises(StoreConfigError, match="short_side=16"):
        extraction.extract_frames([synth_dir / "videos"], out, config=StoreConfig(short_side=24))
    with pytest.raises(VidkitError, match="--append"):
        extraction.extract_frames([real_clips["carphone_pristine"]], out, config=StoreConfig(short_side=16))
    added = extraction.extract_frames(
        [real_clips["carphone_pristine"]], out, config=StoreConfig(short_side=16), append=True
    )
    assert (added.new, added.videos) == (1, 10)


def test_duplicate_ids_fail_the_second(tmp_path, synth_dir):
    source = synth_dir / "videos" / "MoveLeft" / "v_MoveLeft_g01_c01.mp4"
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / source.name
    copy.write_bytes(source.read_bytes())
    result = extraction.extract_frames([source, copy], tmp_path / "f.h5")
    assert (result.videos, result.failed) == (1, 1)
    assert "duplicate video id" in result.errors[0][1]


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from vidkit.extract import frames as extraction
    extraction._COMMIT_EVERY_N = 2  # commit often, so the kill lands between two commits

    def progress(done, total):
        if done == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)

    extraction.extract_frames([Path(sys.argv[1])], Path(sys.argv[2]), progress=progress)
    """
)


@pytest.mark.parametrize("kill_after", [3, 6])
def test_killed_run_leaves_a_readable_store_and_resumes(tmp_path, synth_dir, kill_after):
    out = tmp_path / "f.h5"
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(synth_dir / "videos"), str(out), str(kill_after)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
    )
    assert proc.returncode == -signal.SIGKILL
    with FrameStore(out) as partial:
        assert not partial.complete
        assert partial.num_videos == kill_after - kill_after % 2  # every committed video, no partial one
        for i in range(partial.num_videos):
            assert partial.read_clip(i, 0, 12).shape == (12, 32, 32, 3)
    result = extraction.extract_frames([synth_dir / "videos"], out)
    assert (result.skipped, result.new, result.videos, result.frames) == (
        partial.num_videos,
        9 - partial.num_videos,
        9,
        108,
    )
    clean = tmp_path / "clean.h5"
    extraction.extract_frames([synth_dir / "videos"], clean)
    resumed, reference = FrameStore(out), FrameStore(clean)
    assert resumed.complete and list(resumed.table()["id"]) == list(reference.table()["id"])
    for i in range(9):
        np.testing.assert_array_equal(resumed.read_clip(i, 0, 12), reference.read_clip(i, 0, 12))
