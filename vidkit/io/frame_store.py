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
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np

from vidkit.errors import ClipRangeError, StoreSchemaError
from vidkit.io.h5 import Shapes, check_schema, damaged, open_h5, read_rows
from vidkit.io.image import decode_image_into

SCHEMA = "vidkit.frames/1"
CODECS = ("jpeg", "raw")
STREAM_CHANNELS = {"rgb": 3, "u": 1, "v": 1}
LAYOUT_COLUMNS = ("frame_first", "n_frames", "height", "width", "flow_first")
LAYOUT_BLOCK = 4096  # rows of /videos/layout a reader caches per read (and the layout's chunk)
# A baseline JPEG spends at least a bit on each 8x8 block's DC and end-of-block codes, so it decodes
# to at most ~512 times its size (4:2:0 colour; 256 for grey); progressive ones to ~1024. A frame
# whose layout promises more pixels than this times its stored bytes is damage, refused before a
# clip's `(T, H, W, C)` array is allocated from those numbers.
MAX_JPEG_RATIO = 2048


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


def _uncached(group: h5py.Group, name: str) -> h5py.Dataset:
    """Open `group[name]` with HDF5's chunk cache off (reads go straight to the file)."""
    access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    access.set_chunk_cache(0, 0, 1.0)
    return h5py.Dataset(h5py.h5d.open(group.id, name.encode(), dapl=access))


def _check_tables(handle: h5py.File, path: Path, store: FrameStore) -> None:
    """Check, at open, the datasets every read indexes: element kind, rank, and at least the committed
    rows (datasets may hold more, past a killed run's last commit). Metadata only: O(1) in the store's
    size. A string label or a layout shorter than `num_videos` is then one line here, not an
    IndexError in a DataLoader worker.

    Raises:
        StoreSchemaError: naming the first dataset that is missing, of the wrong kind, or too short.
    """
    shapes = Shapes(handle, path, "frame store")
    counts = {"num_videos": store.num_videos, "num_failures": store.num_failures}
    tables = [
        ("videos/id", "str", "*", "num_videos"),
        ("videos/source", "str", "*", "num_videos"),
        ("videos/fps", "float", "*", "num_videos"),
        ("videos/label", "int", "*", "num_videos"),
        ("videos/layout", "int", f"* {len(LAYOUT_COLUMNS)}", "num_videos"),
        ("failures/source", "str", "*", "num_failures"),
        ("failures/error", "str", "*", "num_failures"),
        ("classes", "str", "*", None),
    ]
    for stream in ("rgb", "u", "v") if store.config.flow else ("rgb",):
        attrs = handle[f"streams/{stream}"].attrs
        counts[f"{stream} entries"], counts[f"{stream} bytes"] = int(attrs["num_entries"]), int(attrs["num_bytes"])
        tables += [
            (f"streams/{stream}/byte_range", "int", "* 2", f"{stream} entries"),
            (f"streams/{stream}/data", "byte", "*", f"{stream} bytes"),
        ]
    tables += [(f"splits/{name}", "int", "*", None) for name in store.split_names]
    for name, element, dims, count in tables:
        rows = shapes.dataset(name, element, dims).shape[0]
        need = counts.get(count, 0)
        if need < 0 or rows < need:
            raise StoreSchemaError(f"{path} is a damaged frame store: {name} has {rows} rows; it commits {need}")


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
            check_schema(handle, self.path, SCHEMA, "frame store")
            with damaged(self.path, "frame store"):
                self.config = StoreConfig.from_json(handle.attrs["config"])
                self.num_videos = int(handle.attrs["num_videos"])
                self.complete = bool(handle.attrs["complete"])
                self.created_by = str(handle.attrs.get("created_by", ""))
                self.num_frames = int(handle["streams/rgb"].attrs["num_entries"])
                self.num_failures = int(handle["failures"].attrs["num_failures"])
                self.split_names = sorted(handle["splits"].keys())
                _check_tables(handle, self.path, self)
                self.classes = list(handle["classes"].asstr()[()])
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
        """`(byte_range, data)` of a stream; looked up once, since h5py's path lookups are not free.

        Both are opened without HDF5's chunk cache. With it, reading one clip's 20 KB pulls the
        whole 1 MiB chunk around it into the cache, which is free while the store fits in the cache
        and a megabyte copied per clip once it does not: random clips from a 10^6-video store read
        3x slower than from a 10^3-video one. Uncached, HDF5 reads just the clip's bytes (from the
        OS page cache), so a clip costs the same whatever the store's size.
        """
        if name not in self._streams:
            group = self._h5()[f"streams/{name}"]
            self._streams[name] = (_uncached(group, "byte_range"), _uncached(group, "data"))
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
        block = index // LAYOUT_BLOCK
        rows = self._layout_cache.get(block)
        if rows is None:
            if len(self._layout_cache) > 256:
                self._layout_cache.clear()
            start = block * LAYOUT_BLOCK
            rows = self._h5()["videos/layout"][start : min(start + LAYOUT_BLOCK, self.num_videos)]
            self._layout_cache[block] = rows
        return rows[index % LAYOUT_BLOCK]

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
        ranges = read_rows(byte_range, first + lo, hi - lo)[indices - lo]  # (T, 2) offset, length
        self._check_frames(video, ranges[:, 1], height, width, STREAM_CHANNELS[stream])
        begin, end = int(ranges[:, 0].min()), int((ranges[:, 0] + ranges[:, 1]).max())
        blob = read_rows(data, begin, end - begin)
        clip = np.empty((indices.size, height, width, STREAM_CHANNELS[stream]), dtype=np.uint8)
        for t, (offset, size) in enumerate(ranges - [begin, 0]):
            decode_image_into(clip[t], blob[offset : offset + size], self.config.codec)
        return clip

    def _check_frames(self, video: int, sizes: np.ndarray, height: int, width: int, channels: int) -> None:
        """Refuse frames whose stored sizes cannot hold the `height x width x channels` images the
        layout promises (raw: exactly that many bytes; JPEG: at least 1/`MAX_JPEG_RATIO` of it), so a
        damaged layout never sizes the clip array. `sizes`: `int64 (T,)`.

        Raises:
            StoreSchemaError: naming the video.
        """
        pixels = height * width * channels
        if self.config.codec == "raw":
            bad = sizes != pixels
        else:
            bad = (sizes < 1) | (sizes * MAX_JPEG_RATIO < pixels)
        if height < 1 or width < 1 or bad.any():
            raise StoreSchemaError(
                f"{self.path} is a damaged frame store: video {video} stores frames of {int(sizes.min())}.."
                f"{int(sizes.max())} bytes, which cannot hold {height}x{width}x{channels} {self.config.codec} images"
            )

    def encoded_frames(self, video: int, stream: str = "rgb") -> list[bytes]:
        """Every frame of one video as stored (JPEG or raw bytes), undecoded: what `merge` copies.

        Returns an empty list for the `u`/`v` streams of a store made without flow.
        """
        if stream != "rgb" and not self.has_flow:
            return []
        frame_first, n, _, _, flow_first = (int(x) for x in self._layout(video))
        first, count = (frame_first, n) if stream == "rgb" else (flow_first, n - 1)
        if count <= 0:
            return []
        byte_range, data = self._stream(stream)
        ranges = read_rows(byte_range, first, count)
        begin = int(ranges[0, 0])
        blob = read_rows(data, begin, int(ranges[-1, 0] + ranges[-1, 1]) - begin).tobytes()
        return [blob[offset - begin : offset - begin + size] for offset, size in ranges.tolist()]

    def content_digest(self, video: int) -> str:
        """A fingerprint of one video's RGB frames (sha256 hex) that changes when they do.

        It covers the frame count and size, the stored size of every frame and the stored bytes of
        the first, middle and last frames, so it reads a few kilobytes, not the whole video: a
        resumed `cluster-idt` checks every finished video against its input with it.
        """
        import hashlib

        frame_first, n, height, width, _ = (int(x) for x in self._layout(video))
        digest = hashlib.sha256(f"{n} {height} {width} {self.config.codec}\n".encode())
        if n > 0:
            byte_range, data = self._stream("rgb")
            ranges = read_rows(byte_range, frame_first, n)  # (n, 2) offset, length
            digest.update(np.ascontiguousarray(ranges[:, 1], dtype="<i8").tobytes())
            for offset, size in ranges[sorted({0, n // 2, n - 1})].tolist():
                digest.update(read_rows(data, offset, size).tobytes())
        return digest.hexdigest()

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
