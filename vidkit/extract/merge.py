"""`vidkit merge`: join the frame stores of a sharded extraction into one store, resumably.

Shards (`extract-frames --shard K/N`, see `extract.shards`) each hold a disjoint share of the
videos. Merging copies every video's stored bytes (frames, and flow when the shards have it) into
the output without decoding or re-encoding them, with its label, and joins the class names, the
splits (by video id) and the failures tables.

Shards made with different settings would make a store whose frames mean different things from
one video to the next, so they are refused before any work: the extraction config (size, fps,
codec, quality, flow and its bound) must be equal, and so must the annotations (class names and
split names). A shard whose own run did not finish is refused too: its missing videos would go
unnoticed.

Resume: the output is written through `FrameStoreWriter`, committed every few seconds, so a killed
merge leaves a readable store holding a prefix of the videos; running the same command again
skips every video already in it. The order is fixed (shards as given, each in its own order), and
the first shard to hold a video id keeps it; a second copy of an id becomes a row of the failures
table, as a duplicate input does in `extract-frames`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vidkit import __version__
from vidkit.errors import NoInputError, StoreConfigError, UsageError, VidkitError
from vidkit.io.frame_store import SCHEMA, FrameStore
from vidkit.io.frame_store_writer import EncodedVideo, FrameStoreWriter
from vidkit.io.h5 import unless_schema
from vidkit.io.outputs import claim_output

log = logging.getLogger("vidkit")

_COMMIT_EVERY_S = 5.0
_COMMIT_EVERY_N = 256


@dataclass
class MergeResult:
    store: Path
    shards: int
    videos: int
    failed: int
    frames: int
    new: int
    skipped: int

    def summary(self) -> dict:
        return asdict(self) | {"store": str(self.store)}


def merge(
    shards: list[str | Path],
    out: str | Path,
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> MergeResult:
    """Merge the frame stores `shards` into the frame store `out`, creating it or resuming it.

    Args:
        shards: frame stores of one sharded extraction (a path named twice counts once).
        out: the merged store; an existing frame store with the same config is resumed (or
            extended); anything else there is replaced only with `force`.
        force: replace an `out` that is not a frame store.
        progress: called as `progress(done, total)` after each video.

    Raises:
        NoInputError: no shards.
        UsageError: `out` is one of the shards, or exists and is no frame store (without `force`).
        StoreSchemaError: a shard is no frame store.
        StoreConfigError: the shards (or the existing output) differ in config or annotations.
        VidkitError: a shard's extraction did not finish.
    """
    paths = list(dict.fromkeys(Path(p).resolve() for p in shards))
    if not paths:
        raise NoInputError("no shard stores to merge")
    out = Path(out)
    existing = unless_schema(SCHEMA, "frame store")
    with claim_output(out, inputs=paths, existing=existing, force=force):
        if force and out.exists() and existing(out) is not None:
            if out.is_dir():
                raise UsageError(f"{out} is a folder; --force replaces files only")
            out.unlink()
        stores = [FrameStore(p) for p in paths]
        try:
            return _merge(stores, out, progress)
        finally:
            for store in stores:
                store.close()


def check_compatible(stores: list[FrameStore]) -> None:
    """Refuse shards that were not made by one extraction: other settings, other annotations, unfinished.

    Raises:
        StoreConfigError: config, class names or split names differ from the first shard's.
        VidkitError: a shard is not complete.
    """
    first = stores[0]
    for store in stores:
        if not store.complete:
            raise VidkitError(
                f"{store.path} is not complete (its extraction was interrupted); rerun that shard's command first"
            )
        if store.config != first.config:
            a, b = asdict(first.config), asdict(store.config)
            diffs = ", ".join(f"{k}={b[k]!r} (vs {a[k]!r})" for k in a if a[k] != b[k])
            raise StoreConfigError(f"cannot merge {store.path.name} with {first.path.name}: it was made with {diffs}")
        if store.classes != first.classes:
            raise StoreConfigError(
                f"cannot merge {store.path.name} with {first.path.name}: other class names "
                f"({len(store.classes)} vs {len(first.classes)} classes); extract every shard with the same --annotations"
            )
        if store.split_names != first.split_names:
            names = ", ".join(store.split_names) or "none"
            theirs = ", ".join(first.split_names) or "none"
            raise StoreConfigError(
                f"cannot merge {store.path.name} with {first.path.name}: other splits ({names} vs {theirs}); "
                "extract every shard with the same --annotations"
            )


def _previous(out: Path, first: FrameStore) -> dict[str, list[str]]:
    """The splits (as video ids) of an existing output, after checking it holds the same annotations."""
    if not out.exists():
        return {}
    with FrameStore(out) as store:
        if store.complete and store.classes != first.classes:  # a killed merge has written none yet
            raise StoreConfigError(f"{out} holds other class names than {first.path.name}; choose another output file")
        if store.num_videos == 0:
            return {}
        ids = store.table()["id"]
        return {name: list(ids[store.split(name)]) for name in store.split_names}


def _merge(stores: list[FrameStore], out: Path, progress) -> MergeResult:
    check_compatible(stores)
    first = stores[0]
    total = sum(store.num_videos for store in stores)
    if total == 0:
        raise NoInputError(f"the {len(stores)} shard store(s) hold no video")
    splits = _previous(out, first)
    done = new = skipped = 0
    claimed: dict[str, Path] = {}
    with FrameStoreWriter(out, first.config, created_by=f"vidkit {__version__} merge") as writer:
        batch: list[tuple[EncodedVideo, int]] = []  # copied, waiting for one batched write
        last_commit = time.monotonic()

        def commit() -> None:
            if batch:
                writer.add_videos([video for video, _ in batch], [label for _, label in batch])
                batch.clear()
            writer.commit()

        try:
            for store in stores:
                table = store.table()
                for index, video_id in enumerate(table["id"]):
                    done += 1
                    if video_id in claimed:
                        writer.add_failure(
                            table["source"][index],
                            f"duplicate video id {video_id!r} in {store.path.name} "
                            f"(kept the one from {claimed[video_id].name})",
                        )
                    elif video_id in writer.ids:
                        claimed[video_id] = store.path
                        skipped += 1
                    else:
                        claimed[video_id] = store.path
                        batch.append((_copy(store, index, table), int(table["label"][index])))
                        new += 1
                    if len(batch) >= _COMMIT_EVERY_N or time.monotonic() - last_commit > _COMMIT_EVERY_S:
                        commit()
                        last_commit = time.monotonic()
                    if progress:
                        progress(done, total)
                commit()  # this shard's videos first: a failure of one of them may name its source
                for source, error in store.failures():
                    writer.add_failure(source, error)
                for name in store.split_names:
                    splits.setdefault(name, []).extend(table["id"][store.split(name)])
        finally:
            commit()  # whatever happens, every video copied so far survives
        indices = {
            name: np.array(list(dict.fromkeys(writer.ids[i] for i in ids if i in writer.ids)), dtype=np.int64)
            for name, ids in splits.items()
        }
        writer.finish(first.classes, None, indices)
        counts = writer.counts()
    return MergeResult(store=out, shards=len(stores), new=new, skipped=skipped, **counts)


def _copy(store: FrameStore, index: int, table: dict[str, np.ndarray]) -> EncodedVideo:
    """One video of `store` as the writer takes it: the stored bytes, not decoded."""
    flow = store.has_flow
    return EncodedVideo(
        id=str(table["id"][index]),
        source=str(table["source"][index]),
        fps=float(table["fps"][index]),
        height=int(table["height"][index]),
        width=int(table["width"][index]),
        frames=store.encoded_frames(index, "rgb"),
        flow_u=store.encoded_frames(index, "u") if flow else None,
        flow_v=store.encoded_frames(index, "v") if flow else None,
    )
