"""Benchmark: improved dense trajectories, frames per second per core, against the 2013 C++ release.

    python bench/idt.py [--repeats 2] [--kth] [--purity]

1. Speed. `vidkit.idt` on the release's own KTH test clip (360 frames) at 160x120 and upscaled
   to 320x240, on one core (OpenCV and BLAS limited to one thread), default options. Printed:
   frames per second and where the time goes (flow, camera motion, descriptors, tracking).
   The baseline is not timed here (it needs the C++ build this project exists to avoid): an
   OpenCV 4 build of the release without SURF ran this clip at about 100 fps at 160x120 and
   24.6 fps at 320x240 on one core of this kind of machine (issue 16). The ratio is ours over that.
2. `--kth`: the side-by-side comparison with the release's reference output (counts per scale,
   block means and spreads, length and end-frame quantiles), and the effect of the keypoint
   detector that stands in for SURF.
3. `--purity`: cluster-idt on a motion-only synth dataset; purity of the clusters by motion class
   against the purity of the same cluster sizes with shuffled labels (chance).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: before numpy/BLAS load
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from ratios import add_ratios_option, record  # noqa: E402  bench/ratios.py, beside this script

from vidkit.idt import compare  # noqa: E402
from vidkit.idt.trajectories import IdtConfig, Timer, extract_trajectories  # noqa: E402
from vidkit.io import trajectories as tio  # noqa: E402
from vidkit.io import video  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "idt_reference"
CLIP = DATA / "person01_boxing_d1_uncomp.avi"
REFERENCE = DATA / "person01_boxing_d1.gz"
CPP_FPS = {(160, 120): 100.0, (320, 240): 24.6}  # the C++ release, one core (issue 16)


def clip_frames(size: tuple[int, int]) -> list[np.ndarray]:
    frames = list(video.iter_frames(CLIP))
    if frames[0].shape[1::-1] != size:
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames]
    return frames


def bench_speed(repeats: int, ratios: str | None) -> None:
    cv2.setNumThreads(1)
    print("| size | frames | fps (1 core) | C++ release fps | ratio | flow | camera | descriptors | tracking |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, cpp in CPP_FPS.items():
        frames = clip_frames(size)
        best, timer = float("inf"), None
        for _ in range(repeats):
            run_timer = Timer()
            start = time.perf_counter()
            extract_trajectories(frames, IdtConfig(), timer=run_timer)
            elapsed = time.perf_counter() - start
            if elapsed < best:
                best, timer = elapsed, run_timer
        fps = len(frames) / best
        share = {k: 100 * v / best for k, v in timer.seconds.items()}
        print(
            f"| {size[0]}x{size[1]} | {len(frames)} | {fps:.1f} | {cpp:.1f} | {fps / cpp:.2f}x | "
            + " | ".join(f"{share.get(k, 0):.0f}%" for k in ("flow", "camera", "descriptors", "tracking"))
            + " |"
        )
        record(
            ratios, "idt", f"trajectories fps at {size[0]}x{size[1]}, 1 core, vs the C++ release", fps / cpp, ">= 1x"
        )


def bench_kth() -> None:
    cv2.setNumThreads(1)
    frames = clip_frames((160, 120))
    reference = tio.read_text(REFERENCE)
    ours = extract_trajectories(frames, IdtConfig())
    print("\nKTH person01_boxing_d1, default options, no boxes: release vs vidkit (detector sift)\n")
    print(compare.comparison_table(ours, reference))
    print("\nKeypoint detector standing in for SURF (trajectories per scale, seconds):\n")
    print("| detector | total | per scale | seconds |")
    print("| --- | ---: | --- | ---: |")
    factors = sorted({round(float(f), 4) for f in reference[:, 6]})
    print(f"| release (SURF) | {len(reference)} | {compare.scale_counts(reference, factors)} | |")
    for detector in ("sift", "orb", "none"):
        start = time.perf_counter()
        rows = extract_trajectories(frames, IdtConfig(detector=detector))
        print(
            f"| {detector} | {len(rows)} | {compare.scale_counts(rows, factors)} | {time.perf_counter() - start:.1f} |"
        )


def bench_purity(workers: int) -> None:
    from vidkit.extract import frames as extraction
    from vidkit.idt import pipeline
    from vidkit.idt.clustering import purity
    from vidkit.idt.fisher import FisherConfig
    from vidkit.io import synth
    from vidkit.io.annotations import load_annotations
    from vidkit.io.clusters import read_clusters
    from vidkit.io.frame_store import FrameStore

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synth.make_dataset(
            root / "data",
            synth.SynthConfig(classes=8, train_per_class=12, test_per_class=0, frames=32, size=128, seed=0),
        )
        extraction.extract_frames(
            [root / "data" / "videos"],
            root / "frames.h5",
            annotations=load_annotations(root / "data" / "splits", "ucf101"),
        )
        print("\nMotion-only synth (8 classes x 12 videos, 32 frames, 128 px), k = 8, 3 runs:\n")
        print("| Fisher vectors | purity per run | chance (shuffled labels) |")
        print("| --- | --- | ---: |")
        for variant in ("seed", "standard"):
            out = root / f"clusters-{variant}.h5"
            config = pipeline.ClusterConfig(k=8, num_c=3, fit_videos=96, fisher=FisherConfig(variant=variant, gmm_k=16))
            pipeline.cluster_idt([root / "frames.h5"], out, config, workers=workers)
            clusters, table = read_clusters(out), FrameStore(root / "frames.h5").table()
            labels, ok = clusters.labels_for(list(table["id"])), clusters.ok
            classes = table["label"][ok]
            rng = np.random.default_rng(0)
            chance = np.mean([purity(rng.permutation(labels[0][ok]), classes) for _ in range(200)])
            runs = ", ".join(f"{purity(run[ok], classes):.2f}" for run in labels)
            print(f"| {variant} | {runs} ({ok.sum()} of {len(ok)} videos) | {chance:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--kth", action="store_true", help="also print the comparison with the release")
    parser.add_argument("--purity", action="store_true", help="also cluster a motion-only synth dataset")
    parser.add_argument("--workers", type=int, default=2, help="processes for --purity")
    add_ratios_option(parser)
    args = parser.parse_args()
    bench_speed(args.repeats, args.ratios)
    if args.kth:
        bench_kth()
    if args.purity:
        bench_purity(args.workers)


if __name__ == "__main__":
    main()
