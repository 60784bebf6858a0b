"""Per-video work at scale: the ordered parallel pipeline, shards by video id, and merging shard stores."""
