"""`vidkit merge`: shards merged equal one run; mismatched shards are refused; a killed merge resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from vidkit.cli.app import app
from vidkit.errors import StoreConfigError, UsageError, VidkitError
from vidkit.extract import frames as extraction
from vidkit.extract import merge, shards
from vidkit.io.annotations import load_annotations
from vidkit.io.frame_store import FrameStore, StoreConfig
from vidkit.io.frame_store_writer import FrameStoreWriter

CONFIG = StoreConfig(flow="farneback")
N = 3  # the 9 synth videos fall 6 / 1 / 2 (or so) into 3 shards: none is empty


@pytest.fixture(scope="module")
def runs(synth_dir, tmp_path_factory):
    """One single-process extraction, and the same inputs extracted as N shards."""
    work = tmp_path_factory.mktemp("shards")
    labels = load_annotations(synth_dir / "splits", "ucf101")
    single = work / "single.h5"
    extraction.extract_frames([synth_dir / "videos"], single, config=CONFIG, annotations=labels)
    parts = []
    for k in range(1, N + 1):
        part = work / f"frames-{k}-of-{N}.h5"
        extraction.extract_frames(
            [synth_dir / "videos"], part, config=CONFIG, annotations=labels, shard=shards.Shard(k, N)
        )
        parts.append(part)
    return single, parts


def by_id(store: FrameStore) -> dict[str, int]:
    return {video_id: i for i, video_id in enumerate(store.table()["id"])}


def assert_same_store(merged_path: Path, single_path: Path) -> None:
    """Same videos, byte-identical frames and flow, labels, classes and splits (all by video id)."""
    with FrameStore(merged_path) as merged, FrameStore(single_path) as single:
        assert merged.complete
        assert merged.config == single.config
        a, b = by_id(merged), by_id(single)
        assert set(a) == set(b)
        assert merged.num_frames == single.num_frames
        assert merged.classes == single.classes
        ta, tb = merged.table(), single.table()
        for video_id in b:
            i, j = a[video_id], b[video_id]
            for stream in ("rgb", "u", "v"):
                assert merged.encoded_frames(i, stream) == single.encoded_frames(j, stream), (video_id, stream)
            for column in ("label", "n_frames", "height", "width", "source"):
                assert ta[column][i] == tb[column][j], (video_id, column)
            np.testing.assert_array_equal(merged.read_clip(i, 0, 4), single.read_clip(j, 0, 4))
        assert merged.split_names == single.split_names
        for name in single.split_names:
            assert sorted(ta["id"][merged.split(name)]) == sorted(tb["id"][single.split(name)])


def test_shards_are_disjoint_and_cover_the_inputs(runs):
    single, parts = runs
    ids = [set(by_id(FrameStore(p))) for p in parts]
    assert sum(len(s) for s in ids) == len(set().union(*ids)) == FrameStore(single).num_videos


def test_merged_shards_equal_a_single_run(runs, tmp_path):
    single, parts = runs
    result = merge.merge(parts, tmp_path / "merged.h5")
    assert (result.videos, result.new, result.skipped, result.failed, result.shards) == (9, 9, 0, 0, N)
    assert_same_store(tmp_path / "merged.h5", single)
    again = merge.merge(parts, tmp_path / "merged.h5")  # rerun: nothing to do, same store
    assert (again.new, again.skipped, again.videos) == (0, 9, 9)
    assert_same_store(tmp_path / "merged.h5", single)


def test_a_killed_merge_resumes(runs, tmp_path, monkeypatch):
    """The process dies between two commits: everything written after the last commit is lost."""
    single, parts = runs
    monkeypatch.setattr(merge, "_COMMIT_EVERY_N", 2)
    real_commit, commits = FrameStoreWriter.commit, []

    def dying_commit(self):
        commits.append(1)
        if len(commits) > 2:  # the third commit never happens, nor the clean-up one after it
            raise KeyboardInterrupt
        real_commit(self)

    out = tmp_path / "merged.h5"
    monkeypatch.setattr(FrameStoreWriter, "commit", dying_commit)
    with pytest.raises(KeyboardInterrupt):
        merge.merge(parts, out)
    monkeypatch.setattr(FrameStoreWriter, "commit", real_commit)
    with FrameStore(out) as partial:
        kept = partial.num_videos
        assert not partial.complete and 0 < kept < 9  # the first two commits' videos, not the rest
        for i in range(kept):
            assert partial.read_clip(i, 0, 12).shape == (12, 32, 32, 3)
    result = merge.merge(parts, out)
    assert (result.skipped, result.new, result.videos) == (kept, 9 - kept, 9)
    assert_same_store(out, single)


def test_merge_refuses_shards_made_with_other_settings(runs, synth_dir, tmp_path):
    single, parts = runs
    other = tmp_path / "other.h5"
    extraction.extract_frames(
        [synth_dir / "videos"], other, config=StoreConfig(flow="farneback", short_side=16), shard=shards.Shard(1, N)
    )
    with pytest.raises(StoreConfigError, match="short_side=16"):
        merge.merge([parts[1], other], tmp_path / "m.h5")
    unlabelled = tmp_path / "unlabelled.h5"
    extraction.extract_frames([synth_dir / "videos"], unlabelled, config=CONFIG, shard=shards.Shard(1, N))
    with pytest.raises(StoreConfigError, match="annotations"):
        merge.merge([parts[1], unlabelled], tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()  # refused before any work


def test_merge_refuses_an_unfinished_shard_and_an_input_as_output(runs, tmp_path):
    single, parts = runs
    broken = tmp_path / "unfinished.h5"
    broken.write_bytes(parts[0].read_bytes())
    import h5py

    with h5py.File(broken, "r+") as handle:
        handle.attrs["complete"] = False
    with pytest.raises(VidkitError, match="not complete"):
        merge.merge([broken, parts[1]], tmp_path / "m.h5")
    with pytest.raises(UsageError):
        merge.merge(parts, parts[0])


def test_duplicate_ids_across_shards_keep_the_first(runs, tmp_path):
    single, parts = runs
    result = merge.merge([single, parts[0]], tmp_path / "m.h5")
    assert result.videos == 9 and result.failed == FrameStore(parts[0]).num_videos
    assert all("duplicate video id" in error for _, error in FrameStore(tmp_path / "m.h5").failures())


def test_cli_merge_json_and_one_line_errors(runs, runner, tmp_path):
    single, parts = runs
    out = tmp_path / "cli.h5"
    result = runner.invoke(app, ["merge", *map(str, parts), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["videos"] == 9 and summary["shards"] == N and summary["store"] == str(out)
    bad = runner.invoke(app, ["merge", str(parts[0]), "-o", str(parts[0])])
    assert bad.exit_code == 2 and bad.output.count("error:") == 1
    missing = runner.invoke(app, ["merge", str(tmp_path / "nope.h5"), "-o", str(tmp_path / "x.h5")])
    assert missing.exit_code == 1 and missing.output.count("error:") == 1


def test_cli_extract_frames_shard(synth_dir, runner, tmp_path):
    outs = []
    for k in (1, 2):
        out = tmp_path / f"s{k}.h5"
        result = runner.invoke(
            app, ["extract-frames", str(synth_dir / "videos"), "-o", str(out), "--shard", f"{k}/2", "--json"]
        )
        assert result.exit_code == 0, result.output
        outs.append(json.loads(result.stdout)["videos"])
    assert sum(outs) == 9
    bad = runner.invoke(
        app, ["extract-frames", str(synth_dir / "videos"), "-o", str(tmp_path / "b.h5"), "--shard", "3/2"]
    )
    assert bad.exit_code == 2 and "error:" in bad.output


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from vidkit.extract import merge
    merge._COMMIT_EVERY_N = 2  # commit often, so the kill lands between two commits

    def progress(done, total):
        if done == 7:
            os.kill(os.getpid(), signal.SIGKILL)

    merge.merge([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]), progress=progress)
    """
)


def test_a_merge_killed_by_sigkill_resumes(runs, tmp_path):
    single, parts = runs
    out = tmp_path / "merged.h5"
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(out), *map(str, parts)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    with FrameStore(out) as partial:
        kept = partial.num_videos
        assert not partial.complete and 0 < kept < 9
    result = merge.merge(parts, out)
    assert (result.skipped, result.new, result.videos) == (kept, 9 - kept, 9)
    assert_same_store(out, single)


def test_batched_append_equals_one_by_one(runs, tmp_path):
    single, _ = runs
    with FrameStore(single) as store:
        table = store.table()
        videos = [merge._copy(store, i, table) for i in range(store.num_videos)]
        config = store.config
    one, many = tmp_path / "one.h5", tmp_path / "many.h5"
    with FrameStoreWriter(one, config) as writer:
        for i, video in enumerate(videos):
            writer.add_video(video, i % 3)
        writer.finish(None, None, {})
    with FrameStoreWriter(many, config) as writer:
        writer.add_videos(videos[:4], [i % 3 for i in range(4)])
        writer.add_videos(videos[4:], [i % 3 for i in range(4, len(videos))])
        writer.finish(None, None, {})
        with pytest.raises(StoreConfigError):
            writer.add_videos(videos[:1])
    a, b = FrameStore(one), FrameStore(many)
    ta, tb = a.table(), b.table()
    for column in ta:
        assert np.array_equal(ta[column], tb[column]), column
    for i in range(len(videos)):
        for stream in ("rgb", "u", "v"):
            assert a.encoded_frames(i, stream) == b.encoded_frames(i, stream)
