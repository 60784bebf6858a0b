"""`vidkit cluster-idt` end to end: the clusters store, failures, resume after a kill, the error for k > N."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vidkit.cli.app import app
from vidkit.io.clusters import read_clusters
from vidkit.io.frame_store import FrameStore
from vidkit.io.paths import child

SMALL = ["--k", "2", "--num-c", "2", "--gmm-k", "4", "--fit-videos", "6", "--sketch-dim", "64"]


@pytest.fixture(scope="module")
def moving(tmp_path_factory) -> Path:
    """Frame store of 8 synth videos moving left, right, up or down (80 px, 18 frames)."""
    from vidkit.extract import frames as extraction
    from vidkit.io import synth
    from vidkit.io.annotations import load_annotations

    root = tmp_path_factory.mktemp("idt_synth")
    synth.make_dataset(
        root / "data", synth.SynthConfig(classes=4, train_per_class=2, test_per_class=0, frames=18, size=80)
    )
    path = root / "frames.h5"
    extraction.extract_frames(
        [root / "data" / "videos"], path, annotations=load_annotations(root / "data" / "splits", "ucf101")
    )
    return path


def test_frame_store_to_clusters_store(runner, moving, tmp_path):
    out = tmp_path / "c.h5"
    compact = tmp_path / "trajectories.h5"
    result = runner.invoke(
        app, ["cluster-idt", str(moving), "-o", str(out), *SMALL, "--trajectories-h5", str(compact), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["videos"], summary["clustered"], summary["failed"], summary["dim"]) == (8, 8, 0, 64)
    from vidkit.io.trajectories import read_h5

    assert sum(len(rows) for rows in read_h5(compact).values()) == summary["trajectories"] > 0
    clusters = read_clusters(out)
    ids = list(FrameStore(moving).table()["id"])
    assert clusters.video_ids == ids and clusters.labels.shape == (2, 8) and clusters.ok.all()
    assert clusters.labels_for(ids[::-1]).tolist() == clusters.labels[:, ::-1].tolist()
    assert clusters.features.shape == (8, 64) and clusters.centroids.shape == (2, 2, 64)
    assert np.allclose(np.linalg.norm(clusters.features, axis=1), 1.0, atol=0.35)  # sketch keeps norms ~1
    assert clusters.encoder.sketch_buckets.shape[0] == clusters.encoder.fv_dim
    assert clusters.config["k"] == 2 and clusters.seeds.tolist() == [1234, 1235]
    # The trajectory files are the release's text rows, one per video, named by id.
    rows = np.loadtxt(child(out.with_name("c.h5.work") / "trajectories", ids[0], ".txt.gz"), ndmin=2)
    assert rows.shape[1] == 436 and len(rows) > 0


def test_a_bad_video_is_recorded_and_skipped(runner, moving, tmp_path):
    videos = sorted((moving.parent / "data" / "videos").rglob("*.mp4"))[:4]
    bogus = tmp_path / "bogus.mp4"
    bogus.write_text("not a video")
    out = tmp_path / "c.h5"
    args = ["cluster-idt", *map(str, videos), str(bogus), "-o", str(out), *SMALL, "--fit-videos", "4", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["failed"] == 1
    clusters = read_clusters(out)
    assert clusters.video_ids[-1] == "bogus" and not clusters.ok[-1] and (clusters.labels[:, -1] == -1).all()
    assert clusters.failures[0][0] == "bogus" and "Error" in clusters.failures[0][1]


def test_more_clusters_than_videos_is_one_error_line(runner, moving, tmp_path):
    result = runner.invoke(app, ["cluster-idt", str(moving), "-o", str(tmp_path / "c.h5"), "--k", "50"])
    assert result.exit_code == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == "error: cannot make 50 clusters from 8 video(s): pass --k 8 or less, or add videos"
    )
    assert not (tmp_path / "c.h5").exists()


def test_resume_after_a_kill(moving, tmp_path):
    out = tmp_path / "c.h5"
    folder = out.with_name("c.h5.work") / "trajectories"
    command = [sys.executable, "-m", "vidkit", "cluster-idt", str(moving), "-o", str(out), *SMALL]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(folder.glob("*.txt.gz"))) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    done_before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.txt.gz")}
    assert 2 <= len(done_before) < 8 and not out.exists()
    assert not list(folder.glob("*.tmp"))  # atomic writes: nothing half-written is left as a result
    rerun = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["clustered"] == 8
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.txt.gz")}
    assert all(after[name] == mtime for name, mtime in done_before.items())  # not recomputed
    assert len(after) == 8 and read_clusters(out).labels.shape == (2, 8)


def test_precomputed_densetrackstab_output_goes_straight_to_the_next_stages(runner, tmp_path):
    from tests.conftest import SHARED_DATA
    from vidkit.io import trajectories as tio

    reference = SHARED_DATA / "idt_reference" / "person01_boxing_d1.gz"
    precomputed = tmp_path / "idt"
    precomputed.mkdir()
    videos = []
    for name in ("kth_a", "kth_b"):
        (precomputed / f"{name}.gz").write_bytes(reference.read_bytes())
        videos.append(tmp_path / f"{name}.avi")
        videos[-1].write_bytes(b"never decoded: its trajectories are given")
    out = tmp_path / "c.h5"
    result = runner.invoke(
        app,
        [
            "cluster-idt",
            *map(str, videos),
            "-o",
            str(out),
            "--trajectories",
            str(precomputed),
            "--k",
            "1",
            "--num-c",
            "1",
            "--gmm-k",
            "4",
            "--sketch-dim",
            "32",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["clustered"] == 2
    copied = tio.read_text(out.with_name("c.h5.work") / "trajectories" / "kth_a.txt.gz")
    assert np.allclose(copied, tio.read_text(reference), rtol=1e-6)
    clusters = read_clusters(out)
    assert np.allclose(clusters.features[0], clusters.features[1])  # same trajectories, same feature


def test_the_frame_store_is_never_the_output(runner, moving):
    result = runner.invoke(app, ["cluster-idt", str(moving), "-o", str(moving), "--k", "2"])
    assert result.exit_code == 2 and "is also an input" in result.stderr
    assert FrameStore(moving).num_videos == 8


def test_too_few_trajectories_for_the_gmm_is_one_error_line(runner, moving, tmp_path):
    result = runner.invoke(
        app,
        [
            "cluster-idt",
            str(moving),
            "-o",
            str(tmp_path / "c.h5"),
            "--k",
            "2",
            "--fit-videos",
            "1",
            "--gmm-k",
            "100000",
        ],
    )
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot fit the Fisher-vector model on 1 video(s)") and "lower --gmm-k" in last
