"""TCE's samples (`FramePairDataset`): the positive is another frame of the anchor's video, 1 to
`window` frames away, never the anchor frame itself (the released TCE code's defect, tce.md 2.1)."""

from __future__ import annotations

import pytest
import torch

from vidkit.data import transforms
from vidkit.data.datasets import FramePairDataset
from vidkit.io.frame_store import FrameStore

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _plain_pairs(store: FrameStore, videos, window: int) -> FramePairDataset:
    """No colour jitter, grey, flip or rotation: every view is one of the store's frames, resized."""
    return FramePairDataset(
        store, videos, size=16, window=window, seed=0, mean=MEAN, std=STD,
        rotation=False, jitter=False, grey=False, flip=False,
    )  # fmt: skip


def _frames_of(store: FrameStore, video: int) -> torch.Tensor:
    """`(T, 3, 16, 16)` every frame of `video` as the dataset makes a view of it."""
    frames = transforms.to_float(store.read_frames(video, list(range(store.n_frames(video)))))
    return transforms.normalize(transforms.resize_square(frames, 16), MEAN, STD)


def _which(view: torch.Tensor, frames: torch.Tensor) -> set[int]:
    return {t for t, frame in enumerate(frames) if torch.allclose(view, frame, atol=1e-6)}


@pytest.mark.parametrize("window", [1, 3])
def test_the_positive_is_an_adjacent_frame_never_the_anchor(synth_frames, window):
    store = FrameStore(synth_frames)
    videos = [int(v) for v in store.split("train01")[:3]]
    dataset = _plain_pairs(store, videos, window)
    offsets = set()
    for index, video in enumerate(videos):
        frames = _frames_of(store, video)
        # Consecutive frames of the synth videos differ, so a view names the frame it was made from.
        assert all(not torch.allclose(frames[t], frames[t + 1], atol=1e-6) for t in range(len(frames) - 1))
        for epoch in range(12):
            sample = dataset[(index, epoch)]
            anchor, positive = _which(sample["anchor"], frames), _which(sample["positive"], frames)
            assert anchor and positive, "a view is not one of the video's frames"
            assert not torch.equal(sample["anchor"], sample["positive"])  # the release's bug: the same frame
            gaps = {abs(a - p) for a in anchor for p in positive}
            assert gaps & set(range(1, window + 1)), (anchor, positive)
            offsets |= gaps & set(range(1, window + 1))
            assert int(sample["index"]) == index
    assert offsets == set(range(1, window + 1))  # every allowed distance is drawn
