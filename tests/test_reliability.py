"""No input deletes, overwrites or poisons data (docs/reliability.md): one test per defect of issue 13."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from vidkit import checkpoint as ckpt
from vidkit.cli.app import app
from vidkit.io.features import read_features
from vidkit.io.frame_store import FrameStore
from vidkit.io.lock import output_lock


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_error_line(result, code: int | tuple[int, ...] = (1, 2)) -> str:
    codes = (code,) if isinstance(code, int) else code
    assert result.exit_code in codes, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def made(synth_dir, tmp_path_factory):
    """A frame store, a TCE checkpoint, a feature store and an index, made once for this module."""
    from typer.testing import CliRunner

    runner, root = CliRunner(), tmp_path_factory.mktemp("made")
    paths = {name: root / name for name in ("frames.h5", "tce.pt", "feats.h5", "gallery.index")}
    steps = [
        [
            "extract-frames",
            str(synth_dir / "videos"),
            "-o",
            str(paths["frames.h5"]),
            "--annotations",
            str(synth_dir / "splits"),
            "--dataset",
            "ucf101",
        ],
        [
            "pretrain",
            str(paths["frames.h5"]),
            "-o",
            str(paths["tce.pt"]),
            "--backbone",
            "tiny2d",
            "--steps",
            "2",
            "--batch-size",
            "3",
            "--size",
            "32",
            "--workers",
            "0",
        ],
        [
            "embed",
            str(paths["tce.pt"]),
            str(paths["frames.h5"]),
            "-o",
            str(paths["feats.h5"]),
            "--workers",
            "0",
            "--clips-per-video",
            "2",
        ],
        ["build-index", str(paths["feats.h5"]), "-o", str(paths["gallery.index"])],
    ]
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.stderr)
    return paths


# ------------------------------------------------------------------ 1 and 9: ids that become paths


def test_hostile_ids_never_delete_outside_the_output(runner, synth_dir, tmp_path):
    """`...mp4` has the id `..` and `..mp4` the id `.`: once `rmtree(root / "..")`, now escaped names."""
    video = next((synth_dir / "videos").rglob("*.mp4"))
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("...mp4", "..mp4", "a\tb\nc.mp4", "plain.mp4"):
        shutil.copy(video, inputs / name)
    (tmp_path / "precious.txt").write_text("keep me")
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract-frames", str(inputs), "-o", str(out), "--format", "folders", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["videos"] == 4
    assert (tmp_path / "precious.txt").read_text() == "keep me" and (inputs / "plain.mp4").exists()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "%2E",
        "%2E.",
        "a%5Ctb%5Cnc",
        "plain",
    ]  # id a\\tb\\nc, escaped
    rows = (out / "videos.tsv").read_text().splitlines()
    assert len(rows) == 4 and all(len(row.split("\t")) == 4 for row in rows)  # id, frames, label, source
    again = runner.invoke(app, ["extract-frames", str(inputs), "-o", str(out), "--format", "folders", "--json"])
    assert json.loads(again.stdout)["skipped"] == 4  # the escaped folders read back as the same ids


def test_folders_output_refuses_a_folder_it_did_not_write(runner, synth_dir, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    result = runner.invoke(app, ["extract-frames", str(synth_dir / "videos"), "-o", str(home), "--format", "folders"])
    assert "did not write" in _one_error_line(result, 2)
    forced = runner.invoke(
        app, ["extract-frames", str(synth_dir / "videos"), "-o", str(home), "--format", "folders", "--force"]
    )
    _one_error_line(forced, 1)
    assert (home / "thesis.tex").read_text() == "years of work"


# ------------------------------------------------------------------ 2: an output that is an input


@pytest.mark.parametrize("case", ["embed", "pretrain", "finetune", "build-index", "retrieve", "tsne", "extract"])
def test_an_output_that_is_an_input_is_a_usage_error(runner, made, case):
    f, p, feats, index = (str(made[k]) for k in ("frames.h5", "tce.pt", "feats.h5", "gallery.index"))
    args, victim = {
        "embed": (["embed", p, f, "-o", f], made["frames.h5"]),
        "pretrain": (["pretrain", f, "-o", f, "--steps", "1"], made["frames.h5"]),
        "finetune": (["finetune", p, f, "-o", f], made["frames.h5"]),
        "build-index": (["build-index", feats, "-o", feats], made["feats.h5"]),
        "retrieve": (["retrieve", index, feats, "--out", index], made["gallery.index"]),
        "tsne": (["tsne", feats, "-o", feats], made["feats.h5"]),
        "extract": (["extract-frames", p, "-o", p], made["tce.pt"]),
    }[case]
    before = _digest(victim)
    assert "also an input" in _one_error_line(runner.invoke(app, args), 2) or case == "tsne"
    assert _digest(victim) == before


def test_an_existing_output_of_another_kind_needs_force(runner, made, tmp_path):
    other = tmp_path / "other.h5"
    shutil.copy(made["frames.h5"], other)
    args = [
        "embed",
        str(made["tce.pt"]),
        str(made["frames.h5"]),
        "-o",
        str(other),
        "--workers",
        "0",
        "--clips-per-video",
        "1",
    ]
    assert "is a frame store" in _one_error_line(runner.invoke(app, args), 2)
    assert FrameStore(other).num_videos == 9
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    assert len(read_features(other)) == 9
    # another run's checkpoint is kept unless --resume or --force
    pretrain = [
        "pretrain",
        str(made["frames.h5"]),
        "-o",
        str(made["tce.pt"]),
        "--backbone",
        "tiny2d",
        "--steps",
        "1",
        "--batch-size",
        "3",
        "--size",
        "32",
        "--workers",
        "0",
    ]
    before = _digest(made["tce.pt"])
    assert "finished tce checkpoint" in _one_error_line(runner.invoke(app, pretrain), 2)
    assert _digest(made["tce.pt"]) == before


# ------------------------------------------------------------------ 3: nothing non-finite is kept


def test_a_checkpoint_with_an_infinite_buffer_is_never_written(tmp_path):
    from vidkit.models import create_backbone

    net = create_backbone("tiny2d")
    state = net.state_dict()
    name = next(k for k in state if k.endswith("running_var"))
    state[name][0] = float("inf")
    saved = ckpt.Checkpoint(backbone_name="tiny2d", backbone_kwargs={}, backbone=state, input=ckpt.InputRecipe())
    with pytest.raises(ckpt.NonFiniteError, match=name.replace(".", r"\.")):
        ckpt.save(saved, tmp_path / "poisoned.pt")
    assert not any(tmp_path.iterdir())


def test_divergence_stops_at_the_first_non_finite_model_and_keeps_the_last_finite_one(made, tmp_path):
    """IIC at --lr 1e6 kept a checkpoint with infinite BN `running_var`: now the save refuses it."""
    from vidkit.engine import train

    class Overflow(torch.nn.Module):
        """Finite losses; the BN buffer overflows after step 3 (as a diverging run does)."""

        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.BatchNorm1d(2)
            self.w = torch.nn.Parameter(torch.ones(1))
            self.steps = 0

        def forward(self, batch):
            self.steps += 1
            if self.steps > 3:
                self.backbone.running_var.fill_(float("inf"))
            return type("Out", (), {"loss": (self.w * batch["x"].mean()) ** 2, "metrics": {}})()

        def on_step_end(self, progress):
            pass

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return {"x": torch.tensor([float(i[1])])}  # the run sampler hands (epoch, index)

    out = tmp_path / "run.pt"

    def save(method, optimizer, position, final):
        ckpt.save(
            ckpt.Checkpoint(
                "tiny2d", {}, method.backbone.state_dict(), ckpt.InputRecipe(), training={"step": position.step}
            ),
            out,
        )

    config = train.TrainConfig(steps=10, batch_size=2, lr=0.01, checkpoint_every=2, workers=0, log_every=1)
    with pytest.raises(train.TrainingDivergedError, match="non-finite by step 4.*the checkpoint of step 2 is kept"):
        train.fit(Overflow(), Data(), config, device=torch.device("cpu"), save=save)
    assert ckpt.load(out).training["step"] == 2


def test_an_infinite_lr_claims_no_checkpoint(runner, made, tmp_path):
    args = [
        "pretrain",
        str(made["frames.h5"]),
        "-o",
        str(tmp_path / "x.pt"),
        "--lr",
        "inf",
        "--steps",
        "2",
        "--backbone",
        "tiny2d",
        "--size",
        "32",
        "--batch-size",
        "3",
        "--workers",
        "0",
    ]
    assert "not a finite number" in _one_error_line(runner.invoke(app, args), 2)
    assert not (tmp_path / "x.pt").exists()


def test_non_finite_features_are_refused_everywhere(runner, made, tmp_path):
    nan_store = tmp_path / "nan.h5"
    shutil.copy(made["feats.h5"], nan_store)
    with h5py.File(nan_store, "r+") as handle:
        handle["features"][3] = np.nan
    for args in (
        ["build-index", str(nan_store), "-o", str(tmp_path / "i.index")],
        ["retrieve", str(made["gallery.index"]), str(nan_store)],
        ["tsne", str(nan_store), "-o", str(tmp_path / "t.png")],
    ):
        assert "rows 3" in _one_error_line(runner.invoke(app, args), 1)
    np.save(tmp_path / "emb.npy", np.full((10, 4), np.inf))
    assert "NaN or infinite" in _one_error_line(
        runner.invoke(app, ["tsne", str(tmp_path / "emb.npy"), "-o", str(tmp_path / "e.png")]), 1
    )


def test_a_poisoned_checkpoint_is_refused_by_every_reader(runner, made, tmp_path):
    payload = torch.load(made["tce.pt"], weights_only=True)
    key = next(k for k in payload["backbone"] if k.endswith("running_var"))
    payload["backbone"][key][:] = float("inf")
    torch.save(payload, tmp_path / "poisoned.pt")  # what an older vidkit could keep
    for args in (
        ["embed", str(tmp_path / "poisoned.pt"), str(made["frames.h5"]), "-o", str(tmp_path / "f.h5")],
        ["finetune", str(tmp_path / "poisoned.pt"), str(made["frames.h5"]), "--test-only"],
    ):
        assert "NaN or infinite" in _one_error_line(runner.invoke(app, args), 1)
    assert not (tmp_path / "f.h5").exists()


# ------------------------------------------------------------------ 4, 5: odd file names, symlink loops


def test_a_non_utf8_name_is_stored_and_the_run_goes_on(synth_dir, tmp_path):
    from vidkit.extract import frames as extraction

    video = next((synth_dir / "videos").rglob("*.mp4"))
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(video, os.fsdecode(bytes(inputs) + b"/caf\xe9.mp4"))
    shutil.copy(video, inputs / "good.mp4")
    result = extraction.extract_frames([inputs], tmp_path / "f.h5")
    assert (result.videos, result.failed) == (2, 0)
    with FrameStore(tmp_path / "f.h5") as store:
        assert store.complete and sorted(store.table()["id"]) == ["caf\\xe9", "good"]
    assert extraction.extract_frames([inputs], tmp_path / "f.h5").skipped == 2


def test_symlink_loops_are_walked_once(synth_dir, tmp_path):
    from vidkit.extract import frames as extraction

    root = tmp_path / "in"
    shutil.copytree(synth_dir / "videos", root)
    (root / "loop").symlink_to(root)
    (root / "MoveLeft" / "up").symlink_to(root)
    (root / "again").symlink_to(root / "MoveLeft")
    items = extraction.discover_inputs([root])
    assert len(items) == 9 and len({i.video_id for i in items}) == 9


# ------------------------------------------------------------------ 6: one line, never a traceback


def test_bad_paths_and_stores_are_one_line_errors(runner, made, synth_dir, tmp_path):
    (tmp_path / "afile").write_text("x")
    damaged = tmp_path / "damaged.h5"
    with h5py.File(damaged, "w") as handle:
        handle.attrs["schema"] = "vidkit.frames/1"
        handle.attrs["config"] = "{}"
    feats_damaged = tmp_path / "feats_damaged.h5"
    with h5py.File(feats_damaged, "w") as handle:
        handle.attrs["schema"] = "vidkit.features/1"
    cases = [
        ["extract-frames", str(made["frames.h5"]), "-o", str(tmp_path / "afile" / "x.h5")],  # folder is a file
        ["pretrain", str(damaged), "-o", str(tmp_path / "p.pt"), "--steps", "1"],
        ["embed", str(made["tce.pt"]), str(damaged), "-o", str(tmp_path / "e.h5")],
        ["build-index", str(feats_damaged), "-o", str(tmp_path / "i.index")],
        ["tsne", str(feats_damaged), "-o", str(tmp_path / "t.png")],
        ["pretrain", "--method", "iic", str(made["frames.h5"]), "-o", str(tmp_path / "q.pt"), "--backbone", "tiny2d"],
    ]
    for args in cases:
        _one_error_line(runner.invoke(app, args))
    # a missing output folder is made, as every command does
    result = runner.invoke(
        app, ["extract-frames", str(synth_dir / "videos"), "-o", str(tmp_path / "new" / "dir" / "x.h5")]
    )
    assert result.exit_code == 0 and (tmp_path / "new" / "dir" / "x.h5").is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes every folder")
def test_unreadable_and_unwritable_folders_are_one_line_errors(runner, synth_dir, tmp_path):
    locked = tmp_path / "locked"
    shutil.copytree(synth_dir / "videos", locked)
    locked.chmod(0)
    readonly = tmp_path / "ro"
    readonly.mkdir(mode=0o500)
    try:
        _one_error_line(runner.invoke(app, ["extract-frames", str(locked), "-o", str(tmp_path / "x.h5")]), 1)
        _one_error_line(
            runner.invoke(app, ["extract-frames", str(synth_dir / "videos"), "-o", str(readonly / "x.h5")]), 1
        )
    finally:
        locked.chmod(0o700)


# ------------------------------------------------------------------ 7: concurrent runs


def test_a_second_run_on_one_output_is_refused(runner, made, tmp_path):
    out = tmp_path / "run.pt"
    with output_lock(out):
        result = runner.invoke(
            app,
            [
                "pretrain",
                str(made["frames.h5"]),
                "-o",
                str(out),
                "--steps",
                "1",
                "--backbone",
                "tiny2d",
                "--size",
                "32",
                "--batch-size",
                "3",
                "--workers",
                "0",
            ],
        )
        assert f"pid {os.getpid()}" in _one_error_line(result, 1)
        result = runner.invoke(app, ["extract-frames", str(made["frames.h5"]), "-o", str(out)])
        assert "another vidkit run" in _one_error_line(result, 1)
    assert not out.exists()


# ------------------------------------------------------------------ 8: workers die with their parent


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_killing_extraction_leaves_no_worker_behind(tmp_path):
    from vidkit.io import synth

    synth.make_dataset(
        tmp_path / "data", synth.SynthConfig(classes=2, train_per_class=6, test_per_class=0, frames=300, size=96)
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vidkit",
            "extract-frames",
            str(tmp_path / "data" / "videos"),
            "-o",
            str(tmp_path / "f.h5"),
            "--workers",
            "2",
            "--flow",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    for _ in range(600):  # wait (at most a minute) until both workers run
        workers = _children(proc.pid)
        if len(workers) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert len(workers) >= 2, "the workers never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(300):  # a hang guard, not a speed requirement
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"workers {alive} outlived their parent"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


# ------------------------------------------------------------------ 10: smaller contract slips


def test_usage_errors_exit_2(runner, made, tmp_path):
    f, p, index, feats = (str(made[k]) for k in ("frames.h5", "tce.pt", "gallery.index", "feats.h5"))
    for k in ("0", "-1", "abc"):
        assert runner.invoke(app, ["retrieve", index, feats, "--k", k]).exit_code == 2
    assert runner.invoke(app, ["finetune", p, f]).exit_code == 2  # no -o
    assert runner.invoke(app, ["embed", p, f, "-o", str(tmp_path / "e.h5"), "--device", "bogus"]).exit_code == 2
    result = runner.invoke(app, ["extract-frames", f, "-o", str(tmp_path / "x.h5"), "--size", "100000"])
    assert result.exit_code == 2 and "8192" in result.stderr


def test_a_pickled_object_is_named_in_one_line(runner, made, tmp_path):
    import argparse

    torch.save({"args": argparse.Namespace(lr=0.1), "state_dict": {}}, tmp_path / "paper.pt")
    line = _one_error_line(
        runner.invoke(app, ["embed", str(tmp_path / "paper.pt"), str(made["frames.h5"]), "-o", str(tmp_path / "e.h5")]),
        1,
    )
    assert "argparse.Namespace" in line and "weights_only" not in line


def test_resume_says_what_it_does_and_refuses_changed_options(runner, made, tmp_path):
    out = tmp_path / "r.pt"
    base = [
        "pretrain",
        str(made["frames.h5"]),
        "-o",
        str(out),
        "--backbone",
        "tiny2d",
        "--size",
        "32",
        "--batch-size",
        "3",
        "--workers",
        "0",
    ]
    first = runner.invoke(app, [*base, "--steps", "2", "--resume"])
    assert first.exit_code == 0 and "nothing to resume" in first.stderr
    changed = runner.invoke(app, [*base, "--steps", "4", "--resume", "--lr", "0.5"])
    assert "--lr 0.03" in _one_error_line(changed, 2)
    assert runner.invoke(app, [*base, "--steps", "4", "--resume"]).exit_code == 0  # a longer run is fine


def test_an_unfinished_finetune_is_not_silently_discarded(runner, made, tmp_path):
    out = tmp_path / "ft.pt"
    base = [
        "finetune",
        str(made["tce.pt"]),
        str(made["frames.h5"]),
        "-o",
        str(out),
        "--workers",
        "0",
        "--test-clips",
        "1",
        "--batch-size",
        "3",
    ]
    assert runner.invoke(app, [*base, "--epochs", "1"]).exit_code == 0
    saved = torch.load(out, weights_only=True)
    saved["training"]["complete"] = False  # as a run killed after its first epoch leaves it
    torch.save(saved, out)
    assert "unfinished finetune run" in _one_error_line(runner.invoke(app, [*base, "--epochs", "2"]), 2)
    assert runner.invoke(app, [*base, "--epochs", "2", "--force"]).exit_code == 0


def test_top_k_is_scored_only_up_to_the_gallery_size(runner, made):
    result = runner.invoke(app, ["retrieve", str(made["gallery.index"]), str(made["feats.h5"]), "--json"])
    summary = json.loads(result.stdout)
    assert summary["gallery"] == 9 and set(summary["topk"]) == {"1", "5"} and summary["skipped_k"] == [10, 20, 50]
    assert "only 9 items" in result.stderr
