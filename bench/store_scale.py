"""Benchmark: frame stores of R2V2 size stay as fast to open and to read from as small ones.

    python bench/store_scale.py [--sizes 1000,100000,1000000] [--frames 10] [--clips 2000] [--keep DIR]

R2V2 is 696 k videos and 2.8 M frames; Kinetics-400 is 240 k videos. This builds frame stores of
10^3, 10^5 and 10^6 videos (10 raw 8x8 RGB frames each: 10^7 frames at the top), and measures
1. opening the store (`FrameStore(path)`: schema, config and counts), and
2. reading a random 8-frame clip of a random video (`read_clip`), with a fresh reader each
   repetition, so the per-video layout rows it caches start cold.
Both must stay flat in N: the 10^6 store within 1.5x of the 10^3 one (DESIGN.md section 3).
File sizes and build times are printed too.

The stores are written straight through `FrameStoreWriter.add_videos` in batches of 10^4 videos
per commit (the path `vidkit merge` takes), not by extracting 10^6 video files: that would time
the decoder, not the store, and take hours. The frames are random bytes: raw frames are stored
as given, so their content does not matter. The OS page cache holds the files (2 GB at 10^6), as
it would on a training machine after the first epoch; the first read of a cold disk is the
disk's speed, not the store's.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from ratios import add_ratios_option, record  # bench/ratios.py, beside this script

from vidkit.io.frame_store import FrameStore, StoreConfig
from vidkit.io.frame_store_writer import EncodedVideo, FrameStoreWriter

SIDE = 8
BATCH = 10_000


def build(path: Path, videos: int, frames: int, seed: int = 0) -> float:
    """Write a raw store of `videos` videos of `frames` random SIDE x SIDE frames; returns seconds."""
    start = time.perf_counter()
    frame_bytes = SIDE * SIDE * 3
    pool = np.random.default_rng(seed).integers(0, 256, size=(BATCH + 1) * frames * frame_bytes, dtype=np.uint8)
    pool = pool.tobytes()
    with FrameStoreWriter(path, StoreConfig(codec="raw"), created_by="bench/store_scale.py") as writer:
        for first in range(0, videos, BATCH):
            count = min(BATCH, videos - first)
            shift = (first // BATCH) % 7 * frame_bytes  # not every batch the very same bytes
            batch = []
            for v in range(count):
                base = shift + v * frames * frame_bytes
                batch.append(
                    EncodedVideo(
                        id=f"v{first + v:07d}",
                        source=f"synthetic/{first + v:07d}.mp4",
                        fps=30.0,
                        height=SIDE,
                        width=SIDE,
                        frames=[pool[base + f * frame_bytes : base + (f + 1) * frame_bytes] for f in range(frames)],
                    )
                )
            writer.add_videos(batch, [(first + v) % 400 for v in range(count)])
            writer.commit()
        writer.finish([f"class{c:03d}" for c in range(400)], None, {"train": np.arange(videos, dtype=np.int64)})
    return time.perf_counter() - start


def time_open(path: Path, repeats: int) -> float:
    """Median seconds to open the store (a new reader each time)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        store = FrameStore(path)
        store.close()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_reads(path: Path, clips: int, frames: int, repeats: int, length: int = 8) -> tuple[float, np.ndarray]:
    """Best-of-`repeats` seconds per random clip, a fresh reader (cold layout cache) each repetition."""
    probe = FrameStore(path)
    rng = np.random.default_rng(1)
    picks = [(int(rng.integers(probe.num_videos)), int(rng.integers(frames - length + 1))) for _ in range(clips)]
    first = probe.read_clip(*picks[0], length)
    probe.close()
    best = float("inf")
    for _ in range(repeats):
        store = FrameStore(path)
        start = time.perf_counter()
        for video, start_frame in picks:
            store.read_clip(video, start_frame, length)
        best = min(best, time.perf_counter() - start)
        store.close()
    return best / clips, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000", help="comma-separated numbers of videos")
    parser.add_argument("--frames", type=int, default=10, help="frames per video")
    parser.add_argument("--clips", type=int, default=2000, help="random clips read per repetition")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", help="build the stores in this folder and keep them (reused when present)")
    add_ratios_option(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="store_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for n in sizes:
            path = work / f"store_{n}.h5"
            built = float("nan")
            if not (path.exists() and FrameStore(path).complete and FrameStore(path).num_videos == n):
                path.unlink(missing_ok=True)
                built = build(path, n, args.frames)
            opened = time_open(path, args.repeats * 4)
            read, clip = time_reads(path, args.clips, args.frames, args.repeats)
            assert clip.shape == (8, SIDE, SIDE, 3)
            rows.append((n, n * args.frames, path.stat().st_size, built, opened, read))
            print(f"built {n} videos: {path.stat().st_size / 1e6:.1f} MB in {built:.1f} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n## Store scaling: {args.frames} raw {SIDE}x{SIDE} frames per video, random 8-frame clips")
    print(
        f"{'videos':>9s} {'frames':>10s} {'file MB':>9s} {'bytes/frame':>11s} {'build s':>8s} {'open ms':>8s} {'clip us':>8s}"
    )
    for n, frames, size, built, opened, read in rows:
        print(
            f"{n:9d} {frames:10d} {size / 1e6:9.1f} {size / frames:11.1f} {built:8.1f} {opened * 1e3:8.2f} {read * 1e6:8.1f}"
        )
    base, top = rows[0], rows[-1]
    for name, column in (("open", 4), ("random clip read", 5)):
        ratio = top[column] / base[column]
        print(f"{name}: {top[0]} videos vs {base[0]}: {ratio:.2f}x  (target <= 1.5x)")
        record(args.ratios, "store scaling", f"{name}, {top[0]:.0e} vs {base[0]:.0e} videos", ratio, "<= 1.5x")


if __name__ == "__main__":
    main()
