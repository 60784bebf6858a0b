"""`--shard K/N`: a stable share of the inputs, chosen by video id.

A video's shard is a digest of its id (BLAKE2b, never Python's salted `hash`), so the same id lands
in the same shard on every machine, in every run, whatever order or subset of inputs a job was
given: N jobs of one cluster array, each listing the whole dataset, split it into N disjoint parts
that together cover it, and a job rerun after a failure redoes exactly its own part. Taking every
N-th input instead would reshuffle every shard as soon as one input is added or the inputs are
listed in another order. The shards then join with `vidkit merge` (`extract.merge`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from vidkit.errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, video_id: str) -> bool:
        return shard_of(video_id, self.count) == self.index


def parse(text: str | None) -> Shard | None:
    """`"K/N"` -> `Shard(K, N)`; None (or `"1/1"`) means no sharding.

    Raises:
        UsageError: not `K/N` with `1 <= K <= N`.
    """
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.strip().split("/"))
    except ValueError:
        raise UsageError(f"--shard takes K/N, for example 3/16; got {text!r}") from None
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text}: K must be in 1..N")
    return None if count == 1 else Shard(index, count)


def shard_of(video_id: str, count: int) -> int:
    """The 1-based shard of `video_id` among `count` shards."""
    digest = hashlib.blake2b(video_id.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count + 1


def select(items: Iterable[T], shard: Shard | None, key: Callable[[T], str]) -> list[T]:
    """The items of `shard` (all of them for None), in their given order; `key` gives an item's id."""
    if shard is None:
        return list(items)
    return [item for item in items if shard.holds(key(item))]
