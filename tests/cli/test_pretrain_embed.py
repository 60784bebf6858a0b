"""`vidkit pretrain` and `vidkit embed` through the CLI, and the pipeline synth -> extract -> pretrain -> embed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torchvision

from vidkit import checkpoint as ckpt
from vidkit.cli.app import app
from vidkit.io.features import read_features
from vidkit.io.frame_store import FrameStore


@pytest.fixture(scope="module")
def frames(synth_dir, tmp_path_factory):
    from typer.testing import CliRunner

    path = tmp_path_factory.mktemp("cli") / "frames.h5"
    result = CliRunner().invoke(
        app,
        [
            "extract-frames",
            str(synth_dir / "videos"),
            "-o",
            str(path),
            "--annotations",
            str(synth_dir / "splits"),
            "--dataset",
            "ucf101",
        ],
    )
    assert result.exit_code == 0, result.stderr
    return path


def _pretrain(runner, frames, out, *extra):
    return runner.invoke(
        app,
        [
            "pretrain",
            "--method",
            "tce",
            str(frames),
            "-o",
            str(out),
            "--backbone",
            "tiny2d",
            "--steps",
            "4",
            "--batch-size",
            "3",
            "--size",
            "32",
            "--workers",
            "0",
            "--json",
            *extra,
        ],
    )


def test_pipeline_pretrain_then_embed(runner, frames, tmp_path):
    result = _pretrain(runner, frames, tmp_path / "tce.pt")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (
        summary["steps"] == 4
        and np.isfinite(summary["final_loss"])
        and summary["checkpoint"] == str(tmp_path / "tce.pt")
    )
    assert summary["loss_curve"] == [[4, round(summary["final_loss"], 4)]]  # 4 steps log only the last
    saved = ckpt.load(tmp_path / "tce.pt")
    assert saved.method == "tce" and saved.input.size == 32 and saved.hparams["num_videos"] == 6  # train01 by default

    result = runner.invoke(
        app,
        [
            "embed",
            str(tmp_path / "tce.pt"),
            str(frames),
            "-o",
            str(tmp_path / "f.h5"),
            "--split",
            "test01",
            "--clips-per-video",
            "4",
            "--workers",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"store": str(tmp_path / "f.h5"), "rows": 12, "dim": 16}
    features = read_features(tmp_path / "f.h5")
    store = FrameStore(frames)
    test_ids = {store.video(int(i)).id for i in store.split("test01")}
    assert set(features.video_id) == test_ids and features.clip_start.tolist()[:4] == [0, 4, 7, 11]
    assert features.config["checkpoint"] == str(tmp_path / "tce.pt") and features.config["size"] == 32
    assert (features.label >= 0).all() and np.isfinite(features.features).all()


def test_resnet_checkpoint_loads_into_torchvision(runner, frames, tmp_path):
    result = runner.invoke(
        app,
        [
            "pretrain",
            str(frames),
            "-o",
            str(tmp_path / "r.pt"),
            "--backbone",
            "resnet18",
            "--steps",
            "1",
            "--batch-size",
            "3",
            "--size",
            "32",
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 0, result.stderr
    loaded = torchvision.models.resnet18().load_state_dict(ckpt.load(tmp_path / "r.pt").backbone, strict=False)
    assert set(loaded.missing_keys) == {"fc.weight", "fc.bias"} and not loaded.unexpected_keys


def test_embed_random_baseline_per_frame_and_modalities(runner, frames, tmp_path):
    result = runner.invoke(
        app,
        [
            "embed",
            str(frames),
            "--backbone",
            "tiny",
            "-o",
            str(tmp_path / "b.h5"),
            "--per-frame",
            "--clip-len",
            "4",
            "--size",
            "32",
            "--modality",
            "res",
            "--workers",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    features = read_features(tmp_path / "b.h5")
    assert len(features) == 9 * 12 and features.config["modality"] == "res"
    assert features.clip_end.max() == 11  # clips near the end repeat the last frame
    flowless = runner.invoke(
        app, ["embed", str(frames), "--backbone", "tiny", "-o", str(tmp_path / "u.h5"), "--modality", "u"]
    )
    assert flowless.exit_code == 1 and "needs flow" in flowless.stderr


def test_bad_inputs_are_one_line_errors(runner, frames, tmp_path):
    (tmp_path / "bogus.pt").write_text("nope")
    cases = [
        (["embed", str(tmp_path / "bogus.pt"), str(frames), "-o", str(tmp_path / "x.h5")], 1),
        (
            ["pretrain", str(frames), "-o", str(tmp_path / "y.pt"), "--backbone", "r3d", "--steps", "1"],
            2,
        ),  # 3D net, 2D method
        (["pretrain", str(frames), "-o", str(tmp_path / "y.pt"), "--backbone", "nope", "--steps", "1"], 2),
        (["pretrain", str(frames), "-o", str(tmp_path / "y.pt"), "--split", "test09", "--steps", "1"], 1),
        (
            [
                "pretrain",
                str(frames),
                "-o",
                str(tmp_path / "y.pt"),
                "--batch-size",
                "50",
                "--steps",
                "1",
                "--backbone",
                "tiny2d",
            ],
            1,
        ),
    ]
    for args, code in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    assert (
        runner.invoke(app, ["embed", str(frames), "-o", str(tmp_path / "z.h5")]).exit_code == 2
    )  # neither ckpt nor backbone


def test_resume_flag(runner, frames, tmp_path):
    assert _pretrain(runner, frames, tmp_path / "c.pt").exit_code == 0
    again = _pretrain(runner, frames, tmp_path / "c.pt", "--resume")
    assert again.exit_code == 1 and "already run 4 of 4 steps" in again.stderr
    more = runner.invoke(
        app,
        [
            "pretrain",
            str(frames),
            "-o",
            str(tmp_path / "c.pt"),
            "--backbone",
            "tiny2d",
            "--steps",
            "6",
            "--batch-size",
            "3",
            "--size",
            "32",
            "--workers",
            "0",
            "--resume",
            "--json",
        ],
    )
    assert more.exit_code == 0, more.stderr and json.loads(more.stdout)["steps"] == 6


def test_tensorboard_scalars(runner, frames, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = _pretrain(runner, frames, tmp_path / "t.pt", "--tensorboard", str(tmp_path / "tb"))
    assert result.exit_code == 0, result.stderr
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert {"train/loss", "train/lr", "train/samples_per_s"} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("train/loss")] == [4]


def test_embed_flow_modalities(runner, synth_dir, tmp_path):
    frames = tmp_path / "flow.h5"
    assert runner.invoke(app, ["extract-frames", str(synth_dir / "videos"), "-o", str(frames), "--flow"]).exit_code == 0
    for modality in ("u", "v"):
        result = runner.invoke(
            app,
            [
                "embed",
                str(frames),
                "--backbone",
                "tiny",
                "-o",
                str(tmp_path / f"{modality}.h5"),
                "--modality",
                modality,
                "--clip-len",
                "4",
                "--size",
                "32",
                "--clips-per-video",
                "2",
                "--workers",
                "0",
                "--json",
            ],
        )
        assert result.exit_code == 0, result.stderr
        features = read_features(tmp_path / f"{modality}.h5")
        assert len(features) == 18 and features.config["modality"] == modality and np.isfinite(features.features).all()


def test_loss_curve_keeps_first_and_last_evenly_spaced():
    from vidkit.pretrain import loss_curve

    losses = [(10 * i, float(i)) for i in range(101)]  # (step, loss) logged every 10 steps
    curve = loss_curve(losses, 11)
    assert [step for step, _ in curve] == [100 * i for i in range(11)]
    assert loss_curve(losses[:5], 11) == losses[:5]
