"""`cluster-idt` end to end: trajectories per video, Fisher-vector model, encoding, k-means.

The IDT prior of Tokmakov et al. (ECCV-W 2020) took four scripts, a C++ build and a CPU cluster.
Here it is one resumable run in four stages, each leaving its outputs in a work folder beside
the output (`CLUSTERS.h5.work/`), so a killed run loses at most the videos in flight:

1. trajectories (`idt.trajectory_stage`): `work/trajectories/<id>.txt.gz`, the release's text rows,
   and `work/records/<id>.json`, what they were made from (a rerun redoes a video whose input
   changed); a video that fails, or gives no trajectory, is written to `work/failed/<id>.txt`, logged
   and left out of the later stages;
2. model: PCA + GMM (+ count sketch) fitted on a seeded sample of `fit_videos` videos: `work/encoder.h5`,
   keyed on the options and the fitting videos' records;
3. encoding: one feature per video, `work/fv/<id>.npy` (removed when its trajectories are redone or
   the model is refitted);
4. clustering: `num_c` faiss k-means runs, written with everything else into the clusters store.

Per-video files are named through `vidkit.io.paths.child`, so any id is a safe file name.
Stages 1 and 3 run in `workers` spawned processes, results handled in input order (`extract.pipeline`,
the per-video pipeline extraction runs on); `--shard K/N` picks videos by id (`extract.shards`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidkit import __version__
from vidkit.errors import (
    NoInputError,
    TooFewVideosError,
    UsageError,
    VidkitError,
)
from vidkit.extract import pipeline, shards
from vidkit.idt import clustering, fisher, trajectory_stage, video_tasks
from vidkit.idt.trajectories import IdtConfig
from vidkit.idt.video_tasks import Job
from vidkit.io import clusters as cstore
from vidkit.io import trajectories as tio
from vidkit.io.lock import output_lock
from vidkit.io.outputs import claim_output
from vidkit.io.paths import child, printable

log = logging.getLogger("vidkit")
STAGES = ("trajectories", "model", "encode", "cluster")


@dataclass(frozen=True)
class ClusterConfig:
    """Options of `vidkit cluster-idt`; the defaults are the seed's."""

    k: int = 6000
    num_c: int = 3
    fit_videos: int = 3500
    seed: int = 0  # fitting sample, PCA/GMM, sketch
    kmeans_seed: int = clustering.BASE_SEED
    idt: IdtConfig = field(default_factory=IdtConfig)
    fisher: fisher.FisherConfig = field(default_factory=fisher.FisherConfig)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ClusterResult:
    clusters: Path | None
    videos: int
    clustered: int
    failed: int
    k: int
    num_c: int
    dim: int
    trajectories: int | None  # rows written to --trajectories-h5 (None without it)
    stage: str
    seconds: float

    def summary(self) -> dict:
        out = asdict(self)
        out["clusters"] = str(self.clusters) if self.clusters else None
        return out


def work_dir(out: Path) -> Path:
    """The folder holding the stages' outputs for `out`."""
    return out.with_name(out.name + ".work")


def plan_jobs(inputs: list[str | Path]) -> tuple[list[Job], str]:
    """Jobs from one frame store, or from video files (id = file name without extension)."""
    if len(inputs) == 1 and str(inputs[0]).endswith(".h5"):
        from vidkit.io.frame_store import FrameStore

        with FrameStore(inputs[0]) as store:
            ids = store.table()["id"]
        return [Job(str(v), str(inputs[0]), i) for i, v in enumerate(ids)], str(inputs[0])
    jobs, seen = [], set()
    for path in inputs:
        path = Path(path)
        if not path.is_file():
            raise NoInputError(f"{path} is not a file (give one frame store or video files)")
        if path.stem in seen:
            raise UsageError(f"two inputs have the id {printable(path.stem)!r}; ids must be unique")
        seen.add(path.stem)
        jobs.append(Job(path.stem, str(path)))
    return jobs, ", ".join(str(i) for i in inputs)


def fit_model(ids: list[str], work: Path, config: ClusterConfig) -> cstore.Encoder:
    """Stage 2: the encoder, fitted on a seeded sample of videos (reused when it exists with this config).

    The fit is keyed on the options and on what each fitting video's trajectories were made from
    (their records), so new trajectories of a fitting video refit the model. The sample is drawn
    file by file: one video's rows are read, its `rows_per_video` drawn and the rest dropped, so
    memory holds the sample and one video, not every fitting video (3500 by default).
    """
    path = work / "encoder.h5"
    rng = np.random.default_rng(config.seed)
    chosen = sorted(rng.choice(len(ids), min(config.fit_videos, len(ids)), replace=False).tolist())
    fitting = [ids[i] for i in chosen]
    # One digest of every fitting video's id and record (a list of ids may exceed HDF5's 64 kB attribute limit).
    lines = (f"{vid}\t{key}" for vid, key in zip(fitting, trajectory_stage.read_keys(work, fitting)))
    wanted = {
        "fisher": config.fisher.to_dict(),
        "seed": config.seed,
        "fit_videos": len(chosen),
        "fit_trajectories_sha256": hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest(),
    }
    if path.exists():
        encoder, stored = cstore.load_encoder(path)
        if stored == json.loads(json.dumps(wanted)):
            log.info("model: reusing %s", path)
            return encoder
        log.info("model: options or videos changed; refitting")
        shutil.rmtree(work / "fv", ignore_errors=True)  # features of the old model
    log.info("model: fitting on %d videos", len(chosen))
    videos = (tio.read_text(trajectory_stage.trajectory_file(work, vid)) for vid in fitting)  # one at a time
    sample = fisher.sample_rows(videos, config.fisher, rng)
    try:
        encoder = fisher.fit_encoder(sample, config.fisher, seed=config.seed)
    except ValueError as exc:  # too few trajectories for the GMM: the user can lower --gmm-k or add videos
        raise VidkitError(
            f"cannot fit the Fisher-vector model on {len(chosen)} video(s): {exc}; lower --gmm-k or add videos"
        ) from None
    cstore.save_encoder(path, encoder, wanted)
    return encoder


def encode(ids: list[str], work: Path, *, workers: int, progress) -> dict[str, str]:
    """Stage 3: one feature file per video. Returns `{video_id: error}` of the videos that failed."""
    (work / "fv").mkdir(parents=True, exist_ok=True)
    todo = [
        (vid, trajectory_stage.trajectory_file(work, vid), work / "encoder.h5", child(work / "fv", vid, ".npy"))
        for vid in ids
        if not child(work / "fv", vid, ".npy").exists()
    ]
    done, errors = len(ids) - len(todo), {}
    for args, (_, error) in pipeline.in_order(
        video_tasks.encode_task, [(Job(a, ""), *rest) for a, *rest in todo], workers
    ):
        done += 1
        if error:
            errors[args[0].video_id] = error
            log.warning("%s failed at encoding: %s", printable(args[0].video_id), error)
        progress(done, len(ids), f"encoding: {printable(args[0].video_id)}")
    return errors


def cluster_idt(
    inputs: list[str | Path],
    out: Path,
    config: ClusterConfig = ClusterConfig(),
    *,
    workers: int = 1,
    boxes: Path | None = None,
    precomputed: Path | None = None,
    stop_after: str = "cluster",
    shard: tuple[int, int] = (1, 1),
    trajectories_h5: Path | None = None,
    progress: Callable[..., None] = lambda *a, **k: None,
) -> ClusterResult:
    """Turn a frame store (or video files) into a clusters store; rerun the same call to resume.

    Raises:
        NoInputError: no videos.
        TooFewVideosError: fewer encoded videos than `config.k`.
        StoreConfigError: the work folder holds trajectories made with other options.
    """
    start = time.perf_counter()
    if stop_after not in STAGES:
        raise UsageError(f"unknown stage {stop_after!r}; choose from {', '.join(STAGES)}")
    out = Path(out)
    jobs, source = plan_jobs(inputs)
    if not jobs:
        raise NoInputError("the inputs hold no video")
    if stop_after == "cluster" and shard[1] == 1 and len(jobs) < config.k:  # refuse before any work
        raise TooFewVideosError(
            f"cannot make {config.k} clusters from {len(jobs)} video(s): pass --k {len(jobs)} or less, or add videos"
        )
    index, count = shard
    if count > 1:  # a shard computes trajectories only, for its share of the videos (by video id)
        jobs, stop_after = shards.select(jobs, shards.Shard(index, count), key=lambda job: job.video_id), "trajectories"
        if not jobs:
            raise NoInputError(f"shard {index}/{count} holds none of the videos; use fewer shards")
    work = work_dir(out)
    if count > 1:  # shards share the work folder; each holds its own lock
        work.mkdir(parents=True, exist_ok=True)
        claim = output_lock(work / f"shard-{index}-of-{count}")
    else:
        from vidkit.io.h5 import unless_schema

        claim = claim_output(
            out,
            inputs=[j.source for j in jobs[:1]] if jobs[0].index >= 0 else [j.source for j in jobs],
            existing=unless_schema(cstore.SCHEMA, "clusters store"),
        )
    with claim:
        work.mkdir(parents=True, exist_ok=True)
        trajectory_stage.check_options(work, config.idt)
        errors = trajectory_stage.run(
            jobs, work, config.idt, workers=workers, boxes=boxes, precomputed=precomputed, progress=progress
        )
        ok_ids = [j.video_id for j in jobs if j.video_id not in errors]  # without the videos that failed
        total_rows = None
        if trajectories_h5 is not None:  # read and written one video at a time
            videos = ((vid, tio.read_text(trajectory_stage.trajectory_file(work, vid))) for vid in ok_ids)
            total_rows = tio.write_h5(trajectories_h5, videos, config=json.dumps(config.idt.to_dict()))
        result = ClusterResult(
            None, len(jobs), 0, len(errors), config.k, config.num_c, 0, total_rows, "trajectories", 0.0
        )
        if stop_after == "trajectories" or not ok_ids:
            if not ok_ids:
                raise VidkitError(f"no video gave trajectories ({len(errors)} failed; see {work / 'failed'})")
            result.seconds = time.perf_counter() - start
            return result
        if len(ok_ids) < config.k:  # refuse before the costly model fitting
            raise TooFewVideosError(
                f"cannot make {config.k} clusters from {len(ok_ids)} video(s): pass --k "
                f"{len(ok_ids)} or less, or add videos"
            )
        fit_model(ok_ids, work, config)
        if stop_after == "model":
            result.stage, result.seconds = "model", time.perf_counter() - start
            return result
        errors.update(encode(ok_ids, work, workers=workers, progress=progress))
        ok_ids = [vid for vid in ok_ids if vid not in errors]
        if stop_after == "encode":
            result.stage, result.failed, result.seconds = "encode", len(errors), time.perf_counter() - start
            return result
        features = np.stack([np.load(child(work / "fv", vid, ".npy")) for vid in ok_ids])  # (n, d)
        found = clustering.kmeans(features, config.k, config.num_c, seed=config.kmeans_seed)
        _write_store(out, jobs, ok_ids, features, found, errors, config, source)
    return ClusterResult(
        out,
        len(jobs),
        len(ok_ids),
        len(errors),
        config.k,
        config.num_c,
        features.shape[1],
        total_rows,
        "cluster",
        time.perf_counter() - start,
    )


def _write_store(
    out: Path,
    jobs: list[Job],
    ok_ids: list[str],
    features: np.ndarray,
    found: clustering.KMeansResult,
    errors: dict[str, str],
    config: ClusterConfig,
    source: str,
) -> None:
    ids = [j.video_id for j in jobs]
    row = {vid: i for i, vid in enumerate(ok_ids)}
    ok = np.array([vid in row for vid in ids])
    take = np.array([row.get(vid, 0) for vid in ids])
    labels = np.where(ok[None, :], found.labels[:, take], -1)  # (num_c, N)
    all_features = np.where(ok[:, None], features[take], 0.0).astype(np.float32)  # (N, d)
    encoder, _ = cstore.load_encoder(work_dir(out) / "encoder.h5")
    cstore.write_clusters(
        out,
        cstore.Clusters(
            video_ids=ids,
            ok=ok,
            labels=labels,
            seeds=found.seeds,
            centroids=found.centroids,
            features=all_features,
            encoder=encoder,
            failures=sorted(errors.items()),
            config=config.to_dict(),
            source=source,
            created_by=f"vidkit {__version__} cluster-idt",
        ),
    )
