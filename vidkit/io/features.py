"""The feature store (`vidkit.features/1`): one row of features per clip (or per frame), in one HDF5 file.

    /            attrs: schema, vidkit_version, created_by, config (JSON: checkpoint, backbone,
                 modality, pooling, clip_len, stride, size, frames store, split, seed)
    /features    (N, D) float32
    /video_index (N,) int64   index into the frame store's /videos
    /video_id    (N,) str
    /clip_start  (N,) int64   first frame of the clip
    /clip_end    (N,) int64   last frame of the clip (inclusive)
    /label       (N,) int64   -1 when unlabelled

Written once, to a temporary name renamed into place at the end (atomic).
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

SCHEMA = "vidkit.features/1"


@dataclass
class FeatureStore:
    """A feature store in memory: arrays plus the config that made them."""

    features: np.ndarray  # (N, D) float32
    video_index: np.ndarray  # (N,) int64
    video_id: np.ndarray  # (N,) object (str)
    clip_start: np.ndarray
    clip_end: np.ndarray
    label: np.ndarray
    config: dict

    def __len__(self) -> int:
        return len(self.features)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])


def check_finite(features: np.ndarray, what: str) -> None:
    """Refuse features with NaN or infinite values, naming the first rows (a diverged model makes them,
    and every later step would score them silently as ties).

    Raises:
        StoreSchemaError: some rows are not finite.
    """
    bad = np.flatnonzero(~np.isfinite(features).all(axis=tuple(range(1, features.ndim))))
    if len(bad):
        rows = ", ".join(str(int(r)) for r in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise StoreSchemaError(f"{what}: {len(bad)} of {len(features)} rows hold NaN or infinite values (rows {rows})")


def write_features(path: str | Path, store: FeatureStore, created_by: str = "vidkit") -> None:
    """Write atomically (temporary file, then rename).

    Raises:
        StoreSchemaError: some rows are not finite (nothing is written).
    """
    path = Path(path)
    check_finite(store.features, f"not writing {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs.update(
            schema=SCHEMA,
            vidkit_version=__version__,
            created_by=created_by,
            config=json.dumps(store.config, sort_keys=True),
        )
        rows = max(1, min(len(store), 4096))
        handle.create_dataset("features", data=store.features.astype(np.float32), chunks=(rows, store.dim))
        handle.create_dataset("video_index", data=store.video_index.astype(np.int64))
        handle.create_dataset("video_id", data=np.asarray(store.video_id, dtype=object), dtype=h5py.string_dtype())
        for name in ("clip_start", "clip_end", "label"):
            handle.create_dataset(name, data=getattr(store, name).astype(np.int64))


def _config(handle: h5py.File, path: Path) -> dict:
    with damaged(path, "feature store"):
        config = json.loads(handle.attrs["config"])
    if not isinstance(config, dict):
        raise StoreSchemaError(f"{path} is a damaged feature store: its config is not a JSON object")
    return config


def read_features(path: str | Path) -> FeatureStore:
    """Read a whole feature store.

    Raises:
        StoreSchemaError: missing file, not HDF5, not `vidkit.features/1`, damaged, or non-finite rows.
    """
    path = Path(path)
    with open_h5(path, "r") as handle:
        check_schema(handle, path, SCHEMA, "feature store")
        columns = Shapes(handle, path, "feature store")
        store = FeatureStore(
            features=columns.read("features", "float", "N D"),
            video_index=columns.read("video_index", "int", "N").astype(np.int64),
            video_id=columns.read("video_id", "str", "N"),
            clip_start=columns.read("clip_start", "int", "N").astype(np.int64),
            clip_end=columns.read("clip_end", "int", "N").astype(np.int64),
            label=columns.read("label", "int", "N").astype(np.int64),
            config=_config(handle, path),
        )
        if len(store) and store.dim == 0:
            raise StoreSchemaError(f"{path} is a damaged feature store: its features have no dimensions")
    check_finite(store.features, str(path))
    return store


def describe(path: Path, store: FeatureStore) -> dict:
    """What made a store's features, as `build-index` records each part of an index (`other_net` compares two)."""
    c = store.config
    return {
        "path": str(path),
        "dim": store.dim,
        "pooling": c.get("pooling"),
        "modality": c.get("modality"),
        "backbone": c.get("backbone"),
        "checkpoint": c.get("checkpoint"),
    }


# What made a store's features: two stores differing in any of these hold different nets' features,
# which neither retrieval nor a probe may compare (scores of one net against another's are noise).
MADE_BY = ("backbone", "checkpoint", "pooling", "modality")


def other_net(reference: dict, other: dict) -> str | None:
    """Why `other`'s features (a `describe` record) are not comparable with `reference`'s, or None.

    An index written before a key was recorded lacks it; a key missing on either side is not held
    against the other."""
    if reference.get("dim") != other.get("dim"):
        return f"has {other.get('dim')}-d features where {reference['path']} has {reference.get('dim')}-d"
    for key in MADE_BY:
        if key in reference and key in other and reference[key] != other[key]:
            return f"was embedded with {key} {other[key]!r} where {reference['path']} was with {reference[key]!r}"
    return None
