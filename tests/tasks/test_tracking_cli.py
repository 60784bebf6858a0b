"""`vidkit track train` / `track eval` round trip on synth sequences, and the tracker beating the centre prior."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.conftest import dying_after
from vidkit.cli.app import app
from vidkit.io.synth_tracking import TrackingSynthConfig, make_tracking

TOY = ["--exemplar-size", "32", "--instance-size", "64", "--device", "cpu", "--workers", "0"]


@pytest.fixture(scope="module")
def sequences(tmp_path_factory):
    out = tmp_path_factory.mktemp("seqs")
    make_tracking(out, TrackingSynthConfig(train=2, test=2, frames=5, size=96, seed=1))
    return out


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_then_eval_round_trip(runner, sequences, tmp_path):
    tracker = tmp_path / "random-tiny2d-siamfc.pt"
    args = ["track", "train", "--backbone", "tiny2d", str(sequences / "got10k"), "-o", str(tracker)]
    trained = _json(runner.invoke(app, [*args, "--epochs", "1", "--batch-size", "10", *TOY, "--json"]))
    assert trained["checkpoint"] == str(tracker) and trained["steps"] == 5 and trained["pairs"] == 50
    saved = torch.load(tracker, weights_only=True)
    assert saved["method"] == "siamfc" and saved["hparams"]["siamfc"]["exemplar_sz"] == 32
    assert set(saved["head"]) == {"adapt_z.weight", "adapt_z.bias", "adapt_x.weight", "adapt_x.bias"}

    results = tmp_path / "results"
    scores = _json(
        runner.invoke(
            app,
            ["track", "eval", str(tracker), str(sequences / "otb"), "-o", str(results), "--device", "cpu", "--json"],
        )
    )
    assert (
        {"otb_precision", "otb_success", "fps"} <= set(scores) and scores["sequences"] == 2 and scores["frames"] == 10
    )
    assert 0 <= scores["otb_precision"] <= 1 and 0 <= scores["otb_success"] <= 1 and scores["fps"] > 0
    boxes = np.loadtxt(results / "Synth_000.txt", delimiter=",")
    assert boxes.shape == (5, 4) and np.loadtxt(results / "times" / "Synth_000_time.txt").shape == (5,)
    report = json.loads((results / "performance.json").read_text())
    assert report["otb_precision"] == scores["otb_precision"] and len(report["success_curve"]) == 21

    again = runner.invoke(app, [*args, "--epochs", "1", "--batch-size", "10", *TOY])
    assert again.exit_code == 2 and "exists" in again.output  # an existing tracker is not replaced silently


def test_a_killed_training_resumes_to_the_same_tracker(runner, sequences, tmp_path, monkeypatch):
    from vidkit import checkpoint as ckpt

    def train(out, *extra):
        args = ["track", "train", "--backbone", "tiny2d", str(sequences / "got10k"), "-o", str(out)]
        return runner.invoke(app, [*args, "--epochs", "3", "--batch-size", "10", *TOY, *extra])

    assert train(tmp_path / "whole.pt").exit_code == 0
    real_save = ckpt.save
    monkeypatch.setattr(ckpt, "save", dying_after(real_save, 2))  # killed after epoch 2 was saved
    assert train(tmp_path / "cut.pt").exit_code == 130
    monkeypatch.setattr(ckpt, "save", real_save)
    assert ckpt.load(tmp_path / "cut.pt").training["epoch"] == 2
    kept = train(tmp_path / "cut.pt")  # an existing run is not overwritten without --resume, and is named
    assert kept.exit_code == 2 and "an unfinished siamfc run (at epoch 2)" in kept.stderr, kept.stderr
    changed = train(tmp_path / "cut.pt", "--resume", "--lr", "0.1")
    assert changed.exit_code == 2 and "train" in changed.output  # other options: refused, run kept
    resumed = train(tmp_path / "cut.pt", "--resume", "--workers", "1", "--json")  # the loader may change
    assert _json(resumed)["steps"] == 15
    whole, cut = ckpt.load(tmp_path / "whole.pt"), ckpt.load(tmp_path / "cut.pt")
    assert cut.training["complete"] and all(torch.equal(whole.head[k], cut.head[k]) for k in whole.head)
    finished = train(tmp_path / "cut.pt", "--resume")
    assert finished.exit_code == 2 and "finished" in finished.output


def test_the_static_baseline_and_bad_inputs(runner, sequences, tmp_path):
    static = _json(
        runner.invoke(app, ["track", "eval", "--static", str(sequences / "otb"), "-o", str(tmp_path / "s"), "--json"])
    )
    assert static["tracker"] == "static" and 0 < static["otb_success"] < 20 / 21  # 20/21: a perfect tracker
    missing = runner.invoke(app, ["track", "eval", "--static", str(tmp_path / "nope"), "-o", str(tmp_path / "m")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    neither = runner.invoke(app, ["track", "eval", str(sequences / "otb"), "-o", str(tmp_path / "n")])
    assert neither.exit_code == 2
    no_list = runner.invoke(
        app, ["track", "train", "--backbone", "tiny2d", str(tmp_path), "-o", str(tmp_path / "t.pt"), *TOY]
    )
    assert no_list.exit_code == 1 and "list.txt" in no_list.output


def test_a_pretraining_checkpoint_is_no_tracker(runner, sequences, tmp_path):
    from vidkit import checkpoint as ckpt
    from vidkit.models import create_backbone

    path = tmp_path / "backbone.pt"
    ckpt.save(
        ckpt.Checkpoint("tiny2d", {}, create_backbone("tiny2d").state_dict(), ckpt.InputRecipe(), method="tce"), path
    )
    result = runner.invoke(app, ["track", "eval", str(path), str(sequences / "otb"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and "not a tracker" in result.output


@pytest.mark.slow
def test_a_trained_tracker_beats_the_centre_prior(runner, tmp_path):
    """Held-out synth sequences: SiamFC on a frozen random ResNet-18 (adapters trained on other
    sequences) beats a box that stays at the first frame's box, in precision and success."""
    data = tmp_path / "data"
    make_tracking(data, TrackingSynthConfig(train=8, test=4, frames=32, size=128, seed=0))
    tracker = tmp_path / "random-resnet18-siamfc.pt"
    toy = ["--epochs", "4", "--batch-size", "8", "--lr", "0.002", "--exemplar-size", "64", "--instance-size", "128"]
    train = ["track", "train", "--backbone", "resnet18", str(data / "got10k"), "-o", str(tracker), *toy]
    _json(runner.invoke(app, [*train, "--device", "cpu", "--workers", "0", "--json"]))
    siamfc = _json(
        runner.invoke(
            app,
            ["track", "eval", str(tracker), str(data / "otb"), "-o", str(tmp_path / "r"), "--device", "cpu", "--json"],
        )
    )
    static = _json(
        runner.invoke(app, ["track", "eval", "--static", str(data / "otb"), "-o", str(tmp_path / "s"), "--json"])
    )
    assert siamfc["otb_precision"] > static["otb_precision"] + 0.1
    assert siamfc["otb_success"] > static["otb_success"]
