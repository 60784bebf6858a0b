"""OTB evaluation of a tracker: result files in the OTB toolkit's format, then the benchmark's numbers.

`evaluate` runs the tracker over every sequence of an OTB-layout folder, writes
`<results>/<seq>.txt` and `<results>/times/<seq>_time.txt` as the got10k toolkit records them,
then scores the files it wrote (`score_results`, usable on any tracker's result files) and writes
`<results>/performance.json`. Keys follow the VINCE table's columns: `otb_precision`,
`otb_success`, plus `fps`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidkit.engine.device import resolve_device
from vidkit.errors import AnnotationError, UsageError, VidkitError
from vidkit.io.atomic import atomic_path
from vidkit.io.outputs import claim_output
from vidkit.io.tracking import Sequence, read_boxes, read_otb, write_results
from vidkit.tasks.tracking import metrics
from vidkit.tasks.tracking.pairs import read_rgb
from vidkit.tasks.tracking.tracker import SiamFCTracker, StaticTracker, track


@dataclass
class EvalResult:
    results: Path
    score: metrics.OverallScore
    per_sequence: dict[str, metrics.SequenceScore]
    frames: int
    tracker: str
    seconds: float

    def summary(self) -> dict:
        return {
            "otb_precision": self.score.precision,
            "otb_success": self.score.success,
            "fps": self.score.fps,
            "sequences": len(self.per_sequence),
            "frames": self.frames,
            "tracker": self.tracker,
            "results": str(self.results),
            "seconds": self.seconds,
        }


def score_results(result_dir: Path, sequences: list[Sequence]) -> dict[str, metrics.SequenceScore]:
    """Score the result files in `result_dir` against the sequences' ground truth.

    Raises:
        VidkitError: a sequence has no result file, or it is malformed or of another length.
    """
    scores = {}
    for seq in sequences:
        path = Path(result_dir) / f"{seq.name}.txt"
        if not path.is_file():
            raise VidkitError(f"no result file {path} for sequence {seq.name}")
        try:
            boxes = read_boxes(path)
        except AnnotationError as exc:
            raise VidkitError(f"bad result file: {exc}") from None
        if len(boxes) < len(seq.boxes):
            raise VidkitError(f"{path}: {len(boxes)} boxes for {len(seq.boxes)} frames")
        time_file = Path(result_dir) / "times" / f"{seq.name}_time.txt"
        times = np.loadtxt(time_file, ndmin=1) if time_file.is_file() else None
        scores[seq.name] = metrics.score_sequence(boxes, seq.boxes, times)
    return scores


def evaluate(
    otb: Path,
    results: Path,
    *,
    tracker_path: Path | None = None,
    static: bool = False,
    device: str = "auto",
    progress=None,
) -> EvalResult:
    """Track every sequence of `otb` with the tracker in `tracker_path` (or, `static`, the
    centre-prior baseline), write the toolkit's result files into `results` and score them.

    Raises:
        UsageError: both or neither of a tracker and `static`; `results` is an input.
        AnnotationError: the OTB folder is missing or malformed.
        CheckpointFormatError: the file is no tracker.
    """
    if (tracker_path is None) == (not static):
        raise UsageError("give a TRACKER.pt written by `vidkit track train`, or --static for the baseline")
    started = time.perf_counter()
    with claim_output(results, inputs=[tracker_path, otb], existing=lambda p: None if p.is_dir() else "a file"):
        sequences = read_otb(otb)
        if static:
            make, name = StaticTracker, "static"
        else:
            from vidkit.tasks.tracking.train import load_tracker

            dev = resolve_device(device)
            model, loaded = load_tracker(tracker_path)
            recipe = loaded.recipe

            def make():
                return SiamFCTracker(model, mean=recipe.mean, std=recipe.std, device=dev, one_based=True)

            name = str(tracker_path)
        results = Path(results)
        total = sum(len(s) for s in sequences)
        done = 0
        for seq in sequences:
            boxes, times = track(make(), seq.frames, seq.boxes[0], read_rgb)
            write_results(results, seq.name, boxes, times)
            done += len(seq)
            if progress:
                progress(done, total, seq.name)
        per_sequence = score_results(results, sequences)
        score = metrics.overall(list(per_sequence.values()))
        result = EvalResult(results, score, per_sequence, total, name, time.perf_counter() - started)
        report = {
            **result.summary(),
            "success_curve": score.success_curve.tolist(),
            "precision_curve": score.precision_curve.tolist(),
            "per_sequence": {
                k: {"otb_precision": s.precision, "otb_success": s.success, "fps": s.fps}
                for k, s in per_sequence.items()
            },
        }
        with atomic_path(results / "performance.json") as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return result
