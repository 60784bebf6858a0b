"""What `cluster-idt`'s trajectory stage read for each video, so a rerun knows whether to trust its file.

A work folder outlives its inputs: the same `-o` may later be given another frame store whose
videos have the same ids (re-extracted at another size, another dataset, a fixed video). Ids alone
would then pair new videos with old trajectories. So each finished video gets a record,
`work/records/<id>.json`, of what it was made from:

    {"read": {"input": ..., "boxes": ..., "precomputed": ...}, "rows": N, "error": ""}

- `input`: a digest of the video's content: `FrameStore.content_digest` for a frame store (frame
  count and size, every frame's stored size, the bytes of three frames), or `file_digest` for a
  video file. Neither reads the whole video, since a rerun checks every finished video.
- `boxes`: `file_digest` of its `--boxes` file, if there is one.
- `precomputed`: `file_digest` of the `--trajectories` file it was copied from; the video itself
  and its boxes are then not read, so they are left out.

A video whose record is missing or differs is computed again. A video without trajectories (no
trajectory survives the pruning, e.g. a static video) is a result too: its record holds `rows` 0
and the reason, so a rerun counts it as failed without tracking it again. The model stage keys its
fit on `key(read)` of the fitting videos (`fitting_digest`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from vidkit.io.atomic import atomic_path

_EDGE = 1 << 16  # bytes hashed at each end of a file

NO_TRAJECTORIES = "no trajectory survived the pruning (a static or textureless video)"
EMPTY_PRECOMPUTED = "the precomputed trajectory file holds no rows"


def file_digest(path: str | Path) -> str:
    """sha256 hex of a file's size and its first and last 64 KiB: different videos (or trajectory
    files) differ there, and two small reads stay cheap when a rerun checks 10^5 files."""
    path = Path(path)
    with open(path, "rb") as file:
        size = file.seek(0, 2)
        digest = hashlib.sha256(f"{size}\n".encode())
        file.seek(0)
        digest.update(file.read(_EDGE))
        if size > _EDGE:
            file.seek(max(_EDGE, size - _EDGE))
            digest.update(file.read(_EDGE))
    return digest.hexdigest()


def key(read: dict) -> str:
    """One digest of a `read` dict (what the model stage keys its fit on)."""
    return hashlib.sha256(json.dumps(read, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Record:
    """What one video's trajectories were made from, and what came of it."""

    read: dict
    rows: int
    error: str = ""  # why the video has no trajectories ("" when it has some)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps({"read": self.read, "rows": self.rows, "error": self.error}, sort_keys=True))


def load(path: Path) -> Record | None:
    """The record at `path`, or None when there is none (or it cannot be read: then it is redone)."""
    try:
        data = json.loads(path.read_text())
        return Record(dict(data["read"]), int(data["rows"]), str(data.get("error", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def changed_parts(old: dict, new: dict) -> list[str]:
    """Names of what differs between two `read` dicts, for the message that says why a video is redone."""
    if ("precomputed" in old) != ("precomputed" in new):
        return ["source (a --trajectories file, or the video itself)"]
    names = {"input": "video", "boxes": "boxes", "precomputed": "--trajectories file"}
    return [names.get(part, part) for part in sorted(set(old) | set(new)) if old.get(part) != new.get(part)]
