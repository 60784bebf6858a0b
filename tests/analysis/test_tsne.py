"""tsne: determinism, neighbourhoods kept, pictures and videos that decode, the three inputs, errors."""

from __future__ import annotations

import csv
import json

import av
import cv2
import numpy as np
import pytest
import torch

from vidkit import checkpoint as ckpt
from vidkit import viz
from vidkit.cli.app import app
from vidkit.errors import VidkitError
from vidkit.models import create_backbone
from vidkit.viz_inputs import from_array


def smooth_walk(n=150, dim=32, seed=0):
    """Features that change smoothly with time: a random walk."""
    return np.cumsum(np.random.default_rng(seed).normal(size=(n, dim)), axis=0).astype(np.float32)


def test_tsne_is_deterministic_for_a_seed():
    x = smooth_walk(80)
    a, b = (
        viz.fit_tsne(x, viz.TsneConfig(seed=3, iterations=250)),
        viz.fit_tsne(x, viz.TsneConfig(seed=3, iterations=250)),
    )
    assert a.shape == (80, 2) and np.array_equal(a, b)
    assert viz.fit_tsne(x[:5], viz.TsneConfig(iterations=100)).shape == (5, 2)  # perplexity clamped for short clips


def test_consecutive_frames_stay_near_each_other():
    coords = viz.fit_tsne(smooth_walk(), viz.TsneConfig(iterations=300, pca=10))
    consecutive = np.linalg.norm(coords[1:] - coords[:-1], axis=1).mean()
    pairs = np.random.default_rng(1).integers(0, len(coords), size=(2000, 2))
    random_pairs = np.linalg.norm(coords[pairs[:, 0]] - coords[pairs[:, 1]], axis=1).mean()
    assert consecutive < 0.25 * random_pairs


def _not_blank(path):
    image = cv2.imread(str(path))
    return image is not None and image.std() > 10


def test_npy_input_writes_picture_and_csv_coordinates(tmp_path, runner):
    np.save(tmp_path / "emb.npy", smooth_walk(60))
    result = runner.invoke(
        app,
        [
            "tsne",
            str(tmp_path / "emb.npy"),
            "-o",
            str(tmp_path / "map.png"),
            "--coords",
            "csv",
            "--iterations",
            "250",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary == {
        "output": str(tmp_path / "map.png"),
        "points": 60,
        "coordinates": str(tmp_path / "map.tsne.csv"),
        "color_by": "time",
    }
    assert _not_blank(tmp_path / "map.png")
    rows = list(csv.DictReader(open(tmp_path / "map.tsne.csv")))
    assert len(rows) == 60 and rows[5]["frame"] == "5"


def test_checkpoint_on_a_real_clip_writes_png_and_mp4(real_clips, tmp_path, runner):
    torch.manual_seed(0)
    ckpt.save(
        ckpt.Checkpoint(
            backbone_name="tiny2d",
            backbone_kwargs={},
            backbone=create_backbone("tiny2d").state_dict(),
            input=ckpt.InputRecipe(size=32),
            method="tce",
        ),
        tmp_path / "m.pt",
    )
    clip = real_clips["carphone_pristine"]
    for name in ("map.png", "map.mp4"):
        result = runner.invoke(
            app,
            [
                "tsne",
                "--checkpoint",
                str(tmp_path / "m.pt"),
                str(clip),
                "-o",
                str(tmp_path / name),
                "--iterations",
                "250",
                "--json",
            ],
        )
        assert result.exit_code == 0, result.stderr
    assert _not_blank(tmp_path / "map.png")
    with av.open(str(clip)) as source:
        expected = sum(1 for _ in source.decode(video=0))
    with av.open(str(tmp_path / "map.mp4")) as made:
        frames = [f.to_ndarray(format="rgb24") for f in made.decode(video=0)]
        fps = made.streams.video[0].average_rate
    assert len(frames) == expected == 120 and abs(float(fps) - 29.97) < 0.1
    assert not np.array_equal(frames[0], frames[60])  # the marker (and the source frame) move
    assert np.load(tmp_path / "map.tsne.npy").shape == (120, 2)


def test_feature_store_picture_coloured_by_class(synth_frames, tmp_path, runner):
    feats = tmp_path / "f.h5"
    result = runner.invoke(
        app,
        [
            "embed",
            "--backbone",
            "tiny2d",
            str(synth_frames),
            "-o",
            str(feats),
            "--per-frame",
            "--size",
            "32",
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(
        app, ["tsne", str(feats), "-o", str(tmp_path / "classes.png"), "--iterations", "250", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["color_by"] == "label" and _not_blank(tmp_path / "classes.png")
    one = runner.invoke(
        app,
        [
            "tsne",
            str(feats),
            "--video",
            "v_MoveLeft_g01_c01",
            "-o",
            str(tmp_path / "one.mp4"),
            "--iterations",
            "250",
            "--json",
        ],
    )
    assert one.exit_code == 0, one.stderr
    assert json.loads(one.stdout)["frames"] == 12
    several = runner.invoke(app, ["tsne", str(feats), "-o", str(tmp_path / "all.mp4")])
    assert several.exit_code == 1 and "one video at a time" in several.stderr


def test_unknown_output_and_bad_array_are_clear_errors(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros(5))
    with pytest.raises(VidkitError, match="shape"):
        from_array(tmp_path / "bad.npy")
    np.save(tmp_path / "ok.npy", smooth_walk(10))
    with pytest.raises(VidkitError, match="cannot write"):
        viz.render(from_array(tmp_path / "ok.npy"), tmp_path / "x.gif")
    with pytest.raises(VidkitError, match="source frames"):
        viz.render(from_array(tmp_path / "ok.npy"), tmp_path / "x.mp4", viz.TsneConfig(iterations=100))
    assert not (tmp_path / "x.mp4").exists()
