"""Names from outside made safe as file names (`io.paths`), and the output lock (`io.lock`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidkit.errors import OutputInUseError, UnsafeNameError, UsageError
from vidkit.io import paths
from vidkit.io.atomic import atomic_path
from vidkit.io.lock import lock_path, output_lock
from vidkit.io.outputs import claim_output

# Any text a file name, a CSV cell or a web page could hand over, undecodable bytes included.
names = st.text(min_size=1, max_size=60) | st.binary(min_size=1, max_size=40).map(os.fsdecode)


@given(names)
def test_a_component_never_leaves_its_folder_and_reads_back(name):
    try:
        component = paths.safe_component(name)
    except UnsafeNameError:
        return  # a lone surrogate or an over-long name: refused, never joined raw
    assert component not in ("", ".", "..") and not component.startswith(".")
    assert "/" not in component and "\\" not in component and "\x00" not in component
    assert all(c.isprintable() for c in component)
    assert paths.component_name(component) == name
    assert paths.child("/out", name).parent == Path("/out")


@given(names, names)
def test_two_names_never_share_a_file(a, b):
    try:
        ca, cb = paths.safe_component(a), paths.safe_component(b)
    except UnsafeNameError:
        return
    assert (ca == cb) == (a == b)


@pytest.mark.parametrize(
    "name, component",
    [
        ("..", "%2E."),
        (".", "%2E"),
        ("a/b", "a%2Fb"),
        ("x\x00y", "x%00y"),
        ("caf\udce9", "caf%E9"),
        ("50%", "50%25"),
        ("a\tb\nc", "a%09b%0Ac"),
        ("v_Run_g01_c01", "v_Run_g01_c01"),
    ],
)
def test_known_escapes(name, component):
    assert paths.safe_component(name) == component


def test_empty_and_overlong_names_are_refused():
    with pytest.raises(UnsafeNameError):
        paths.safe_component("")
    with pytest.raises(UnsafeNameError, match="at most"):
        paths.safe_component("x" * 300)


def test_printable_keeps_undecodable_bytes_and_escapes_controls():
    assert paths.printable("caf\udce9") == "caf\\xe9"
    assert paths.printable("a\tb\nc") == "a\\tb\\nc"
    assert paths.printable("plain name.mp4") == "plain name.mp4"


def test_output_among_inputs(tmp_path):
    (tmp_path / "f.h5").write_text("x")
    with pytest.raises(UsageError, match="is also an input"):
        paths.refuse_output_among_inputs(tmp_path / "f.h5", [tmp_path / "sub" / ".." / "f.h5"])
    (tmp_path / "link.h5").symlink_to(tmp_path / "f.h5")
    with pytest.raises(UsageError):
        paths.refuse_output_among_inputs(tmp_path / "link.h5", [tmp_path / "f.h5"])
    paths.refuse_output_among_inputs(tmp_path / "g.h5", [tmp_path / "f.h5", "-"])


def test_the_lock_names_its_holder_and_goes_with_it(tmp_path):
    out = tmp_path / "run.pt"
    with output_lock(out):
        assert lock_path(out).read_text().strip() == str(os.getpid())
        with pytest.raises(OutputInUseError, match=f"pid {os.getpid()}"):
            with output_lock(out):
                pass
    assert not lock_path(out).exists()
    with output_lock(out):  # free again
        pass


def test_a_killed_holder_leaves_no_lock(tmp_path):
    """`flock` dies with its process: a `kill -9` leaves the file, not the lock."""
    out = tmp_path / "run.pt"
    code = f"import os, sys; from vidkit.io.lock import output_lock\nwith output_lock({str(out)!r}):\n    os.kill(os.getpid(), 9)"
    subprocess.run([sys.executable, "-c", code], check=False)
    assert lock_path(out).exists()
    with output_lock(out):
        pass


def test_temporary_files_are_per_process(tmp_path):
    with atomic_path(tmp_path / "x.h5") as tmp:
        assert str(os.getpid()) in tmp.name
        tmp.write_text("whole")
    assert (tmp_path / "x.h5").read_text() == "whole"


def test_claim_refuses_another_kind_unless_forced_and_makes_the_folder(tmp_path):
    (tmp_path / "other").write_text("precious")
    with pytest.raises(UsageError, match="--force"):
        with claim_output(tmp_path / "other", existing=lambda p: "a precious file"):
            pass
    with claim_output(tmp_path / "other", existing=lambda p: "a precious file", force=True):
        pass
    with claim_output(tmp_path / "new" / "deeper" / "x.h5") as out:
        assert out.parent.is_dir()
