"""Writing frame stores: `FrameStoreWriter` appends videos crash-safely (see `io.frame_store` for the layout).

It is one of the two `VideoSink`s extraction (and scrape's cache) writes through; the other is
`io.frame_folders.FrameFolderWriter`, the 3D-ResNets folder layout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import h5py
import numpy as np

from vidkit import __version__
from vidkit.errors import StoreConfigError
from vidkit.io.atomic import atomic_path
from vidkit.io.frame_store import LAYOUT_BLOCK, LAYOUT_COLUMNS, SCHEMA, StoreConfig
from vidkit.io.h5 import check_schema, no_metadata_evictions, open_h5, string_dataset, write_at
from vidkit.io.paths import printable

_DATA_CHUNK = 1 << 20  # 1 MiB of encoded bytes: a few clips of 112-px JPEGs per chunk
_ROW_CHUNK = 8192


@dataclass
class EncodedVideo:
    """A decoded and encoded video, ready to append: what extraction hands the writer."""

    id: str
    source: str
    fps: float
    height: int
    width: int
    frames: list[bytes]
    flow_u: list[bytes] | None = None
    flow_v: list[bytes] | None = None


class VideoSink(Protocol):
    """What extraction writes videos through: a frame store, or a folder of frame folders.

    `ids` maps the stored video ids to their index; `failed_sources` are the inputs recorded as
    failed (retried by a rerun); `complete` tells whether a run finished. `add_video` and
    `add_failure` take effect at the next `commit`; `finish` writes labels, classes and splits
    and marks the output complete.
    """

    ids: dict[str, int]
    complete: bool

    @property
    def failed_sources(self) -> set[str]: ...

    def __enter__(self) -> VideoSink: ...

    def __exit__(self, *exc) -> None: ...

    def add_video(self, video: EncodedVideo, label: int = -1) -> int: ...

    def add_failure(self, source: str, error: str) -> None: ...

    def commit(self) -> None: ...

    def finish(self, classes: list[str] | None, labels: np.ndarray | None, splits: dict[str, np.ndarray]) -> None: ...

    def counts(self) -> dict: ...


def _create_skeleton(path: Path, config: StoreConfig, created_by: str) -> None:
    """Write an empty store to a temporary name and move it into place, so `path` is never half-made."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs.update(
            schema=SCHEMA,
            vidkit_version=__version__,
            created_by=created_by,
            config=config.to_json(),
            num_videos=0,
            complete=False,
        )
        videos = handle.create_group("videos")
        string_dataset(videos, "id")
        string_dataset(videos, "source")
        videos.create_dataset("fps", shape=(0,), maxshape=(None,), dtype="f8", chunks=(_ROW_CHUNK,))
        videos.create_dataset("label", shape=(0,), maxshape=(None,), dtype="i8", chunks=(_ROW_CHUNK,))
        layout = videos.create_dataset(
            "layout",
            shape=(0, len(LAYOUT_COLUMNS)),
            maxshape=(None, len(LAYOUT_COLUMNS)),
            dtype="i8",
            chunks=(LAYOUT_BLOCK, len(LAYOUT_COLUMNS)),
        )
        layout.attrs["columns"] = list(LAYOUT_COLUMNS)
        for stream in ("rgb", "u", "v") if config.flow else ("rgb",):
            group = handle.create_group(f"streams/{stream}")
            group.create_dataset("data", shape=(0,), maxshape=(None,), dtype="u1", chunks=(_DATA_CHUNK,))
            group.create_dataset("byte_range", shape=(0, 2), maxshape=(None, 2), dtype="i8", chunks=(_ROW_CHUNK, 2))
            group.attrs.update(num_entries=0, num_bytes=0)
        handle.create_dataset("classes", data=np.array([], dtype=h5py.string_dtype()))
        handle.create_group("splits")
        failures = handle.create_group("failures")
        string_dataset(failures, "source")
        string_dataset(failures, "error")
        failures.attrs["num_failures"] = 0


@dataclass
class _StreamCursor:
    """Entries and bytes of one stream written so far (committed ones are in the group's attrs)."""

    entries: int
    bytes: int


class FrameStoreWriter:
    """Appends videos to a frame store, creating it or resuming it.

    Use as a context manager; call `commit()` now and then (each commit makes the videos added
    so far survive a kill) and `finish()` at the end of a successful run.

    Crash protocol: rows and bytes are written at the logical end (the committed extent plus what
    this run added), datasets only ever grow, and strings (which HDF5 keeps in a shared heap) are
    written only inside `commit()`, right before the flush.

    Raises:
        StoreSchemaError: `path` exists but is not a frame store.
        StoreConfigError: `path` is a frame store made with another config.
    """

    def __init__(self, path: str | Path, config: StoreConfig, *, created_by: str = "vidkit"):
        self.path = Path(path)
        if not self.path.exists():
            _create_skeleton(self.path, config, created_by)
        self._h5 = open_h5(self.path, "r+")
        try:
            check_schema(self._h5, self.path, SCHEMA, "frame store")
            stored = StoreConfig.from_json(self._h5.attrs["config"])
            if stored != config:
                raise StoreConfigError(_config_mismatch(self.path, stored, config))
            self.config = config
            no_metadata_evictions(self._h5)
            self._load_committed()
        except BaseException:
            self._h5.close()
            raise

    def _load_committed(self) -> None:
        """Start from the last committed extents; anything a killed run wrote past them is ignored."""
        handle = self._h5
        self.num_videos = self._committed_videos = int(handle.attrs["num_videos"])
        self._streams = {
            name: _StreamCursor(int(group.attrs["num_entries"]), int(group.attrs["num_bytes"]))
            for name, group in handle["streams"].items()
        }
        failures = handle["failures"]
        n = int(failures.attrs["num_failures"])
        self._failures = dict(zip(failures["source"].asstr()[:n], failures["error"].asstr()[:n]))
        self._pending_text: list[tuple[str, str]] = []  # (id, source) of videos added since the commit
        self.complete = bool(handle.attrs["complete"])
        self.ids = dict(zip(handle["videos/id"].asstr()[: self.num_videos], range(self.num_videos)))

    @property
    def failed_sources(self) -> set[str]:
        return set(self._failures)

    def __enter__(self) -> FrameStoreWriter:
        return self

    def __exit__(self, *exc) -> None:
        self._h5.close()

    def _append_stream(self, name: str, images: list[bytes]) -> int:
        group, cursor = self._h5[f"streams/{name}"], self._streams[name]
        sizes = np.fromiter((len(b) for b in images), dtype=np.int64, count=len(images))
        offsets = cursor.bytes + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        write_at(group["byte_range"], cursor.entries, np.stack([offsets[: len(images)], sizes], axis=1))
        write_at(group["data"], cursor.bytes, np.frombuffer(b"".join(images), dtype=np.uint8))
        first = cursor.entries
        cursor.entries += len(images)
        cursor.bytes += int(sizes.sum())
        return first

    def add_video(self, video: EncodedVideo, label: int = -1) -> int:
        """Append one video (durable from the next `commit`); returns its index."""
        if video.id != printable(video.id):
            raise ValueError(f"video ids are stored as printable text; got {video.id!r}")
        if video.id in self.ids:
            raise StoreConfigError(f"{self.path.name} already holds a video {video.id!r}")
        if not video.frames:
            raise ValueError("a video needs at least one frame")
        frame_first = self._append_stream("rgb", video.frames)
        flow_first = -1
        if self.config.flow:
            flow_first = self._append_stream("u", video.flow_u or [])
            self._append_stream("v", video.flow_v or [])
        videos, row = self._h5["videos"], self.num_videos
        write_at(videos["fps"], row, [video.fps])
        write_at(videos["label"], row, [label])
        write_at(videos["layout"], row, [[frame_first, len(video.frames), video.height, video.width, flow_first]])
        self._pending_text.append((video.id, printable(video.source)))
        self.ids[video.id] = row
        self._failures.pop(printable(video.source), None)
        self.num_videos += 1
        return row

    def add_videos(self, videos: list[EncodedVideo], labels: list[int] | None = None) -> int:
        """Append many videos with one write per dataset (durable from the next `commit`).

        The same as `add_video` for each, in order; but one HDF5 write costs about what a small
        video's bytes do, so merging or building a store of 10^6 videos goes through here.
        Returns the index of the first.
        """
        labels = [-1] * len(videos) if labels is None else list(labels)
        seen: set[str] = set()
        for video in videos:
            if video.id != printable(video.id):
                raise ValueError(f"video ids are stored as printable text; got {video.id!r}")
            if video.id in self.ids or video.id in seen:
                raise StoreConfigError(f"{self.path.name} already holds a video {video.id!r}")
            if not video.frames:
                raise ValueError("a video needs at least one frame")
            seen.add(video.id)
        row = self.num_videos
        if not videos:
            return row
        counts = np.array([len(v.frames) for v in videos], dtype=np.int64)
        frame_first = self._append_stream("rgb", [b for v in videos for b in v.frames]) + np.cumsum(counts) - counts
        flow_first = np.full(len(videos), -1, dtype=np.int64)
        if self.config.flow:
            flow_counts = np.array([len(v.flow_u or []) for v in videos], dtype=np.int64)
            first = self._append_stream("u", [b for v in videos for b in v.flow_u or []])
            self._append_stream("v", [b for v in videos for b in v.flow_v or []])
            flow_first = first + np.cumsum(flow_counts) - flow_counts
        group = self._h5["videos"]
        write_at(group["fps"], row, [v.fps for v in videos])
        write_at(group["label"], row, labels)
        sizes = [[v.height, v.width] for v in videos]
        write_at(group["layout"], row, np.column_stack([frame_first, counts, sizes, flow_first]))
        for offset, video in enumerate(videos):
            self._pending_text.append((video.id, printable(video.source)))
            self.ids[video.id] = row + offset
            self._failures.pop(printable(video.source), None)
        self.num_videos += len(videos)
        return row

    def add_failure(self, source: str, error: str) -> None:
        self._failures[printable(source)] = printable(error)

    def commit(self) -> None:
        """Make everything added so far durable: write the strings and extents, then flush to disk."""
        if self._pending_text:
            ids, sources = zip(*self._pending_text)
            write_at(self._h5["videos/id"], self._committed_videos, list(ids))
            write_at(self._h5["videos/source"], self._committed_videos, list(sources))
        failures = self._h5["failures"]
        write_at(failures["source"], 0, list(self._failures))
        write_at(failures["error"], 0, list(self._failures.values()))
        failures.attrs["num_failures"] = len(self._failures)
        for name, cursor in self._streams.items():
            self._h5[f"streams/{name}"].attrs.update(num_entries=cursor.entries, num_bytes=cursor.bytes)
        self._h5.attrs["num_videos"] = self.num_videos
        self._h5.flush()
        self._committed_videos, self._pending_text = self.num_videos, []

    def finish(self, classes: list[str] | None, labels: np.ndarray | None, splits: dict[str, np.ndarray]) -> None:
        """Write labels, class names and splits, mark the store complete and commit.

        `labels` is `int64 (N,)` over all videos (None keeps the stored ones); `splits` maps a
        name to video indices and replaces the stored splits of that name.
        """
        if classes is not None:
            del self._h5["classes"]
            self._h5.create_dataset("classes", data=np.array(classes, dtype=h5py.string_dtype()))
        if labels is not None:
            write_at(self._h5["videos/label"], 0, labels)
        for name, indices in splits.items():
            if name in self._h5["splits"]:
                del self._h5[f"splits/{name}"]
            self._h5["splits"].create_dataset(name, data=np.asarray(indices, dtype=np.int64))
        self._h5.attrs["complete"] = True
        self.complete = True
        self.commit()

    def counts(self) -> dict:
        return {"videos": self.num_videos, "failed": len(self._failures), "frames": self._streams["rgb"].entries}


def _config_mismatch(path: Path, stored: StoreConfig, wanted: StoreConfig) -> str:
    stored_d, wanted_d = asdict(stored), asdict(wanted)
    diffs = [f"{k}={stored_d[k]!r} (now {wanted_d[k]!r})" for k in stored_d if stored_d[k] != wanted_d[k]]
    return f"{path} was made with {', '.join(diffs)}; use the same options or another output file"
