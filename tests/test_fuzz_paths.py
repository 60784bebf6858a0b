"""Fuzz the commands' path inputs with hostile file names: nothing outside the output changes, every
failure is one line (issue 13, docs/reliability.md)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidkit.cli.app import app

# File-name bytes: anything but `/` and NUL (which no file system takes), dots and backslashes
# favoured, undecodable bytes and control characters included; up to the 255-byte limit.
_HOSTILE = [b".", b"..", b"...", b"\\", b"\n", b"\t", b"\x1b[31m", b"\xff\xfe", b"$(rm -rf ~)", b"'\"", b" ", b"%2F"]
_byte = st.integers(1, 255).filter(lambda b: b != ord("/")).map(lambda b: bytes([b]))
stems = st.lists(st.sampled_from(_HOSTILE) | _byte, min_size=1, max_size=12).map(b"".join) | st.binary(
    min_size=240, max_size=250
).map(lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_"))


def _snapshot(root: Path, skip: Path) -> dict[str, tuple[int, float]]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        here = Path(os.fsdecode(dirpath))
        if here == skip or skip in here.parents:
            dirnames[:] = []
            continue
        for name in filenames + dirnames:
            path = here / os.fsdecode(name)
            if path == skip or path.name.startswith(skip.name + "."):
                continue  # the output, its lock and its temporary files
            info = path.lstat()
            found[str(path)] = (info.st_size, info.st_mtime)
    return found


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stem=stems, layout=st.sampled_from(["h5", "folders"]))
def test_hostile_names_touch_nothing_outside_the_output(runner, synth_dir, tmp_path_factory, stem, layout):
    sandbox = tmp_path_factory.mktemp("fuzz")
    inputs = sandbox / "in"
    inputs.mkdir()
    (sandbox / "neighbour.txt").write_text("keep")
    video = next((synth_dir / "videos").rglob("*.mp4"))
    name = os.fsdecode(stem[:250] + b".mp4")
    shutil.copy(video, inputs / name)
    shutil.copy(video, inputs / "plain.mp4")
    (inputs / "linked").symlink_to(inputs)  # a loop beside them
    out = sandbox / ("out" if layout == "folders" else "out.h5")
    before = _snapshot(sandbox, out)
    result = runner.invoke(app, ["extract-frames", str(inputs), "-o", str(out), "--format", layout, "--json"])
    assert _snapshot(sandbox, out) == before
    if result.exit_code == 0:
        summary = json.loads(result.stdout)
        assert summary["videos"] + summary["failed"] == 2
    else:
        lines = result.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("error: ") and "Traceback" not in result.stderr
    if layout == "folders" and out.exists():
        assert all(child.parent == out for child in out.iterdir())
        assert all(not p.name.startswith(".") for p in out.iterdir())


@pytest.mark.parametrize("command", ["embed", "build-index", "retrieve", "tsne", "pretrain"])
def test_outputs_with_hostile_names_stay_where_they_are_asked(runner, synth_frames, tmp_path, command):
    """An output path with odd characters is written there (or refused), never elsewhere."""
    out = tmp_path / os.fsdecode(b"..\\ \n\xff out")
    args = {
        "embed": ["embed", str(synth_frames), "--backbone", "tiny2d", "-o", str(out), "--workers", "0", "--size", "32"],
        "build-index": ["build-index", str(synth_frames), "-o", str(out)],
        "retrieve": ["retrieve", str(synth_frames), str(synth_frames), "--out", str(out)],
        "tsne": ["tsne", str(synth_frames), "-o", str(out)],
        "pretrain": [
            "pretrain",
            str(synth_frames),
            "-o",
            str(out),
            "--backbone",
            "tiny2d",
            "--steps",
            "1",
            "--batch-size",
            "3",
            "--size",
            "32",
            "--workers",
            "0",
        ],
    }[command]
    result = runner.invoke(app, args)
    assert set(tmp_path.iterdir()) <= {out}
    if result.exit_code:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
