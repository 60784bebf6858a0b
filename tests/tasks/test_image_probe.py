"""VINCE's image probes: presets, a frozen backbone (weights and BN statistics), the MLP option, the CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from vidkit import checkpoint as ckpt
from vidkit.io.frame_store import StoreConfig
from vidkit.io.frame_store_writer import EncodedVideo, FrameStoreWriter
from vidkit.io.image import encode_image
from vidkit.tasks import finetune as finetuning
from vidkit.tasks import image_probe

COLOURS = np.array([[230, 30, 30], [30, 230, 30], [30, 30, 230]], dtype=np.float64)
SUN_CLASSES = ["a/abbey", "b/bedroom", "c/canyon"]


def write_image_store(path, per_class=(6, 3), size=20, seed=0):
    """One-frame videos of three colours (the classes), sourced like SUN397's `all_data/<class>/<file>`,
    with `train01`/`test01` splits: `(path, {split: [(class path, file name)]})`."""
    rng = np.random.default_rng(seed)
    videos, labels, lists, indices = [], [], {"train01": [], "test01": []}, {"train01": [], "test01": []}
    for label, class_path in enumerate(SUN_CLASSES):
        for i in range(sum(per_class)):
            image = np.clip(COLOURS[label] + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
            name = f"sun_{label}{i:02d}abcdefghijklmn.jpg"
            videos.append(
                EncodedVideo(
                    f"{class_path}/{name[:-4]}",
                    f"/data/SUN397/{class_path}/{name}",
                    1.0,
                    size,
                    size,
                    [encode_image(image[..., ::-1], "raw")],
                )
            )
            split = "train01" if i < per_class[0] else "test01"
            lists[split].append((class_path, name))
            indices[split].append(len(labels))
            labels.append(label)
    with FrameStoreWriter(path, StoreConfig(codec="raw")) as writer:
        for video in videos:
            writer.add_video(video)
        writer.finish([c.split("/")[-1] for c in SUN_CLASSES], np.array(labels), indices)
    return path, lists


@pytest.fixture(scope="module")
def image_store(tmp_path_factory):
    return write_image_store(tmp_path_factory.mktemp("images") / "images.h5")


def _config(**kw):
    """The sun397 preset at toy size."""
    base = finetuning.FinetuneConfig(workers=0, device="cpu", amp=False, epochs=3, size=16, batch_size=6)
    return image_probe.preset_config("sun397", dataclasses.replace(base, **kw), {"epochs", "size", "batch_size", *kw})


def test_presets_hold_the_seeds_settings_and_given_options_win():
    base = finetuning.FinetuneConfig(epochs=7, lr=0.5)
    imagenet = image_probe.preset_config("imagenet", base, set())
    assert (imagenet.optimizer, imagenet.lr, imagenet.momentum, imagenet.weight_decay) == ("sgd", 30.0, 0.9, 0.0)
    assert (imagenet.epochs, imagenet.milestones, imagenet.batch_size, imagenet.size) == (100, (0.6, 0.8), 256, 224)
    assert imagenet.linear and imagenet.task == "frames" and imagenet.val_fraction == 0
    sun = image_probe.preset_config("sun397", base, {"epochs", "lr", "linear"})
    assert (sun.optimizer, sun.epochs, sun.lr, sun.milestones) == ("adam", 7, 0.5, (0.25, 0.5, 0.75))
    assert sun.linear  # a probe's backbone is always frozen
    mlp = image_probe.preset_config("imagenet", finetuning.FinetuneConfig(head="mlp"), set())
    assert mlp.lr == pytest.approx(0.3)  # the seed ran its MLP head at 0.01x
    with pytest.raises(Exception, match="unknown image probe"):
        image_probe.preset_config("places", base, set())


def test_probe_leaves_the_backbone_and_its_bn_statistics_untouched(image_store, tmp_path):
    from vidkit.checkpoint.backbone import load_backbone

    frames, _ = image_store
    out = tmp_path / "probe.pt"
    result = image_probe.image_probe(frames, out, dataset="sun397", backbone="tiny2d", config=_config())
    before = load_backbone(None, "tiny2d", seed=0).model.state_dict()
    saved = ckpt.load(out)
    assert any("running_mean" in k for k in saved.backbone)
    for key, value in before.items():
        assert torch.equal(saved.backbone[key], value), key
    assert saved.head["fc.weight"].shape == (3, 16) and saved.head["fc.bias"].shape == (3,)
    summary = result.summary()
    assert summary["sun397_top1"] == summary["test_top1"] and summary["test_videos"] == 9
    assert summary["sun397_top1"] >= 2 / 3  # three solid colours: separable even by a random net's features


def _mlp_head(head):
    assert head["fc.0.weight"].shape == (16, 16) and head["fc.2.weight"].shape == (3, 16)


def _norm_linear_head(head):
    assert head["fc.0.running_var"].shape == (16,) and head["fc.1.weight"].shape == (3, 16)
    assert not torch.equal(head["fc.0.running_mean"], torch.zeros(16))  # it learnt the features' statistics


@pytest.mark.parametrize("name,check", [("mlp", _mlp_head), ("norm-linear", _norm_linear_head)])
def test_other_heads_train_and_test_again(image_store, tmp_path, name, check):
    frames, _ = image_store
    out = tmp_path / f"{name}.pt"
    config = _config(head=name, epochs=2)
    trained = image_probe.image_probe(frames, out, dataset="sun397", backbone="tiny2d", config=config)
    check(ckpt.load(out).head)
    again = image_probe.image_probe(frames, None, dataset="sun397", checkpoint=out, config=config, test_only=True)
    assert again.summary()["sun397_top1"] == trained.summary()["sun397_top1"]


def _offset_features(seed: int, offset: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`(90, 16)` features of 3 classes (a 0.3 step on one feature each, noise 0.1) on top of a common
    offset rising to `offset` across the features, as pooled ReLU features share one; labels `(90,)`."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(90) % 3
    signal = torch.randn(90, 16, generator=generator) * 0.1 + 0.3 * torch.nn.functional.one_hot(labels, 16)
    return signal + torch.linspace(0, offset, 16), labels


@pytest.mark.parametrize("offset", [10.0, 100.0])
def test_norm_linear_head_fits_features_with_a_common_offset(offset):
    """The same SGD fits held-out data under norm-linear and stays at chance under linear."""
    from vidkit.tasks.classifier import make_head

    (train, train_labels), (test, test_labels) = _offset_features(0, offset), _offset_features(1, offset)
    accuracy = {}
    for name in ("linear", "norm-linear"):
        torch.manual_seed(0)
        head = make_head(name, 16, 3)
        optimizer = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
        for _ in range(100):
            for start in range(0, 90, 15):
                loss = torch.nn.functional.cross_entropy(
                    head(train[start : start + 15]), train_labels[start : start + 15]
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        head.eval()
        with torch.no_grad():
            logits = head(test)
        accuracy[name] = float((logits.argmax(1) == test_labels).float().mean()) if logits.isfinite().all() else 0.0
    assert accuracy["norm-linear"] > 0.9
    assert accuracy["linear"] < 0.5


def test_cli_sun397_from_official_split_files(image_store, runner, tmp_path):
    from vidkit.cli.app import app

    frames, lists = image_store
    splits = tmp_path / "train_test"
    splits.mkdir()
    for name, key in (("Training_01.txt", "train01"), ("Testing_01.txt", "test01")):
        # The last line has no newline: VINCE's reader chopped a real character there.
        (splits / name).write_text("\n".join(f"/{c}/{f}" for c, f in lists[key]))
    (splits / "ClassName.txt").write_text("".join(f"/{c}\n" for c in SUN_CLASSES))
    args = ["finetune", str(frames), "--backbone", "tiny2d", "--probe", "sun397", "--sun397-splits", str(splits)]
    args += ["-o", str(tmp_path / "sun.pt"), "--epochs", "2", "--size", "16", "--batch-size", "6"]
    result = runner.invoke(app, [*args, "--workers", "0", "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"sun397_top1", "sun397_top5", "test_top1", "test_top5", "checkpoint"} <= set(summary)
    assert summary["test_videos"] == 9 and summary["probe"] == "sun397"
    saved = ckpt.load(tmp_path / "sun.pt")
    assert saved.training["classes"] == SUN_CLASSES
    assert (saved.hparams["optimizer"], saved.hparams["epochs"], saved.hparams["linear"]) == ("adam", 2, True)


def test_cli_refuses_probe_options_without_a_probe(image_store, runner, tmp_path):
    from vidkit.cli.app import app

    frames, _ = image_store
    args = [
        "finetune",
        str(frames),
        "--backbone",
        "tiny2d",
        "--sun397-splits",
        str(tmp_path),
        "-o",
        str(tmp_path / "x.pt"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--probe" in result.output
