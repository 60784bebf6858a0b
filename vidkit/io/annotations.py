"""Labels and splits of the standard action datasets: UCF101, HMDB51, Kinetics, and a generic CSV.

Every parser returns one `Annotations`: the class names (label `i` is `classes[i]`, 0-based), the
label of each video id, and named splits as lists of video ids. A video id is the file name
without folder or extension (`v_ApplyEyeMakeup_g08_c01`), which is also what `extract-frames`
calls a video; ids are matched case-insensitively because UCF101 spells one class two ways
(`HandstandPushups` in classInd and the folder, `HandStandPushups` in the file names).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from vidkit.errors import AnnotationError

DATASETS = ("ucf101", "hmdb51", "kinetics", "csv")


@dataclass
class Annotations:
    """Class names, per-video labels and named splits (lists of video ids)."""

    classes: list[str]
    labels: dict[str, int] = field(default_factory=dict)  # key: `key(id)`
    splits: dict[str, list[str]] = field(default_factory=dict)  # values: ids as the lists spell them
    # Ids matched exactly (image folders, whose ids are relative paths: `a/x.jpg` and `b/x.png` differ)
    # rather than by `video_key`.
    exact_ids: bool = False

    def key(self, video_id: str) -> str:
        """How `labels` and the splits' ids are matched to stored video ids."""
        return video_id if self.exact_ids else video_key(video_id)

    def label_of(self, video_id: str) -> int:
        """The 0-based label of a video, or -1 when the annotations do not know it."""
        return self.labels.get(self.key(video_id), -1)


def video_key(name: str) -> str:
    """The matching key of a video: its stem, lower-cased (`A/v_X_g01_c01.avi` -> `v_x_g01_c01`)."""
    return PurePosixPath(name.strip().replace("\\", "/")).stem.lower()


def load_annotations(path: Path, dataset: str) -> Annotations:
    """Parse the annotations of `dataset` (one of `DATASETS`) found at `path`.

    Raises:
        AnnotationError: a missing or malformed file, or an unknown dataset name.
    """
    parsers = {"ucf101": load_split_lists, "hmdb51": load_hmdb51, "kinetics": load_kinetics_csv, "csv": load_csv}
    if dataset not in parsers:
        raise AnnotationError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if not path.exists():
        raise AnnotationError(f"annotations not found: {path}")
    return parsers[dataset](path)


def _read_lines(path: Path) -> list[str]:
    """Non-empty, stripped lines; CRLF files (as UCF101 ships them) and a missing final newline are fine."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"cannot read {path}: {exc}") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_class_index(lines: list[str], source: str = "classInd.txt") -> list[str]:
    """`1 ApplyEyeMakeup` lines -> class names ordered by their 1-based number."""
    numbered = {}
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise AnnotationError(f"{source} line {n}: expected '<number> <class>', got {line!r}")
        numbered[int(parts[0])] = parts[1]
    if sorted(numbered) != list(range(1, len(numbered) + 1)):
        raise AnnotationError(f"{source}: class numbers must run 1..{len(numbered)} without gaps")
    return [numbered[i] for i in range(1, len(numbered) + 1)]


def parse_split_list(lines: list[str], classes: list[str], source: str) -> tuple[list[str], dict[str, int]]:
    """UCF101/HMDB51 list lines (`Class/v_name.avi [label]`) -> (video ids, key -> 0-based label).

    The label is the explicit 1-based number when the line has one, else the class folder's name
    looked up case-insensitively in `classes`; when both are there they must agree.
    """
    by_name = {name.lower(): i for i, name in enumerate(classes)}
    ids, labels = [], {}
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if len(parts) not in (1, 2):
            raise AnnotationError(f"{source} line {n}: expected '<Class>/<video> [label]', got {line!r}")
        relative = PurePosixPath(parts[0].replace("\\", "/"))
        folder_label = by_name.get(relative.parent.name.lower()) if relative.parent.name else None
        if len(parts) == 2:
            if not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(classes):
                raise AnnotationError(f"{source} line {n}: label {parts[1]!r} is not in 1..{len(classes)}")
            label = int(parts[1]) - 1
            if folder_label is not None and folder_label != label:
                raise AnnotationError(
                    f"{source} line {n}: label {parts[1]} contradicts folder {relative.parent.name!r}"
                )
        elif folder_label is not None:
            label = folder_label
        else:
            raise AnnotationError(f"{source} line {n}: class of {parts[0]!r} is neither given nor a known folder")
        ids.append(relative.stem)
        labels[video_key(relative.stem)] = label
    return ids, labels


def load_split_lists(directory: Path) -> Annotations:
    """UCF101 layout: `classInd.txt` plus any of `trainlist0N.txt` / `testlist0N.txt`.

    Split names are `train01`, `test01`, ... (`trainlist_debug.txt` becomes `train_debug`).
    """
    if not directory.is_dir():
        raise AnnotationError(f"{directory} is not a folder of split lists")
    class_file = directory / "classInd.txt"
    if not class_file.exists():
        raise AnnotationError(f"{directory} has no classInd.txt")
    classes = parse_class_index(_read_lines(class_file), str(class_file))
    result = Annotations(classes=classes)
    pattern = re.compile(r"^(train|test)list(.+)\.txt$")
    for path in sorted(directory.iterdir()):
        match = pattern.match(path.name)
        if not match:
            continue
        ids, labels = parse_split_list(_read_lines(path), classes, str(path))
        result.splits[match.group(1) + match.group(2)] = ids
        result.labels.update(labels)
    if not result.splits:
        raise AnnotationError(f"{directory} has classInd.txt but no trainlist*/testlist* files")
    return result


def load_hmdb51(directory: Path) -> Annotations:
    """HMDB51 in either of its two layouts.

    - UCF101-style lists (`classInd.txt`, `trainlist01.txt`, ...), as most SSL code repackages it.
    - The official release: `<class>_test_split<N>.txt` with lines `<video>.avi <0|1|2>`, where 1 marks
      training, 2 testing and 0 unused videos; classes are numbered in sorted order.
    """
    if (directory / "classInd.txt").exists():
        return load_split_lists(directory)
    official = sorted(directory.glob("*_test_split[0-9].txt"))
    if not official:
        raise AnnotationError(f"{directory} has neither classInd.txt nor <class>_test_split<N>.txt files")
    pattern = re.compile(r"^(.+)_test_split(\d)\.txt$")
    classes = sorted({pattern.match(p.name).group(1) for p in official})
    result = Annotations(classes=classes)
    for path in official:
        name, split = pattern.match(path.name).groups()
        for n, line in enumerate(_read_lines(path), 1):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise AnnotationError(f"{path} line {n}: expected '<video> <0|1|2>', got {line!r}")
            stem = PurePosixPath(parts[0]).stem
            result.labels[video_key(stem)] = classes.index(name)
            if parts[1] != "0":
                result.splits.setdefault(("train" if parts[1] == "1" else "test") + f"{int(split):02d}", []).append(
                    stem
                )
    return result


def _csv_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise AnnotationError(f"{path}: missing column(s) {', '.join(missing)} (header: {reader.fieldnames})")
            return [row for row in reader if any((v or "").strip() for v in row.values())]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AnnotationError(f"cannot read {path}: {exc}") from exc


def _csv_files(path: Path) -> list[Path]:
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise AnnotationError(f"{path} holds no .csv file")
    return files


def load_kinetics_csv(path: Path) -> Annotations:
    """Kinetics CSV(s) `label,youtube_id,time_start,time_end,split` (a file, or a folder of them).

    A video's id is `<youtube_id>_<start:06d>_<end:06d>`, the name the common downloaders give
    the clip; a file named after the bare YouTube id is matched too. Test rows may have no label.
    """
    rows = [
        row for file in _csv_files(path) for row in _csv_rows(file, ("youtube_id", "time_start", "time_end", "split"))
    ]
    classes = sorted({row["label"].strip() for row in rows if (row.get("label") or "").strip()})
    index = {name: i for i, name in enumerate(classes)}
    result = Annotations(classes=classes)
    for row in rows:
        try:
            start, end = int(float(row["time_start"])), int(float(row["time_end"]))
        except ValueError as exc:
            raise AnnotationError(f"{path}: bad time in row {row}") from exc
        video_id = f"{row['youtube_id'].strip()}_{start:06d}_{end:06d}"
        label = index.get((row.get("label") or "").strip(), -1)
        for key in (video_key(video_id), row["youtube_id"].strip().lower()):
            result.labels[key] = label
        result.splits.setdefault(row["split"].strip(), []).append(video_id)
    return result


def load_csv(path: Path) -> Annotations:
    """Generic CSV(s) `path,label,split`: a class name (or integer) per video and the split it is in.

    Integer labels keep their numbers (class names "0", "1", ...); other labels are numbered in
    sorted order. A video may appear in several rows, one per split.
    """
    rows = [row for file in _csv_files(path) for row in _csv_rows(file, ("path", "label", "split"))]
    names = sorted({row["label"].strip() for row in rows})
    if names and all(re.fullmatch(r"\d+", n) for n in names):
        classes = [str(i) for i in range(max(int(n) for n in names) + 1)]
    else:
        classes = names
    index = {name: i for i, name in enumerate(classes)}
    result = Annotations(classes=classes)
    for row in rows:
        label = row["label"].strip()
        stem = PurePosixPath(row["path"].strip().replace("\\", "/")).stem
        result.labels[video_key(stem)] = index[str(int(label))] if label.isdigit() else index[label]
        result.splits.setdefault(row["split"].strip(), []).append(stem)
    return result
