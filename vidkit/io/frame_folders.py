"""Folders of frame images, in the layouts older pipelines read and write.

Recognised names, always sorted by their number (never as strings, so `frame10` follows `frame9`):
`frame000001.jpg` (two-stream / TCE / IIC), `image_00001.jpg` (3D-ResNets, Video LA),
`img_00001.jpg` (MMAction2 rawframes), `frame0.jpg` (TCE Kinetics) and bare `00001.jpg`.
Flow images (`flow_x_00001.jpg`, ...) and other files are ignored.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from vidkit.errors import StoreConfigError, UnsafeNameError, VideoDecodeError
from vidkit.io.atomic import atomic_path
from vidkit.io.paths import child, component_name, printable
from vidkit.io.video import output_size

MARKER = "vidkit_folders.json"
_RESERVED = frozenset({MARKER, "videos.tsv", "failures.tsv", "classes.txt"})
# A temporary folder's suffix that no escaped id can end with (`safe_component` escapes every `%`).
_TMP = ".%tmp"


def unless_frame_folders(path: Path) -> str | None:
    """An `io.outputs` verdict: an existing output may be resumed when it is an empty folder or one
    this writer made (it holds the marker file); anything else is somebody's data."""
    if path.is_dir() and ((path / MARKER).is_file() or not any(path.iterdir())):
        return None
    return "a folder that --format folders did not write" if path.is_dir() else "a file, not a folder of frame folders"


FRAME_NAME = re.compile(r"^(?:frame|image_|img_)?(\d+)\.(?:jpe?g|png|bmp)$", re.IGNORECASE)


def frame_files(folder: Path) -> list[Path]:
    """The frame images of `folder` in numeric order (empty when it holds none)."""
    numbered = []
    for entry in folder.iterdir():
        match = FRAME_NAME.match(entry.name)
        if match and entry.is_file():
            numbered.append((int(match.group(1)), entry))
    numbered.sort()
    return [path for _, path in numbered]


def is_frame_folder(folder: Path) -> bool:
    return folder.is_dir() and any(FRAME_NAME.match(entry.name) for entry in folder.iterdir())


def iter_folder_frames(
    folder: Path, *, short_side: int | None = None, max_frames: int | None = None, pixel_format: str = "rgb24"
) -> Iterator[np.ndarray]:
    """Yield the frames of a frame folder as `uint8 (H, W, 3)`, resized like `video.iter_frames`.

    Raises:
        VideoDecodeError: the folder has no frames, or an image cannot be decoded.
    """
    files = frame_files(folder)
    if not files:
        raise VideoDecodeError(f"{folder} holds no frame images")
    for path in files[:max_frames]:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # BGR
        if image is None:
            raise VideoDecodeError(f"cannot decode frame image {path}")
        width, height = output_size(image.shape[1], image.shape[0], short_side)
        if (width, height) != (image.shape[1], image.shape[0]):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        yield image if pixel_format == "bgr24" else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class FrameFolderWriter:
    """Writes extracted videos in the 3D-ResNets layout: `<root>/<id>/image_00001.jpg` plus `n_frames`.

    The same interface as `store.FrameStoreWriter`, for users of the original scripts. A video's
    folder name is its id through `io.paths.safe_component` (an id such as `..` or `a/b` is
    escaped, never joined raw: the writer deletes folders by these names). Each video
    is written to `<id>.%tmp/` and renamed when whole, so a killed run leaves only whole videos and
    a rerun skips them. Flow, when asked for, goes beside the frames as `flow_x_00001.jpg` and
    `flow_y_00001.jpg` (MMAction2's names). `videos.tsv` lists id, frames, label and source, and
    `failures.tsv` the inputs that failed.
    """

    def __init__(self, root: Path, config_json: str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        marker = self.root / MARKER
        if marker.exists() and marker.read_text() != config_json:
            raise StoreConfigError(
                f"{self.root} was made with other options ({marker.read_text()}); use another output"
            )
        marker.write_text(config_json)
        self.ids = {
            component_name(p.name): i for i, p in enumerate(sorted(d.parent for d in self.root.glob("*/n_frames")))
        }
        self._rows: dict[str, tuple[int, int, str]] = {}
        self._failures = _read_tsv(self.root / "failures.tsv")
        self.complete = False

    @property
    def failed_sources(self) -> set[str]:
        return set(self._failures)

    def __enter__(self) -> FrameFolderWriter:
        return self

    def __exit__(self, *exc) -> None:
        for tmp in self.root.glob(f"*{_TMP}"):
            shutil.rmtree(tmp, ignore_errors=True)

    def add_video(self, video, label: int = -1) -> int:
        if child(self.root, video.id).name in _RESERVED:
            raise UnsafeNameError(f"the video id {video.id!r} is the name of one of the layout's own files")
        tmp = child(self.root, video.id, _TMP)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for i, data in enumerate(video.frames, 1):
            (tmp / f"image_{i:05d}.jpg").write_bytes(data)
        for axis, images in (("x", video.flow_u), ("y", video.flow_v)):
            for i, data in enumerate(images or [], 1):
                (tmp / f"flow_{axis}_{i:05d}.jpg").write_bytes(data)
        (tmp / "n_frames").write_text(f"{len(video.frames)}\n")
        target = child(self.root, video.id)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        self.ids[video.id] = len(self.ids)
        self._rows[video.id] = (len(video.frames), label, printable(video.source))
        self._failures.pop(printable(video.source), None)
        return self.ids[video.id]

    def add_failure(self, source: str, error: str) -> None:
        self._failures[printable(source)] = printable(error)

    def commit(self) -> None:
        _write_tsv(self.root / "failures.tsv", self._failures)

    def finish(self, classes, labels, splits) -> None:
        # Keyed by folder name: the escaped id holds no tab or newline to break the table.
        rows = _read_tsv(self.root / "videos.tsv")
        for video_id, (n, label, source) in self._rows.items():
            rows[child(self.root, video_id).name] = f"{n}\t{label}\t{source}"
        if labels is not None:
            for video_id, index in self.ids.items():
                key = child(self.root, video_id).name
                if key in rows:
                    n, _, source = rows[key].split("\t", 2)
                    rows[key] = f"{n}\t{int(labels[index])}\t{source}"
        _write_tsv(self.root / "videos.tsv", rows)
        if classes is not None:
            (self.root / "classes.txt").write_text("".join(f"{c}\n" for c in classes))
        self.complete = True
        self.commit()

    def counts(self) -> dict:
        frames = sum(int((child(self.root, i) / "n_frames").read_text()) for i in self.ids)
        return {"videos": len(self.ids), "failed": len(self._failures), "frames": frames}


def _read_tsv(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("\t", 1) for line in path.read_text().splitlines() if "\t" in line)
    return {key: value for key, value in pairs}


def _write_tsv(path: Path, rows: dict[str, str]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f"{k}\t{v}\n" for k, v in rows.items()))
