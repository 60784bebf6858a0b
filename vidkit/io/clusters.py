"""The clusters store (`vidkit.clusters/1`): k-means labels of videos, aligned by video id.

Written by `vidkit cluster-idt`, read by the local-aggregation pretraining (the IDT prior of
Tokmakov et al., ECCV-W 2020). The original code kept the alignment implicit (column j = j-th
video of a JSON that exists on disk), so any change on disk silently misaligned labels; here the
video ids are stored beside the labels and every reader checks them by id (`labels_for`).

Layout (only this module knows it):

    attrs: schema, created_by, config (JSON), source (the frame store or inputs), num_c, k
    video_id        (N,)            str     the frame store's ids, in its order
    ok              (N,)            bool    False: the video failed (its labels are -1, features 0)
    labels          (num_c, N)      int64   cluster of each video in each clustering (-1 = failed)
    seeds           (num_c,)        int64
    centroids       (num_c, k, d)   float32
    features        (N, d)          float32 the (sketched) Fisher vectors that were clustered
    failures/video_id, failures/error       str
    encoder/        attrs: variant, sketch_dim, seed
      blocks/<i>/   columns (2,), pca_mean (D_in,), pca_components (D, D_in),
                    gmm_weights (K,), gmm_means (K, D), gmm_covariances (K, D)
      sketch/       buckets (d_fv,) int64, signs (d_fv,) int8
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidkit.errors import StoreSchemaError
from vidkit.io.atomic import atomic_path
from vidkit.io.paths import printable

SCHEMA = "vidkit.clusters/1"


@dataclass
class EncoderBlock:
    """PCA + diagonal GMM of one group of trajectory columns."""

    columns: tuple[int, int]  # [start, end) of the 436-column row
    pca_mean: np.ndarray  # (D_in,)
    pca_components: np.ndarray  # (D, D_in)
    gmm_weights: np.ndarray  # (K,)
    gmm_means: np.ndarray  # (K, D)
    gmm_covariances: np.ndarray  # (K, D) diagonal variances


@dataclass
class Encoder:
    """Everything needed to turn a video's trajectories into its Fisher-vector feature."""

    variant: str  # "seed" (one joint PCA, raw gradients) or "standard" (Wang & Schmid 2013, per type)
    blocks: list[EncoderBlock]
    sketch_buckets: np.ndarray | None  # (d_fv,) int64 output bucket of each FV coordinate
    sketch_signs: np.ndarray | None  # (d_fv,) int8 +-1
    sketch_dim: int
    seed: int

    @property
    def fv_dim(self) -> int:
        return sum(2 * len(b.gmm_weights) * len(b.pca_components) for b in self.blocks)

    @property
    def dim(self) -> int:
        return self.sketch_dim if self.sketch_buckets is not None else self.fv_dim


@dataclass
class Clusters:
    """The content of a clusters store."""

    video_ids: list[str]
    ok: np.ndarray  # (N,) bool
    labels: np.ndarray  # (num_c, N) int64
    seeds: np.ndarray  # (num_c,)
    centroids: np.ndarray  # (num_c, k, d)
    features: np.ndarray  # (N, d)
    encoder: Encoder
    failures: list[tuple[str, str]] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    source: str = ""
    created_by: str = "vidkit"

    def labels_for(self, video_ids: list[str]) -> np.ndarray:
        """Labels `(num_c, len(video_ids))` in the order of `video_ids`, matched by id.

        Raises:
            StoreSchemaError: an id is not in the store (the clusters were made for other videos).
        """
        position = {v: i for i, v in enumerate(self.video_ids)}
        missing = [v for v in video_ids if v not in position]
        if missing:
            raise StoreSchemaError(
                f"{len(missing)} video(s) are not in the clusters store (first: {printable(missing[0])!r}); "
                "it was made from another frame store: rerun cluster-idt on this one"
            )
        return self.labels[:, [position[v] for v in video_ids]]


def _strings(group, name: str, values) -> None:
    import h5py

    group.create_dataset(name, data=np.array([printable(v) for v in values], dtype=object), dtype=h5py.string_dtype())


def write_encoder(group, encoder: Encoder) -> None:
    """Write `encoder` into an open HDF5 group."""
    group.attrs["variant"] = encoder.variant
    group.attrs["sketch_dim"] = encoder.sketch_dim
    group.attrs["seed"] = encoder.seed
    for i, block in enumerate(encoder.blocks):
        sub = group.create_group(f"blocks/{i}")
        sub["columns"] = np.asarray(block.columns, dtype=np.int64)
        for name in ("pca_mean", "pca_components", "gmm_weights", "gmm_means", "gmm_covariances"):
            sub[name] = np.asarray(getattr(block, name))
    if encoder.sketch_buckets is not None:
        group["sketch/buckets"] = encoder.sketch_buckets.astype(np.int64)
        group["sketch/signs"] = encoder.sketch_signs.astype(np.int8)


def read_encoder(group) -> Encoder:
    blocks = []
    for i in range(len(group["blocks"])):
        sub = group[f"blocks/{i}"]
        a, b = (int(x) for x in sub["columns"][()])
        blocks.append(
            EncoderBlock(
                (a, b),
                *(
                    sub[name][()]
                    for name in ("pca_mean", "pca_components", "gmm_weights", "gmm_means", "gmm_covariances")
                ),
            )
        )
    sketch = "sketch" in group
    return Encoder(
        variant=str(group.attrs["variant"]),
        blocks=blocks,
        sketch_buckets=group["sketch/buckets"][()] if sketch else None,
        sketch_signs=group["sketch/signs"][()] if sketch else None,
        sketch_dim=int(group.attrs["sketch_dim"]),
        seed=int(group.attrs["seed"]),
    )


def save_encoder(path: str | Path, encoder: Encoder, config: dict) -> None:
    """An encoder alone in its own file (the fitting stage's resumable output)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs["schema"] = SCHEMA + "#encoder"
        handle.attrs["config"] = json.dumps(config, sort_keys=True)
        write_encoder(handle.create_group("encoder"), encoder)


def load_encoder(path: str | Path) -> tuple[Encoder, dict]:
    """Read an encoder written by `save_encoder` or the encoder of a clusters store, and its config."""

    from vidkit.io.h5 import damaged

    handle = _open(path)
    with handle:
        if handle.attrs.get("schema") not in (SCHEMA, SCHEMA + "#encoder"):
            raise StoreSchemaError(f"{path} holds no Fisher-vector encoder")
        with damaged(Path(path), "Fisher-vector encoder"):
            return read_encoder(handle["encoder"]), json.loads(handle.attrs.get("config", "{}"))


def _open(path):
    """Open for reading through `io.h5.open_h5`: a missing or foreign file is one line, and so is a
    store that would read other files or declares more data than it holds."""
    from vidkit.io.h5 import open_h5

    return open_h5(Path(path), "r")


def write_clusters(path: str | Path, clusters: Clusters) -> None:
    """Write a clusters store atomically."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs["schema"] = SCHEMA
        handle.attrs["created_by"] = clusters.created_by
        handle.attrs["config"] = json.dumps(clusters.config, sort_keys=True)
        handle.attrs["source"] = printable(clusters.source)
        handle.attrs["num_c"] = clusters.labels.shape[0]
        handle.attrs["k"] = clusters.centroids.shape[1] if clusters.centroids.ndim == 3 else 0
        _strings(handle, "video_id", clusters.video_ids)
        handle["ok"] = clusters.ok.astype(bool)
        handle["labels"] = clusters.labels.astype(np.int64)
        handle["seeds"] = np.asarray(clusters.seeds, dtype=np.int64)
        handle.create_dataset("centroids", data=clusters.centroids.astype(np.float32), compression="lzf")
        handle.create_dataset("features", data=clusters.features.astype(np.float32), compression="lzf")
        failures = handle.create_group("failures")
        _strings(failures, "video_id", [v for v, _ in clusters.failures])
        _strings(failures, "error", [e for _, e in clusters.failures])
        write_encoder(handle.create_group("encoder"), clusters.encoder)


def read_clusters(path: str | Path) -> Clusters:
    """Read a clusters store.

    Raises:
        StoreSchemaError: the file is missing, not HDF5, or not `vidkit.clusters/1`.
    """
    handle = _open(path)
    with handle:
        if handle.attrs.get("schema") != SCHEMA:
            raise StoreSchemaError(f"{path} is not a clusters store ({SCHEMA})")
        from vidkit.io.h5 import Shapes, damaged

        tables = Shapes(handle, Path(path), "clusters store")  # labels (C, N) and features (N, D) agree
        read = {
            name: tables.read(name, element, dims)
            for name, element, dims in (
                ("video_id", "str", "N"),
                ("ok", "bool", "N"),
                ("labels", "int", "C N"),
                ("seeds", "int", "C"),
                ("centroids", "float", "C K D"),
                ("features", "float", "N D"),
                ("failures/video_id", "str", "F"),
                ("failures/error", "str", "F"),
            )
        }
        with damaged(Path(path), "clusters store"):
            return Clusters(
                video_ids=list(read["video_id"]),
                ok=read["ok"].astype(bool),
                labels=read["labels"].astype(np.int64),
                seeds=read["seeds"],
                centroids=read["centroids"],
                features=read["features"],
                encoder=read_encoder(handle["encoder"]),
                failures=list(zip(read["failures/video_id"], read["failures/error"])),
                config=json.loads(handle.attrs["config"]),
                source=str(handle.attrs["source"]),
                created_by=str(handle.attrs["created_by"]),
            )
