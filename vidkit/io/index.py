"""The retrieval index file (`vidkit.index/1`, HDF5): a serialised faiss index and its gallery.

    /            attrs: schema, vidkit_version, config (JSON: how the index was built, applied to queries)
    /faiss       (B,) uint8     faiss.serialize_index bytes
    /video_id    (N,) str       one per gallery row
    /label       (N,) int64
    /clip_start  (N,) int64     -1 for video-level rows

Written atomically. `vidkit.retrieval` builds and searches it; only this module knows its layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from vidkit import __version__
from vidkit.errors import StoreSchemaError
from vidkit.io.atomic import atomic_path
from vidkit.io.h5 import Shapes, check_schema, damaged, open_h5

SCHEMA = "vidkit.index/1"


@dataclass
class IndexFile:
    faiss: np.ndarray  # uint8 bytes of the serialised index
    video_id: np.ndarray  # (N,) str
    label: np.ndarray  # (N,) int64
    clip_start: np.ndarray  # (N,) int64
    config: dict


def write_index(path: str | Path, index: IndexFile) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs.update(schema=SCHEMA, vidkit_version=__version__, config=json.dumps(index.config))
        handle.create_dataset("faiss", data=index.faiss)
        handle.create_dataset("video_id", data=np.asarray(index.video_id, dtype=object), dtype=h5py.string_dtype())
        handle.create_dataset("label", data=np.asarray(index.label, dtype=np.int64))
        handle.create_dataset("clip_start", data=np.asarray(index.clip_start, dtype=np.int64))


def read_index(path: str | Path) -> IndexFile:
    """Raises: StoreSchemaError: missing, not HDF5, not `vidkit.index/1`, or damaged."""
    path = Path(path)
    with open_h5(path, "r") as handle:
        check_schema(handle, path, SCHEMA, "retrieval index")
        columns = Shapes(handle, path, "retrieval index")
        faiss = columns.read("faiss", "byte", "B")
        video_id = columns.read("video_id", "str", "N")
        label = columns.read("label", "int", "N").astype(np.int64)
        clip_start = columns.read("clip_start", "int", "N").astype(np.int64)
        with damaged(path, "retrieval index"):
            config = json.loads(handle.attrs["config"])
        if not isinstance(config, dict):
            raise StoreSchemaError(f"{path} is a damaged retrieval index: its config is not a JSON object")
        return IndexFile(faiss, video_id, label, clip_start, config)
