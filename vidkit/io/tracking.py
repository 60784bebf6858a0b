"""Box-annotated tracking sequences in the OTB and GOT-10k layouts, and the OTB toolkit's result files.

Layouts (as the benchmarks ship them and the got10k toolkit reads them):
- **OTB** (Wu et al., "Object Tracking Benchmark", TPAMI 2015): `<root>/<seq>/img/0001.jpg ...` and
  `<root>/<seq>/groundtruth_rect.txt`, one `x,y,w,h` line per frame, 1-based pixel coordinates;
  OTB's own files separate the numbers by commas, tabs or spaces, all of which are read.
- **GOT-10k** (Huang et al., TPAMI 2019): `<split>/list.txt` naming the sequences,
  `<split>/<seq>/00000001.jpg ...` and `<split>/<seq>/groundtruth.txt` (`x,y,w,h` per frame), plus
  optional per-frame `absence.label` and `cover.label` (0-8, the visible fraction in eighths).

Boxes are returned as read (`float64 (N, 4)`, left, top, width, height); the tracker works in the
file's own coordinates, as the got10k toolkit does, so results and ground truth always agree.
Torch-free: the readers are used by `synth --tracking` tests and the toolkit-format writers alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidkit.errors import AnnotationError
from vidkit.io.atomic import atomic_path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
# OTB-2015 sequences whose img/ holds more frames than are annotated: the benchmark's 1-based
# (first, last) frames, as its configSeqs and the got10k toolkit cut them.
OTB_FRAME_RANGES = {
    "david": (300, 770),
    "football1": (1, 74),
    "freeman3": (1, 460),
    "freeman4": (1, 283),
    "diving": (1, 215),
}
_SEPARATORS = re.compile(r"[,\s]+")


@dataclass
class Sequence:
    """One annotated sequence: its frames in order and one box per frame."""

    name: str
    frames: list[Path]
    boxes: np.ndarray  # float64 (N, 4): x, y, w, h
    cover: np.ndarray | None = None  # GOT-10k: int (N,) visible eighths, when the file exists
    absent: np.ndarray | None = None  # GOT-10k: bool (N,), when the file exists

    def __len__(self) -> int:
        return len(self.frames)


def read_boxes(path: Path) -> np.ndarray:
    """`x,y,w,h` lines (commas, tabs or spaces) -> `float64 (N, 4)`.

    Raises:
        AnnotationError: the file is missing, empty, has a line without 4 numbers, or a non-number.
    """
    if not path.is_file():
        raise AnnotationError(f"missing box annotations {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        fields = [f for f in _SEPARATORS.split(line.strip()) if f]
        if len(fields) != 4:
            raise AnnotationError(f"{path} line {number}: expected 4 numbers x,y,w,h, found {len(fields)}")
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            raise AnnotationError(f"{path} line {number}: not a number in {line.strip()!r}") from None
    if not rows:
        raise AnnotationError(f"{path} holds no boxes")
    return np.asarray(rows, dtype=np.float64)


def _frames(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise AnnotationError(f"missing frame folder {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _checked(name: str, frames: list[Path], boxes: np.ndarray, where: Path) -> None:
    if len(frames) != len(boxes):
        raise AnnotationError(f"{where}: {len(frames)} frames but {len(boxes)} boxes in sequence {name}")


def read_otb_sequence(folder: Path, target: str | None = None) -> Sequence:
    """One OTB sequence folder (`img/`, `groundtruth_rect.txt`); `target` "2" reads
    `groundtruth_rect.2.txt` (Jogging, Skating2 and Human4 annotate more than one target) as `<name>.2`.

    Raises:
        AnnotationError: `img/` or the box file is missing or malformed, or frames and boxes differ in number.
    """
    folder = Path(folder)
    boxes = read_boxes(folder / (f"groundtruth_rect.{target}.txt" if target else "groundtruth_rect.txt"))
    frames = _frames(folder / "img")
    span = OTB_FRAME_RANGES.get(folder.name.lower())
    if span is not None and len(frames) > len(boxes):
        frames = frames[span[0] - 1 : span[1]]
    name = f"{folder.name}.{target}" if target else folder.name
    _checked(name, frames, boxes, folder)
    return Sequence(name, frames, boxes)


def _targets(folder: Path) -> list[str | None]:
    """The annotated targets of an OTB folder: None for `groundtruth_rect.txt`, "N" for `groundtruth_rect.N.txt`."""
    if (folder / "groundtruth_rect.txt").exists():
        return [None]
    numbered = sorted(p.name.split(".")[1] for p in folder.glob("groundtruth_rect.*.txt"))
    return numbered or [None]  # none at all: read_otb_sequence names the missing file


def read_otb(root: Path) -> list[Sequence]:
    """Every sequence under an OTB root (the folders holding a `groundtruth_rect.txt` or an `img/`), by name.

    Raises:
        AnnotationError: `root` is no folder, holds no sequence, or a sequence is malformed.
    """
    root = Path(root)
    if not root.is_dir():
        raise AnnotationError(f"OTB folder {root} does not exist")
    folders = sorted(
        p for p in root.iterdir() if p.is_dir() and ((p / "img").exists() or any(p.glob("groundtruth_rect*.txt")))
    )
    if not folders:
        raise AnnotationError(f"{root} holds no OTB sequence (<seq>/img/ and <seq>/groundtruth_rect.txt)")
    return [read_otb_sequence(p, target) for p in folders for target in _targets(p)]


def _labels(path: Path, count: int, name: str) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        values = np.array([int(float(v)) for v in path.read_text(encoding="utf-8").split()], dtype=np.int64)
    except ValueError:
        raise AnnotationError(f"{path}: not a number") from None
    if len(values) != count:
        raise AnnotationError(f"{path}: {len(values)} labels for {count} frames in sequence {name}")
    return values


def read_got10k_sequence(folder: Path) -> Sequence:
    """One GOT-10k sequence folder (frames, `groundtruth.txt`, optional `cover.label` / `absence.label`)."""
    folder = Path(folder)
    boxes = read_boxes(folder / "groundtruth.txt")
    frames = _frames(folder)
    _checked(folder.name, frames, boxes, folder)
    cover = _labels(folder / "cover.label", len(frames), folder.name)
    absent = _labels(folder / "absence.label", len(frames), folder.name)
    return Sequence(folder.name, frames, boxes, cover, None if absent is None else absent.astype(bool))


def read_got10k(split: Path) -> list[Sequence]:
    """The sequences `list.txt` names in a GOT-10k split folder, in its order.

    Raises:
        AnnotationError: `list.txt` is missing or empty, or a sequence it names is missing or malformed.
    """
    split = Path(split)
    listing = split / "list.txt"
    if not listing.is_file():
        raise AnnotationError(f"missing {listing}: a GOT-10k split folder lists its sequences there")
    names = [line.strip() for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise AnnotationError(f"{listing} names no sequence")
    return [read_got10k_sequence(split / name) for name in names]


def write_boxes(path: Path, boxes: np.ndarray, *, one_based: bool = True) -> None:
    """Integer-exact ground truth `x,y,w,h` lines, atomically (the synth writer's format)."""
    shift = 1 if one_based else 0
    lines = [f"{int(x) + shift},{int(y) + shift},{int(w)},{int(h)}" for x, y, w, h in np.asarray(boxes)]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_results(result_dir: Path, name: str, boxes: np.ndarray, times: np.ndarray) -> None:
    """A tracker's output in the OTB toolkit's format, as the got10k toolkit records it:
    `<result_dir>/<name>.txt` (`x,y,w,h` per frame, `%.3f`, commas) and
    `<result_dir>/times/<name>_time.txt` (seconds per frame, `%.8f`)."""
    result_dir = Path(result_dir)
    (result_dir / "times").mkdir(parents=True, exist_ok=True)
    with atomic_path(result_dir / f"{name}.txt") as tmp:
        np.savetxt(tmp, np.asarray(boxes, dtype=np.float64), fmt="%.3f", delimiter=",")
    with atomic_path(result_dir / "times" / f"{name}_time.txt") as tmp:
        np.savetxt(tmp, np.asarray(times, dtype=np.float64), fmt="%.8f")
