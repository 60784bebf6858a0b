"""Pickles that call an allowed global with bad arguments, plain (non-torch) pickles and `vidkit.ckpt/1`
dicts with entries missing: each is one `error:` line naming the file (exit 1), nothing in it runs,
and torch's warnings stay silent (issue 28, item 11)."""

from __future__ import annotations

import argparse
import os
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

from vidkit import checkpoint as ckpt
from vidkit.checkpoint.safe_pickle import read_pickle
from vidkit.cli.app import app
from vidkit.errors import CheckpointFormatError


class _Call:
    """Pickles as `func(*args)`: an allowed global called with arguments it refuses."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


class _Shell:
    """Pickles as `os.system(command)`: proof that nothing after the bad call runs."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


BAD_CALLS = {
    "OrderedDict(1, 2)": (lambda: _Call(OrderedDict, 1, 2), "collections.OrderedDict"),
    "Namespace(1, 2)": (lambda: _Call(argparse.Namespace, 1, 2), "argparse.Namespace"),
    "dtype('bogus')": (lambda: _Call(np.dtype, "bogus"), "numpy.dtype"),
}


def _one_line(message: str, path) -> str:
    assert "\n" not in message and str(path) in message, message
    return message


def _quietly(load, path):
    """`load(path)`'s CheckpointFormatError message; fails if anything warned on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CheckpointFormatError) as refused:
            load(path)
    assert [str(w.message) for w in caught] == []
    return _one_line(str(refused.value), path)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_an_allowed_global_with_bad_arguments_is_one_line(tmp_path, case, zip_format):
    build, name = BAD_CALLS[case]
    marker = tmp_path / "ran"
    path = tmp_path / "bad.pth"
    torch.save(
        {"model": OrderedDict(w=torch.ones(2)), "opt": build(), "later": _Shell(f"touch {marker}")},
        path,
        _use_new_zipfile_serialization=zip_format,
    )
    message = _quietly(read_pickle, path)
    assert f"calls {name} with arguments it refuses" in message
    # `vidkit.ckpt/1` readers allow only torch's own set: OrderedDict is in it, the others are refused by name.
    assert name in _quietly(ckpt.load, path)
    assert not marker.exists()


def _raw_pickle(marker) -> bytes:
    """Hand-written protocol-2 opcodes: `OrderedDict(1, 2)`, then `os.system('touch marker')`."""
    system = f"c{os.system.__module__}\nsystem\n".encode()
    return (
        b"\x80\x02"
        + b"ccollections\nOrderedDict\nK\x01K\x02\x86R"  # GLOBAL, two ints, TUPLE2, REDUCE
        + system
        + b"X"
        + len(f"touch {marker}").to_bytes(4, "little")
        + f"touch {marker}".encode()
        + b"\x85R\x86."  # TUPLE1, REDUCE, TUPLE2 of both, STOP
    )


def test_a_raw_pickle_is_refused_unread_and_without_warnings(tmp_path):
    marker = tmp_path / "ran"
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(_raw_pickle(marker))
    protocol4 = tmp_path / "plain.pkl"
    protocol4.write_bytes(pickle.dumps({"format": "vidkit.ckpt/1", "a": [1, 2]}, protocol=4))
    for path in (raw, protocol4):
        for load in (read_pickle, ckpt.load):
            assert "a plain Python pickle" in _quietly(load, path)
    assert not marker.exists()


def _assert_cli_one_line(result, path):
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0], result.stderr
    return lines[0]


def test_import_checkpoint_and_embed_give_one_line(tmp_path, runner, synth_frames):
    marker = tmp_path / "ran"
    files = []
    for case, (build, _) in sorted(BAD_CALLS.items()):
        path = tmp_path / f"{case.split('(')[0]}.pth"
        torch.save({"state_dict": OrderedDict(w=torch.ones(2)), "opt": build()}, path)
        files.append(path)
    (tmp_path / "raw.pkl").write_bytes(_raw_pickle(marker))
    files.append(tmp_path / "raw.pkl")
    for path in files:
        out = tmp_path / "out.pt"
        _assert_cli_one_line(runner.invoke(app, ["import-checkpoint", str(path), "-o", str(out)]), path)
        feats = tmp_path / "feats.h5"
        result = runner.invoke(app, ["embed", str(path), str(synth_frames), "-o", str(feats), "--workers", "0"])
        _assert_cli_one_line(result, path)
        assert not out.exists() and not feats.exists()
    assert not marker.exists()


def _payload(**changes) -> dict:
    payload = {
        "format": ckpt.FORMAT,
        "backbone_name": "tiny2d",
        "backbone_kwargs": {},
        "backbone": {},
        "input": ckpt.InputRecipe().to_dict(),
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


DAMAGED = {
    "format only": ({"format": ckpt.FORMAT}, "backbone_name is missing"),
    "no input": (_payload(input=None), "input is missing"),
    "string weights": (_payload(backbone={"conv.weight": "x"}), "backbone holds 'conv.weight'"),
    "list weights": (_payload(backbone=[1, 2]), "backbone is a list"),
    "unknown kwarg": (_payload(backbone_kwargs={"depth": 5}), "backbone_kwargs holds depth=5"),
    "short recipe": (_payload(input={"clip_len": 1}), "input is malformed"),
    "name not str": (_payload(backbone_name=3), "backbone_name is a int"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_vidkit_dict_with_entries_missing_is_one_line(tmp_path, case):
    payload, expected = DAMAGED[case]
    torch.save(payload, tmp_path / "c.pt")
    message = _quietly(ckpt.load, tmp_path / "c.pt")
    assert "damaged vidkit checkpoint" in message and expected in message


def test_embed_on_a_vidkit_dict_with_entries_missing_is_one_line(tmp_path, runner, synth_frames):
    path = tmp_path / "c.pt"
    torch.save({"format": ckpt.FORMAT}, path)
    result = runner.invoke(app, ["embed", str(path), str(synth_frames), "-o", str(tmp_path / "f.h5"), "--workers", "0"])
    assert "backbone_name is missing" in _assert_cli_one_line(result, path)


def test_import_checkpoint_names_a_damaged_vidkit_dict_as_damaged(tmp_path, runner):
    """It once answered "already a vidkit checkpoint; use it as it is" for a file nothing can use."""
    path = tmp_path / "c.pt"
    torch.save({"format": ckpt.FORMAT}, path)
    result = runner.invoke(app, ["import-checkpoint", str(path), "-o", str(tmp_path / "out.pt")])
    message = _assert_cli_one_line(result, path)
    assert "damaged vidkit checkpoint" in message and "already" not in message


def test_weights_of_a_wrong_rank_or_no_channels_are_one_line(tmp_path, runner, synth_frames):
    """`load_backbone` fits RGB filters to a wider stem; a tensor of another rank under a layer's name,
    or one with no input channels, is a mismatch (once an IndexError / ZeroDivisionError)."""
    from vidkit.models import create_backbone

    state = create_backbone("tiny2d").state_dict()
    conv = next(k for k, v in state.items() if v.dim() == 4)
    bias = next(k for k, v in state.items() if v.dim() == 1)
    for name, wrong in ((conv, torch.zeros(state[conv].shape[0], 0, 3, 3)), (bias, torch.zeros(1, 2, 3, 4))):
        path = tmp_path / "c.pt"
        ckpt.save(ckpt.Checkpoint("tiny2d", {}, {**state, name: wrong}, ckpt.InputRecipe(size=32)), path)
        args = ["embed", str(path), str(synth_frames), "-o", str(tmp_path / "f.h5"), "--workers", "0"]
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "does not fit the tiny2d backbone" in lines[0], result.stderr
