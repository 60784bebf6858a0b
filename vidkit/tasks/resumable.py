"""Whether a task's checkpoint on disk is an unfinished run that `--resume` may continue, and where
it stopped: the check of the end tasks trained in epochs (`track train`'s SiamFC adapters and the
Kinetics LSTM probe), written once for both.

A run may be resumed when it is the same task, not finished, saved with its optimiser, trained
with the same options and on the same backbone. The loader workers and the device may change
(they decide where and how a run loads, not what it computes), as `pretrain --resume` allows.
"""

from __future__ import annotations

from pathlib import Path

from vidkit import checkpoint as ckpt
from vidkit.engine import train as engine
from vidkit.errors import UsageError, VidkitError

LOADER_OPTIONS = ("workers", "device")


def run_options(value):
    """`value` (options, possibly nested in dicts) without the loader options, for comparison."""
    if isinstance(value, dict):
        return {k: run_options(v) for k, v in value.items() if k not in LOADER_OPTIONS}
    return value


def unfinished_run(
    saved: ckpt.Checkpoint, out: Path, *, method: str, what: str, hparams: dict, source: dict, saved_source: dict
) -> engine.Position:
    """Check that `saved` (read from `out`) is an unfinished `method` run of `hparams` on the backbone
    `source` (`saved_source`: the one it records); the position it stopped at.

    Raises:
        UsageError: a finished run, or one of other options or another backbone.
        VidkitError: not a resumable run of this task.
    """
    training = saved.training
    if saved.method == method and training.get("complete"):
        raise UsageError(f"{out} is a finished {what}; nothing to resume (--force trains it again)")
    if saved.method != method or "optimizer" not in training:
        raise VidkitError(f"{out} is not a resumable {what} run; choose another -o, or --force to replace it")
    changed = sorted(k for k in hparams if run_options(saved.hparams.get(k)) != run_options(hparams[k]))
    if saved_source != source:
        changed.append("backbone")
    if changed:
        raise UsageError(f"{out} was trained with other options ({', '.join(changed)}); --resume needs the same ones")
    return engine.Position(training["step"], training["epoch"], training["batch"])
