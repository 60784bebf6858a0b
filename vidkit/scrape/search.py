"""Find videos: run each query through yt-dlp's search (`ytsearchN:`), flat, and list the ids found.

The seed scraped YouTube's long-dead `spf=navigate` result pages with a custom youtube-dl
extractor, kept short Creative-Commons videos at most one per channel, and wrote the ids with
every query that found them, 65,536 of them as val (reference notes, section 5.1). Here:

- each query is one flat extraction (`extract_flat`): a results page, not one request per video;
- "short" is a yt-dlp `match_filter` on the duration the results page gives (videos of unknown
  duration are kept); one video per channel is applied per query, as the seed's extractor did,
  since yt-dlp has no such filter; the Creative-Commons filter has no yt-dlp equivalent for
  search and is left out;
- ids are deduplicated over all queries, each with the list of queries that found it, and split
  into train and val by a seeded shuffle of the sorted ids (so the split does not depend on the
  order results arrived in).

The output is a TSV with a header, `id  split  url  queries` (`queries` a JSON list), that
`scrape download`, `scrape cache` and friends read directly.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidkit.errors import UsageError
from vidkit.io.paths import printable
from vidkit.scrape.faults import classify
from vidkit.scrape.targets import SEARCH_HEADER, id_from_url

log = logging.getLogger("vidkit")

YOUTUBE_SEARCH = "ytsearch{n}:{query}"


@dataclass(frozen=True)
class SearchConfig:
    """What a search keeps."""

    per_query: int = 100
    max_duration: float | None = 240.0  # seconds; the seed's "short" filter is under 4 minutes
    one_per_channel: bool = False
    val: float = 0.1  # a fraction of the ids when < 1, else a count
    source: str = YOUTUBE_SEARCH  # `{n}` and `{query}` are filled in; any yt-dlp search key or playlist URL
    retries: int = 3
    backoff: float = 5.0


@dataclass
class SearchResult:
    output: Path
    queries: int
    found: int = 0  # results seen before dedup
    filtered: int = 0  # results the duration filter or the channel rule dropped
    videos: int = 0
    train: int = 0
    val: int = 0
    failed_queries: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "output": str(self.output),
            "queries": self.queries,
            "found": self.found,
            "filtered": self.filtered,
            "videos": self.videos,
            "train": self.train,
            "val": self.val,
            "failed_queries": len(self.failed_queries),
        }


def query_url(query: str, config: SearchConfig) -> str:
    """The URL yt-dlp is given for one query (a web URL gets the query percent-encoded)."""
    if "{query}" not in config.source:
        raise UsageError(f"--source {config.source!r} has no {{query}}")
    text = urllib.parse.quote_plus(query) if "://" in config.source else query
    return config.source.replace("{n}", str(config.per_query)).replace("{query}", text)


def entry_id_url(entry: dict) -> tuple[str, str]:
    """(id, url) of a flat search entry; feeds give a guid (smuggled into the URL) instead of an id."""
    from yt_dlp.utils import unsmuggle_url

    url, extra = unsmuggle_url(entry.get("url") or entry.get("webpage_url") or "", {})
    video_id = entry.get("id") or (extra or {}).get("force_videoid") or id_from_url(url)
    if entry.get("ie_key") == "Youtube" and entry.get("id"):
        url = f"https://www.youtube.com/watch?v={entry['id']}"
    return str(video_id), url


def duration_filter(max_duration: float | None, rejected: list[str]):
    """A yt-dlp `match_filter`: rejects entries longer than `max_duration` and notes them in `rejected`."""

    def accept(info: dict, *, incomplete: bool = False) -> str | None:
        duration = info.get("duration")
        if max_duration is None or duration is None or duration <= max_duration:
            return None
        rejected.append(str(info.get("id") or info.get("url")))
        return f"longer than {max_duration:g} s"

    return accept


def one_per_channel(entries: list[dict]) -> list[dict]:
    """Keep the first entry of each channel (entries with no channel information are all kept)."""
    seen, kept = set(), []
    for entry in entries:
        channel = entry.get("channel_id") or entry.get("channel") or entry.get("uploader_id") or entry.get("uploader")
        if channel is not None and channel in seen:
            continue
        if channel is not None:
            seen.add(channel)
        kept.append(entry)
    return kept


def _run_query(query: str, config: SearchConfig) -> tuple[list[dict], int]:
    """Flat entries of one query (after the duration filter) and how many the filter rejected."""
    import yt_dlp

    from vidkit.scrape.download import YDL_LOGGER

    rejected: list[str] = []
    accept = duration_filter(config.max_duration, rejected)
    params = {
        "extract_flat": "in_playlist",
        "quiet": True,
        "noprogress": True,
        "logger": YDL_LOGGER,
        "playlistend": config.per_query,
        "match_filter": accept,
        "extractor_retries": 0,
    }
    url = query_url(query, config)
    for attempt in range(1, config.retries + 2):
        try:
            with yt_dlp.YoutubeDL(params) as ydl:
                info = ydl.extract_info(url, download=False)
            break
        except Exception as exc:  # noqa: BLE001 - classified: transient ones retried, the rest reported per query
            fault = classify(exc)
            if not fault.transient or attempt > config.retries:
                raise
            time.sleep(max(config.backoff * 2 ** (attempt - 1), fault.retry_after or 0.0))
            rejected.clear()
    # yt-dlp applies the filter only to entries of extractors that say they are single videos
    # (YouTube's do); the same test on the rest keeps other sources (feeds, mirrors) consistent.
    entries = [e for e in (info or {}).get("entries") or [] if e and accept(e) is None]
    return entries[: config.per_query], len(rejected)


def assign_splits(ids: list[str], val: float, seed: int) -> dict[str, str]:
    """`train`/`val` per id: a seeded shuffle of the sorted ids, the first `val` (fraction or count) to val."""
    order = sorted(ids)
    n_val = int(round(val * len(order))) if val < 1 else min(int(val), len(order))
    shuffled = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    return {video_id: "val" if rank < n_val else "train" for rank, video_id in enumerate(shuffled)}


def search(
    queries: list[str],
    output: Path,
    *,
    config: SearchConfig = SearchConfig(),
    seed: int = 0,
    progress=None,
    inputs: Sequence[str | Path | None] = (),
    force: bool = False,
) -> SearchResult:
    """Search every query and write the deduplicated ids, their URLs, queries and split to `output` (TSV).

    A query that fails for good (after retries of transient errors) is logged and skipped. The
    output is claimed first (`scrape.claims`): an earlier search TSV is replaced, other files only
    with `force`, and one of `inputs` (the queries file) never.

    Raises:
        UsageError: no query, a bad `--source`, `output` is an input, a folder, or (without
            `force`) a file that is not a search TSV.
        VidkitError: every query failed.
    """
    from vidkit.errors import VidkitError
    from vidkit.io.atomic import atomic_path
    from vidkit.scrape import claims

    queries = list(dict.fromkeys(q.strip() for q in queries if q.strip()))
    if not queries:
        raise UsageError("no query given")
    query_url(queries[0], config)  # a bad --source is a usage error, not a failed query
    result = SearchResult(Path(output), len(queries))
    found: dict[str, tuple[str, list[str]]] = {}  # id -> (url, queries), in first-found order
    with claims.claim_stage(output, "scrape search", inputs, claims.search_tsv, force, writes_folder=False):
        for n, query in enumerate(queries, 1):
            try:
                entries, rejected = _run_query(query, config)
            except Exception as exc:  # noqa: BLE001 - one bad query must not lose the others
                result.failed_queries[query] = classify(exc).message
                log.warning("query %r failed: %s", query, result.failed_queries[query])
                continue
            kept = one_per_channel(entries) if config.one_per_channel else entries
            result.found += len(entries) + rejected
            result.filtered += rejected + len(entries) - len(kept)
            for entry in kept:
                video_id, url = entry_id_url(entry)
                found.setdefault(video_id, (url, []))[1].append(query)
            if progress is not None:
                progress(n, len(queries))
        if len(result.failed_queries) == len(queries):
            first = next(iter(result.failed_queries.items()))
            raise VidkitError(f"every query failed; the first, {first[0]!r}: {first[1]}")
        splits = assign_splits(list(found), config.val, seed)
        with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8") as handle:
            handle.write("\t".join(SEARCH_HEADER) + "\n")
            for video_id, (url, where) in found.items():
                cells = (
                    printable(video_id),
                    splits[video_id],
                    printable(url),
                    json.dumps([printable(q) for q in where]),
                )
                handle.write("\t".join(cell.replace("\t", "\\t") for cell in cells) + "\n")
    result.videos = len(found)
    result.val = sum(s == "val" for s in splits.values())
    result.train = result.videos - result.val
    return result
