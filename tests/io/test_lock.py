"""The output lock (`io.lock`) never writes through a file it did not create (issue 28, item 1).

`OUT.lock` sits in a folder anyone may have written to: a stale or planted link to
`../elsewhere/notes.txt` once had `notes.txt` emptied by the lock's truncate-and-write-PID.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from vidkit.errors import OutputInUseError, VidkitError
from vidkit.io.lock import lock_path, output_lock

NOTES = b"my notes: three weeks of annotation decisions\n"


@pytest.fixture
def notes(tmp_path):
    """A file vidkit does not own, in a folder beside the output's."""
    path = tmp_path / "elsewhere" / "notes.txt"
    path.parent.mkdir()
    path.write_bytes(NOTES)
    return path


def _out(tmp_path):
    (tmp_path / "run").mkdir(exist_ok=True)
    return tmp_path / "run" / "out.h5"


def test_a_planted_symlink_is_refused_and_its_target_untouched(tmp_path, notes):
    out = _out(tmp_path)
    lock_path(out).symlink_to(os.path.relpath(notes, out.parent))  # out.h5.lock -> ../elsewhere/notes.txt
    with pytest.raises(VidkitError, match="is a symbolic link, not a vidkit lock file"):
        with output_lock(out):
            pass
    assert notes.read_bytes() == NOTES
    assert lock_path(out).is_symlink()  # not ours: left for the user to look at


def test_a_dangling_symlink_creates_nothing_where_it_points(tmp_path):
    out = _out(tmp_path)
    planted = tmp_path / "elsewhere" / "new.txt"
    lock_path(out).symlink_to(planted)
    with pytest.raises(VidkitError, match="symbolic link"):
        with output_lock(out):
            pass
    assert not planted.exists() and not planted.parent.exists()


@pytest.mark.parametrize("kind", ["hard link", "other content", "folder"])
def test_other_things_named_like_the_lock_are_refused_and_kept(tmp_path, notes, kind):
    out = _out(tmp_path)
    target = lock_path(out)
    if kind == "hard link":
        os.link(notes, target)
    elif kind == "other content":
        target.write_bytes(NOTES)
    else:
        target.mkdir()
    with pytest.raises(VidkitError, match="not a vidkit lock file"):
        with output_lock(out):
            pass
    assert notes.read_bytes() == NOTES
    assert target.is_dir() if kind == "folder" else target.read_bytes() == NOTES


@pytest.mark.parametrize("left", [b"", b"4194301\n"])
def test_a_stale_lock_of_a_dead_run_is_taken_over(tmp_path, left):
    out = _out(tmp_path)
    lock_path(out).write_bytes(left)
    with output_lock(out):
        assert lock_path(out).read_text() == f"{os.getpid()}\n"
    assert not lock_path(out).exists()


def test_a_live_run_in_another_process_is_named(tmp_path):
    out = _out(tmp_path)
    code = (
        "import sys\nfrom vidkit.io.lock import output_lock\n"
        f"with output_lock({str(out)!r}):\n    print('held', flush=True)\n    sys.stdin.readline()"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(
            OutputInUseError, match=re.escape(f"{out} is being written by another vidkit run (pid {holder.pid})")
        ):
            with output_lock(out):
                pass
    finally:
        holder.communicate("\n", timeout=60)
    assert not lock_path(out).exists()
    with output_lock(out):
        pass


def test_only_the_lock_we_created_is_removed(tmp_path, notes):
    """Something put in the lock's place during the run is left there at the end."""
    out = _out(tmp_path)
    with output_lock(out):
        lock_path(out).unlink()
        lock_path(out).symlink_to(notes)
    assert lock_path(out).is_symlink() and notes.read_bytes() == NOTES


def test_build_index_through_the_cli_leaves_the_linked_file_as_it_was(runner, tmp_path, notes):
    from vidkit.cli.app import app
    from vidkit.io.features import FeatureStore, write_features

    feats = tmp_path / "feats.h5"
    n = 4
    write_features(
        feats,
        FeatureStore(
            np.eye(n, 8, dtype=np.float32),
            np.arange(n),
            np.array([f"v{i}" for i in range(n)], dtype=object),
            np.zeros(n, np.int64),
            np.full(n, 7, np.int64),
            np.arange(n) % 2,
            {},
        ),
    )
    out = _out(tmp_path).with_name("gallery.index")
    lock_path(out).symlink_to(os.path.relpath(notes, out.parent))
    result = runner.invoke(app, ["build-index", str(feats), "-o", str(out)])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "symbolic link" in lines[0], result.stderr
    assert notes.read_bytes() == NOTES and not out.exists()
