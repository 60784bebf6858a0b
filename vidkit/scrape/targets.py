"""What to download: a video id and the URL it is fetched from, read from the lists the commands take.

A list holds one video per line, either a bare id (turned into a URL by `--url-template`, so a
lab's mirror can stand in for YouTube) or a URL (its id is read from it). `scrape search` writes a
TSV with a header (`id  split  url  queries`); its `id`, `url` and `split` columns are used as
they are. The id names the video everywhere afterwards (file names through
`vidkit.io.paths.child`, store ids, ledger lines), never a title.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import PurePosixPath

from vidkit.errors import UsageError

YOUTUBE_TEMPLATE = "https://www.youtube.com/watch?v={id}"
SEARCH_HEADER = ("id", "split", "url", "queries")


@dataclass(frozen=True)
class Target:
    """One video to fetch."""

    id: str
    url: str
    split: str | None = None


def url_for(video_id: str, template: str = YOUTUBE_TEMPLATE) -> str:
    """The URL of `video_id` under `template` (`{id}` is replaced by the percent-quoted id).

    Raises:
        UsageError: the template has no `{id}`.
    """
    if "{id}" not in template:
        raise UsageError(f"--url-template {template!r} has no {{id}} to put the video id in")
    return template.replace("{id}", urllib.parse.quote(video_id, safe="-_"))


def id_from_url(url: str) -> str:
    """The video id a URL names: YouTube's `v=` (or youtu.be/<id>, /shorts/<id>), else the file stem.

    Raises:
        UsageError: no id can be read from it.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.lower()
    if host.endswith("youtube.com") or host.endswith("youtube-nocookie.com"):
        query = urllib.parse.parse_qs(parts.query)
        if query.get("v"):
            return query["v"][0]
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) >= 2 and segments[0] in ("shorts", "embed", "live", "v"):
            return segments[1]
    if host == "youtu.be" and parts.path.strip("/"):
        return parts.path.strip("/").split("/")[0]
    name = urllib.parse.unquote(PurePosixPath(parts.path).name)
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    if not stem:
        raise UsageError(f"cannot tell the video id of {url!r}; give ids with --url-template instead")
    return stem


def _is_url(text: str) -> bool:
    return "://" in text and urllib.parse.urlsplit(text).scheme.isalpha()


def parse_targets(lines: list[str], url_template: str = YOUTUBE_TEMPLATE) -> list[Target]:
    """Targets from the lines of a list (ids, URLs, or `scrape search`'s TSV), first occurrence of an id kept.

    Raises:
        UsageError: a TSV without the id column, or an unusable template.
    """
    lines = [line.rstrip("\r\n") for line in lines]
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    targets: dict[str, Target] = {}
    columns = None
    if lines and "\t" in lines[0] and lines[0].split("\t")[0] == "id":
        columns = lines[0].split("\t")
        lines = lines[1:]
    for line in lines:
        if columns:
            row = dict(zip(columns, line.split("\t")))
            video_id = row["id"]
            url = row.get("url") or url_for(video_id, url_template)
            target = Target(video_id, url, row.get("split") or None)
        else:
            text = line.strip()
            target = Target(id_from_url(text), text) if _is_url(text) else Target(text, url_for(text, url_template))
        targets.setdefault(target.id, target)
    return list(targets.values())


def read_lines(path: str) -> list[str]:
    """The lines of a list file, or of stdin for `-`.

    Raises:
        UsageError: the file cannot be read.
    """
    import sys

    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
            return handle.read().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
