"""VINCE's Kinetics LSTM probe: shapes, an order-dependent toy task, the feature cache, the CLI."""

from __future__ import annotations

import json

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from vidkit import checkpoint as ckpt
from vidkit.io.features import FeatureStore
from vidkit.tasks import lstm_sequences
from vidkit.tasks.frame_features import FrameSequences


def test_probe_maps_sequences_to_logits():
    model = lstm_sequences.LstmProbe(dim=6, num_classes=4)
    assert model.lstm.hidden_size == 512 and model.lstm.num_layers == 1 and model.lstm.batch_first
    assert model(torch.randn(3, 10, 6)).shape == (3, 4)


def test_frame_steps_follow_the_videos_fps():
    np.testing.assert_array_equal(
        lstm_sequences.frame_steps(np.array([30.0, 10.0, 25.0, 4.0]), 10.0, None), [3, 1, 2, 1]
    )
    np.testing.assert_array_equal(lstm_sequences.frame_steps(np.array([30.0, 10.0]), 10.0, 4), [4, 4])


def _ordered_sequences(videos_per_class=16, frames=20, seed=0):
    """Class 0 ramps from one feature vector to another, class 1 plays the same frames backwards:
    equal frame sets (and equal means over a whole video), different order."""
    rng = np.random.default_rng(seed)
    rows, video_index, starts, labels = [], [], [], []
    for video in range(2 * videos_per_class):
        label = video % 2
        t = np.linspace(0.0, 1.0, frames)
        ramp = np.stack([t, 1 - t, rng.normal(0, 0.05, frames), rng.normal(0, 0.05, frames)], axis=1)
        rows.append(ramp[::-1] if label else ramp)
        video_index += [video] * frames
        starts += list(range(frames))
        labels.append(label)
    features = np.concatenate(rows).astype(np.float32)
    n = len(features)
    store = FeatureStore(
        features,
        np.array(video_index),
        np.array([str(v) for v in video_index], dtype=object),
        np.array(starts),
        np.array(starts),
        np.repeat(labels, frames),
        {},
    )
    return FrameSequences.from_store(store), np.arange(len(labels)), np.array(labels), n


def test_lstm_learns_order_that_a_mean_pooled_probe_cannot_see():
    sequences, videos, labels, _ = _ordered_sequences()
    train, test = videos[:24], videos[24:]
    config = lstm_sequences.LstmProbeConfig(
        clip_len=10,
        stride=1,
        hidden=32,
        epochs=25,
        batch_size=8,
        milestones=(0.8,),
        test_clips=4,
        device="cpu",
        amp=False,
    )
    steps = np.ones(len(videos), dtype=np.int64)
    model = lstm_sequences.train_probe(sequences, (train, labels[train], steps[train]), 2, config, torch.device("cpu"))
    scores = lstm_sequences.score(model, sequences, test, labels[test], steps[test], config, torch.device("cpu"))
    assert scores.clip_top1 == 1.0 and scores.top1 == 1.0 and scores.videos == len(test)

    def mean_pooled(vids):  # each video's test clips, averaged over time
        items = lstm_sequences.test_items(sequences, vids, steps[vids], config.clip_len, config.test_clips)
        return np.stack([sequences.sequence(v, s, config.clip_len, k).mean(0) for v, s, k in items])

    pooled = LogisticRegression().fit(mean_pooled(train), np.repeat(labels[train], config.test_clips))
    accuracy = pooled.score(mean_pooled(test), np.repeat(labels[test], config.test_clips))
    assert accuracy <= 0.75  # the clip means of both classes are the same set of vectors


def test_sequences_repeat_the_last_frame_of_a_short_video():
    sequences, *_ = _ordered_sequences(videos_per_class=1, frames=5)
    clip = sequences.sequence(0, 2, 4, 2)  # frames 2, 4, 4, 4
    np.testing.assert_array_equal(clip, sequences.features[sequences.rows[0][[2, 4, 4, 4]]])


def test_cli_round_trip_reuses_the_feature_cache(synth_frames, runner, tmp_path):
    from vidkit.checkpoint.backbone import load_backbone
    from vidkit.cli.app import app

    out = tmp_path / "kinetics.pt"
    args = ["finetune", str(synth_frames), "--backbone", "tiny2d", "--probe", "kinetics-lstm", "-o", str(out)]
    args += ["--epochs", "2", "--batch-size", "4", "--size", "32", "--workers", "0", "--device", "cpu", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"kinetics_top1", "kinetics_video_top1", "test_top1", "clip_top1", "features"} <= set(summary)
    assert summary["kinetics_top1"] == summary["clip_top1"] and summary["test_videos"] == 3
    cache = tmp_path / "kinetics.features.h5"
    assert summary["features"] == str(cache)
    saved = ckpt.load(out)
    assert saved.method == "lstm-probe" and saved.hparams["clip_len"] == 10 and saved.hparams["epochs"] == 2
    assert saved.head["lstm.weight_hh_l0"].shape == (4 * 512, 512) and saved.head["fc.weight"].shape == (3, 512)
    for key, value in load_backbone(None, "tiny2d", seed=0).model.state_dict().items():
        assert torch.equal(saved.backbone[key], value), key  # frozen: weights and BN statistics as built
    made = cache.stat().st_mtime_ns
    again = runner.invoke(app, [*args, "--force"])
    assert again.exit_code == 0, again.output
    assert cache.stat().st_mtime_ns == made  # the per-frame features were read back, not recomputed
    assert json.loads(again.stdout)["kinetics_top1"] == summary["kinetics_top1"]
    tested = runner.invoke(app, ["finetune", str(out), str(synth_frames), "--probe", "kinetics-lstm", "--test-only"])
    assert tested.exit_code == 0, tested.output
    assert f"video top-1 {summary['kinetics_video_top1'] * 100:.2f}%" in tested.stdout
    assert cache.stat().st_mtime_ns == made  # test-only found the probe's feature cache too


def test_a_killed_probe_resumes_to_the_same_result(synth_frames, runner, tmp_path, monkeypatch):
    from tests.conftest import dying_after
    from vidkit.cli.app import app

    def probe(out, *extra):
        args = ["finetune", str(synth_frames), "--backbone", "tiny2d", "--probe", "kinetics-lstm", "-o", str(out)]
        args += ["--epochs", "3", "--batch-size", "4", "--size", "32", "--workers", "0", "--device", "cpu"]
        args += ["--features", str(tmp_path / "features.h5"), *extra]
        return runner.invoke(app, args)

    whole = probe(tmp_path / "whole.pt", "--json")
    assert whole.exit_code == 0, whole.output
    real_save = ckpt.save
    monkeypatch.setattr(ckpt, "save", dying_after(real_save, 2))  # killed after epoch 2 was saved
    assert probe(tmp_path / "cut.pt").exit_code == 130
    monkeypatch.setattr(ckpt, "save", real_save)
    assert ckpt.load(tmp_path / "cut.pt").training["epoch"] == 2
    assert probe(tmp_path / "cut.pt").exit_code == 2  # not overwritten without --resume
    changed = probe(tmp_path / "cut.pt", "--resume", "--lr", "0.1")
    assert changed.exit_code == 2 and "lr" in changed.output
    resumed = probe(tmp_path / "cut.pt", "--resume", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["kinetics_top1"] == json.loads(whole.stdout)["kinetics_top1"]
    a, b = ckpt.load(tmp_path / "whole.pt"), ckpt.load(tmp_path / "cut.pt")
    assert b.training["complete"] and all(torch.equal(a.head[k], b.head[k]) for k in a.head)
    finished = probe(tmp_path / "cut.pt", "--resume")
    assert finished.exit_code == 2 and "finished" in finished.output
