"""What a worker process does to one video for `cluster-idt`: its trajectories (stage 1) or its
Fisher vector (stage 3), and `Job`, the video it is given.

`idt.pipeline` plans the stages and hands these tasks to spawned processes (`extract.pipeline.in_order`).
They live apart from it because they are the code that runs in those processes: each returns
`(rows, error message)` instead of raising, so one bad video is recorded and skipped rather than
ending the run, and each writes its output file atomically, so a killed run leaves no half file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidkit.idt import fisher, inputs
from vidkit.idt.trajectories import IdtConfig
from vidkit.io import clusters as cstore
from vidkit.io import trajectories as tio
from vidkit.io.atomic import atomic_path
from vidkit.io.paths import printable

_FRAME_BLOCK = 64  # frames read from a frame store at a time


@dataclass(frozen=True)
class Job:
    """One video: from a frame store (`index` >= 0) or a video file."""

    video_id: str
    source: str
    index: int = -1


def _frames(job: Job) -> Iterator[np.ndarray]:
    if job.index < 0:
        from vidkit.io import video

        yield from video.iter_frames(job.source)
        return
    from vidkit.io.frame_store import FrameStore

    with FrameStore(job.source) as store:
        n = store.n_frames(job.index)
        for start in range(0, n, _FRAME_BLOCK):
            yield from store.read_clip(job.index, start, min(_FRAME_BLOCK, n - start))


def trajectory_task(
    job: Job, config: IdtConfig, target: Path, failed: Path, boxes: Path | None, record: Path, read: dict
) -> tuple[int, str]:
    """Worker: trajectories of one video into `target`; returns (rows, error message or "").

    A finished video (with trajectories or without any) gets its record (`idt.inputs`) written
    after its file, so a kill in between only makes a rerun compute it again. A video that gives
    no trajectory is failed here, with its reason, rather than leaving an empty file for the
    later stages to trip on. A video that raises gets no record: a rerun tries it again.
    """
    from vidkit.idt.trajectories import extract_trajectories

    try:
        box_list = tio.read_boxes(boxes) if boxes is not None and boxes.exists() else None
        rows = extract_trajectories(_frames(job), config, boxes=box_list)
        if not len(rows):
            target.unlink(missing_ok=True)
            write_failure(failed, inputs.NO_TRAJECTORIES)
            inputs.Record(read, 0, inputs.NO_TRAJECTORIES).save(record)
            return 0, inputs.NO_TRAJECTORIES
        tio.write_text(target, rows)
        failed.unlink(missing_ok=True)
        inputs.Record(read, len(rows)).save(record)
        return len(rows), ""
    except Exception as exc:  # noqa: BLE001 - a bad video is recorded and skipped, never fatal
        message = printable(f"{type(exc).__name__}: {str(exc).strip()}")[:500]
        write_failure(failed, message)
        return 0, message


def write_failure(path: Path, message: str) -> None:
    """`work/failed/<id>.txt`: why a video has no trajectories."""
    with atomic_path(path) as tmp:
        tmp.write_text(message + "\n")


# The encoder a worker loaded last, keyed by its file's path, inode, size and modification time: a
# refitted model is a new file at the same path (atomic rename), which a path alone would not tell
# apart when one process runs cluster-idt twice (the library, or workers=1).
_ENCODER_CACHE: dict[tuple, cstore.Encoder] = {}


def _encoder(path: Path) -> cstore.Encoder:
    status = path.stat()
    key = (str(path), status.st_ino, status.st_size, status.st_mtime_ns)
    if key not in _ENCODER_CACHE:
        _ENCODER_CACHE.clear()
        _ENCODER_CACHE[key] = cstore.load_encoder(path)[0]
    return _ENCODER_CACHE[key]


def encode_task(job: Job, rows_path: Path, encoder_path: Path, target: Path) -> tuple[int, str]:
    """Worker: the Fisher-vector feature of one video into `target` (`.npy`)."""
    try:
        encoder = _encoder(encoder_path)
        rows = tio.read_text(rows_path)
        vector = fisher.fisher_vector(rows, encoder)
        with atomic_path(target) as tmp, open(tmp, "wb") as file:
            np.save(file, vector)
        return len(rows), ""
    except Exception as exc:  # noqa: BLE001 - recorded and skipped
        return 0, printable(f"{type(exc).__name__}: {str(exc).strip()}")[:500]
