"""`cluster-idt`'s work folder is tied to its input (issue 28, item 4), and a video without
trajectories fails at the trajectory stage (item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidkit.cli.app import app
from vidkit.io.clusters import read_clusters
from vidkit.io.frame_store import FrameStore

SMALL = ["--k", "2", "--num-c", "2", "--gmm-k", "4", "--fit-videos", "3", "--sketch-dim", "32"]


def _dataset(root: Path, seed: int) -> tuple[Path, Path]:
    """4 synth videos (ids v_MoveLeft_g01_c01, ...: the same for every seed) and their frame store."""
    from vidkit.extract import frames as extraction
    from vidkit.io import synth

    synth.make_dataset(
        root / "data", synth.SynthConfig(classes=4, train_per_class=1, test_per_class=0, frames=16, size=64, seed=seed)
    )
    store = root / "frames.h5"
    extraction.extract_frames([root / "data" / "videos"], store)
    return root / "data" / "videos", store


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Two different synth datasets whose videos have the same ids."""
    return {name: _dataset(tmp_path_factory.mktemp(f"idt_{name}"), seed) for name, seed in (("a", 1), ("b", 2))}


def _run(runner, *args):
    result = runner.invoke(app, ["cluster-idt", *map(str, args), "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), " ".join(result.stderr.split())  # log lines unwrapped


def test_a_work_folder_from_another_store_with_the_same_ids_gives_a_fresh_run(runner, two_inputs, tmp_path):
    (_, store_a), (_, store_b) = two_inputs["a"], two_inputs["b"]
    ids = list(FrameStore(store_a).table()["id"])
    assert ids == list(FrameStore(store_b).table()["id"])  # same ids, other videos
    out, fresh = tmp_path / "c.h5", tmp_path / "fresh.h5"
    _run(runner, store_a, "-o", out, *SMALL)
    summary, stderr = _run(runner, store_b, "-o", out, *SMALL)  # same work folder, other input
    assert "4 video(s)" in stderr and "made from another input" in stderr and "computing them again" in stderr
    assert (summary["clustered"], summary["failed"]) == (4, 0)
    expected, _ = _run(runner, store_b, "-o", fresh, *SMALL)
    reused, again = read_clusters(out), read_clusters(fresh)
    assert reused.video_ids == again.video_ids == ids
    assert np.array_equal(reused.features, again.features)
    assert np.array_equal(reused.labels, again.labels) and np.array_equal(reused.centroids, again.centroids)
    # And the rerun on the same input still resumes: nothing is computed again.
    _, stderr = _run(runner, store_b, "-o", out, *SMALL)
    assert "0 of 4 videos to do (4 done before)" in stderr and "computing them again" not in stderr
    assert "model: reusing" in stderr


def test_video_files_with_the_same_names_but_other_content_are_tracked_again(runner, two_inputs, tmp_path):
    """Video files as input: the record holds a digest of each file's content, not its name."""
    from vidkit.io import trajectories as tio

    files = {name: sorted(two_inputs[name][0].rglob("*.mp4"))[:2] for name in ("a", "b")}
    out, fresh = tmp_path / "c.h5", tmp_path / "fresh.h5"
    stop = ["--stop-after", "trajectories", *SMALL]
    _run(runner, *files["a"], "-o", out, *stop)
    _, stderr = _run(runner, *files["b"], "-o", out, *stop)
    assert "2 video(s)" in stderr and "computing them again" in stderr
    _run(runner, *files["b"], "-o", fresh, *stop)
    for path in files["b"]:
        name = f"{path.stem}.txt.gz"
        ours = tio.read_text(out.with_name("c.h5.work") / "trajectories" / name)
        assert np.array_equal(ours, tio.read_text(fresh.with_name("fresh.h5.work") / "trajectories" / name))


def test_a_video_without_trajectories_fails_at_the_trajectory_stage(runner, two_inputs, tmp_path):
    from vidkit.idt import inputs
    from vidkit.io.synth import write_video

    blank = tmp_path / "blank.mp4"
    write_video(blank, np.full((16, 64, 64, 3), 128, np.uint8))  # constant: no trajectory survives
    videos = [*sorted(two_inputs["a"][0].rglob("*.mp4"))[:3], blank]
    out = tmp_path / "c.h5"
    work = out.with_name("c.h5.work")
    small = ["--num-c", "1", "--gmm-k", "4", "--fit-videos", "3", "--sketch-dim", "32"]

    summary, stderr = _run(runner, *videos, "-o", out, "--k", "3", "--stop-after", "trajectories", *small)
    assert summary["failed"] == 1  # counted by the stage that finds it
    assert "blank failed: no trajectory survived the pruning" in stderr
    assert (work / "failed" / "blank.txt").read_text().strip() == inputs.NO_TRAJECTORIES
    assert not (work / "trajectories" / "blank.txt.gz").exists()

    # Excluded from the k check: 4 videos but 3 with trajectories cannot make 4 clusters, and the
    # run says so before fitting the model.
    result = runner.invoke(app, ["cluster-idt", *map(str, videos), "-o", str(out), "--k", "4", *small])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: cannot make 4 clusters from 3 video(s): pass --k 3 or less, or add videos"
    )
    assert not (work / "encoder.h5").exists()

    summary, stderr = _run(runner, *videos, "-o", out, "--k", "3", *small)
    assert (summary["videos"], summary["clustered"], summary["failed"]) == (4, 3, 1)
    assert "0 of 4 videos to do (4 done before, 1 of them without trajectories)" in stderr
    assert not (work / "fv" / "blank.npy").exists()  # never encoded
    clusters = read_clusters(out)
    assert clusters.failures == [("blank", inputs.NO_TRAJECTORIES)]
    assert not clusters.ok[-1] and (clusters.labels[:, -1] == -1).all()


def test_file_digest_reads_the_ends_and_the_size(tmp_path):
    from vidkit.idt import inputs

    body = bytes(range(256)) * 1024  # 256 KiB
    files = {"same": body, "copy": body, "last byte": body[:-1] + b"\x00", "first byte": b"\x01" + body[1:]}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    digests = {name: inputs.file_digest(tmp_path / name) for name in files}
    assert digests["same"] == digests["copy"]  # content, not name or place
    assert len({digests["same"], digests["last byte"], digests["first byte"]}) == 3
