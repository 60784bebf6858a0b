"""`--shard K/N`: stable by video id, a partition of the inputs, whatever their order."""

from __future__ import annotations

import random

import pytest

from vidkit.errors import UsageError
from vidkit.extract import shards

IDS = [f"v_Class{c:02d}_g{g:02d}_c{k:02d}" for c in range(10) for g in range(5) for k in range(4)]


def test_shards_partition_the_inputs():
    for count in (2, 3, 7):
        parts = [shards.select(IDS, shards.Shard(k, count), key=str) for k in range(1, count + 1)]
        assert sorted(i for part in parts for i in part) == sorted(IDS)  # every id once
        assert all(parts), "200 ids leave no shard of 7 empty"


def test_a_shard_depends_on_the_id_only_not_on_order_or_company():
    shuffled = random.Random(0).sample(IDS, len(IDS))
    shard = shards.Shard(2, 5)
    assert set(shards.select(shuffled, shard, key=str)) == set(shards.select(IDS, shard, key=str))
    subset = IDS[::3]
    assert set(shards.select(subset, shard, key=str)) == set(shards.select(IDS, shard, key=str)) & set(subset)


def test_the_digest_is_fixed_across_processes_and_versions():
    # blake2b, not Python's salted hash(): these values must never change, or reruns reshuffle shards.
    assert [shards.shard_of(i, 8) for i in ("v_ApplyEyeMakeup_g01_c01", "abc", "")] == [
        shards.shard_of("v_ApplyEyeMakeup_g01_c01", 8),
        shards.shard_of("abc", 8),
        shards.shard_of("", 8),
    ]
    assert (
        shards.shard_of("abc", 8)
        == int.from_bytes(__import__("hashlib").blake2b(b"abc", digest_size=8).digest(), "big") % 8 + 1
    )


def test_parse():
    assert shards.parse("3/16") == shards.Shard(3, 16)
    assert shards.parse(None) is None and shards.parse("1/1") is None
    for bad in ("0/4", "5/4", "a/b", "3", "1/0"):
        with pytest.raises(UsageError):
            shards.parse(bad)


def test_select_without_a_shard_keeps_everything_in_order():
    assert shards.select(IDS, None, key=str) == IDS
