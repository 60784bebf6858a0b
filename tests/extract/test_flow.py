"""TV-L1 through the `flow` extra: used when OpenCV has it, refused up front when a store needs it and it is missing."""

from __future__ import annotations

import pytest

from vidkit.cli.app import app
from vidkit.errors import VidkitError
from vidkit.extract import frames as extraction
from vidkit.io import flow as flow_mod
from vidkit.io.frame_store import FrameStore, StoreConfig


def test_tvl1_without_opencv_contrib_is_one_clear_error(synth_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(flow_mod, "has_tvl1", lambda: False)
    assert flow_mod.best_algorithm() == "farneback"
    with pytest.raises(VidkitError, match=r"pip install 'opencv-contrib-python-headless") as caught:
        extraction.extract_frames([synth_dir / "videos"], tmp_path / "f.h5", config=StoreConfig(flow="tvl1"))
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "f.h5").exists()  # refused before any work
    with pytest.raises(VidkitError, match="unknown flow algorithm"):
        flow_mod.require("brox")


@pytest.mark.skipif(not flow_mod.has_tvl1(), reason="TV-L1 needs opencv-contrib (pip install 'vidkit[flow]')")
def test_tvl1_makes_the_flow_and_the_store_says_so(synth_dir, tmp_path):
    video = next((synth_dir / "videos").rglob("*.mp4"))
    extraction.extract_frames([video], tmp_path / "f.h5", config=StoreConfig(flow="tvl1", max_frames=4))
    with FrameStore(tmp_path / "f.h5") as store:
        assert store.config.flow == "tvl1"
        assert store.read_clip(0, 0, 3, stream="u").shape == (3, 32, 32, 1)


def test_the_farneback_fallback_is_said_once(synth_dir, tmp_path, monkeypatch, runner):
    """`--flow` without TV-L1 once fell back to Farneback with no word (IIC's numbers used TV-L1)."""
    monkeypatch.setattr(flow_mod, "has_tvl1", lambda: False)
    videos = sorted((synth_dir / "videos").rglob("*.mp4"))[:2]
    result = runner.invoke(app, ["extract-frames", *map(str, videos), "-o", str(tmp_path / "f.h5"), "--flow"])
    assert result.exit_code == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "optical flow: Farneback" in line]
    assert len(said) == 1 and "opencv-contrib-python-headless" in result.stderr
    with FrameStore(tmp_path / "f.h5") as store:
        assert store.config.flow == "farneback"
    monkeypatch.setattr(flow_mod, "has_tvl1", lambda: True)
    assert flow_mod.which_runs(flow_mod.best_algorithm()).startswith("optical flow: TV-L1")
