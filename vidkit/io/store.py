"""The frame store (`vidkit.frames/1`): decoded videos in one HDF5 file, built to scale to 10^6 videos.

Layout (full description in docs/formats.md):

    /                     attrs: schema, vidkit_version, created_by, config (JSON), num_videos, complete
    /videos/id            (N,) str      file stem, the name split lists use
    /videos/source        (N,) str      path it was decoded from
    /videos/fps           (N,) float64  NaN for frame folders
    /videos/label         (N,) int64    -1 when unlabelled
    /videos/layout        (N, 5) int64  frame_first, n_frames, height, width, flow_first (-1 without flow)
    /streams/<s>/data     (B,) uint8    encoded images back to back, for s in rgb, u, v
    /streams/<s>/byte_range (F, 2) int64  offset and length of each image in data
    /classes              (C,) str
    /splits/<name>        (n,) int64    indices into /videos
    /failures/source, /failures/error   (M,) str

A few large chunked datasets addressed by offsets keep opening the file and reading a clip O(1)
in the number of videos: HDF5 gets slow with millions of objects, not with long datasets.

Crash safety: the writer appends past the committed extents and then, at each commit, records the
new extents in attributes and flushes. Readers and writers trust only the committed extents
(datasets may hold unreferenced rows or bytes past them), so a killed run leaves a readable store
holding every committed video, and the rerun redoes only the rest (see `FrameStoreWriter`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np
import simplejpeg

from vidkit import __version__
from vidkit.errors import ClipRangeError, StoreConfigError, StoreSchemaError
from vidkit.io.atomic import atomic_path
from vidkit.io.paths import printable

SCHEMA = "vidkit.frames/1"
CODECS = ("jpeg", "raw")
STREAM_CHANNELS = {"rgb": 3, "u": 1, "v": 1}
LAYOUT_COLUMNS = ("frame_first", "n_frames", "height", "width", "flow_first")
_DATA_CHUNK = 1 << 20  # 1 MiB of encoded bytes: a few clips of 112-px JPEGs per chunk
_ROW_CHUNK = 8192
_LAYOUT_BLOCK = 4096  # rows of /videos/layout a reader caches per read


@dataclass(frozen=True)
class StoreConfig:
    """How a store's frames were made. Appending to a store requires the same config."""

    codec: str = "jpeg"
    jpeg_quality: int = 90
    short_side: int | None = None
    fps: float | None = None
    max_frames: int | None = None
    flow: str | None = None  # "tvl1", "farneback", or None
    flow_bound: float = 20.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StoreConfig:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class VideoRecord:
    """One video's row of the store."""

    index: int
    id: str
    source: str
    n_frames: int
    fps: float
    height: int
    width: int
    label: int


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


# ---------------------------------------------------------------------------- image bytes


def encode_image(image: np.ndarray, codec: str, quality: int = 90) -> bytes:
    """`uint8 (H, W, 3)` BGR or `(H, W)` grey -> bytes in the store's codec.

    Colour comes in BGR because that is what the decoder hands over cheapest for OpenCV-style
    pipelines; raw stores RGB bytes so that readers need no conversion. JPEGs are 4:2:0, the
    libjpeg default that frame dumps of UCF101/Kinetics use.
    """
    if image.ndim == 2:
        image = image[..., None]
    if codec == "raw":
        return (image[..., ::-1] if image.shape[-1] == 3 else image).tobytes()
    colour = image.shape[-1] == 3
    return simplejpeg.encode_jpeg(
        np.ascontiguousarray(image), quality=quality, colorspace="BGR" if colour else "GRAY",
        colorsubsampling="420" if colour else "Gray",
    )


def decode_image_into(out: np.ndarray, data: np.ndarray, codec: str) -> None:
    """Decode one stored image into `out`, a `uint8 (H, W, C)` view (RGB for colour), without a copy.

    libjpeg-turbo through simplejpeg: about twice as fast as OpenCV's or PIL's decoder here, and
    JPEG decoding is most of a clip read.
    """
    if codec == "raw":
        out[...] = data.reshape(out.shape)
        return
    try:
        simplejpeg.decode_jpeg(data, colorspace="RGB" if out.shape[-1] == 3 else "GRAY", buffer=out)
    except ValueError as exc:
        raise StoreSchemaError(f"a stored JPEG does not decode ({exc}): the store is damaged") from exc


# ---------------------------------------------------------------------------- reading


def open_h5(path: Path, mode: str) -> h5py.File:
    """Open an HDF5 file; a missing or non-HDF5 file is a one-line `StoreSchemaError`."""
    try:
        # A bigger chunk cache keeps the last chunks of the byte stream hot for consecutive clips.
        return h5py.File(path, mode, rdcc_nbytes=16 << 20, rdcc_nslots=10007)
    except FileNotFoundError as exc:
        raise StoreSchemaError(f"no such store: {path}") from exc
    except OSError as exc:
        raise StoreSchemaError(f"{path} is not a readable HDF5 file ({str(exc).splitlines()[0]})") from exc


@contextmanager
def damaged(path: Path, kind: str) -> Iterator[None]:
    """Turn a missing dataset or attribute of a file whose schema looked right into one `StoreSchemaError`."""
    try:
        yield
    except (KeyError, ValueError, TypeError) as exc:
        name = exc.args[0] if exc.args else type(exc).__name__
        raise StoreSchemaError(f"{path} is a damaged {kind}: {name!s} is missing or malformed") from None


def check_schema(handle: h5py.File, path: Path, schema: str = SCHEMA, kind: str = "frame store") -> None:
    """Raise `StoreSchemaError` unless the file's `schema` attribute is `schema`."""
    found = handle.attrs.get("schema")
    if found != schema:
        what = f"schema {found!r}" if found else "no vidkit schema"
        raise StoreSchemaError(f"{path} is not a {kind} ({what}; expected {schema!r})")


KNOWN_SCHEMAS = {
    SCHEMA: "a frame store",
    "vidkit.features/1": "a feature store",
    "vidkit.index/1": "a retrieval index",
    "vidkit.clusters/1": "a clusters store",
    "vidkit.neighbours/1": "a neighbours file",
}


def schema_of(path: Path) -> str | None:
    """The `schema` attribute of an HDF5 file ('' when it has none); None when it is no HDF5 file."""
    try:
        with h5py.File(path, "r") as handle:
            return str(handle.attrs.get("schema", ""))
    except OSError:
        return None


def unless_schema(schema: str, kind: str):
    """An `io.outputs` verdict: an existing output may be replaced only when it has `schema`."""

    def verdict(path: Path) -> str | None:
        found = schema_of(path)
        if found == schema:
            return None
        if path.is_dir():
            return "a folder"
        return KNOWN_SCHEMAS.get(found) or (f"an HDF5 file of schema {found!r}" if found else f"not a {kind}")

    return verdict


def _read_rows(dataset: h5py.Dataset, start: int, count: int) -> np.ndarray:
    """Rows `start:start+count` of a dataset through h5py's low-level API.

    `dataset[a:b]` costs a few hundred microseconds of selection bookkeeping per call, which is
    several JPEG decodes; a direct hyperslab read costs a tenth of that.
    """
    out = np.empty((count, *dataset.shape[1:]), dtype=dataset.dtype)
    file_space = dataset.id.get_space()
    file_space.select_hyperslab((start,) + (0,) * (out.ndim - 1), out.shape)
    dataset.id.read(h5py.h5s.create_simple(out.shape), file_space, out)
    return out


class FrameStore:
    """Read-only access to a frame store.

    Opening reads a few attributes only. The HDF5 handle is opened on first use in each process
    and dropped when pickled, so one `FrameStore` can be handed to DataLoader workers.

    Raises:
        StoreSchemaError: the file is missing, not HDF5, or not a `vidkit.frames/1` store.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with open_h5(self.path, "r") as handle:
            check_schema(handle, self.path)
            with damaged(self.path, "frame store"):
                self.config = StoreConfig.from_json(handle.attrs["config"])
                self.num_videos = int(handle.attrs["num_videos"])
                self.complete = bool(handle.attrs["complete"])
                self.created_by = str(handle.attrs.get("created_by", ""))
                self.num_frames = int(handle["streams/rgb"].attrs["num_entries"])
                self.num_failures = int(handle["failures"].attrs["num_failures"])
                self.classes = [s.decode() if isinstance(s, bytes) else s for s in handle["classes"][()]]
                self.split_names = sorted(handle["splits"].keys())
                for name in ("videos/id", "videos/source", "videos/fps", "videos/label", "videos/layout",
                             "streams/rgb/data", "streams/rgb/byte_range"):
                    if not isinstance(handle.get(name), h5py.Dataset):
                        raise KeyError(name)
        self._handle: h5py.File | None = None
        self._pid: int | None = None
        self._layout_cache: dict[int, np.ndarray] = {}
        self._streams: dict[str, tuple[h5py.Dataset, h5py.Dataset]] = {}

    # Pickling (DataLoader workers) carries the path, never the open handle.
    def __getstate__(self):
        state = self.__dict__.copy()
        state.update(_handle=None, _pid=None, _layout_cache={}, _streams={})
        return state

    def _h5(self) -> h5py.File:
        if self._handle is None or self._pid != os.getpid():
            self._handle, self._pid = open_h5(self.path, "r"), os.getpid()
            self._layout_cache, self._streams = {}, {}
        return self._handle

    def _stream(self, name: str) -> tuple[h5py.Dataset, h5py.Dataset]:
        """`(byte_range, data)` of a stream; looked up once, since h5py's path lookups are not free."""
        if name not in self._streams:
            group = self._h5()[f"streams/{name}"]
            self._streams[name] = (group["byte_range"], group["data"])
        return self._streams[name]

    def close(self) -> None:
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle, self._streams = None, {}

    def __enter__(self) -> FrameStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def has_flow(self) -> bool:
        return self.config.flow is not None

    def _layout(self, index: int) -> np.ndarray:
        if not 0 <= index < self.num_videos:
            raise ClipRangeError(f"video {index} is not in {self.path.name} ({self.num_videos} videos)")
        block = index // _LAYOUT_BLOCK
        rows = self._layout_cache.get(block)
        if rows is None:
            if len(self._layout_cache) > 256:
                self._layout_cache.clear()
            start = block * _LAYOUT_BLOCK
            rows = self._h5()["videos/layout"][start : min(start + _LAYOUT_BLOCK, self.num_videos)]
            self._layout_cache[block] = rows
        return rows[index % _LAYOUT_BLOCK]

    def n_frames(self, index: int) -> int:
        return int(self._layout(index)[1])

    def video(self, index: int) -> VideoRecord:
        """The row of video `index` (0-based)."""
        first, n, height, width, _ = (int(x) for x in self._layout(index))
        videos = self._h5()["videos"]
        return VideoRecord(
            index=index,
            id=videos["id"].asstr()[index],
            source=videos["source"].asstr()[index],
            n_frames=n,
            fps=float(videos["fps"][index]),
            height=height,
            width=width,
            label=int(videos["label"][index]),
        )

    def table(self) -> dict[str, np.ndarray]:
        """Every video's row as columns (O(N): for listings and joins, not per-clip work)."""
        videos, n = self._h5()["videos"], self.num_videos
        layout = videos["layout"][:n]
        columns = {name: layout[:, i] for i, name in enumerate(LAYOUT_COLUMNS)}
        columns.update(
            id=np.array(videos["id"].asstr()[:n], dtype=object),
            source=np.array(videos["source"].asstr()[:n], dtype=object),
            fps=videos["fps"][:n],
            label=videos["label"][:n],
        )
        return columns

    def split(self, name: str) -> np.ndarray:
        """Video indices of a named split (`int64 (n,)`)."""
        if name not in self.split_names:
            known = ", ".join(self.split_names) or "none"
            raise StoreSchemaError(f"{self.path.name} has no split {name!r} (splits: {known})")
        return self._h5()[f"splits/{name}"][()]

    def failures(self) -> list[tuple[str, str]]:
        """`(source, error)` of every input that could not be extracted."""
        group, n = self._h5()["failures"], self.num_failures
        return list(zip(group["source"].asstr()[:n], group["error"].asstr()[:n]))

    def read_clip(self, video: int, start: int, length: int, stride: int = 1, stream: str = "rgb") -> np.ndarray:
        """Frames `start, start + stride, ...` (`length` of them) of one video.

        Reads two small slices (the clip's byte ranges, then its bytes) and nothing else of the
        video. `stream` is `rgb`, or `u`/`v` in a store made with flow, whose frame `i` is the flow
        from frame `i` to `i + 1` (so a video has `n_frames - 1` of them).

        Returns:
            `uint8 (T, H, W, C)`: C is 3 (RGB) for `rgb` and 1 for `u`/`v`.

        Raises:
            ClipRangeError: the clip runs outside the video, or the store has no such stream.
        """
        indices = start + stride * np.arange(length)
        return self.read_frames(video, indices, stream=stream)

    def read_frames(self, video: int, indices, stream: str = "rgb") -> np.ndarray:
        """Frames at arbitrary indices of one video (see `read_clip`), `uint8 (T, H, W, C)`."""
        if stream not in STREAM_CHANNELS or (stream != "rgb" and not self.has_flow):
            have = "rgb, u, v" if self.has_flow else "rgb (made without --flow)"
            raise ClipRangeError(f"{self.path.name} has no {stream!r} frames; it has {have}")
        indices = np.asarray(indices, dtype=np.int64)
        frame_first, n, height, width, flow_first = (int(x) for x in self._layout(video))
        first, count = (frame_first, n) if stream == "rgb" else (flow_first, n - 1)
        if indices.size == 0 or indices.min() < 0 or indices.max() >= count:
            raise ClipRangeError(
                f"video {video} has {count} {stream} frames; asked for frames {indices.min(initial=0)}..{indices.max(initial=0)}"
            )
        byte_range, data = self._stream(stream)
        lo, hi = int(indices.min()), int(indices.max()) + 1
        ranges = _read_rows(byte_range, first + lo, hi - lo)[indices - lo]  # (T, 2) offset, length
        begin, end = int(ranges[:, 0].min()), int((ranges[:, 0] + ranges[:, 1]).max())
        blob = _read_rows(data, begin, end - begin)
        clip = np.empty((indices.size, height, width, STREAM_CHANNELS[stream]), dtype=np.uint8)
        for t, (offset, size) in enumerate(ranges - [begin, 0]):
            decode_image_into(clip[t], blob[offset : offset + size], self.config.codec)
        return clip

    def summary(self) -> dict:
        """What `vidkit info` prints: counts, classes, splits and the extraction config."""
        handle = self._h5()
        return {
            "store": str(self.path),
            "schema": SCHEMA,
            "complete": self.complete,
            "videos": self.num_videos,
            "frames": self.num_frames,
            "failed": self.num_failures,
            "classes": len(self.classes),
            "splits": {name: int(handle[f"splits/{name}"].shape[0]) for name in self.split_names},
            "bytes": int(handle["streams/rgb"].attrs["num_bytes"]),
            "config": asdict(self.config),
            "created_by": self.created_by,
        }


# ---------------------------------------------------------------------------- writing


def _string_dataset(group: h5py.Group, name: str) -> None:
    group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=h5py.string_dtype(), chunks=(_ROW_CHUNK,))


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
        _string_dataset(videos, "id")
        _string_dataset(videos, "source")
        videos.create_dataset("fps", shape=(0,), maxshape=(None,), dtype="f8", chunks=(_ROW_CHUNK,))
        videos.create_dataset("label", shape=(0,), maxshape=(None,), dtype="i8", chunks=(_ROW_CHUNK,))
        layout = videos.create_dataset(
            "layout", shape=(0, len(LAYOUT_COLUMNS)), maxshape=(None, len(LAYOUT_COLUMNS)), dtype="i8",
            chunks=(_LAYOUT_BLOCK, len(LAYOUT_COLUMNS)),
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
        _string_dataset(failures, "source")
        _string_dataset(failures, "error")
        failures.attrs["num_failures"] = 0


def _write_at(dataset: h5py.Dataset, at: int, values) -> None:
    """Write `values` at rows `at:` of a resizable dataset, growing it if needed (never shrinking it)."""
    if len(values) == 0:
        return
    if dataset.dtype.kind != "O":
        values = np.asarray(values, dtype=dataset.dtype)
    end = at + len(values)
    if dataset.shape[0] < end:
        dataset.resize(end, axis=0)
    dataset[at:end] = values


def _no_metadata_evictions(handle: h5py.File) -> None:
    """Keep HDF5's metadata in memory until a flush, so that between two commits only raw chunk
    bytes reach the disk: a kill then leaves the file exactly as the last commit wrote it, plus
    unreferenced bytes that later writes reuse."""
    config = handle.id.get_mdc_config()
    config.evictions_enabled = False
    config.incr_mode = config.decr_mode = config.flash_incr_mode = 0  # required with evictions off
    handle.id.set_mdc_config(config)


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
            check_schema(self._h5, self.path)
            stored = StoreConfig.from_json(self._h5.attrs["config"])
            if stored != config:
                raise StoreConfigError(_config_mismatch(self.path, stored, config))
            self.config = config
            _no_metadata_evictions(self._h5)
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
        _write_at(group["byte_range"], cursor.entries, np.stack([offsets[: len(images)], sizes], axis=1))
        _write_at(group["data"], cursor.bytes, np.frombuffer(b"".join(images), dtype=np.uint8))
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
        _write_at(videos["fps"], row, [video.fps])
        _write_at(videos["label"], row, [label])
        _write_at(videos["layout"], row, [[frame_first, len(video.frames), video.height, video.width, flow_first]])
        self._pending_text.append((video.id, printable(video.source)))
        self.ids[video.id] = row
        self._failures.pop(printable(video.source), None)
        self.num_videos += 1
        return row

    def add_failure(self, source: str, error: str) -> None:
        self._failures[printable(source)] = printable(error)

    def commit(self) -> None:
        """Make everything added so far durable: write the strings and extents, then flush to disk."""
        if self._pending_text:
            ids, sources = zip(*self._pending_text)
            _write_at(self._h5["videos/id"], self._committed_videos, list(ids))
            _write_at(self._h5["videos/source"], self._committed_videos, list(sources))
        failures = self._h5["failures"]
        _write_at(failures["source"], 0, list(self._failures))
        _write_at(failures["error"], 0, list(self._failures.values()))
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
            _write_at(self._h5["videos/label"], 0, labels)
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
