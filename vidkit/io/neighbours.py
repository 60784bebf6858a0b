"""Neighbour lists written by `vidkit retrieve --out`: CSV, or HDF5 (`vidkit.neighbours/1`) for `.h5`.

CSV: `query_id,rank,gallery_id,score`, rank from 1, one row per found neighbour. HDF5: `query_id
(Q,)`, `neighbours (Q, k)` gallery rows (-1 pads), `scores (Q, k)` float32, `gallery_id (N,)`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import h5py
import numpy as np

from vidkit import __version__
from vidkit.io.atomic import atomic_path
from vidkit.io.h5 import unless_schema

SCHEMA = "vidkit.neighbours/1"
CSV_HEADER = ("query_id", "rank", "gallery_id", "score")
H5_SUFFIXES = (".h5", ".hdf5")


def write_neighbours(
    path: str | Path, query_id: np.ndarray, rows: np.ndarray, scores: np.ndarray, gallery_id: np.ndarray
) -> None:
    """`rows`/`scores` are `(Q, k)`: gallery rows (-1 where there is none) and their scores."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix in H5_SUFFIXES:
            with h5py.File(tmp, "w") as handle:
                handle.attrs.update(schema=SCHEMA, vidkit_version=__version__)
                handle.create_dataset("query_id", data=np.asarray(query_id, dtype=object), dtype=h5py.string_dtype())
                handle.create_dataset("neighbours", data=rows)
                handle.create_dataset("scores", data=scores.astype(np.float32))
                handle.create_dataset(
                    "gallery_id", data=np.asarray(gallery_id, dtype=object), dtype=h5py.string_dtype()
                )
            return
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_HEADER)
            for q, (found, values) in enumerate(zip(rows, scores)):
                for rank, (row, score) in enumerate(zip(found, values), start=1):
                    if row >= 0:
                        writer.writerow([query_id[q], rank, gallery_id[row], f"{score:.6g}"])


def unless_neighbours(path: Path) -> str | None:
    """An `io.outputs` verdict: an existing `--out` may be replaced when it holds neighbour lists."""
    if path.suffix in H5_SUFFIXES:
        return unless_schema(SCHEMA, "neighbours file")(path)
    try:
        with open(path, newline="") as f:
            header = f.readline().strip()
    except (OSError, UnicodeDecodeError):
        header = ""
    return None if header == ",".join(CSV_HEADER) else "not a neighbours CSV"
