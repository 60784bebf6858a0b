"""The safe reader: the papers' plain objects come back as dicts; anything else is refused and nothing runs."""

from __future__ import annotations

import argparse
import builtins
import os
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

from tests.checkpoint.fakes import CfgNode, DotMap, MemoryBank, papers_classes
from vidkit.checkpoint.safe_pickle import read_pickle
from vidkit.errors import CheckpointFormatError


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_papers_objects_read_as_plain_fields(tmp_path, zip_format):
    bank = torch.randn(6, 4)
    with papers_classes():
        payload = {
            "opt": argparse.Namespace(model="r3d", nce_k=1024, intra_neg=True),
            "empty": argparse.Namespace(),
            "model": OrderedDict(w=torch.ones(2, 3)),
            "memory_bank": MemoryBank(bank),
            "config": DotMap({"exp_name": "kinetics_la", "loss_params": {"k": 4096}}),
            "yacs": CfgNode({"MODEL": {"FC_DIM": 128}, "SEED": 1}),
            "val_acc": np.array([0.25, 0.5]),
            "train_extra": np.array([]),
            "best": np.float64(0.5),
        }
        torch.save(payload, tmp_path / "old.pth", _use_new_zipfile_serialization=zip_format)
    assert "dotmap" not in sys.modules and "src.objectives.localagg" not in sys.modules
    read = read_pickle(tmp_path / "old.pth")
    assert read["opt"] == {"model": "r3d", "nce_k": 1024, "intra_neg": True} and read["empty"] == {}
    torch.testing.assert_close(read["model"]["w"], torch.ones(2, 3))
    assert read["memory_bank"]["size"] == 6 and read["memory_bank"]["dim"] == 4
    torch.testing.assert_close(read["memory_bank"]["bank_broadcast"][0], bank)
    assert read["config"] == {"exp_name": "kinetics_la", "loss_params": {"k": 4096}}
    assert type(read["config"]["loss_params"]) in (dict, OrderedDict)  # stand-ins are gone, all the way down
    assert read["yacs"] == {"MODEL": {"FC_DIM": 128}, "SEED": 1}
    np.testing.assert_array_equal(read["val_acc"], [0.25, 0.5])
    assert read["train_extra"].shape == (0,) and read["best"] == 0.5


class _Shell:
    """`__reduce__` asks the unpickler to call os.system: what a malicious checkpoint does."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Writer:
    """`__reduce__` asks the unpickler to open (and so create) a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (builtins.open, (str(self.path), "w"))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_malicious_pickles_are_refused_and_run_nothing(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    for name, evil, refused in (
        ("shell.pt", _Shell(f"touch {marker}"), "posix.system" if os.name == "posix" else "system"),
        ("open.pt", _Writer(marker), "open"),
    ):
        # A real-looking checkpoint with the payload hidden next to the weights.
        torch.save(
            {"model": OrderedDict(w=torch.ones(2)), "opt": evil},
            tmp_path / name,
            _use_new_zipfile_serialization=zip_format,
        )
        with pytest.raises(CheckpointFormatError, match=refused) as caught:
            read_pickle(tmp_path / name)
        message = str(caught.value)
        assert "\n" not in message and "refused without running anything" in message
        assert not marker.exists()


def test_a_stand_in_name_cannot_smuggle_a_call(tmp_path):
    """An allow-listed class name only ever builds a field holder, whatever the file asks of it."""

    class Trojan:
        def __reduce__(self):
            return (argparse.Namespace, (), {"__class__": "x", "command": "rm -rf /"})

    torch.save({"opt": Trojan()}, tmp_path / "t.pt")
    assert read_pickle(tmp_path / "t.pt")["opt"] == {"__class__": "x", "command": "rm -rf /"}


def test_unreadable_files(tmp_path):
    with pytest.raises(CheckpointFormatError, match="no such file"):
        read_pickle(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointFormatError, match="not a readable torch file"):
        read_pickle(tmp_path / "text.pt")
