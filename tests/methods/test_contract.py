"""Every registered method keeps the contract: a new method gets these tests by being registered.

With a tiny backbone of the kind it trains, on synth frames: a few steps with a finite loss, a
`weights_only` checkpoint whose backbone reloads strictly into a fresh net, hparams that hold its
options, and a resume that reproduces an uninterrupted run exactly.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from vidkit import checkpoint as ckpt
from vidkit import pretrain as pretraining
from vidkit.methods import method_class, method_names
from vidkit.models import create_backbone

TINY = {2: "tiny2d", 3: "tiny"}


class Killed(Exception):
    pass


def _kill_at(step):
    def progress(done, total, loss, rate):
        if done == step:
            raise Killed  # as a kill after step `step - 1`'s checkpoint

    return progress


def _run(frames, out, name, steps, resume=False, progress=None):
    cls = method_class(name)
    config = pretraining.PretrainConfig(
        method=name,
        backbone=TINY[cls.backbone_dims],
        steps=steps,
        batch_size=3,
        size=32,
        clip_len=4 if cls.backbone_dims == 3 else None,
        workers=0,
        checkpoint_every=2,
        log_every=1,
        seed=3,
    )
    return pretraining.pretrain(frames, out, config, resume=resume, progress=progress)


@pytest.mark.parametrize("name", method_names())
def test_every_method_trains_saves_and_resumes_exactly(name, synth_frames, tmp_path):
    straight = _run(synth_frames, tmp_path / "straight.pt", name, 4)
    assert all(math.isfinite(loss) for _, loss in straight.losses) and len(straight.losses) == 4

    payload = torch.load(tmp_path / "straight.pt", weights_only=True)  # tensors and plain values only
    saved = ckpt.load(tmp_path / "straight.pt")
    fresh = create_backbone(saved.backbone_name)
    fresh.load_state_dict(saved.backbone, strict=True)
    assert payload["method"] == name and saved.training["step"] == 4
    options = dataclasses.asdict(method_class(name).Options())
    assert set(options) <= set(saved.hparams)

    with pytest.raises(Killed):
        _run(synth_frames, tmp_path / "resumed.pt", name, 4, progress=_kill_at(3))
    assert ckpt.load(tmp_path / "resumed.pt").training["step"] == 2
    resumed = _run(synth_frames, tmp_path / "resumed.pt", name, 4, resume=True)
    assert resumed.losses == straight.losses[2:]
    again = ckpt.load(tmp_path / "resumed.pt")
    for key, value in saved.backbone.items():
        torch.testing.assert_close(again.backbone[key], value, rtol=0, atol=0, msg=key)
    for key, value in saved.method_state.items():
        torch.testing.assert_close(again.method_state[key], value, rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("name", method_names())
def test_every_method_declares_itself(name):
    cls = method_class(name)
    assert cls.name == name and cls.backbone_dims in (2, 3)
    assert dataclasses.is_dataclass(cls.Options) and cls.defaults.batch_size > 0
    for field in dataclasses.fields(cls.Options):
        assert field.metadata.get("help"), f"{name}: option {field.name} has no help text"


@pytest.mark.parametrize("name", method_names())
def test_every_dataset_yields_the_declared_sample(name, synth_frames):
    from vidkit.data.samples import check_sample
    from vidkit.io.frame_store import FrameStore

    cls = method_class(name)
    config = pretraining.PretrainConfig(method=name, size=32, clip_len=4).resolved()
    store = FrameStore(synth_frames)
    dataset = cls.build_dataset(store, [0, 1, 2], config.recipe(), cls.Options(), 0)
    check_sample(cls.sample, dataset[(0, 0)].keys())
