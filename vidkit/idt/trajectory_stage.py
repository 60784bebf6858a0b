"""Stage 1 of `cluster-idt`: each video's trajectories, checked against what they were made from.

A rerun keeps a video's trajectory file only when its record (`idt.inputs`) says it was made from
the same video content, boxes and `--trajectories` file as this run would use; otherwise it
computes the video again and says on stderr how many videos it redoes and why. So a work folder
reused with another input store whose videos share the ids gives what a fresh run gives, while a
resumed or sharded run reuses everything it finished. The IDT options are checked for the whole
folder (`check_options`): trajectories made with other options are refused, since replacing them
silently would throw away hours of work over what may be a typo.

A video is failed here, with its reason in `work/failed/<id>.txt` and a warning on stderr, when it
cannot be decoded (tried again on a rerun) or gives no trajectory (recorded, not tried again).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from vidkit.errors import StoreConfigError, TrajectoryFormatError
from vidkit.extract import pipeline
from vidkit.idt import inputs, video_tasks
from vidkit.idt.trajectories import IdtConfig
from vidkit.idt.video_tasks import Job
from vidkit.io import trajectories as tio
from vidkit.io.atomic import atomic_path
from vidkit.io.paths import child, printable

log = logging.getLogger("vidkit")


def check_options(work: Path, config: IdtConfig) -> None:
    """Trajectories made with other options must not be mixed in: stop with an error instead."""
    path = work / "trajectories.json"
    wanted = json.dumps(config.to_dict(), sort_keys=True)
    if path.exists():
        stored = path.read_text()
        if json.loads(stored) != json.loads(wanted):
            raise StoreConfigError(
                f"{work} holds trajectories made with {stored.strip()}; remove it or use the same options"
            )
        return
    work.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(wanted)


def trajectory_file(work: Path, video_id: str) -> Path:
    return child(work / "trajectories", video_id, ".txt.gz")


def record_file(work: Path, video_id: str) -> Path:
    return child(work / "records", video_id, ".json")


def read_keys(work: Path, ids: list[str]) -> list[str]:
    """`inputs.key` of each video's record: what its trajectories were made from ("" without one)."""
    keys = []
    for vid in ids:
        record = inputs.load(record_file(work, vid))
        keys.append(inputs.key(record.read) if record else "")
    return keys


def run(
    jobs: list[Job],
    work: Path,
    config: IdtConfig,
    *,
    workers: int,
    boxes: Path | None,
    precomputed: Path | None,
    progress,
) -> dict[str, str]:
    """Stage 1. Returns `{video_id: error}` of the videos that failed (the others have their file)."""
    for name in ("trajectories", "failed", "records"):
        (work / name).mkdir(parents=True, exist_ok=True)
    todo, errors = [], {}
    changed: Counter[str] = Counter()
    unrecorded = without = 0
    store = _open_store(jobs)
    try:
        for job in jobs:
            vid = job.video_id
            target, record_path = trajectory_file(work, vid), record_file(work, vid)
            found = _precomputed(precomputed, vid)
            box_file = child(boxes, vid, ".bb") if boxes is not None else None
            read = _what_is_read(job, store, found, box_file)
            old = inputs.load(record_path)
            if old is not None and old.read == read and None not in read.values() and (not old.rows or target.exists()):
                if not old.rows:  # recorded as giving no trajectory: failed again, not tracked again
                    errors[vid], without = old.error, without + 1
                continue
            if old is not None and old.read != read:
                changed[" and ".join(inputs.changed_parts(old.read, read))] += 1
            elif old is None and target.exists():
                unrecorded += 1
            record_path.unlink(missing_ok=True)  # the record goes first: a kill mid-way means "redo"
            child(work / "fv", vid, ".npy").unlink(missing_ok=True)  # the feature of the old trajectories
            failed = child(work / "failed", vid, ".txt")
            if found is not None:
                error = _copy_precomputed(found, target, failed, record_path, read)
                if error:
                    errors[vid] = error
                    log.warning("%s failed: %s", printable(vid), error)
                continue
            todo.append((job, config, target, failed, box_file, record_path, read))
    finally:
        if store is not None:
            store.close()
    for parts, count in sorted(changed.items()):
        log.warning(
            "trajectories: %d video(s) in %s were made from another input (it differs in: %s); computing them again",
            count,
            work,
            parts,
        )
    if unrecorded:
        log.warning(
            "trajectories: %d video(s) in %s have no record of what they were made from (an older vidkit or a "
            "kill); computing them again",
            unrecorded,
            work,
        )
    done = len(jobs) - len(todo)
    log.info(
        "trajectories: %d of %d videos to do (%d done before%s)",
        len(todo),
        len(jobs),
        done,
        f", {without} of them without trajectories" if without else "",
    )
    for args, (rows, error) in pipeline.in_order(video_tasks.trajectory_task, todo, workers):
        done += 1
        if error:
            errors[args[0].video_id] = error
            log.warning("%s failed: %s", printable(args[0].video_id), error)
        progress(done, len(jobs), f"trajectories: {printable(args[0].video_id)} {rows}")
    return errors


def _open_store(jobs: list[Job]):
    if not jobs or jobs[0].index < 0:
        return None
    from vidkit.io.frame_store import FrameStore

    return FrameStore(jobs[0].source)


def _what_is_read(job: Job, store, found: Path | None, box_file: Path | None) -> dict:
    """The `read` part of the video's record for this run (`idt.inputs`); None where unreadable."""
    if found is not None:
        return {"precomputed": _digest(inputs.file_digest, found)}
    if store is not None:
        content = _digest(store.content_digest, job.index)
    else:
        content = _digest(inputs.file_digest, job.source)
    has_boxes = box_file is not None and box_file.is_file()
    return {"input": content, "boxes": _digest(inputs.file_digest, box_file) if has_boxes else ""}


def _digest(function, argument) -> str | None:
    try:
        return function(argument)
    except (OSError, ValueError, KeyError):  # unreadable now: never matches, so the video is tried (and fails)
        return None


def _copy_precomputed(found: Path, target: Path, failed: Path, record_path: Path, read: dict) -> str:
    """Copy one `--trajectories` file into the work folder (validated, normalised). Returns the error or ""."""
    try:
        rows = tio.read_text(found)
    except TrajectoryFormatError as exc:
        video_tasks.write_failure(failed, str(exc))
        return str(exc)
    if not len(rows):
        target.unlink(missing_ok=True)
        video_tasks.write_failure(failed, inputs.EMPTY_PRECOMPUTED)
        inputs.Record(read, 0, inputs.EMPTY_PRECOMPUTED).save(record_path)
        return inputs.EMPTY_PRECOMPUTED
    tio.write_text(target, rows)
    failed.unlink(missing_ok=True)
    inputs.Record(read, len(rows)).save(record_path)
    return ""


def _precomputed(folder: Path | None, video_id: str) -> Path | None:
    if folder is None:
        return None
    for suffix in (".txt.gz", ".gz", ".txt", ""):
        path = child(folder, video_id, suffix)
        if path.is_file():
            return path
    return None
