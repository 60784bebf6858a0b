"""Trajectory files: the 2013 IDT release's 436-column text rows (gzip) and a compact HDF5 per run.

The text format is the one `DenseTrackStab` prints, so output of the C++ release and of
`vidkit.idt` can be swapped freely: one trajectory per line, tab separated, 436 numbers and a
trailing tab. Columns (0-based; [1] Wang & Schmid, ICCV 2013; [2] Wang et al., IJCV 2013):

    0       frame index of the trajectory's last point
    1-2     mean x, mean y (pixels of the original frame)
    3-4     std x, std y (population std; the release calls them "var")
    5       length: sum of the step lengths
    6       scale factor (1, 1.414, 2, ...)
    7-9     x_pos, y_pos, t_pos in [0, 0.999] (for spatio-temporal pyramids)
    10-39   trajectory shape (30)      40-135  HOG (96)       136-243 HOF (108)
    244-339 MBHx (96)                  340-435 MBHy (96)

The human-box files the release reads with `-H` (`.bb`) are parsed here too: one line per frame,
the frame index then `x1 y1 x2 y2 score` per box.

Only this module knows the HDF5 dataset names of the trajectories file.
"""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vidkit.errors import StoreSchemaError, TrajectoryFormatError
from vidkit.io.atomic import atomic_path

NUM_COLUMNS = 436
HEADER = 10
# (name, first column, end column) of each block of a row.
BLOCKS: tuple[tuple[str, int, int], ...] = (
    ("Trajectory", 10, 40),
    ("HOG", 40, 136),
    ("HOF", 136, 244),
    ("MBHx", 244, 340),
    ("MBHy", 340, 436),
)
H5_SCHEMA = "vidkit.trajectories/1"
_H5_CHUNK = 4096  # rows per HDF5 chunk


def read_text(path: str | Path) -> np.ndarray:
    """Read IDT rows (gzip or plain text, ours or DenseTrackStab's) as `float32 (N, 436)`.

    Raises:
        TrajectoryFormatError: a row does not have 436 numbers, or the file cannot be read.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) if gzipped else raw as file, warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # numpy's "empty input": a video without rows
                # np.loadtxt parses the stream in blocks of lines (never the whole text at once, which
                # is 4-5x the rows' size), ignores the trailing tab, and is much faster than a Python split.
                rows = np.loadtxt(file, dtype=np.float32, ndmin=2)
    except (OSError, EOFError, zlib.error) as exc:
        raise TrajectoryFormatError(f"cannot read trajectories {path}: {exc}") from None
    except ValueError as exc:
        raise TrajectoryFormatError(f"{path} is not IDT text: {exc}") from None
    if rows.size == 0:
        return np.zeros((0, NUM_COLUMNS), dtype=np.float32)
    if rows.shape[1] != NUM_COLUMNS:
        raise TrajectoryFormatError(f"{path} has {rows.shape[1]} columns per row; IDT rows have {NUM_COLUMNS}")
    return rows


def format_rows(rows: np.ndarray) -> bytes:
    """Rows as the release prints them: 7 significant digits, tab separated, a trailing tab per line."""
    if rows.size == 0:
        return b""
    buffer = io.StringIO()
    np.savetxt(buffer, rows, fmt="%.7g", delimiter="\t", newline="\t\n")
    return buffer.getvalue().encode()


def write_text(path: str | Path, rows: np.ndarray) -> None:
    """Write `(N, 436)` rows atomically; gzip-compressed when `path` ends in `.gz`."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != NUM_COLUMNS:
        raise TrajectoryFormatError(f"trajectory rows must be (N, {NUM_COLUMNS}), got {rows.shape}")
    data = format_rows(rows)
    with atomic_path(path) as tmp:
        if str(path).endswith(".gz"):
            with gzip.open(tmp, "wb", compresslevel=3) as file:
                file.write(data)
        else:
            tmp.write_bytes(data)


def read_boxes(path: str | Path, num_frames: int | None = None) -> list[np.ndarray]:
    """Read a `.bb` human-box file: per frame, `float32 (n_boxes, 4)` as x1, y1, x2, y2 (score dropped).

    Raises:
        TrajectoryFormatError: a line is not `frame x1 y1 x2 y2 score ...`, or the file has fewer
            lines than `num_frames` (the release asserts one line per frame).
    """
    boxes: list[np.ndarray] = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            values = np.array([float(v) for v in fields[1:]], dtype=np.float32)
        except ValueError:
            raise TrajectoryFormatError(f"{path}:{number}: not a box line") from None
        if values.size % 5:
            raise TrajectoryFormatError(f"{path}:{number}: {values.size} numbers after the frame index, not 5 per box")
        boxes.append(values.reshape(-1, 5)[:, :4])
    if num_frames is not None and len(boxes) < num_frames:
        raise TrajectoryFormatError(f"{path} has {len(boxes)} lines for a video of {num_frames} frames")
    return boxes


def write_h5(path: str | Path, videos: Iterable[tuple[str, np.ndarray]], *, config: str = "") -> int:
    """A compact HDF5 of one run: every video's rows in one table, addressed by per-video offsets.

    The 10 header columns stay float32; the 426 descriptor columns are stored as float16 (their
    values lie in [-1, 1] and are only ever PCA-projected), which halves the size of the text.
    `videos` may be a generator: each video is appended and dropped before the next is read, so a
    run's trajectories never have to fit in memory together. Returns the number of rows written.
    """
    import h5py

    from vidkit.io.paths import printable

    ids, offsets = [], [0]
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs["schema"] = H5_SCHEMA
        handle.attrs["config"] = config
        width = NUM_COLUMNS - HEADER
        header = handle.create_dataset(
            "header",
            (0, HEADER),
            maxshape=(None, HEADER),
            dtype=np.float32,
            chunks=(_H5_CHUNK, HEADER),
            compression="lzf",
        )
        desc = handle.create_dataset(
            "descriptors",
            (0, width),
            maxshape=(None, width),
            dtype=np.float16,
            chunks=(_H5_CHUNK, width),
            compression="lzf",
        )
        for video_id, rows in videos:
            start, end = offsets[-1], offsets[-1] + len(rows)
            if end > start:
                header.resize(end, axis=0)
                desc.resize(end, axis=0)
                header[start:end] = rows[:, :HEADER]
                desc[start:end] = rows[:, HEADER:]
            ids.append(printable(video_id))
            offsets.append(end)
            del rows
        handle.create_dataset("video_id", data=np.array(ids, dtype=object), dtype=h5py.string_dtype())
        handle.create_dataset("offsets", data=np.array(offsets, dtype=np.int64))
    return offsets[-1]


def read_h5(path: str | Path) -> dict[str, np.ndarray]:
    """Read back `write_h5`: `{video_id: float32 (N, 436)}` in stored order.

    Raises:
        StoreSchemaError: not a `vidkit.trajectories/1` file.
    """
    from vidkit.io.h5 import open_h5  # self-contained and sized by its own bytes, as every store

    with open_h5(Path(path), "r") as handle:
        if handle.attrs.get("schema") != H5_SCHEMA:
            raise StoreSchemaError(f"{path} is not a trajectories file ({H5_SCHEMA})")
        ids = list(handle["video_id"].asstr()[()])
        offsets = handle["offsets"][()]
        rows = np.concatenate([handle["header"][()], handle["descriptors"][()].astype(np.float32)], axis=1)
    return {vid: rows[a:b] for vid, a, b in zip(ids, offsets[:-1], offsets[1:])}
