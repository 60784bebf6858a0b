"""Nearest-neighbour video retrieval with faiss: the core of `vidkit build-index` and `vidkit retrieve`.

The protocol is IIC's (iic.md, retrieval): every video of the test split is a query, every video of
the train split is the gallery; a video's feature is the mean of its clips' features; a query
counts as correct at k when any of its k nearest gallery videos has its class. Several feature
stores (say RGB and residual) are joined per video, which is IIC's "merged" retrieval.

Normalisation (`normalize`): `each` scales every store's part to unit length before joining (so
no modality outweighs another; the IIC code did not, iic.md 12.2 #5), `joint` scales the joined
vector, `none` leaves it. `center` first subtracts each part's gallery mean (kept in the index and
subtracted from the queries too), then scales each part: pooled ReLU features share one large
common direction (every residual feature of a small net scores 0.999 against every other), which
`each` leaves in, so that part adds a near-constant to every similarity; centring is the usual
retrieval fix (docs/methods.md, Toy-scale claims). The `cosine` metric compares unit-length joined vectors (inner product),
`l2` ranks by squared Euclidean distance between the vectors as normalised.

The index file (`vidkit.index/1`, HDF5, `io.index`) holds the serialised faiss index, the gallery's video ids,
labels and clip starts, and a JSON description of how it was built (`config`), which `retrieve`
applies to the queries too and checks them against.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidkit.errors import UsageError, VidkitError
from vidkit.io.features import FeatureStore, describe, other_net, read_features
from vidkit.io.h5 import unless_schema
from vidkit.io.index import SCHEMA, IndexFile, read_index, write_index
from vidkit.io.neighbours import unless_neighbours, write_neighbours
from vidkit.io.outputs import claim_output

NORMALIZE = ("each", "center", "joint", "none")
METRICS = ("cosine", "l2")
KINDS = ("flat", "ivf")
DEFAULT_K = (1, 5, 10, 20, 50)

log = logging.getLogger("vidkit")


@dataclass
class Items:
    """Rows to index or query: one per video (or per clip), with what identifies them."""

    features: np.ndarray  # (N, D) float32, C-contiguous
    video_id: np.ndarray  # (N,) str
    label: np.ndarray  # (N,) int64
    clip_start: np.ndarray  # (N,) int64; -1 for video-level rows

    def __len__(self) -> int:
        return len(self.features)


@dataclass
class IndexConfig:
    normalize: str = "each"
    metric: str = "cosine"
    kind: str = "flat"
    clip_level: bool = False
    nlist: int | None = None  # IVF cells (default about 4 sqrt(N))
    nprobe: int = 16  # IVF cells visited per query (retrieve can override)
    train_size: int | None = None  # IVF training sample (default 64 per cell, at most N)
    seed: int = 0
    parts: list[dict] = field(default_factory=list)  # per store: path, dim, pooling, modality, backbone
    centers: list[list[float]] = field(default_factory=list)  # `center`: each part's gallery mean (D_i,)


def video_level(store: FeatureStore) -> Items:
    """Average each video's rows (IIC's protocol), videos in order of first appearance."""
    _, first, inverse = np.unique(store.video_index, return_index=True, return_inverse=True)
    order = np.argsort(first)  # unique() sorts by index; keep the store's order instead
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[inverse.ravel()]
    sums = np.zeros((len(order), store.dim), dtype=np.float64)
    np.add.at(sums, group, store.features)
    counts = np.bincount(group, minlength=len(order))[:, None]
    rows = first[order]
    return Items(
        (sums / counts).astype(np.float32),
        store.video_id[rows],
        store.label[rows],
        np.full(len(rows), -1, dtype=np.int64),
    )


def clip_level(store: FeatureStore) -> Items:
    return Items(np.ascontiguousarray(store.features, dtype=np.float32), store.video_id, store.label, store.clip_start)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows `(N, D)` scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def same_videos(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two `(N,)` id columns list the same videos in the same order (a store scored against itself)."""
    return len(a) == len(b) and np.array_equal(a, b)


def join(
    parts: Sequence[Items], names: Sequence[str], normalize: str, metric: str, centers: Sequence[np.ndarray] = ()
) -> Items:
    """Join several stores' rows side by side (the same videos in the same order, checked), normalised
    as asked; `center` subtracts `centers[i]` (D_i,) from part i first."""
    if normalize not in NORMALIZE:
        raise VidkitError(f"unknown --normalize {normalize!r}; choose one of {', '.join(NORMALIZE)}")
    first = parts[0]
    for part, name in zip(parts[1:], names[1:]):
        same = (
            len(part) == len(first)
            and np.array_equal(part.video_id, first.video_id)
            and np.array_equal(part.clip_start, first.clip_start)
        )
        if not same:
            n = min(len(part), len(first))
            differ = (part.video_id[:n] != first.video_id[:n]) | (part.clip_start[:n] != first.clip_start[:n])
            where = int(np.argmax(differ)) if differ.any() else n
            raise VidkitError(
                f"{name} does not list the same videos in the same order as {names[0]} "
                f"({len(part)} rows against {len(first)}; first difference at row {where}); "
                "embed the same split with the same clip options"
            )
    if normalize == "center":
        if len(centers) != len(parts):
            raise VidkitError(f"--normalize center needs one gallery mean per part; the index has {len(centers)}")
        blocks = [unit_rows(p.features - c) for p, c in zip(parts, centers)]
    else:
        blocks = [unit_rows(p.features) if normalize == "each" else p.features for p in parts]
    features = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    if normalize == "joint" or metric == "cosine":
        features = unit_rows(features)
    return Items(np.ascontiguousarray(features, dtype=np.float32), first.video_id, first.label, first.clip_start)


def load_items(
    paths: Sequence[Path], config: IndexConfig, clip: bool, gallery: IndexConfig | None = None, force: bool = False
) -> tuple[Items, list[dict]]:
    """Read, check (against `gallery` when querying), reduce to video level unless `clip`, join.
    Building (no `gallery`) with `center` records each part's mean in `config.centers`."""
    stores = [read_features(p) for p in paths]
    described = [describe(p, s) for p, s in zip(paths, stores)]
    if gallery is not None:
        check_queries(gallery, described, force)
    parts = [clip_level(s) if clip else video_level(s) for s in stores]
    if gallery is None and config.normalize == "center":
        config.centers = [p.features.mean(axis=0, dtype=np.float64).tolist() for p in parts]
    centers = [np.asarray(c, dtype=np.float32) for c in config.centers]
    return join(parts, [str(p) for p in paths], config.normalize, config.metric, centers), described


def _faiss_index(features: np.ndarray, config: IndexConfig):
    import faiss

    n, dim = features.shape
    metric = faiss.METRIC_INNER_PRODUCT if config.metric == "cosine" else faiss.METRIC_L2
    if config.kind == "flat":
        index = faiss.IndexFlatIP(dim) if metric == faiss.METRIC_INNER_PRODUCT else faiss.IndexFlatL2(dim)
        index.add(features)
        return index
    nlist = config.nlist or max(1, min(round(4 * math.sqrt(n)), n // 39))
    if nlist > n:
        raise VidkitError(f"--nlist {nlist} is more than the {n} gallery items; lower it or use --kind flat")
    quantizer = faiss.IndexFlatIP(dim) if metric == faiss.METRIC_INNER_PRODUCT else faiss.IndexFlatL2(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, metric)
    sample = min(n, config.train_size or max(64 * nlist, 10_000))
    rows = np.sort(np.random.default_rng(config.seed).choice(n, sample, replace=False))
    index.cp.seed = config.seed  # k-means initialisation, for a reproducible index
    index.train(np.ascontiguousarray(features[rows]))
    index.add(features)
    index.nprobe = min(config.nprobe, nlist)
    config.nlist = nlist
    return index


def build_index(paths: Sequence[Path], out: Path, config: IndexConfig, *, force: bool = False) -> dict:
    """Build the gallery index from one feature store (or several, joined per video) and write `out`.

    Raises:
        UsageError: `out` is an input, or exists and is no index (without `force`).
        VidkitError: bad option, unreadable or mismatched stores.
    """
    with claim_output(out, inputs=list(paths), existing=unless_schema(SCHEMA, "retrieval index"), force=force):
        return _build_index(paths, out, config)


def _build_index(paths: Sequence[Path], out: Path, config: IndexConfig) -> dict:
    if config.kind not in KINDS or config.metric not in METRICS:
        raise VidkitError(f"--kind must be one of {', '.join(KINDS)} and --metric one of {', '.join(METRICS)}")
    items, config.parts = load_items(paths, config, config.clip_level)
    if len(items) == 0:
        raise VidkitError(f"{paths[0]} holds no rows")
    import faiss

    index = _faiss_index(items.features, config)
    write_index(
        out, IndexFile(faiss.serialize_index(index), items.video_id, items.label, items.clip_start, asdict(config))
    )
    return {"index": str(out), "items": len(items), "dim": int(items.features.shape[1]), "kind": config.kind}


@dataclass
class Gallery:
    index: object  # faiss.Index
    video_id: np.ndarray
    label: np.ndarray
    config: IndexConfig


def load_index(path: Path) -> Gallery:
    import faiss

    stored = read_index(path)
    try:  # the bytes and the config come from the file: a damaged one is one line, not faiss's C++ trace
        index, config = faiss.deserialize_index(stored.faiss), IndexConfig(**stored.config)
    except (RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise VidkitError(f"{path} is a damaged retrieval index ({reason[:160]})") from None
    if index.ntotal != len(stored.video_id):
        raise VidkitError(
            f"{path} is a damaged retrieval index: {index.ntotal} vectors for {len(stored.video_id)} videos"
        )
    return Gallery(index, stored.video_id, stored.label, config)


def check_queries(gallery: IndexConfig, queries: list[dict], force: bool = False) -> None:
    """Queries must come from as many stores as the gallery, each embedded by the same net, input and
    pooling (`other_net`); `force` scores another net's queries anyway, with a warning."""
    if len(queries) != len(gallery.parts):
        raise VidkitError(
            f"the index joins {len(gallery.parts)} feature store(s); give as many query stores, in the same order"
        )
    for i, (g, q) in enumerate(zip(gallery.parts, queries)):
        why = other_net(g, q)
        if why is None:
            continue
        if g.get("dim") != q.get("dim") or not force:
            hint = "" if g.get("dim") != q.get("dim") else ", or pass --force to score them anyway"
            raise VidkitError(
                f"query store {q['path']} {why} (the index's part {i + 1}); embed both with one net{hint}"
            )
        log.warning("query store %s %s; scoring anyway (--force)", q["path"], why)


@dataclass
class RetrievalResult:
    queries: int
    gallery: int
    topk: dict[str, float]
    per_class: dict[str, dict[str, float]] | None
    neighbours: np.ndarray  # (Q, max k) gallery rows
    scores: np.ndarray  # (Q, max k)
    query_id: np.ndarray
    gallery_id: np.ndarray
    scored: int  # queries with a label (the others are listed but not scored)
    skipped_k: list[int] = field(default_factory=list)  # asked for, but more than the gallery holds

    def summary(self) -> dict:
        out = {"queries": self.queries, "gallery": self.gallery, "scored": self.scored, "topk": self.topk}
        if self.skipped_k:
            out["skipped_k"] = self.skipped_k
        if self.per_class is not None:
            out["per_class"] = self.per_class
        return out


def search(
    gallery: Gallery, items: Items, k: int, *, exclude_self: bool, nprobe: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`(Q, k)` gallery rows and scores (similarity for cosine, squared distance for l2); -1 pads."""
    if nprobe is not None and hasattr(gallery.index, "nprobe"):
        gallery.index.nprobe = nprobe
    extra = 0
    if exclude_self:
        _, counts = np.unique(gallery.video_id, return_counts=True)
        extra = int(counts.max())  # the query's own rows can take at most this many places
    depth = min(k + extra, gallery.index.ntotal)
    scores, rows = gallery.index.search(items.features, depth)
    if exclude_self:
        keep = (rows >= 0) & (gallery.video_id[np.maximum(rows, 0)] != items.video_id[:, None])
        order = np.argsort(~keep, axis=1, kind="stable")  # kept columns first, in rank order
        rows, scores = np.take_along_axis(rows, order, 1), np.take_along_axis(scores, order, 1)
        kept = np.take_along_axis(keep, order, 1)
        rows, scores = np.where(kept, rows, -1), np.where(kept, scores, np.nan)
    rows, scores = rows[:, :k], scores[:, :k]
    if rows.shape[1] < k:  # fewer gallery items than k
        pad = k - rows.shape[1]
        rows = np.pad(rows, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=np.nan)
    return rows, scores


def topk_hits(neighbour_labels: np.ndarray, query_labels: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """`(Q, len(ks))` booleans: any of the first k neighbours has the query's label."""
    match = neighbour_labels == query_labels[:, None]
    first = np.where(match.any(axis=1), match.argmax(axis=1), np.iinfo(np.int64).max)  # rank of the first hit
    return first[:, None] < np.asarray(ks)[None, :]


def retrieve(
    index_path: Path,
    query_paths: Sequence[Path],
    ks: Sequence[int] = DEFAULT_K,
    *,
    exclude_self: bool = False,
    clip: bool = False,
    per_class: bool = False,
    nprobe: int | None = None,
    out: Path | None = None,
    force: bool = False,
) -> RetrievalResult:
    """Query the index with every video (or clip) of the query stores, score top-k accuracy, and write
    the neighbour lists to `out` when given.

    Only the k that the gallery can fill are scored (top-50 of a 6-video gallery would be a hit for
    every query); the others are listed in `skipped_k`.

    Queries embedded by another net than the gallery's are refused unless `force` (which also lets
    `out` replace a file of another kind); queries that are the gallery's own videos get a warning
    (each finds itself first) unless `exclude_self`.

    Raises:
        UsageError: a k below 1, or `out` is an input or something other than a neighbours file.
        VidkitError: bad index, stores that do not match it, or queries without labels.
    """
    if not ks or min(ks) < 1:
        raise UsageError("--k takes positive integers, such as 1,5,10,20,50")
    if out is None:
        return _retrieve(index_path, query_paths, ks, exclude_self, clip, per_class, nprobe, force)
    with claim_output(out, inputs=[index_path, *query_paths], existing=unless_neighbours, force=force, option="--out"):
        result = _retrieve(index_path, query_paths, ks, exclude_self, clip, per_class, nprobe, force)
        write_neighbours(out, result.query_id, result.neighbours, result.scores, result.gallery_id)
        return result


def _retrieve(index_path, query_paths, ks, exclude_self, clip, per_class, nprobe, force) -> RetrievalResult:
    gallery = load_index(index_path)
    items, _ = load_items(query_paths, gallery.config, clip, gallery=gallery.config, force=force)
    if not exclude_self and same_videos(items.video_id, gallery.video_id):
        log.warning(
            "the queries are the gallery's own videos, so each finds itself first; "
            "--exclude-self skips a query's own video (or query with the test split)"
        )
    size = int(gallery.index.ntotal) - (1 if exclude_self else 0)
    ks, skipped = sorted(k for k in set(ks) if k <= size), sorted(k for k in set(ks) if k > size)
    if not ks:
        raise UsageError(f"every --k is larger than the gallery ({size} items); ask for k up to {size}")
    if skipped:
        log.warning("top-%s not scored: the gallery holds only %d items", ",".join(map(str, skipped)), size)
    rows, scores = search(gallery, items, ks[-1], exclude_self=exclude_self, nprobe=nprobe)
    labels = np.where(rows >= 0, gallery.label[np.maximum(rows, 0)], -2)
    scored = items.label >= 0
    if not scored.any():
        raise VidkitError("no query carries a label, so there is no accuracy to compute")
    hits = topk_hits(labels[scored], items.label[scored], ks)
    topk = {str(k): float(hits[:, i].mean()) for i, k in enumerate(ks)}
    classes = None
    if per_class:
        classes = {}
        for c in np.unique(items.label[scored]):
            mine = items.label[scored] == c
            classes[str(int(c))] = {str(k): float(hits[mine, i].mean()) for i, k in enumerate(ks)}
    return RetrievalResult(
        len(items),
        int(gallery.index.ntotal),
        topk,
        classes,
        rows,
        scores,
        items.video_id,
        gallery.video_id,
        int(scored.sum()),
        skipped,
    )
