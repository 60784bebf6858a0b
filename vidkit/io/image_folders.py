"""Image datasets laid out one folder per class (ImageNet, SUN397), read as one-frame videos.

The VINCE paper trains and probes on images as well as videos (vince.md 2.8, 6.3), so
`extract-frames --dataset imagefolder` puts every image of such a tree into a frame store as a
video of one frame. A root is walked recursively in sorted order; an image's class is the path of
its folder relative to the root (`n01440764`, or `a/abbey` and `a/apartment_building/outdoor` in
SUN397's tree), and images directly in a root have no class (label -1).

- **Ids** are the root's folder name and the image's path under it, extension included
  (`train/n01440764/x_1.JPEG`): `a.jpg` and `a.png` of one folder stay two images, and `train/`
  and `test/` trees that reuse file names (as generated datasets do) stay apart; names that are
  not UTF-8 or hold control characters go through `io.paths.printable`.
- **Labels** are the class's index in sorted order (torchvision's `ImageFolder` order, which for
  ImageNet's wnids is the standard label order), or its line in `classes.txt` when given.
- **Splits**: each root is a split named after its folder (`imagenet/train imagenet/val` give
  `train` and `val`); a split list (`<name>.txt` beside `classes.txt`, one image path relative
  to a root per line, as SUN397's `Training_01.txt`, or an id) adds a split `<name>`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from vidkit.errors import AnnotationError, NoInputError, VideoDecodeError
from vidkit.io.annotations import Annotations
from vidkit.io.paths import printable
from vidkit.io.video import output_size

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
CLASS_LIST = "classes.txt"


@dataclass(frozen=True)
class ImageInput:
    """One input found in a layout: its stored id, its source text and the image files of its frames."""

    video_id: str
    source: str
    files: tuple[str, ...]


@dataclass
class Scan:
    """What scanning a layout found: the inputs in order, and their classes, labels and splits."""

    inputs: list[ImageInput]
    annotations: Annotations


def read_image(path: str, short_side: int | None = None) -> np.ndarray:
    """One image file as `uint8 (H, W, 3)` BGR, its short side resized to `short_side` (area filter).

    Read as bytes through Python, so any file name the file system holds opens (OpenCV's own
    `imread` cannot take names that are not UTF-8).

    Raises:
        VideoDecodeError: the file cannot be read or is no image OpenCV decodes.
    """
    try:
        with open(path, "rb") as handle:
            data = np.frombuffer(handle.read(), dtype=np.uint8)
    except OSError as exc:
        raise VideoDecodeError(f"cannot read {printable(path)}: {exc.strerror}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None or image.size == 0:
        raise VideoDecodeError(f"{printable(path)} is not an image OpenCV can decode")
    width, height = output_size(image.shape[1], image.shape[0], short_side)
    if (width, height) != (image.shape[1], image.shape[0]):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return image


def iter_images(
    paths: tuple[str, ...], *, short_side: int | None = None, max_frames: int | None = None
) -> Iterator[np.ndarray]:
    """The frames of an input made of image files, in order, as `read_image` gives them."""
    for path in paths[:max_frames]:
        yield read_image(path, short_side)


def _images_under(root: Path) -> Iterator[tuple[PurePosixPath, str]]:
    """`(relative path, full path)` of every image under `root`, sorted, each real folder once."""
    seen: set[tuple[int, int]] = set()

    def walk(folder: Path, relative: PurePosixPath) -> Iterator[tuple[PurePosixPath, str]]:
        info = folder.stat()
        if (info.st_dev, info.st_ino) in seen:  # a symlink loop, or a second link to a folder
            return
        seen.add((info.st_dev, info.st_ino))
        with os.scandir(folder) as entries:
            ordered = sorted(entries, key=lambda e: e.name)
        for entry in ordered:
            if entry.is_dir():
                yield from walk(Path(entry.path), relative / entry.name)
            elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS and entry.is_file():
                yield relative / entry.name, entry.path

    try:
        yield from walk(root, PurePosixPath())
    except OSError as exc:
        raise NoInputError(f"cannot read the folder {printable(str(root))}: {exc.strerror}") from None


def _class_list(annotations: Path | None) -> list[str] | None:
    if annotations is None or not (annotations / CLASS_LIST).is_file():
        return None
    lines = (annotations / CLASS_LIST).read_text(encoding="utf-8-sig").splitlines()
    classes = [line.strip().strip("/") for line in lines if line.strip()]
    if len(set(classes)) != len(classes):
        raise AnnotationError(f"{annotations / CLASS_LIST} names a class twice")
    return classes


def _split_lists(annotations: Path | None) -> dict[str, list[str]]:
    """Split name -> image paths relative to a root, from every `<name>.txt` but the class list."""
    if annotations is None:
        return {}
    if not annotations.is_dir():
        raise AnnotationError(f"--dataset imagefolder takes a folder of {CLASS_LIST} and split lists: {annotations}")
    splits = {}
    for path in sorted(annotations.glob("*.txt")):
        if path.name != CLASS_LIST:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
            splits[path.stem] = [line.strip().lstrip("/") for line in lines if line.strip()]
    return splits


def scan_image_folders(roots: list[str | Path], annotations: Path | None = None) -> Scan:
    """Find the images under `roots` and work out their ids, classes, labels and splits.

    Args:
        roots: folders of class folders (a split each, named after the folder).
        annotations: a folder with `classes.txt` (one class per line, label = line number - 1; a
            leading `/` as in SUN397's `ClassName.txt` is dropped) and/or split lists `<name>.txt`.

    Raises:
        NoInputError: a root is no folder, or the roots hold no image.
        AnnotationError: a class folder missing from `classes.txt`, or a split list naming an
            image that is in no root.
    """
    found: list[tuple[str, str, str]] = []  # (id, full path, class)
    splits: dict[str, list[str]] = {}
    under_root: dict[str, list[str]] = {}  # path relative to a root -> the ids of the images there
    for raw in roots:
        root = Path(raw)
        if not root.is_dir():
            raise NoInputError(f"--dataset imagefolder reads folders of class folders; {printable(str(raw))} is none")
        name = printable(root.resolve().name) or "all"
        ids = []
        for relative, full in _images_under(root):
            video_id = f"{name}/{printable(str(relative))}"
            found.append((video_id, full, printable(str(relative.parent)) if relative.parent.name else ""))
            under_root.setdefault(printable(str(relative)), []).append(video_id)
            ids.append(video_id)
        splits.setdefault(name, []).extend(ids)
    if not found:
        raise NoInputError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {', '.join(map(str, roots))}")
    folders = sorted({name for _, _, name in found if name})
    classes = _class_list(annotations)
    if classes is None:
        classes = folders
    else:
        unknown = [name for name in folders if name not in set(classes)]
        if unknown:
            raise AnnotationError(
                f"{len(unknown)} class folder(s) are not in {annotations / CLASS_LIST}, e.g. {unknown[0]!r}"
            )
    index = {name: i for i, name in enumerate(classes)}
    known = {video_id for video_id, _, _ in found}
    for name, listed in _split_lists(annotations).items():
        missing = [p for p in listed if p not in known and p not in under_root]
        if missing:
            raise AnnotationError(
                f"split list {name}.txt names {len(missing)} image(s) in no root, e.g. {missing[0]!r}"
            )
        splits[name] = [i for p in listed for i in ([p] if p in known else under_root[p])]
    labels = {video_id: index[name] for video_id, _, name in found if name}
    inputs = [ImageInput(video_id, printable(full), (full,)) for video_id, full, _ in found]
    return Scan(inputs, Annotations(classes=classes, labels=labels, splits=splits, exact_ids=True))
