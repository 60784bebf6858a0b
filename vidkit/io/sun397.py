"""SUN397's official split files (`Training_NN.txt`, `Testing_NN.txt`, `ClassName.txt`), read without torch.

Every line of a split file names one image by its class path and file name, rooted at `/`:
`/a/abbey/sun_aaalbzqrimafwbiv.jpg`, or with a deeper class such as
`/a/apartment_building/outdoor/sun_x.jpg`. `ClassName.txt` lists the 397 class paths (`/a/abbey`);
a class's index is its line number there, or, without that file, its rank among the sorted class
paths of the split files.

NOTE: VINCE's reader cut the last character of every line to drop the newline (vince.md 6.3,
section 9 item 8), which ate a real character on a last line without one; lines are stripped here.

[0] SUN database, Xiao et al., CVPR 2010. [1] VINCE, Gordon et al., 2020, arXiv:2003.07990.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from vidkit.errors import AnnotationError

log = logging.getLogger("vidkit")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


@dataclass(frozen=True)
class SunImage:
    """One line of a split file: the class path (`a/abbey`) and the image's file name."""

    class_path: str
    name: str

    @property
    def relative(self) -> str:
        return f"{self.class_path}/{self.name}"


def parse_line(line: str, where: str) -> SunImage:
    """`/a/abbey/sun_x.jpg` -> `SunImage("a/abbey", "sun_x.jpg")`.

    Raises:
        AnnotationError: the line is not a rooted path of a letter, a class and an image file.
    """
    text = line.strip()
    parts = text.split("/")
    if (
        not text.startswith("/")
        or len(parts) < 4
        or any(not p or p.strip() != p for p in parts[1:])
        or not text.lower().endswith(IMAGE_SUFFIXES)
    ):
        raise AnnotationError(f"{where}: expected a line like /a/abbey/sun_aaalbzqrimafwbiv.jpg, got {text!r}")
    return SunImage("/".join(parts[1:-1]), parts[-1])


def read_split_file(path: str | Path) -> list[SunImage]:
    """The images a `Training_NN.txt` / `Testing_NN.txt` lists, in file order (blank lines skipped).

    Raises:
        AnnotationError: the file is missing, empty, or has a malformed line (named with its number).
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"SUN397 split file {path} does not exist")
    images = [
        parse_line(line, f"{path}:{number}")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.strip()
    ]
    if not images:
        raise AnnotationError(f"SUN397 split file {path} lists no image")
    return images


def read_class_names(path: str | Path) -> list[str]:
    """`ClassName.txt`: class paths (`a/abbey`) in label order.

    Raises:
        AnnotationError: a line is not a rooted class path, or a class is listed twice.
    """
    path = Path(path)
    classes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if not text.startswith("/") or len(text.split("/")) < 3 or "//" in text:
            raise AnnotationError(f"{path}:{number}: expected a class path like /a/abbey, got {text!r}")
        classes.append(text[1:])
    if len(set(classes)) != len(classes):
        raise AnnotationError(f"{path} lists a class twice")
    return classes


@dataclass
class SunSplits:
    """Train and test images of one fold, as frame-store video indices with their labels."""

    classes: list[str]
    train_videos: np.ndarray  # (n,) int64
    train_labels: np.ndarray  # (n,) int64
    test_videos: np.ndarray
    test_labels: np.ndarray


def split_files(directory: str | Path, fold: int = 1) -> tuple[Path, Path]:
    directory = Path(directory)
    return directory / f"Training_{fold:02d}.txt", directory / f"Testing_{fold:02d}.txt"


def match_images(images: list[SunImage], ids, sources, where: str) -> np.ndarray:
    """Frame-store video index of each image (-1 when the store does not hold it).

    A video is an image's when its source path, or its id with any extension, ends with the
    image's `class/…/name` (so stores made from `SUN397/` or `all_data/` roots both match).
    """
    by_name: dict[str, list[tuple[int, str]]] = {}
    for index, (vid, source) in enumerate(zip(ids, sources)):
        for path in {str(source).replace("\\", "/"), str(vid).replace("\\", "/")}:
            by_name.setdefault(PurePosixPath(path).stem, []).append((index, path))
    found = np.full(len(images), -1, dtype=np.int64)
    for row, image in enumerate(images):
        want = image.relative.rsplit(".", 1)[0]
        for index, path in by_name.get(PurePosixPath(image.name).stem, []):
            stemmed = path.rsplit(".", 1)[0] if PurePosixPath(path).suffix else path
            if stemmed == want or stemmed.endswith("/" + want):
                found[row] = index
                break
    return found


def load_splits(directory: str | Path, ids, sources, *, fold: int = 1) -> SunSplits:
    """Read fold `fold`'s split files in `directory` and find their images among a frame store's videos.

    Images the store lacks are left out with a warning (a partial extraction still probes).

    Raises:
        AnnotationError: missing or malformed files, or a split none of whose images is in the store.
    """
    directory = Path(directory)
    train_file, test_file = split_files(directory, fold)
    train, test = read_split_file(train_file), read_split_file(test_file)
    names = directory / "ClassName.txt"
    classes = (
        read_class_names(names)
        if names.is_file()
        else sorted({i.class_path for i in train} | {i.class_path for i in test})
    )
    label_of = {c: i for i, c in enumerate(classes)}
    result = []
    for path, images in ((train_file, train), (test_file, test)):
        unknown = sorted({i.class_path for i in images} - set(label_of))
        if unknown:
            raise AnnotationError(f"{path} names classes missing from {names}: {', '.join(unknown[:3])}")
        videos = match_images(images, ids, sources, str(path))
        keep = videos >= 0
        if not keep.any():
            raise AnnotationError(
                f"none of the {len(images)} images of {path} is in the frame store (e.g. {images[0].relative})"
            )
        if not keep.all():
            missing = images[int(np.flatnonzero(~keep)[0])].relative
            log.warning(
                "%s: %d of %d images are not in the frame store (e.g. %s)", path, (~keep).sum(), len(images), missing
            )
        labels = np.array([label_of[i.class_path] for i in images], dtype=np.int64)
        result += [videos[keep], labels[keep]]
    return SunSplits(classes, *result)
