"""`io.outputs.claim_output`: an output that is one of the command's inputs is refused before any work,
whichever way the two paths are spelled, and on every torchrun rank (docs/reliability.md)."""

from __future__ import annotations

import pytest

from vidkit.errors import UsageError
from vidkit.io.outputs import claim_output


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "frames.h5"
    path.write_bytes(b"the frames")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.h5").symlink_to(path)
    return path


@pytest.mark.parametrize("spelling", ["same", "dotdot", "link", "relative"])
def test_an_output_that_is_an_input_is_refused_and_left_alone(store, spelling, monkeypatch):
    monkeypatch.chdir(store.parent)
    output = {
        "same": store,
        "dotdot": store.parent / "sub" / ".." / "frames.h5",
        "link": store.parent / "link.h5",
        "relative": "frames.h5",
    }[spelling]
    before = sorted(store.parent.rglob("*"))
    entered = False
    with pytest.raises(UsageError, match="also an input"):
        with claim_output(output, inputs=[None, "-", store], option="--out", force=True):
            entered = True
    assert not entered  # refused before the command's work starts
    assert store.read_bytes() == b"the frames" and sorted(store.parent.rglob("*")) == before  # no lock either


def test_other_ranks_refuse_it_too(store, monkeypatch):
    """Under torchrun only rank 0 locks and writes, but every rank checks the inputs."""
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(UsageError, match="also an input"):
        with claim_output(store, inputs=[store]):
            pass


def test_a_missing_output_is_compared_by_its_resolved_name(tmp_path):
    """Neither exists yet (an input made by an earlier stage of the same command line): one name."""
    with pytest.raises(UsageError, match="also an input"):
        with claim_output(tmp_path / "sub" / ".." / "new.h5", inputs=[tmp_path / "new.h5"]):
            pass


def test_an_output_beside_its_inputs_is_claimed(store):
    with claim_output(store.parent / "features.h5", inputs=[store, "-", None]) as out:
        assert out == store.parent / "features.h5"
    assert store.read_bytes() == b"the frames"
